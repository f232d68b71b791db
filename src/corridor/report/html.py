"""One self-contained HTML report of stored runs: ``build_report(runs, store, out)``.

The report opens offline: every figure is a PNG embedded as a ``data:`` URI, the style sheet is
inline, there is no script, and a Content-Security-Policy forbids loading anything else. The
same PNGs are written beside it, in ``<stem>_figures/``. Every file is written atomically
(:mod:`corridor.results.atomic`); the HTML last.

What ``runs`` may name (each item; see :func:`resolve_runs`):

* a run id: that run;
* an ensemble id: all its runs, one group per policy (replicates give the bands);
* ``ENSEMBLE:POLICY`` or a policy name: that policy's replicates (a bare policy name takes the
  most recent ensemble that holds it).

Sections (:data:`SECTIONS`): a plain-words summary of what the scenario assumes; the runs;
fan charts of the key series (:data:`KEY_METRICS`) with p10-p90 and p25-p75 bands across
replicates and the observed record where there is one; policies side by side (yearly
p10/p50/p90 and paired differences against the first policy); a flow (Sankey) diagram of the
asylum pipeline; route flows (or a note that the scenario has no route network); costs by item
and year; every assumption with its source and confidence; the model card.

The scenario of each run is found by its name among the shipped scenarios, or given with
``scenarios=`` (a folder). The observed record comes from a pack's ``observed.csv`` (the format
of :func:`corridor.analysis.calibrate.read_observed`), which takes precedence metric by metric,
and from the research CSVs (``observed_dir``, default ``$CORRIDOR_RESEARCH`` or a
``shared/research`` folder above the working directory or the package) for scenarios whose
arrivals table is the observed UK small-boat series (monthly totals within 2% of it over at
least 12 months): UK asylum statistics describe the UK only.
"""

from __future__ import annotations

import base64
import html
import json
import logging
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from corridor.analysis.summaries import parse_metric, series
from corridor.errors import InputError
from corridor.report.figures import (
    COLOURS,
    ObservedSeries,
    Resolution,
    cost_by_item_year,
    cost_figure,
    fan_bands,
    fan_figure,
    period_start,
    pipeline_totals,
    png_bytes,
    resample,
    route_map_figure,
)
from corridor.results.atomic import atomic_path

if TYPE_CHECKING:
    from corridor.results.store import Store
    from corridor.scenario.loaded import LoadedScenario

__all__ = [
    "KEY_METRICS",
    "SECTIONS",
    "KeyMetric",
    "RunGroup",
    "build_report",
    "figures_dir",
    "load_observed",
    "resolve_runs",
]

log = logging.getLogger(__name__)

SECTIONS: tuple[tuple[str, str], ...] = (
    ("summary", "What the scenario assumes"),
    ("runs", "Runs in this report"),
    ("series", "Key series"),
    ("policies", "Policies side by side"),
    ("pipeline", "Flow through the asylum pipeline"),
    ("routes", "Route flows"),
    ("costs", "Costs"),
    ("assumptions", "Assumptions and sources"),
    ("model-card", "Model card and data"),
)


@dataclass(frozen=True)
class KeyMetric:
    """A series of the report: metric name (:mod:`corridor.analysis.summaries`) and title."""

    name: str
    title: str

    @property
    def money(self) -> bool:
        return self.name.startswith("cost_")

    @property
    def stock(self) -> bool:
        return self.name.startswith("n_")

    def unit(self, resolution: str) -> str:
        if self.money:
            return f"£ a {resolution} (nominal)"
        if self.stock:
            return f"people (end of {resolution})"
        return f"people a {resolution}"


KEY_METRICS: tuple[KeyMetric, ...] = (
    KeyMetric("new_arrivals", "Arrivals"),
    KeyMetric("n_awaiting_decision", "People awaiting an initial decision"),
    KeyMetric("new_decisions", "Initial decisions"),
    KeyMetric("new_removals", "Enforced removals"),
    KeyMetric("new_hub_transfers", "Transfers to third-country hubs"),
    KeyMetric("n_in_hub", "People in hubs"),
    KeyMetric("n_limbo", "People in limbo (refused, cannot be removed)"),
    KeyMetric("cost_total", "Cost, all items"),
)
_MAX_SANKEYS = 4
_UK_MATCH_TOLERANCE = 0.02
_UK_MATCH_MONTHS = 12
_SMALL_BOATS_URL = (
    "https://www.gov.uk/government/publications/"
    "migrants-detected-crossing-the-english-channel-in-small-boats"
)


# ---------------------------------------------------------------------------------------------
# Which runs
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RunGroup:
    """Runs shown as one policy: replicates of one ensemble policy, or one run.

    ``keys`` pair runs across groups (replicate numbers; positions when a run has none).
    """

    label: str
    run_ids: tuple[str, ...]
    keys: tuple[int, ...]
    seeds: tuple[int | None, ...]
    scenario: str
    scenario_hash: str | None
    engine: str
    ensemble_id: str | None = None
    policy: str | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    finished_at: str = ""

    @property
    def n(self) -> int:
        return len(self.run_ids)


def _none(v: Any) -> Any:
    return None if v is None or (not isinstance(v, str) and bool(pd.isna(v))) else v


def _group(label: str, rows: pd.DataFrame) -> RunGroup:
    rows = rows.sort_values(["replicate", "run_id"], na_position="last").reset_index(drop=True)
    reps = [_none(r) for r in rows["replicate"]]
    keys = tuple(int(r) if r is not None else i for i, r in enumerate(reps))
    first = rows.iloc[0]
    try:
        overrides = json.loads(first["overrides_json"] or "{}")
    except (TypeError, ValueError):
        overrides = {}
    finished = _none(rows["finished_at"].max())
    return RunGroup(
        label=label,
        run_ids=tuple(str(r) for r in rows["run_id"]),
        keys=keys,
        seeds=tuple(None if _none(s) is None else int(s) for s in rows["seed"]),
        scenario=str(_none(first["scenario"]) or "?"),
        scenario_hash=_none(first["scenario_hash"]),
        engine=str(_none(first["engine"]) or "?"),
        ensemble_id=_none(first["ensemble_id"]),
        policy=_none(first["policy"]),
        overrides=overrides if isinstance(overrides, dict) else {},
        finished_at="" if finished is None else str(finished)[:16],
    )


def _by_policy(rows: pd.DataFrame, prefix: str = "") -> list[RunGroup]:
    out: list[RunGroup] = []
    pol = rows["policy"].fillna("")
    for name in dict.fromkeys(pol):
        sub = rows[pol == name]
        out.append(_group(prefix + (str(name) or "runs"), sub))
    return out


def resolve_runs(store: Store, refs: Sequence[str]) -> list[RunGroup]:
    """The groups of runs named by ``refs`` (run ids, ensemble ids, ``ENSEMBLE:POLICY`` or
    policy names), in the order given; :class:`InputError` for a name that matches nothing."""
    if not refs:
        raise InputError("no runs given", field="RUN", expected="a run id, ensemble id or policy")
    catalog = store.runs()
    if "status" in catalog.columns:
        catalog = catalog[catalog["status"].fillna("ok") == "ok"]
    groups: list[RunGroup] = []
    for ref in refs:
        if ref in set(catalog["run_id"]):
            row = catalog[catalog["run_id"] == ref]
            pol = _none(row["policy"].iloc[0])
            groups.append(_group(str(pol) if pol else str(row["scenario"].iloc[0]), row))
            continue
        ens = catalog[catalog["ensemble_id"] == ref]
        if len(ens):
            groups += _by_policy(ens)
            continue
        ens_id, sep, policy = ref.partition(":")
        if sep:
            rows = catalog[(catalog["ensemble_id"] == ens_id) & (catalog["policy"] == policy)]
        else:
            rows = catalog[catalog["policy"] == ref]
            if len(rows):
                latest = (
                    rows.groupby("ensemble_id", dropna=False)["finished_at"]
                    .max()
                    .sort_values(na_position="first")
                )
                rows = rows[rows["ensemble_id"] == latest.index[-1]]
        if len(rows):
            groups.append(_group(policy if sep else ref, rows))
            continue
        raise InputError(
            f"no run, ensemble or policy named {ref!r} in the results store {store.root}",
            field="RUN",
            expected="a run id or ensemble id (see `corridor runs`), ENSEMBLE:POLICY, or a "
            "policy name",
        )
    # Unique labels: add the ensemble or run id where two would read the same.
    seen: dict[str, int] = {}
    for g in groups:
        seen[g.label] = seen.get(g.label, 0) + 1
    out: list[RunGroup] = []
    for g in groups:
        if seen[g.label] > 1:
            tag = g.ensemble_id or g.run_ids[0]
            g = RunGroup(**{**g.__dict__, "label": f"{g.label} [{tag}]"})
        out.append(g)
    return out


