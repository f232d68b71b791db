"""The report's lead: the first forecast years, variant by variant, beside the last observed year.

Reads: ``summary`` (``summary.json``'s ``{variant: {year: {metric: {p10, p50, p90}}}}``), the
variants' labels (``variants.json``'s ``variants``) and the scenario pack's observed tables
(``observed/uk_quarterly.csv``, ``observed/channel_annual.csv``, ``observed/flows_monthly.csv``).
Produces: :func:`observed_year` — each of :data:`YEAR_METRICS` as published for one calendar
year (value, or ``None``), each with a plain note on what the figure is and where it is from, or
why there is none; :func:`year_tables_html` — one HTML table per forecast year (rows: that year's
observed figures first, then every variant; cells: median with the 10–90% range beneath); and
:data:`BAND_NOTE`, the one sentence that says what every 10–90% range in the report covers and
what it does not.

Invariants: every number shown comes from ``summary`` or the observed tables, never from this
module; an observed figure is given only where the tables hold the whole year (four quarters,
twelve months or the annual row), otherwise the cell says it is not published there; a missing
file or metric gives a note, never an error; labels and units are plain words (no code names,
no powers of ten).
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = [
    "BAND_NOTE",
    "PLAIN_NAMES",
    "YEAR_METRICS",
    "Observed",
    "fmt_value",
    "observed_year",
    "year_tables_html",
]

# (metric of summary.json, plain heading, unit: "people" | "percent" | "gbp")
YEAR_METRICS: tuple[tuple[str, str, str], ...] = (
    ("small_boat_arrivals", "Small-boat arrivals", "people"),
    ("asylum_claims", "Asylum claims", "people"),
    ("initial_decisions", "Initial decisions", "people"),
    ("initial_grant_rate", "Grant rate at initial decision", "percent"),
    ("backlog_end", "Awaiting an initial decision on 31 December", "people"),
    ("removals", "Removals and returns", "people"),
    ("limbo_end", "In limbo on 31 December", "people"),
    ("cost_gbp", "Cost to the UK, £ billion", "gbp"),
)

# Plain words for the names the report would otherwise show as code (series, fitted parameters,
# the comparison table's money columns).
PLAIN_NAMES: dict[str, str] = {
    "small_boat_arrivals": "Small-boat arrivals",
    "wb_detections": "Western Balkans detections (Frontex)",
    "em_detections": "Eastern Mediterranean detections (Frontex)",
    "cm_detections": "Central Mediterranean detections (Frontex)",
    "other_route_claims": "Asylum claims by other routes",
    "arrivals.claim_share": "share of small-boat arrivals who claim asylum",
    "cost_limbo_gbp": "Cost of limbo, £",
    "cost_gbp": "Total cost, £",
    "cost_pv_gbp": "Present value of the cost, £ (3.5% a year)",
}

BAND_NOTE = (
    "Every range in this report (10th to 90th percentile, “p10–p90”, beneath or around a median)"
    " is the spread over replicates, each of which draws its own monthly flows (small boats,"
    " routes, other claims), its own policy assumptions (deterrence, hub take-up, French"
    " prevention) and its own system parameters (grant rates by nationality and year, decisions"
    " per caseworker, removal and tribunal capacity by year, each as uncertain as its own"
    " forecast rule proved on the published past at that horizon); it does not include the"
    " randomness of individual cases within the system given those draws (the aggregate engine"
    " moves expected numbers) or policy changes nobody announced, so a year’s true figure falls"
    " outside it more often than one time in five: tested on 2021–2024, the 80% ranges held"
    " about two thirds of the observed figures one year ahead and fewer further out."
)


@dataclass(frozen=True)
class Observed:
    """One metric as published for one year: ``value`` (``None`` when not published in the
    scenario's observed tables) and a plain note (what it counts and its source, or why none)."""

    value: float | None
    note: str


def _read(pack: Path, name: str) -> pd.DataFrame | None:
    path = pack / "observed" / name
    if not path.is_file():
        return None
    try:
        return pd.read_csv(path)
    except (OSError, ValueError):
        return None


def _source(rows: pd.DataFrame) -> str:
    if "source" not in rows or rows.empty:
        return ""
    first = str(rows["source"].iloc[0]).split(" ; ")[0].strip()
    return f" Source: {first}."


def _quarterly(q: pd.DataFrame | None, metric: str, year: int) -> tuple[float | None, pd.DataFrame]:
    """The year's four quarters of ``metric`` summed (``None`` unless all four are there)."""
    if q is None:
        return None, pd.DataFrame()
    rows = q[(q["metric"] == metric) & (q["date"].astype(str).str[:4] == str(year))]
    return (float(rows["value"].sum()) if len(rows) == 4 else None), rows


def _year_end(q: pd.DataFrame | None, metric: str, year: int) -> tuple[float | None, pd.DataFrame]:
    if q is None:
        return None, pd.DataFrame()
    rows = q[(q["metric"] == metric) & (q["date"].astype(str) == f"{year}-12-31")]
    return (float(rows["value"].iloc[0]) if len(rows) else None), rows


def _small_boats(pack: Path, year: int) -> Observed:
    annual = _read(pack, "channel_annual.csv")
    if annual is not None:
        rows = annual[(annual["metric"] == "small_boat_arrivals") & (annual["year"] == year)]
        if len(rows):
            return Observed(
                float(rows["value"].iloc[0]),
                f"people detected crossing the Channel in small boats.{_source(rows)}",
            )
    monthly = _read(pack, "flows_monthly.csv")
    if monthly is not None:
        rows = monthly[
            (monthly["metric"] == "small_boat_arrivals")
            & (monthly["date"].astype(str).str[:4] == str(year))
        ]
        if len(rows) == 12:
            return Observed(float(rows["value"].sum()), f"sum of the months.{_source(rows)}")
    return Observed(None, f"no {year} figure in the scenario's observed tables")


def observed_year(pack: str | Path, year: int) -> dict[str, Observed]:
    """Each of :data:`YEAR_METRICS` as published for ``year``, from the pack's ``observed/``
    tables (see the module docstring); metrics with no published figure there say so."""
    pack = Path(pack)
    q = _read(pack, "uk_quarterly.csv")
    out: dict[str, Observed] = {"small_boat_arrivals": _small_boats(pack, year)}
    missing = f"not published for {year} in the scenario's observed tables"

    claims, rows = _quarterly(q, "new_claims", year)
    out["asylum_claims"] = Observed(
        claims, f"asylum claims in the year's four quarters.{_source(rows)}" if claims else missing
    )
    decisions, rows = _quarterly(q, "new_decisions", year)
    out["initial_decisions"] = Observed(
        decisions,
        f"initial decisions in the year's four quarters.{_source(rows)}" if decisions else missing,
    )
    grants, _ = _quarterly(q, "new_grants", year)
    rate = 100.0 * grants / decisions if grants is not None and decisions else None
    out["initial_grant_rate"] = Observed(
        rate, "grants as a share of initial decisions in the year." if rate else missing
    )
    backlog, rows = _year_end(q, "n_awaiting_decision", year)
    out["backlog_end"] = Observed(
        backlog, f"people awaiting an initial decision on 31 December.{_source(rows)}"
        if backlog is not None else missing,
    )  # fmt: skip
    enforced, _ = _quarterly(q, "returns_enforced_all", year)
    voluntary, _ = _quarterly(q, "returns_voluntary_all", year)
    if enforced is not None and voluntary is not None:
        out["removals"] = Observed(
            enforced + voluntary,
            f"all immigration returns ({enforced:,.0f} enforced, {voluntary:,.0f} voluntary),"
            " not only people who claimed asylum, so higher than the model's removals of people"
            f" who claimed asylum; returns of asylum claimants alone are not in the scenario's"
            f" observed tables for {year}",
        )
    else:
        out["removals"] = Observed(None, missing)
    out["limbo_end"] = Observed(
        None,
        "not published: no official count of people refused or inadmissible who are neither"
        " granted nor removed",
    )
    out["cost_gbp"] = Observed(
        None, "not published as one figure; the scenario's unit costs are cited in costs.csv"
    )
    return out


def fmt_value(x: float | None, unit: str) -> str:
    """A number for reading: people to three significant figures with thousands separators
    (``46,500``), a percentage with one decimal (``57.6%``), pounds in billions (``5.43``)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if unit == "percent":
        return f"{x:.1f}%"
    if unit == "gbp":
        return f"{x / 1e9:.2f}"
    if abs(x) < 0.5:
        return "0"
    digits = max(0, math.floor(math.log10(abs(x))) - 2)
    return f"{round(x, -digits):,.0f}"


def _cell(q: dict[str, Any] | None, unit: str) -> str:
    if not q:
        return "<td>–</td>"
    return (
        f"<td>{fmt_value(q.get('p50'), unit)}<br><small>{fmt_value(q.get('p10'), unit)}–"
        f"{fmt_value(q.get('p90'), unit)}</small></td>"
    )


def year_tables_html(
    summary: dict[str, Any],
    labels: dict[str, str],
    years: tuple[int, ...],
    observed: dict[str, Observed],
    observed_label: int,
) -> str:
    """One table per year of ``years``: the ``observed_label`` year's published figures first
    (a numbered note for each that is absent or counts something else), then each variant of
    ``summary`` (median, 10–90% range beneath)."""
    notes: list[str] = []
    obs_cells = []
    for metric, heading, unit in YEAR_METRICS:
        o = observed.get(metric)
        if o is None:
            obs_cells.append("<td>–</td>")
            continue
        notes.append(f"{html.escape(heading)}: {html.escape(o.note)}")
        mark = f"<sup>{len(notes)}</sup>"
        text = (
            (f"{o.value:,.0f}" if unit == "people" else fmt_value(o.value, unit))
            if o.value is not None
            else "not published"
        )
        obs_cells.append(f"<td>{text}{mark}</td>")
    head = "".join(f"<th>{html.escape(h)}</th>" for _m, h, _u in YEAR_METRICS)
    tables = []
    for year in years:
        rows = [f"<tr class='obs'><th>Observed in {observed_label}</th>{''.join(obs_cells)}</tr>"]
        for vid, per_year in summary.items():
            per = per_year.get(str(year), {})
            cells = "".join(_cell(per.get(m), u) for m, _h, u in YEAR_METRICS)
            label = html.escape(labels.get(vid, vid.replace("_", " ")))
            rows.append(f"<tr><th>{label}</th>{cells}</tr>")
        tables.append(
            f"<h3>{year}</h3><table class='years'><tr><th>Variant</th>{head}</tr>"
            f"{''.join(rows)}</table>"
        )
    note_list = "".join(f"<li>{n}</li>" for n in notes)
    return (
        f"{''.join(tables)}<p><small>Each forecast cell: the median over replicates, with the"
        f" 10–90% range beneath. {html.escape(BAND_NOTE)} Removals and returns count enforced"
        " removals, voluntary departures and people sent on from hubs; limbo counts people"
        " refused or inadmissible who are neither granted nor removed; costs are in the"
        " scenario's price year.</small></p>"
        f"<p><small>Observed {observed_label}:</small></p><ol class='notes'>{note_list}</ol>"
    )
