"""The observed record drawn on the report's charts: :func:`load_observed`.

Contract: reads a scenario pack's ``observed.csv`` (the format of
:func:`corridor.analysis.calibrate.read_observed`, the first found along the pack's
``extends`` chain) and the research CSVs (``data_small_boats_monthly.csv``,
``data_uk_asylum_quarterly.csv`` in the research folder: the one given, else
``$CORRIDOR_RESEARCH``, else a ``shared/research`` folder above the working directory or the
package). Produces :class:`~corridor.report.figures.ObservedSeries` by metric, values indexed by
each period's last day, and plain-text notes on where they came from.

Invariants: the research series describe the UK only, so they are used only for a scenario whose
arrivals table is the observed UK small-boat series (monthly totals within 2% of it over at
least 12 months); the pack's ``observed.csv`` then wins metric by metric. A missing file or
folder gives no series and a note, never an error.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from corridor.report.figures import ObservedSeries, Resolution

if TYPE_CHECKING:
    from corridor.report.scenario_info import ScenarioInfo
    from corridor.scenario.loaded import LoadedScenario

__all__ = ["load_observed"]

_UK_MATCH_TOLERANCE = 0.02
_UK_MATCH_MONTHS = 12
_SMALL_BOATS_URL = (
    "https://www.gov.uk/government/publications/"
    "migrants-detected-crossing-the-english-channel-in-small-boats"
)
_RESOLUTIONS: dict[str, Resolution] = {"month": "month", "quarter": "quarter", "year": "year"}


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


def _month_ends(months: Iterable[Any]) -> pd.DatetimeIndex:
    """The last day of each month of ``months`` (dates within them)."""
    return pd.DatetimeIndex([_period_end(pd.Timestamp(m), "month") for m in months])


def _research_observed(folder: Path) -> dict[str, ObservedSeries]:
    """UK series from the research CSVs, by metric (values indexed by the period's last day)."""
    out: dict[str, ObservedSeries] = {}
    boats = folder / "data_small_boats_monthly.csv"
    if boats.is_file():
        b = pd.read_csv(boats)
        month = pd.to_datetime(b["date_month"])
        people = pd.to_numeric(b["migrants_arrived"], errors="coerce").fillna(0.0)
        out["new_arrivals"] = ObservedSeries(
            "new_arrivals",
            pd.Series(people.to_numpy(dtype=float), index=_month_ends(month)),
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
    mine.index = _month_ends(mine.index)
    common = pd.DatetimeIndex(mine.index).intersection(pd.DatetimeIndex(observed.values.index))
    if len(common) < _UK_MATCH_MONTHS:
        return False
    a = float(mine.loc[common].sum())
    b = float(observed.values.loc[common].sum())
    return b > 0 and abs(a - b) / b <= _UK_MATCH_TOLERANCE


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