# ---------------------------------------------------------------------------------------------
# Scenarios
# ---------------------------------------------------------------------------------------------
@dataclass
class ScenarioInfo:
    """A run's scenario as found on disk (``loaded`` is None when it could not be found)."""

    name: str
    loaded: LoadedScenario | None = None
    chain: list[Path] = field(default_factory=list)  # its folder, then the folders it extends
    table_files: dict[str, Path] = field(default_factory=dict)
    problem: str = ""


def _chain(folder: Path) -> list[Path]:
    import yaml

    out: list[Path] = []
    current: Path | None = folder.resolve()
    while current is not None and current not in out and len(out) < 32:
        out.append(current)
        try:
            data = yaml.safe_load((current / "scenario.yaml").read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            break
        parent = data.get("extends") if isinstance(data, dict) else None
        current = (current / parent).resolve() if isinstance(parent, str) else None
    return out


def _scenario_info(name: str, explicit: Mapping[str, Path]) -> ScenarioInfo:
    from corridor.errors import CorridorError
    from corridor.scenario.loader import check_scenario, resolve_scenario

    info = ScenarioInfo(name)
    try:
        folder = explicit[name] if name in explicit else resolve_scenario(name)
    except InputError:
        info.problem = (
            f"scenario {name!r} is not a shipped scenario; give its folder with --scenario to "
            "include its assumptions"
        )
        return info
    try:
        check = check_scenario(folder)
    except CorridorError as exc:  # pragma: no cover - check_scenario collects problems
        info.problem = str(exc)
        return info
    if check.loaded is None:
        info.problem = f"scenario folder {folder} has problems: " + "; ".join(
            str(e) for e in check.errors[:3]
        )
        return info
    info.loaded = check.loaded
    info.chain = _chain(Path(folder))
    info.table_files = dict(check.table_files)
    return info


def _scenarios(
    groups: Sequence[RunGroup], scenarios: Sequence[str | Path] | None
) -> dict[str, ScenarioInfo]:
    from corridor.scenario.loader import load_scenario

    explicit: dict[str, Path] = {}
    names = list(dict.fromkeys(g.scenario for g in groups))
    for ref in scenarios or []:
        loaded = load_scenario(ref)
        explicit[loaded.name] = loaded.folder
    if len(names) == 1 and len(explicit) == 1 and names[0] not in explicit:
        explicit[names[0]] = next(iter(explicit.values()))  # one scenario given for one run
    return {n: _scenario_info(n, explicit) for n in names}


# ---------------------------------------------------------------------------------------------
# The observed record
# ---------------------------------------------------------------------------------------------
def _default_research() -> Path | None:
    env = os.environ.get("CORRIDOR_RESEARCH")
    if env:
        return Path(env)
    starts = [Path.cwd().resolve(), Path(__file__).resolve().parent]
    for start in starts:
        for folder in (start, *start.parents):
            cand = folder / "shared" / "research"
            if (cand / "data_small_boats_monthly.csv").is_file():
                return cand
    return None


def _period_end(start: pd.Timestamp, resolution: Resolution) -> pd.Timestamp:
    offset = {"month": pd.offsets.MonthEnd(0), "quarter": pd.offsets.QuarterEnd(0)}
    return pd.Timestamp(start + offset.get(resolution, pd.offsets.YearEnd(0)))


def _research_observed(folder: Path) -> dict[str, ObservedSeries]:
    """UK series from the research CSVs, by metric (values indexed by the period's last day)."""
    out: dict[str, ObservedSeries] = {}
    boats = folder / "data_small_boats_monthly.csv"
    if boats.is_file():
        b = pd.read_csv(boats)
        month = pd.to_datetime(b["date_month"])
        people = pd.to_numeric(b["migrants_arrived"], errors="coerce").fillna(0.0)
        ends = pd.DatetimeIndex([_period_end(pd.Timestamp(m), "month") for m in month])
        out["new_arrivals"] = ObservedSeries(
            "new_arrivals",
            pd.Series(people.to_numpy(dtype=float), index=ends),
            "month",
            "small-boat arrivals (HO)",
            (_SMALL_BOATS_URL,),
        )
    quarterly = folder / "data_uk_asylum_quarterly.csv"
    if quarterly.is_file():
        q = pd.read_csv(quarterly)
        q["end"] = pd.to_datetime(q["period_end"], errors="coerce")
        q = q.dropna(subset=["end"])

        def one(names: Sequence[str]) -> tuple[pd.Series, tuple[str, ...]]:
            sub = q[q["metric"].isin(names)]
            wide = sub.pivot_table(index="end", columns="metric", values="value", aggfunc="sum")
            wide = wide.dropna()
            if any(n not in wide.columns for n in names):
                return pd.Series(dtype=float), ()
            urls = tuple(dict.fromkeys(str(u) for u in sub["official_source_url"].dropna()))
            return wide[list(names)].sum(axis=1).astype(float), urls

        specs = (
            ("n_awaiting_decision", ("awaiting_initial_decision",), "awaiting decision (HO)"),
            (
                "new_decisions",
                ("asylum_initialGrants", "asylum_initialRefusals"),
                "grants + refusals (HO)",
            ),
            ("new_removals", ("returns_enforced",), "enforced returns, all immigration (HO)"),
            ("new_claims", ("asylum_claims_people",), "claims, all routes (HO)"),
        )
        for metric, names, label in specs:
            values, urls = one(names)
            if len(values):
                out[metric] = ObservedSeries(metric, values, "quarter", label, urls)
    return out


def _matches_uk_boats(loaded: LoadedScenario, observed: ObservedSeries) -> bool:
    table = loaded.tables.get("arrivals")
    if table is None or table.empty:
        return False
    months = pd.to_datetime(table["month"])
    mine = table.assign(month=months).groupby("month")["people"].sum()
    mine.index = pd.DatetimeIndex([_period_end(pd.Timestamp(m), "month") for m in mine.index])
    common = pd.DatetimeIndex(mine.index).intersection(pd.DatetimeIndex(observed.values.index))
    if len(common) < _UK_MATCH_MONTHS:
        return False
    a = float(mine.loc[common].sum())
    b = float(observed.values.loc[common].sum())
    return b > 0 and abs(a - b) / b <= _UK_MATCH_TOLERANCE


_RESOLUTIONS: dict[str, Resolution] = {"month": "month", "quarter": "quarter", "year": "year"}


def _pack_observed(info: ScenarioInfo) -> dict[str, ObservedSeries]:
    path = next((f / "observed.csv" for f in info.chain if (f / "observed.csv").is_file()), None)
    if path is None:
        return {}
    from corridor.analysis.calibrate import read_observed

    frame = read_observed(path)
    out: dict[str, ObservedSeries] = {}
    for metric, rows in frame.groupby("metric", sort=False):
        res = _RESOLUTIONS.get(str(rows["resolution"].mode().iloc[0]))
        if res is None:
            continue
        rows = rows[rows["resolution"] == res]
        ends = pd.DatetimeIndex(pd.to_datetime(rows["end"]))
        values = pd.Series(rows["value"].to_numpy(dtype=float), index=ends).sort_index()
        sources = tuple(dict.fromkeys(str(s) for s in rows["source"].dropna() if str(s)))
        out[str(metric)] = ObservedSeries(
            str(metric),
            values,
            res,
            f"{path.parent.name}/observed.csv",
            sources,
        )
    return out


def load_observed(
    info: ScenarioInfo | None, research: Path | None
) -> tuple[dict[str, ObservedSeries], list[str]]:
    """The observed record for ``info``'s scenario by metric, and notes on where it came from.

    A pack's ``observed.csv`` wins metric by metric; the research CSVs are used only for a
    scenario whose arrivals are the UK small-boat series (see the module docstring).
    """
    notes: list[str] = []
    out: dict[str, ObservedSeries] = {}
    if info is None or info.loaded is None:
        notes.append("The scenario's files were not found, so no observed record is shown.")
        return out, notes
    folder = research if research is not None else _default_research()
    if folder is not None and folder.is_dir():
        found = _research_observed(folder)
        boats = found.get("new_arrivals")
        if boats is not None and _matches_uk_boats(info.loaded, boats):
            out.update(found)
            notes.append(
                "Observed points: UK Home Office statistics (the scenario's arrivals are the "
                "observed small-boat series). They count all routes and whole-system figures "
                "where the label says so, while the model's arrivals are small boats only."
            )
        else:
            notes.append(
                "The research record describes UK small-boat arrivals and the UK asylum "
                "system; this scenario's arrivals are not that series, so it is not drawn."
            )
    else:
        notes.append("No research folder with observed series was found.")
    pack = _pack_observed(info)
    if pack:
        out.update(pack)
        notes.append("The scenario pack's observed.csv supplies: " + ", ".join(sorted(pack)) + ".")
    return out, notes


# ---------------------------------------------------------------------------------------------
# Small HTML helpers
# ---------------------------------------------------------------------------------------------
def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


_URL = re.compile(r"https?://[^\s<>\"'`]+")
_MD_LINK = re.compile(r"\[([^\]]+)\]\((https?://[^)\s]+)\)")


def _short_url(url: str, width: int = 60) -> str:
    text = re.sub(r"^https?://(www\.)?", "", url).rstrip("/")
    return text if len(text) <= width else text[: width - 1] + "…"


def link(url: str, text: str | None = None) -> str:
    """An ``<a>`` to ``url`` (http or https only) showing ``text`` or the shortened address."""
    return f'<a href="{esc(url)}">{esc(text if text is not None else _short_url(url))}</a>'


def linkify(text: str) -> str:
    """``text`` escaped, with every http(s) address made a link (trailing punctuation kept
    outside)."""
    out: list[str] = []
    pos = 0
    for m in _URL.finditer(text):
        url = m.group(0)
        trail = ""
        while url and url[-1] in ".,;:)]":
            trail = url[-1] + trail
            url = url[:-1]
        out.append(esc(text[pos : m.start()]))
        out.append(link(url) + esc(trail))
        pos = m.end()
    out.append(esc(text[pos:]))
    return "".join(out)


def md_inline(text: str) -> str:
    """Inline markdown: ``code``, **bold**, [text](url) and bare addresses; all else escaped."""
    parts = re.split(r"(`[^`]*`)", text)
    out: list[str] = []
    for part in parts:
        if part.startswith("`") and part.endswith("`") and len(part) >= 2:
            out.append(f"<code>{esc(part[1:-1])}</code>")
            continue
        pieces: list[str] = []
        pos = 0
        for m in _MD_LINK.finditer(part):
            pieces.append(linkify(part[pos : m.start()]))
            pieces.append(link(m.group(2), m.group(1)))
            pos = m.end()
        pieces.append(linkify(part[pos:]))
        joined = "".join(pieces)
        joined = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", joined)
        out.append(joined)
    return "".join(out)


def _split_row(line: str) -> list[str]:
    cells = line.strip().strip("|").split("|")
    return [c.strip() for c in cells]


def md_block(text: str, level: int = 3) -> str:
    """Block markdown: headings (from ``level`` down), paragraphs, lists, tables."""
    lines = text.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if not stripped:
            i += 1
            continue
        if stripped.startswith("#"):
            depth = len(stripped) - len(stripped.lstrip("#"))
            h = min(level + depth - 1, 6)
            out.append(f"<h{h}>{md_inline(stripped[depth:].strip())}</h{h}>")
            i += 1
        elif stripped.startswith("|"):
            rows: list[list[str]] = []
            while i < len(lines) and lines[i].strip().startswith("|"):
                cells = _split_row(lines[i])
                if not all(re.fullmatch(r":?-{2,}:?", c) for c in cells if c):
                    rows.append(cells)
                i += 1
            if rows:
                head = "".join(f"<th>{md_inline(c)}</th>" for c in rows[0])
                body = "".join(
                    "<tr>" + "".join(f"<td>{md_inline(c)}</td>" for c in r) + "</tr>"
                    for r in rows[1:]
                )
                out.append(f'<table class="md"><thead><tr>{head}</tr></thead>{body}</table>')
        elif re.match(r"^[-*] ", stripped):
            items: list[str] = []
            while i < len(lines) and lines[i].strip():
                s = lines[i].strip()
                if re.match(r"^[-*] ", s):
                    items.append(s[2:])
                elif items:
                    items[-1] += " " + s
                i += 1
            out.append("<ul>" + "".join(f"<li>{md_inline(t)}</li>" for t in items) + "</ul>")
        else:
            para: list[str] = []
            while (
                i < len(lines)
                and lines[i].strip()
                and not lines[i].strip().startswith(("#", "|"))
                and not re.match(r"^[-*] ", lines[i].strip())
            ):
                para.append(lines[i].strip())
                i += 1
            out.append(f"<p>{md_inline(' '.join(para))}</p>")
    return "\n".join(out)


def _table(
    header: Sequence[str], rows: Iterable[Sequence[str]], cls: str = "", raw: bool = True
) -> str:
    """A table; cells are HTML already when ``raw`` (escape them first otherwise)."""
    th = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = []
    for r in rows:
        if len(r) == 1 and r[0].startswith("<th"):
            body.append(f"<tr>{r[0]}</tr>")  # a heading row spanning the table
            continue
        cells = r if raw else [esc(c) for c in r]
        body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    klass = f' class="{esc(cls)}"' if cls else ""
    return f"<table{klass}><thead><tr>{th}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _num(x: float, money: bool = False) -> str:
    if x is None or not np.isfinite(x):
        return "–"
    if money:
        sign = "−" if x < 0 else ""
        a = abs(x)
        if a >= 1e9:
            return f"{sign}£{a / 1e9:,.2f}bn"
        if a >= 1e6:
            return f"{sign}£{a / 1e6:,.1f}m"
        if a >= 1e3:
            return f"{sign}£{a / 1e3:,.0f}k"
        return f"{sign}£{a:,.0f}"
    if abs(x) >= 100 or float(x).is_integer():
        return f"{x:,.0f}".replace("-", "−")
    return f"{x:,.1f}".replace("-", "−")


def _d(value: Any) -> str:
    return str(pd.Timestamp(value).date())


# ---------------------------------------------------------------------------------------------
# Figures on disk and in the page
# ---------------------------------------------------------------------------------------------
def _readable(path: Path) -> None:
    """Give a file written through a private temporary file the usual permissions."""
    mask = os.umask(0)
    os.umask(mask)
    path.chmod(0o666 & ~mask)


def figures_dir(out: Path) -> Path:
    """Where the PNGs of report ``out`` go: ``<stem>_figures/`` beside it."""
    return out.parent / f"{out.stem}_figures"


class _Figures:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.written: list[Path] = []

    def add(self, fig: Any, name: str, alt: str, caption: str = "") -> str:
        data = png_bytes(fig)
        dest = self.folder / f"{name}.png"
        with atomic_path(dest, suffix=".png") as tmp:
            tmp.write_bytes(data)
            _readable(tmp)
        self.written.append(dest)
        uri = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
        cap = f"<figcaption>{caption}</figcaption>" if caption else ""
        return f'<figure><img src="{uri}" alt="{esc(alt)}">{cap}</figure>'

    def remove_stale(self) -> None:
        """Remove figures an earlier report left in the folder and this one did not write
        (only names this module gives: fan_*, pipeline_*, routes_*, costs)."""
        keep = {p.name for p in self.written}
        for pattern in ("fan_*.png", "pipeline_*.png", "routes_*.png", "costs.png"):
            for old in self.folder.glob(pattern):
                if old.name not in keep:
                    old.unlink(missing_ok=True)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower()[:40] or "x"


class _Data:
    """Daily series of each (metric, group), read once from the store and resampled."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._daily: dict[tuple[str, str], pd.DataFrame] = {}

    def daily(self, metric: str, g: RunGroup) -> pd.DataFrame:
        key = (metric, g.label)
        if key not in self._daily:
            self._daily[key] = series(self.store, metric, list(g.run_ids), "day")
        return self._daily[key]

    def at(self, metric: str, g: RunGroup, resolution: Resolution) -> pd.DataFrame:
        return resample(self.daily(metric, g), metric, resolution)

    def scalar(self, metric: str, g: RunGroup) -> pd.Series:
        """One value per run, indexed by the group's keys: stocks at the end, flows and costs
        summed, rates averaged (as :func:`corridor.analysis.summaries.scalar_values`)."""
        wide = self.daily(metric, g)
        kind = parse_metric(metric).kind
        if kind == "stock":
            values = wide.iloc[-1]
        elif kind == "flow":
            values = wide.sum(axis=0)
        else:
            values = wide.mean(axis=0)
        return pd.Series(values.to_numpy(dtype=float), index=list(g.keys))

    def days(self, g: RunGroup) -> tuple[pd.Timestamp, pd.Timestamp]:
        index = self.daily(KEY_METRICS[0].name, g).index
        return pd.Timestamp(index.min()), pd.Timestamp(index.max())


# ---------------------------------------------------------------------------------------------
# Sections
# ---------------------------------------------------------------------------------------------
def _schedule_words(value: Any, unit: str, fmt: str = "{:,.0f}") -> str:
    """A schedule (a number or dated steps) in words."""
    if not isinstance(value, list):
        return f"{fmt.format(float(value))} {unit}"
    steps = sorted(value, key=lambda s: s.date)
    if len(steps) == 1:
        return f"{fmt.format(steps[0].value)} {unit} (from {steps[0].date})"
    vals = [s.value for s in steps]
    return (
        f"{fmt.format(steps[0].value)} {unit} from {steps[0].date} to "
        f"{fmt.format(steps[-1].value)} {unit} from {steps[-1].date} "
        f"({len(steps)} dated steps, between {fmt.format(min(vals))} and {fmt.format(max(vals))})"
    )


def _source_html(source: str) -> str:
    """A table's source cell: addresses as links, other text escaped."""
    return linkify(source) if source else '<span class="muted">none given</span>'


def _host_row_words(row: pd.Series) -> str:
    src = str(row.get("source") or "")
    cite = f", {_source_html(src)}" if src else ""
    position = esc(str(row["position"]).replace("_", " "))
    return f"{esc(row['host'])} {position} ({_d(row['date'])}{cite})"


def _hub_sentences(info: ScenarioInfo, group: RunGroup, meta: Mapping[str, Any]) -> list[str]:
    """Why each hub does or does not operate, in words (HTML)."""
    assert info.loaded is not None
    from corridor.asylum.params import HOST_POSITIONS, HUB_STATUSES, build_params
    from corridor.asylum.run import apply_overrides

    sc = info.loaded.scenario
    hosts = info.loaded.tables.get("hosts", pd.DataFrame())
    end = pd.Timestamp(sc.period.end)
    p: Any = None
    try:
        loaded = apply_overrides(info.loaded, group.overrides) if group.overrides else info.loaded
        p = build_params(loaded)
    except Exception as exc:  # the run's own meta still says what happened
        log.warning("hub arrays unavailable (%s); using the run's meta", exc)
    out: list[str] = []
    hub_meta = meta.get("hubs", {}) if isinstance(meta.get("hubs"), dict) else {}
    for j, hub in enumerate(sc.hubs):
        rows = hosts[(hosts["host"] == hub.host) & (pd.to_datetime(hosts["date"]) <= end)]
        rows = rows.sort_values("date", kind="stable") if len(rows) else rows
        refusals = rows[rows["position"] == "refused"] if len(rows) else rows
        name = f"<strong>{esc(hub.id)}</strong> ({esc(hub.host)})"
        hm = hub_meta.get(hub.id, {}) if isinstance(hub_meta, dict) else {}
        steps = [f"{st.status} {st.date}" for st in hub.agreement]
        steps += [
            f"{q.set[f'hubs.{hub.id}.status']} {q.date} (policy)"
            for q in sc.policies
            if f"hubs.{hub.id}.status" in q.set
        ]
        history = ", ".join(steps) or "no agreement"
        if p is not None and j < len(p.hub_ids) and p.hub_ids[j] == hub.id:
            op = np.asarray(p.hub_operating[:, j], dtype=bool)
            status = np.asarray(p.hub_agreement[:, j])
            hypo = np.asarray(p.hub_hypothetical[:, j], dtype=bool)
            refused_day = np.asarray(p.host_position[:, j]) == HOST_POSITIONS.index("refused")
            dates = p.dates
            op_days = int(op.sum())
            first = str(dates[int(np.argmax(op))].date()) if op_days else None
            last = str(dates[len(op) - 1 - int(np.argmax(op[::-1]))].date()) if op_days else None
            reaches = bool((status == HUB_STATUSES.index("operating")).any())
            hyp_refused = bool((op & hypo & refused_day).any())
        else:
            op_days = int(hm.get("operating_days", 0) or 0)
            first, last = hm.get("first_operating"), None
            reaches = any(s.status == "operating" for s in hub.agreement)
            hyp_refused = bool(hub.hypothetical and len(refusals))
        if op_days:
            until = f" to {last}" if last and last != str(end.date()) else ""
            text = f"{name} operates from {first}{until} ({op_days:,} days)"
            if hyp_refused and len(refusals):
                text += (
                    f". <strong>HYPOTHETICAL</strong>: it runs although "
                    f"{_host_row_words(refusals.iloc[-1])}"
                )
            elif len(rows):
                text += f"; the host's stated position: {_host_row_words(rows.iloc[-1])}"
            else:
                text += "; the host has no stated position in hosts.csv"
            out.append(text + ".")
            continue
        reasons: list[str] = []
        if len(refusals) and not hub.hypothetical:
            reasons.append(f"{_host_row_words(refusals.iloc[-1])}, so no hub operates there")
        if not reaches:
            reasons.append(f"its agreement never reaches 'operating' in the period ({history})")
        if not reasons:
            reasons.append("it does not operate within the period")
        out.append(f"{name} does not operate: " + "; and ".join(reasons) + ".")
    return out


def _arrivals_words(info: ScenarioInfo) -> str:
    assert info.loaded is not None
    sc = info.loaded.scenario
    table = info.loaded.tables.get("arrivals", pd.DataFrame())
    rule = {
        "repeat_last_year": "repeat the same month a year earlier",
        "zero": "are zero",
        "hold_last_month": "stay at the last month's level",
    }[sc.arrivals.after_table]
    if table.empty:
        return "The arrivals table is empty."
    months = pd.to_datetime(table["month"])
    first, last = months.min(), months.max()
    total = float(table["people"].sum())
    nats = table["nationality"].nunique()
    words = (
        f"Arrivals come from the table for {first:%b %Y}–{last:%b %Y} "
        f"({total:,.0f} people, {nats} nationalities); "
    )
    end_table = last + pd.offsets.MonthEnd(0)
    if pd.Timestamp(sc.period.end) > end_table:
        words += f"after {last:%b %Y} (the end of the data) arrivals {rule}"
    else:
        words += "the period ends within the data, so no arrivals are assumed beyond it"
    words += f". A share of {sc.arrivals.claim_share:.0%} of arrivals claim asylum"
    if sc.arrivals.scale != 1.0:
        words += f"; every arrival figure is multiplied by {sc.arrivals.scale:g}"
    return words + "."


def _summary_section(
    groups: Sequence[RunGroup],
    infos: Mapping[str, ScenarioInfo],
    metas: Mapping[str, Mapping[str, Any]],
) -> str:
    parts: list[str] = []
    first: tuple[str, list[str]] | None = None
    for name, info in infos.items():
        parts.append(f"<h3>Scenario {esc(name)}</h3>")
        if info.loaded is None:
            parts.append(f'<p class="warn">{esc(info.problem)}</p>')
            continue
        sc = info.loaded.scenario
        items = _scenario_items(info)
        if first is None:
            first = (name, items)
            shown = items
        else:
            shown = [t for t in items if t not in first[1]]
            shown.append(f"Everything else as in scenario {esc(first[0])}.")
        parts.append("<ul>" + "".join(f"<li>{t}</li>" for t in shown) + "</ul>")
        said: dict[str, list[str]] = {}
        for g in (g for g in groups if g.scenario == name):
            head = f"<h4>Under {esc(g.label)}</h4>"
            if g.overrides:
                sets = ", ".join(f"{k} = {v}" for k, v in g.overrides.items())
                head += f"<p>This policy sets {esc(sets)}"
                changed = _policy_items(info, g, items)
                head += (
                    ":</p><ul>" + "".join(f"<li>{t}</li>" for t in changed) + "</ul>"
                    if changed
                    else ".</p>"
                )
            if not sc.hubs:
                parts.append(head + "<p>No third-country hub is configured.</p>")
                continue
            hubs = _hub_sentences(info, g, metas.get(g.run_ids[0], {}))
            same = next((lab for lab, h in said.items() if h == hubs), None)
            if same is not None:
                parts.append(head + f"<p>Hubs: as under {esc(same)}.</p>")
                continue
            said[g.label] = hubs
            parts.append(
                head + "<p>Hubs:</p><ul>" + "".join(f"<li>{h}</li>" for h in hubs) + "</ul>"
            )
    return "\n".join(parts)


def _policy_items(info: ScenarioInfo, g: RunGroup, base: Sequence[str]) -> list[str]:
    """The summary items that a policy's overrides change."""
    import dataclasses

    from corridor.asylum.run import apply_overrides

    assert info.loaded is not None
    try:
        loaded = apply_overrides(info.loaded, g.overrides)
    except InputError as exc:
        return [esc(f"(cannot apply these overrides to the scenario as it is now: {exc})")]
    return [t for t in _scenario_items(dataclasses.replace(info, loaded=loaded)) if t not in base]


def _scenario_items(info: ScenarioInfo) -> list[str]:
    """What a scenario assumes, one HTML sentence or two per item."""
    assert info.loaded is not None
    sc = info.loaded.scenario
    days = (sc.period.end - sc.period.start).days + 1
    items: list[str] = []
    if sc.description:
        items.append(f"<em>{linkify(sc.description.strip())}</em>")
    items.append(
        f"Period: {sc.period.start} to {sc.period.end} ({days:,} days, "
        f"{days / 365.25:.1f} years), one step a day."
    )
    items.append(esc(_arrivals_words(info)))
    a = sc.asylum
    items.append(
        "Caseworkers: "
        + esc(_schedule_words(a.caseworkers, "FTE"))
        + "; each decides "
        + esc(_schedule_words(a.productivity, "cases a month", "{:,.2f}"))
        + f". Initial backlog {a.initial_backlog:,.0f} people; {a.household_size:g} people "
        f"per case; claims are withdrawn at {a.withdrawal_rate:g} a year while waiting; "
        f"queue discipline {esc(a.discipline)}."
    )
    ap = a.appeals
    items.append(
        f"Appeals: {ap.lodge_share:.0%} of refused people appeal; "
        + esc(_schedule_words(ap.judges, "judges"))
        + f" at {ap.hearings_per_judge_month:g} determinations a month each; "
        f"{ap.allow_rate:.0%} are allowed."
    )
    r = sc.returns
    nat = info.loaded.tables.get("nationalities", pd.DataFrame())
    removable = (
        sorted(str(n) for n in nat.loc[nat["returns_agreement"].astype(bool), "nationality"])
        if len(nat)
        else []
    )
    items.append(
        "Returns: "
        + esc(_schedule_words(r.removal_capacity, "removals a month"))
        + f", {r.detention_places:,.0f} detention places; voluntary departure "
        f"{r.voluntary_rate:g} a year, absconding {r.abscond_rate:g} a year. Nationalities "
        "with a returns agreement (removable): "
        + (esc(", ".join(removable)) if removable else "none")
        + "; refused people of the others are in limbo unless a hub takes them."
    )
    d = sc.deterrence
    if d.enabled:
        items.append(
            f"Deterrence is <strong>on</strong>: arrivals are multiplied by "
            f"1 − {d.elasticity:g} × p_removal, where p_removal is the share of a "
            f"nationality's recent outcomes (over {d.window_days} days, known "
            f"{d.lag_days} days late) that were removals or hub transfers. The evidence "
            "for this effect is weak and confounded (assumption P17)."
        )
    else:
        items.append(
            "Deterrence is <strong>off</strong>: arrivals do not respond to removals or "
            "hub transfers."
        )
    for x in sc.inadmissibility:
        until = f" to {x.to_date}" if x.to_date else ""
        who = ", ".join(x.nationalities) if x.nationalities else "all nationalities"
        items.append(
            f"Inadmissibility from {x.from_date}{until}: {x.share:.0%} of claimants "
            f"({esc(who)}) are screened out."
        )
    for pol in sorted(sc.policies, key=lambda q: q.date):
        sets = ", ".join(f"{k} = {v}" for k, v in pol.set.items())
        note = f" ({linkify(pol.note)})" if pol.note else ""
        items.append(f"From {pol.date}: {esc(sets)}{note}.")
    if sc.uncertain:
        items.append(
            "Uncertain parameters drawn for each replicate: "
            + esc(", ".join(sorted(sc.uncertain)))
            + "."
        )
    if sc.agents_per_person < 1:
        items.append(f"Sampling: one agent per {1 / sc.agents_per_person:g} cases (agent engine).")
    return items


def _runs_section(
    groups: Sequence[RunGroup], infos: Mapping[str, ScenarioInfo], store: Store
) -> str:
    rows = []
    warnings: list[str] = []
    for k, g in enumerate(groups):
        seeds = [s for s in g.seeds if s is not None]
        seed_txt = (
            "–"
            if not seeds
            else (str(seeds[0]) if len(seeds) == 1 else f"{seeds[0]} … ({len(seeds)} seeds)")
        )
        over = ", ".join(f"{a} = {b}" for a, b in g.overrides.items()) or "–"
        swatch = f'<span class="sw" style="background:{COLOURS[k % len(COLOURS)]}"></span>'
        ids = g.run_ids[0] if g.n == 1 else f"{g.run_ids[0]} … {g.run_ids[-1]}"
        rows.append(
            [
                swatch + esc(g.label),
                esc(g.scenario),
                esc(g.engine),
                f"{g.n}",
                esc(g.ensemble_id or "–"),
                f"<code>{esc(ids)}</code>",
                esc(seed_txt),
                esc(over),
                esc(g.finished_at or "–"),
            ]
        )
        info = infos.get(g.scenario)
        if (
            info is not None
            and info.loaded is not None
            and g.scenario_hash
            and info.loaded.content_hash != g.scenario_hash
        ):
            warnings.append(
                f"The files of scenario {g.scenario} have changed since {g.label} was run "
                "(content hash differs): the assumptions below describe the files as they "
                "are now."
            )
    table = _table(
        [
            "policy / run",
            "scenario",
            "engine",
            "runs",
            "ensemble",
            "run ids",
            "seeds",
            "overrides",
            "finished (UTC)",
        ],
        rows,
        cls="runs",
    )
    warn = "".join(f'<p class="warn">{esc(w)}</p>' for w in dict.fromkeys(warnings))
    return (
        f"<p>Results store: <code>{esc(store.root)}</code>. Bands are quantiles across the "
        "replicates of each policy; one run gives a line without bands. The engine "
        "<em>aggregate</em> computes expected values (no randomness).</p>" + table + warn
    )


def _chart_resolution(metric: KeyMetric, observed: ObservedSeries | None) -> Resolution:
    if observed is not None and not metric.stock:
        return observed.resolution
    return "month"


def _observed_on(obs: ObservedSeries, metric: KeyMetric, res: Resolution) -> ObservedSeries:
    """Observed values indexed by the chart's period starts."""
    index = period_start(pd.DatetimeIndex(obs.values.index), res)
    values = pd.Series(obs.values.to_numpy(dtype=float), index=index)
    values = values.groupby(level=0).last() if metric.stock else values.groupby(level=0).sum()
    return ObservedSeries(obs.metric, values, res, obs.label, obs.sources)


def _series_section(
    groups: Sequence[RunGroup],
    data: _Data,
    observed: Mapping[str, ObservedSeries],
    notes: Sequence[str],
    figs: _Figures,
) -> str:
    parts = [
        "<p>Lines are medians across replicates; the darker band holds the middle half of the "
        "replicates (p25–p75), the lighter band 80% of them (p10–p90). "
        + " ".join(esc(n) for n in notes)
        + "</p>"
    ]
    charts: list[str] = []
    for metric in KEY_METRICS:
        obs = observed.get(metric.name)
        res = _chart_resolution(metric, obs)
        fans: dict[str, pd.DataFrame] = {}
        for g in groups:
            fans[g.label] = fan_bands(data.at(metric.name, g, res))
        peak = max(float(f[["p90", "p50"]].to_numpy().max()) for f in fans.values())
        if peak <= 0 and obs is None:
            charts.append(
                f"<div class='empty'><h3>{esc(metric.title)}</h3><p class='muted'>Zero "
                "throughout in every run"
                + (" (no hub operates)." if "hub" in metric.name else ".")
                + "</p></div>"
            )
            continue
        chart_obs = _observed_on(obs, metric, res) if obs is not None else None
        fig = fan_figure(
            fans,
            title=metric.title,
            ylabel=metric.unit(res),
            money=metric.money,
            observed=chart_obs,
        )
        cap = f"{esc(metric.title)}, {esc(metric.unit(res))}."
        if obs is not None:
            cap += " Observed: " + esc(obs.label)
            if obs.sources:
                cap += " (" + "; ".join(_source_html(s) for s in obs.sources) + ")"
            cap += "."
        charts.append(figs.add(fig, f"fan_{metric.name}", metric.title, cap))
    parts.append("<div class='grid'>" + "\n".join(charts) + "</div>")
    return "\n".join(parts)


def _pairing(a: RunGroup, b: RunGroup) -> tuple[list[int], str]:
    """Replicate keys the two groups share, and how their runs pair."""
    common = [k for k in a.keys if k in set(b.keys)]
    seeds_a = dict(zip(a.keys, a.seeds, strict=True))
    seeds_b = dict(zip(b.keys, b.seeds, strict=True))
    if a.engine == b.engine == "aggregate":
        how = "expected values (aggregate engine: no randomness)"
    elif common and all(seeds_a[k] is not None and seeds_a[k] == seeds_b[k] for k in common):
        how = "common random numbers (same seeds)"
    else:
        how = "independent runs (different seeds): differences include replicate noise"
    return common, how


def _spread(mid: str, lo: str, hi: str) -> str:
    return f'{mid}<br><span class="range">{lo} – {hi}</span>'


def _cell(frame: pd.DataFrame, row: Any, money: bool) -> str:
    if row not in frame.index:
        return "–"
    r = frame.loc[row]
    mid = _num(float(r["p50"]), money)
    if int(r["n"]) <= 1:
        return mid
    return _spread(mid, _num(float(r["p10"]), money), _num(float(r["p90"]), money))


def _diff_cell(d: np.ndarray[Any, Any], money: bool) -> str:
    q10, q50, q90 = (float(v) for v in np.quantile(d, (0.1, 0.5, 0.9)))
    if len(d) <= 1:
        return _num(q50, money)
    return _spread(_num(q50, money), _num(q10, money), _num(q90, money))


def _policies_section(groups: Sequence[RunGroup], data: _Data) -> str:
    from corridor.analysis.summaries import bands, paired

    first = groups[0]
    parts: list[str] = []
    if len(groups) == 1:
        parts.append(
            "<p>Only one policy is in this report: nothing to compare. The table gives its "
            "yearly values (median, and p10–p90 across replicates).</p>"
        )
    else:
        parts.append(
            f"<p>Yearly values of each policy (median, and p10–p90 across replicates), and the "
            f"paired difference from <strong>{esc(first.label)}</strong> (Δ): each replicate "
            "minus the replicate of the first policy with the same number. Policies of one "
            "ensemble share each replicate's seed and prior draw (common random numbers), so "
            "these differences show the policy's effect without most of the replicate noise. "
            "Flows and costs are summed over the year, stocks taken at its end.</p>"
        )
    pairs = {g.label: _pairing(first, g) for g in groups[1:]}
    header = ["year", *(g.label for g in groups), *(f"Δ {g.label}" for g in groups[1:])]
    rows: list[list[str]] = []
    partial: set[int] = set()
    for g in groups:
        partial |= _partial_years(*data.days(g))
    width = len(header)
    for metric in KEY_METRICS:
        rows.append([f'<th colspan="{width}" class="metric">{esc(metric.title)}</th>'])
        wides = {g.label: data.at(metric.name, g, "year") for g in groups}
        stats = {k: bands(w, (0.1, 0.5, 0.9)) for k, w in wides.items()}
        years = sorted({int(i.year) for w in wides.values() for i in w.index})
        for y in years:
            when = pd.Timestamp(year=y, month=1, day=1)
            row = [f"{y}*" if y in partial else str(y)]
            row += [_cell(stats[g.label], when, metric.money) for g in groups]
            for g in groups[1:]:
                keys, _how = pairs[g.label]
                a, b = wides[first.label], wides[g.label]
                if not keys or when not in a.index or when not in b.index:
                    row.append("–")
                    continue
                va = pd.Series(a.loc[when].to_numpy(), index=list(first.keys)).loc[keys]
                vb = pd.Series(b.loc[when].to_numpy(), index=list(g.keys)).loc[keys]
                row.append(_diff_cell((vb - va).to_numpy(dtype=float), metric.money))
            rows.append(row)
    parts.append(_table(header, rows, cls="yearly"))
    if partial:
        parts.append("<p class='muted'>* part of a year (the period starts or ends within it).</p>")
    if len(groups) == 1:
        return "\n".join(parts)
    comp_rows: list[list[str]] = []
    for g in groups[1:]:
        keys, how = pairs[g.label]
        comp_rows.append([f'<th colspan="6" class="metric">{esc(g.label)}: {esc(how)}</th>'])
        if not keys:
            comp_rows.append(["no replicates in common", "–", "–", "–", "–", "–"])
            continue
        for metric in KEY_METRICS:
            c = paired(
                data.scalar(metric.name, first).loc[keys],
                data.scalar(metric.name, g).loc[keys],
                metric=metric.name,
                policy_a=first.label,
                policy_b=g.label,
                quantiles=(0.1, 0.5, 0.9),
            )
            m = metric.money
            diff = _num(c.quantiles["p50"], m)
            if c.n > 1:
                lo, hi = _num(c.quantiles["p10"], m), _num(c.quantiles["p90"], m)
                diff += f' <span class="range">({lo} – {hi})</span>'
            ratio = f"{c.ratio:.2f}" if c.n > 1 and np.isfinite(c.ratio) else "–"
            comp_rows.append(
                [
                    esc(metric.title),
                    _num(c.mean_a, m),
                    _num(c.mean_b, m),
                    diff,
                    str(c.n),
                    ratio,
                ]
            )
    parts.append(
        "<h3>Whole period, paired by replicate</h3><p>Flows and costs summed over the "
        "period, stocks at its end. <em>sd ratio</em>: spread of the paired differences over "
        "the spread of the replicates (well below 1 when common random numbers work; about 1.4 "
        "for independent runs).</p>"
    )
    parts.append(
        _table(
            [
                "metric",
                f"mean, {first.label}",
                "mean, policy",
                "difference: median (p10 – p90)",
                "pairs",
                "sd ratio",
            ],
            comp_rows,
            cls="paired",
        )
    )
    return "\n".join(parts)


def _partial_years(first: pd.Timestamp, last: pd.Timestamp) -> set[int]:
    """Years that the period [first, last] covers only in part."""
    out: set[int] = set()
    if (first.month, first.day) != (1, 1):
        out.add(first.year)
    if (last.month, last.day) != (12, 31):
        out.add(last.year)
    return out


def _hypothetical_hubs(meta: Mapping[str, Any]) -> list[str]:
    """Hubs of a run marked hypothetical that operated (from its meta)."""
    hubs = meta.get("hubs")
    if not isinstance(hubs, dict):
        return []
    return [
        str(h)
        for h, m in hubs.items()
        if isinstance(m, dict) and m.get("hypothetical") and (m.get("operating_days") or 0) > 0
    ]


def _pipeline_section(
    groups: Sequence[RunGroup],
    store: Store,
    figs: _Figures,
    metas: Mapping[str, Mapping[str, Any]],
) -> str:
    from corridor.report.sankey import pipeline, sankey_figure

    parts = [
        "<p>People through the asylum pipeline over the whole period (mean over replicates): "
        "arrivals and the people already waiting at the start, claims, initial decisions, "
        "grants and refusals, appeals, and what became of refused people (voluntary "
        "departure, enforced removal, transfer to a hub, absconding, limbo) and of people "
        "sent to hubs. Boxes on the right of each column hold the people still in that "
        "stage at the end. A box's size is the larger of its inflow and outflow.</p>"
    ]
    shown = groups[:_MAX_SANKEYS]
    for k, g in enumerate(shown):
        totals = pipeline_totals(store, g.run_ids)
        nodes, links = pipeline(totals)
        fig = sankey_figure(
            nodes,
            links,
            title=f"{g.label}: people through the pipeline",
            note=f"{g.n} run{'s' if g.n != 1 else ''}; cumulative people, mean over runs",
        )
        parts.append(
            figs.add(
                fig,
                f"pipeline_{k}_{_slug(g.label)}",
                f"Flow diagram of the asylum pipeline, {g.label}",
                f"{esc(g.label)}: claims {_num(totals.get('new_claims', 0.0))}, decisions "
                f"{_num(totals.get('new_decisions', 0.0))}, grants (initial + appeal) "
                f"{_num(totals.get('new_grants', 0.0) + totals.get('new_appeals_allowed', 0.0))}"
                f", removals {_num(totals.get('new_removals', 0.0))}, hub transfers "
                f"{_num(totals.get('new_hub_transfers', 0.0))}."
                + (
                    " <strong>HYPOTHETICAL</strong> hubs (they operate even if the host "
                    "refused): " + esc(", ".join(hypo)) + "."
                    if (hypo := _hypothetical_hubs(metas.get(g.run_ids[0], {})))
                    else ""
                ),
            )
        )
    if len(groups) > len(shown):
        parts.append(
            f"<p class='muted'>{len(groups) - len(shown)} more policies are not drawn.</p>"
        )
    return "\n".join(parts)


def _route_section(
    groups: Sequence[RunGroup], infos: Mapping[str, ScenarioInfo], store: Store, figs: _Figures
) -> str:
    """A route-flow map where a run stored link flows and its scenario has a network."""
    drawn: list[str] = []
    for k, g in enumerate(groups[:_MAX_SANKEYS]):
        result = _routes_result(store, g, infos.get(g.scenario))
        if result is None:
            continue
        fig = route_map_figure(result, title=f"{g.label}: people a month on each link")
        drawn.append(
            figs.add(
                fig,
                f"routes_{k}_{_slug(g.label)}",
                f"Map of route flows, {g.label}",
                f"{esc(g.label)}: people a month on each link of the route network "
                f"(run {esc(g.run_ids[0])}).",
            )
        )
    if not drawn:
        return (
            "<p>No route network in this scenario: its runs have no link flows, so there is "
            "no map of route flows.</p>"
        )
    return "\n".join(drawn)


def _routes_result(store: Store, g: RunGroup, info: ScenarioInfo | None) -> Any:
    """A :class:`~corridor.routes.run.RoutesResult` from a run's stored ``link_flows`` and its
    scenario's network, or None when either is missing."""
    path = store.run_dir(g.run_ids[0]) / "link_flows.parquet"
    if info is None or info.loaded is None or not path.is_file() or not info.chain:
        return None
    try:
        import yaml

        from corridor.routes.network import build_graph
        from corridor.routes.run import RoutesResult
        from corridor.routes.schema import load_network

        folder = info.chain[0]
        doc = yaml.safe_load((folder / "scenario.yaml").read_text(encoding="utf-8")) or {}
        section = doc.get("network") if isinstance(doc, dict) else None
        if section is None and not (folder / "places.csv").is_file():
            return None
        net = load_network(folder, section)
        flows = pd.read_parquet(path)
        flows["date"] = pd.to_datetime(flows["date"])
        sc = info.loaded.scenario
        empty = pd.DataFrame()
        return RoutesResult(
            link_flows=flows,
            events=empty,
            arrivals=empty,
            stocks=empty,
            routes=empty,
            agents=None,
            metrics={},
            network=net,
            graph=build_graph(net),
            start=sc.period.start,
            days=(sc.period.end - sc.period.start).days + 1,
        )
    except Exception as exc:  # a map is optional: say why in the log and go on
        log.warning("route map of %s not drawn: %s", g.label, exc)
        return None


def _costs_section(groups: Sequence[RunGroup], store: Store, figs: _Figures) -> str:
    costs = {g.label: cost_by_item_year(store, g.run_ids) for g in groups[:6]}
    fig = cost_figure(costs, title="Cost by item and year (nominal £, mean over replicates)")
    parts = [
        "<p>Nominal pounds (no deflation) by cost item and year, mean over replicates. "
        "Accommodation is priced per supported person-night; decisions and appeals per case; "
        "removals and hub transfers per person; hub payments as the agreements set them "
        "(assumptions C1–C8).</p>",
        figs.add(fig, "costs", "Stacked bars of cost by item and year", "Cost by item and year."),
    ]
    items = sorted({c for f in costs.values() for c in f.columns})
    if items:
        rows = []
        for item in items:
            row = [esc(item.replace("_", " "))]
            for f in costs.values():
                row.append(_num(float(f[item].sum()) if item in f.columns else 0.0, True))
            rows.append(row)
        rows.append(
            ["<strong>total</strong>"]
            + [f"<strong>{_num(float(f.to_numpy().sum()), True)}</strong>" for f in costs.values()]
        )
        parts.append("<h3>Whole period by item</h3>")
        parts.append(_table(["item", *costs.keys()], rows, cls="costs"))
    return "\n".join(parts)


# ---------------------------------------------------------------------------------------------
# Assumptions
# ---------------------------------------------------------------------------------------------
def _docs_dir() -> Path | None:
    here = Path(__file__).resolve()
    for folder in here.parents:
        cand = folder / "docs"
        if (cand / "assumptions-asylum.md").is_file():
            return cand
    return None


def _doc_sections(text: str) -> tuple[str, list[tuple[str, str]]]:
    """The preamble and the ``## `` sections of a markdown file."""
    chunks = re.split(r"^## ", text, flags=re.M)
    head = chunks[0]
    sections = []
    for chunk in chunks[1:]:
        title, _, body = chunk.partition("\n")
        sections.append((title.strip(), body))
    return head, sections


def _status(source: str) -> str:
    s = source.strip().lower()
    if not s:
        return "assumption (no source given)"
    if "test fixture" in s:
        return "test fixture (invented)"
    if "hypothetical" in s:
        return "hypothetical"
    if "http" in s:
        return "cited"
    return "stated (see source)"


_KEY_LINE = re.compile(r"^(\s*)(-\s+)?([A-Za-z_][\w.]*)\s*:(.*)$")
_SOURCE = re.compile(r"(?<![#(] )(?<![#(])\bsource:\s*(.+)")


def _yaml_keys(lines: Sequence[str]) -> dict[int, tuple[str, str]]:
    """Line index → (dotted key path, value written on that line) for every key line."""
    out: dict[int, tuple[str, str]] = {}
    stack: list[tuple[int, str]] = []
    for n, line in enumerate(lines):
        code = line.split(" #", 1)[0].rstrip()
        m = _KEY_LINE.match(code)
        if m is None or code.lstrip().startswith("#"):
            continue
        indent = len(m.group(1)) + (len(m.group(2)) if m.group(2) else 0)
        while stack and stack[-1][0] >= indent:
            stack.pop()
        path = ".".join([k for _, k in stack] + [m.group(3)])
        value = m.group(4).strip()
        out[n] = (path, value if value not in ("", "|", ">", ">-") else "")
        stack.append((indent, m.group(3)))
    return out


def _yaml_sources(files: Sequence[Path]) -> list[list[str]]:
    """Rows for every ``source:`` comment of the scenario.yaml files: the key it describes (the
    key on its line, or the next key below a comment line), that key's value, the source."""
    rows: list[list[str]] = []
    for file in files:
        try:
            lines = file.read_text(encoding="utf-8").splitlines()
        except OSError:
            continue
        keys = _yaml_keys(lines)
        for n, line in enumerate(lines):
            code, hash_, comment = line.partition("#")
            m = _SOURCE.search(comment) if hash_ else None
            if m is None:
                continue
            at = n if code.strip() else next((k for k in sorted(keys) if k > n), None)
            path, value = keys.get(at, ("", "")) if at is not None else ("", "")
            src = m.group(1).strip()
            rows.append(
                [
                    "scenario.yaml",
                    f"<code>{esc(path or '(file)')}</code><br><span class='muted'>"
                    f"{esc(file.parent.name)}/scenario.yaml:{n + 1}</span>",
                    esc(value),
                    "",
                    _source_html(src),
                    esc(_status(src)),
                ]
            )
    return rows


def _names(names: Sequence[str]) -> str:
    return ", ".join(names) if len(names) <= 4 else f"{len(names)} nationalities"


def _pack_rows(info: ScenarioInfo) -> list[list[str]]:
    assert info.loaded is not None
    sc = info.loaded.scenario
    t = info.loaded.tables
    rows: list[list[str]] = []
    hosts_file = info.table_files.get("hosts")
    hosts = (
        pd.read_csv(hosts_file, dtype=str, keep_default_na=False)
        if hosts_file is not None
        else pd.DataFrame()
    )
    for r in hosts.to_dict("records"):
        value = str(r.get("position", "")).replace("_", " ")
        note = str(r.get("note", "") or "")
        rows.append(
            [
                "host position",
                esc(r.get("host", "")),
                esc(value) + (f"<br><span class='muted'>{linkify(note)}</span>" if note else ""),
                esc(r.get("date", "")),
                _source_html(str(r.get("source", ""))),
                esc(_status(str(r.get("source", "")))),
            ]
        )
    for h in sc.hubs:
        steps = ", ".join(f"{s.status} {s.date}" for s in h.agreement)
        value = (
            f"{h.beds:,.0f} beds; {h.flights_per_week:g} flight(s) a week × "
            f"{h.seats_per_flight:g} seats; stay {h.stay_days:g} days; exits "
            f"{h.removed_onward:.0%} removed onward / {h.left:.0%} left / {h.stayed:.0%} stayed; "
            f"£{h.cost_per_night_gbp:,.2f} a night; fixed {_num(h.fixed_payment_gbp, True)} a "
            f"year; set-up {_num(h.setup_gbp, True)}; {_num(h.payment_per_person_gbp, True)} per "
            "person"
        )
        label = esc(f"{h.id} ({h.host})")
        status = _status(h.source)
        if h.hypothetical:
            label = "<strong>HYPOTHETICAL</strong> " + label
            status = "hypothetical: operates even if the host refused"
        rows.append(["hub", label, esc(value), esc(steps), _source_html(h.source), esc(status)])
    costs = t.get("costs", pd.DataFrame())
    for r in costs.to_dict("records"):
        rows.append(
            [
                "unit cost",
                esc(r["item"]),
                esc(f"£{float(r['gbp']):,.2f} {r.get('unit', '')}".strip()),
                esc(_d(r["from_date"])),
                _source_html(str(r.get("source", ""))),
                esc(_status(str(r.get("source", "")))),
            ]
        )
    nat = t.get("nationalities", pd.DataFrame())
    for r in nat.to_dict("records"):
        ra = "returns agreement" if bool(r["returns_agreement"]) else "no returns agreement"
        frm = r.get("returns_agreement_from")
        if frm is not None and not pd.isna(frm):
            ra += f" from {_d(frm)}"
        rows.append(
            [
                "nationality",
                esc(r["nationality"]),
                esc(f"{float(r['household_size']):g} people per case; {ra}"),
                "",
                _source_html(str(r.get("source", ""))),
                esc(_status(str(r.get("source", "")))),
            ]
        )
    gr = t.get("grant_rates", pd.DataFrame())
    for nat_name, g in gr.groupby("nationality", sort=False):
        vals = g["grant_rate"].astype(float)
        srcs = "; ".join(dict.fromkeys(str(s) for s in g["source"]))
        rows.append(
            [
                "grant rate",
                esc(nat_name),
                esc(
                    f"{len(g)} dated step(s), {vals.min():.0%}–{vals.max():.0%}; "
                    f"last {vals.iloc[-1]:.0%}"
                ),
                esc(f"{_d(g['from_date'].min())} – {_d(g['from_date'].max())}"),
                _source_html(srcs),
                esc(_status(srcs)),
            ]
        )
    arr = t.get("arrivals", pd.DataFrame())
    for src, g in arr.groupby("source", sort=False):
        months = pd.to_datetime(g["month"])
        rows.append(
            [
                "arrivals",
                esc(_names(sorted(str(x) for x in g["nationality"].unique()))),
                esc(f"{float(g['people'].sum()):,.0f} people"),
                esc(f"{months.min():%Y-%m} – {months.max():%Y-%m}"),
                _source_html(str(src)),
                esc(_status(str(src))),
            ]
        )
    rows += _yaml_sources([f / "scenario.yaml" for f in info.chain])
    return rows


def _assumptions_section(infos: Mapping[str, ScenarioInfo]) -> str:
    parts: list[str] = []
    docs = _docs_dir()
    names: set[str] = set()
    for info in infos.values():
        names.add(info.name)
        if info.loaded is not None:
            names |= {f.name for f in info.chain}
            names.add(info.loaded.name)
    if docs is not None:
        head, sections = _doc_sections((docs / "assumptions-asylum.md").read_text("utf-8"))
        parts.append("<h3>Model and pack assumptions (docs/assumptions-asylum.md)</h3>")
        intro = re.sub(r"^# .*$", "", head, flags=re.M)
        parts.append(md_block(intro, level=4))
        omitted: list[str] = []
        for title, body in sections:
            packs = re.findall(r"`([^`]+)`", title)
            if packs and not any(p in names for p in packs):
                omitted.append(title)
                continue
            table = md_block(body, level=5).replace('class="md"', 'class="md assumptions"')
            parts.append(f"<h4>{md_inline(title)}</h4>{table}")
        if omitted:
            parts.append(
                "<p class='muted'>Sections for other packs left out: "
                + "; ".join(md_inline(t) for t in omitted)
                + ".</p>"
            )
    else:
        parts.append(
            "<p class='warn'>docs/assumptions-asylum.md is not in this installation; only the "
            "scenario pack's own sources are listed.</p>"
        )
    for name, info in infos.items():
        parts.append(f"<h3>Scenario pack {esc(name)}</h3>")
        if info.loaded is None:
            parts.append(f"<p class='warn'>{esc(info.problem)}</p>")
            continue
        parts.append(
            "<p>Every table row and cited value of the pack, with its source. Hubs marked "
            "<strong>HYPOTHETICAL</strong> operate even though their host refused.</p>"
        )
        parts.append(
            _table(
                ["kind", "item", "value", "date", "source", "confidence"],
                _pack_rows(info),
                cls="assumptions pack",
            )
        )
        readme = next((f / "README.md" for f in info.chain if (f / "README.md").is_file()), None)
        if readme is not None:
            parts.append(
                f"<details><summary>The pack's README ({esc(readme.parent.name)}/README.md)"
                f"</summary>{md_block(readme.read_text('utf-8'), level=4)}</details>"
            )
    return "\n".join(parts)


def _model_card_section() -> str:
    parts = [
        "<p class='privacy'><strong>All outputs in this report are aggregate</strong>: counts, "
        "rates and costs for whole populations. Corridor's agents are synthetic statistical "
        "units drawn from published aggregate figures; the report contains no personal data "
        "and must not be used to predict or target individuals.</p>"
    ]
    docs = _docs_dir()
    card = docs / "model-card.md" if docs is not None else None
    if card is not None and card.is_file():
        _head, sections = _doc_sections(card.read_text("utf-8"))
        keep = ("What Corridor is for", "What it is not for", "Validation", "Known limits")
        for title, body in sections:
            if title in keep:
                parts.append(f"<h3>{esc(title)}</h3>{md_block(body, level=4)}")
        parts.append(
            "<p>The full model card is <code>docs/model-card.md</code> in the Corridor source; "
            "every assumption with its confidence is in "
            "<code>docs/assumptions-asylum.md</code>.</p>"
        )
    else:
        parts.append(
            "<p>Corridor compares policies for whole populations (return hubs, caseworkers, "
            "deterrence assumptions) with uncertainty; it is not a forecast of what any "
            "government will do, nor a legal analysis. See docs/model-card.md in the Corridor "
            "source.</p>"
        )
    return "\n".join(parts)


# ---------------------------------------------------------------------------------------------
# The page
# ---------------------------------------------------------------------------------------------
_CSS = """
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;
margin:0;background:#fff}
header,main,footer{max-width:1120px;margin:0 auto;padding:0 20px}
header{border-bottom:1px solid #d0d7de;padding-bottom:8px}
h1{font-size:26px;margin:18px 0 4px}h2{font-size:21px;border-bottom:1px solid #d0d7de;
padding-bottom:4px;margin-top:36px}h3{font-size:17px;margin-top:24px}h4{font-size:15px}
nav ol{columns:3;font-size:14px;padding-left:20px}
table{border-collapse:collapse;margin:8px 0 16px;font-size:12.5px;width:100%}
th,td{border:1px solid #d0d7de;padding:3px 6px;vertical-align:top;text-align:left}
th{background:#f6f8fa}td{overflow-wrap:anywhere}
table.yearly td,table.costs td,table.paired td{text-align:right;white-space:nowrap}
table.yearly td:first-child,table.costs td:first-child,table.paired td:first-child{
text-align:left;white-space:normal}th.metric{background:#eaeef2;text-align:left}
table.assumptions td:first-child{white-space:nowrap}
.range{color:#57606a;font-size:11px}.muted{color:#57606a}
.warn{background:#fff8c5;border:1px solid #d4a72c;padding:6px 10px}
.privacy{background:#ddf4ff;border:1px solid #54aeff;padding:8px 12px}
.sw{display:inline-block;width:10px;height:10px;margin-right:6px;border-radius:2px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(500px,1fr));gap:0 20px}
.empty{border:1px dashed #d0d7de;padding:0 12px;margin:12px 0 22px}
figure{margin:12px 0 22px}figure img{max-width:100%;height:auto;border:1px solid #eaeef2}
figcaption{font-size:13px;color:#57606a}code{font-size:12.5px;background:#f6f8fa;
padding:0 3px}details{margin:10px 0}summary{cursor:pointer;font-weight:600}
footer{border-top:1px solid #d0d7de;margin-top:40px;padding:10px 20px 30px;color:#57606a;
font-size:13px}
@media print{nav{display:none}h2{break-before:page}figure{break-inside:avoid}}
"""


def _page(title: str, sections: Sequence[tuple[str, str, str]], subtitle: str) -> str:
    from corridor import __version__

    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    nav = "".join(f'<li><a href="#{sid}">{esc(h)}</a></li>' for sid, h, _ in sections)
    body = "\n".join(
        f'<section id="{sid}"><h2>{esc(h)}</h2>\n{content}\n</section>'
        for sid, h, content in sections
    )
    csp = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="generator" content="corridor {esc(__version__)}">'
        f"<title>{esc(title)}</title><style>{_CSS}</style></head>\n<body>\n"
        f"<header><h1>{esc(title)}</h1><p>{subtitle}</p>"
        "<p class='privacy'>Aggregate outputs only (counts, rates and costs for whole "
        "populations); no personal data.</p>"
        f"<nav><ol>{nav}</ol></nav></header>\n<main>\n{body}\n</main>\n"
        f"<footer>Generated {esc(now)} by corridor {esc(__version__)}. Self-contained: "
        "figures are embedded; the same PNGs are in the folder beside this file.</footer>\n"
        "</body></html>\n"
    )


