"""Section "Assumptions and sources": every assumption with its source and confidence.

Contract: reads ``docs/assumptions-asylum.md`` (:mod:`corridor.report.project_docs`; its
sections headed with a pack name in backticks are kept only for the packs in the report), each
scenario pack's tables (hosts, hubs, unit costs, nationalities, grant rates, arrivals), the
``source:`` comments of every ``scenario.yaml`` along the pack's ``extends`` chain, and the
pack's README. Produces, per scenario, one table row per cited item (kind, item, value, date,
source as links, confidence judged from the source's words: cited, stated, hypothetical, test
fixture or no source). Hubs marked hypothetical are flagged as operating even though their
host refused. A scenario that was not found gets its problem as a warning.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from corridor.report.markup import day, esc, linkify, md_block, md_inline, num, source_html, table
from corridor.report.project_docs import doc_sections, docs_dir
from corridor.report.scenario_info import ScenarioInfo

__all__ = ["assumptions_section"]


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


def _source_cells(source: str) -> list[str]:
    """The source and confidence cells of a row citing ``source``."""
    return [source_html(source), esc(_status(source))]


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
                    *_source_cells(src),
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
                *_source_cells(str(r.get("source", ""))),
            ]
        )
    for h in sc.hubs:
        steps = ", ".join(f"{s.status} {s.date}" for s in h.agreement)
        value = (
            f"{h.beds:,.0f} beds; {h.flights_per_week:g} flight(s) a week × "
            f"{h.seats_per_flight:g} seats; stay {h.stay_days:g} days; exits "
            f"{h.removed_onward:.0%} removed onward / {h.left:.0%} left / {h.stayed:.0%} stayed; "
            f"£{h.cost_per_night_gbp:,.2f} a night; fixed {num(h.fixed_payment_gbp, True)} a "
            f"year; set-up {num(h.setup_gbp, True)}; {num(h.payment_per_person_gbp, True)} per "
            "person"
        )
        label = esc(f"{h.id} ({h.host})")
        source, status = _source_cells(h.source)
        if h.hypothetical:
            label = "<strong>HYPOTHETICAL</strong> " + label
            status = esc("hypothetical: operates even if the host refused")
        rows.append(["hub", label, esc(value), esc(steps), source, status])
    costs = t.get("costs", pd.DataFrame())
    for r in costs.to_dict("records"):
        rows.append(
            [
                "unit cost",
                esc(r["item"]),
                esc(f"£{float(r['gbp']):,.2f} {r.get('unit', '')}".strip()),
                esc(day(r["from_date"])),
                *_source_cells(str(r.get("source", ""))),
            ]
        )
    nat = t.get("nationalities", pd.DataFrame())
    for r in nat.to_dict("records"):
        ra = "returns agreement" if bool(r["returns_agreement"]) else "no returns agreement"
        frm = r.get("returns_agreement_from")
        if frm is not None and not pd.isna(frm):
            ra += f" from {day(frm)}"
        rows.append(
            [
                "nationality",
                esc(r["nationality"]),
                esc(f"{float(r['household_size']):g} people per case; {ra}"),
                "",
                *_source_cells(str(r.get("source", ""))),
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
                esc(f"{day(g['from_date'].min())} – {day(g['from_date'].max())}"),
                *_source_cells(srcs),
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
                *_source_cells(str(src)),
            ]
        )
    rows += _yaml_sources([f / "scenario.yaml" for f in info.chain])
    return rows


def assumptions_section(infos: Mapping[str, ScenarioInfo]) -> str:
    parts: list[str] = []
    docs = docs_dir()
    names: set[str] = set()
    for info in infos.values():
        names.add(info.name)
        if info.loaded is not None:
            names |= {f.name for f in info.chain}
            names.add(info.loaded.name)
    if docs is not None:
        head, sections = doc_sections((docs / "assumptions-asylum.md").read_text("utf-8"))
        parts.append("<h3>Model and pack assumptions (docs/assumptions-asylum.md)</h3>")
        intro = re.sub(r"^# .*$", "", head, flags=re.M)
        parts.append(md_block(intro, level=4))
        omitted: list[str] = []
        for title, body in sections:
            packs = re.findall(r"`([^`]+)`", title)
            if packs and not any(p in names for p in packs):
                omitted.append(title)
                continue
            doc_table = md_block(body, level=5).replace('class="md"', 'class="md assumptions"')
            parts.append(f"<h4>{md_inline(title)}</h4>{doc_table}")
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
            table(
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