def build_report(
    runs: Sequence[str],
    store: Store | str | Path,
    out: str | Path,
    *,
    scenarios: Sequence[str | Path] | None = None,
    observed_dir: str | Path | None = None,
    title: str | None = None,
) -> Path:
    """Write the HTML report of ``runs`` (see the module docstring) to ``out``, its PNGs to
    :func:`figures_dir` ``(out)``, and return ``out``.

    ``store`` is a :class:`~corridor.results.store.Store` or its folder (which must exist).
    ``scenarios``: scenario folders for runs whose scenario is not shipped (matched by name).
    ``observed_dir``: the folder of the research CSVs (see :func:`load_observed`).
    Raises :class:`InputError` for a run, ensemble or policy that is not in the store.
    """
    from corridor.results.store import Store

    if not isinstance(store, Store):
        root = Path(store)
        if not (root / "catalog.duckdb").is_file():
            raise InputError(
                f"no results store at {root}", field="--results", expected="a results folder"
            )
        store = Store.open(root)
    out = Path(out)
    if out.suffix.lower() not in (".html", ".htm"):
        raise InputError(
            f"report file {out} does not end in .html", field="--out", expected="FILE.html"
        )
    groups = resolve_runs(store, list(runs))
    infos = _scenarios(groups, scenarios)
    metas = {g.run_ids[0]: store.read_meta(g.run_ids[0]).get("result", {}) for g in groups}
    first_info = infos.get(groups[0].scenario)
    observed, notes = load_observed(
        first_info, Path(observed_dir) if observed_dir is not None else None
    )
    figs = _Figures(figures_dir(out))
    data = _Data(store)
    scen_names = ", ".join(dict.fromkeys(g.scenario for g in groups))
    title = title or f"Corridor report: {scen_names}"
    n_runs = sum(g.n for g in groups)
    subtitle = esc(
        f"{len(groups)} polic{'ies' if len(groups) != 1 else 'y'} "
        f"({', '.join(g.label for g in groups)}), {n_runs} run{'s' if n_runs != 1 else ''}."
    )
    content = {
        "summary": _summary_section(groups, infos, metas),
        "runs": _runs_section(groups, infos, store),
        "series": _series_section(groups, data, observed, notes, figs),
        "policies": _policies_section(groups, data),
        "pipeline": _pipeline_section(groups, store, figs, metas),
        "routes": _route_section(groups, infos, store, figs),
        "costs": _costs_section(groups, store, figs),
        "assumptions": _assumptions_section(infos),
        "model-card": _model_card_section(),
    }
    page = _page(title, [(sid, h, content[sid]) for sid, h in SECTIONS], subtitle)
    with atomic_path(out, suffix=".html") as tmp:
        tmp.write_text(page, encoding="utf-8")
        _readable(tmp)
    figs.remove_stale()
    return out
