"""The main job's figures: summaries, paired differences and the comparison table.

Reads: ``yearly`` — one row per variant, replicate and year with every metric of
:data:`~corridor.forecast.model.METRICS` (what :func:`corridor.flagship.job.run_flagship` builds
from the stored replicates). Produces: ``summary.json``'s ``{variant: {year: {metric: {p10, p50,
p90}}}}``, ``differences.json``'s paired differences against the status quo (and each
variant's ``cost_per_additional_removal_gbp``: its extra cost ÷ its extra enforced removals and
transfers to hubs, replicate by replicate), the comparison table, their long forms for the
results store, and numbers formatted for reading.

Invariants: pure functions of ``yearly``; percentiles over replicates ignore missing values;
differences pair replicate ``r`` of a variant with replicate ``r`` of the status quo (common
random numbers).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from corridor.forecast.model import METRICS

__all__ = [
    "TABLE_METRICS",
    "FlagshipRun",
    "comparison_table",
    "differences",
    "differences_frame",
    "fmt_number",
    "paired_cost_per_additional_removal",
    "summarise",
    "summary_frame",
]

# Columns of the printed comparison (totals over the forecast years, or values at the end).
TABLE_METRICS: tuple[tuple[str, str, str], ...] = (
    ("small_boat_arrivals", "sum", "Arrivals (small boats)"),
    ("backlog_end", "last", "Awaiting decision (end)"),
    ("initial_decisions", "sum", "Decisions"),
    ("removals", "sum", "Removals"),
    ("hub_transfers", "sum", "Transfers to hubs"),
    ("in_hub_end", "last", "In hubs (end)"),
    ("limbo_end", "last", "In limbo (end)"),
    ("deaths", "sum", "Deaths at sea"),
    ("enforced_removals", "sum", "Enforced removals and transfers to hubs"),
    ("cost_limbo_gbp", "sum", "Cost of limbo (GBP)"),
    ("cost_gbp", "sum", "Total cost (GBP)"),
    ("cost_pv_gbp", "sum", "Present value of the cost (GBP, 3.5% a year)"),
)

# What "removal" means in the cost per additional removal: enforced removals from the UK and
# transfers to hubs (voluntary departures are not removals).
REMOVED = "enforced_removals"
MIN_ADDITIONAL = 1.0  # a replicate with fewer additional removals than this has no ratio


@dataclass
class FlagshipRun:
    out_dir: Path
    summary: dict[str, Any]
    table: pd.DataFrame  # per variant: p50 (p10-p90) of the comparison metrics
    yearly: pd.DataFrame  # variant, replicate, year, metrics
    seconds: float
    replicates: int
    workers: int
    run_id: str | None = None
    ensemble_id: str | None = None
    differences: dict[str, Any] = field(default_factory=dict)  # against the status quo


def _q(values: np.ndarray[Any, Any]) -> dict[str, float | None]:
    v = values[~np.isnan(values)]
    if not len(v):
        return {"p10": None, "p50": None, "p90": None}
    p10, p50, p90 = np.percentile(v, [10, 50, 90])
    return {"p10": float(p10), "p50": float(p50), "p90": float(p90)}


def summarise(yearly: pd.DataFrame, first_year: int) -> dict[str, Any]:
    """``{policy_id: {year: {metric: {p10, p50, p90}}}}`` (years from ``first_year``)."""
    out: dict[str, Any] = {}
    for vid, g in yearly[yearly["year"] >= first_year].groupby("variant", sort=False):
        per_year: dict[str, Any] = {}
        for year, gy in g.groupby("year"):
            per_year[str(int(str(year)))] = {m: _q(gy[m].to_numpy(dtype=float)) for m in METRICS}
        out[str(vid)] = per_year
    return out


def _per_replicate(g: pd.DataFrame) -> dict[str, pd.Series]:
    """Each table metric per replicate over the forecast years (sums, or the last year's stock)."""
    out = {}
    for m, how, _label in TABLE_METRICS:
        agg = g.groupby("replicate")[m]
        out[m] = agg.sum() if how == "sum" else agg.last()
    return out


def differences(
    yearly: pd.DataFrame, first_year: int, order: list[str], baseline: str = "status_quo"
) -> dict[str, Any]:
    """Each variant minus the baseline, replicate by replicate (common random numbers: both
    saw the same flows and assumption draws), over the forecast years:
    ``{variant: {metric: {p10, p50, p90, share_lower}}}``; ``share_lower`` is the share of
    replicates in which the variant's value is below the baseline's. Paired differences are far
    narrower than the spread of either variant's levels: they are what a comparison rests on."""
    fut = yearly[yearly["year"] >= first_year]
    if baseline not in set(fut["variant"]):
        return {}
    base = _per_replicate(fut[fut["variant"] == baseline])
    out: dict[str, Any] = {}
    for vid in order:
        if vid == baseline:
            continue
        cur = _per_replicate(fut[fut["variant"] == vid])
        per: dict[str, Any] = {}
        for m, _how, _label in TABLE_METRICS:
            d = (cur[m] - base[m]).dropna().to_numpy(dtype=float)
            per[m] = {**_q(d), "share_lower": float(np.mean(d < 0)) if len(d) else None}
        ratio = paired_cost_per_additional_removal(cur, base)
        per["cost_per_additional_removal_gbp"] = {
            **_q(ratio),
            "replicates": int(np.sum(~np.isnan(ratio))),
            "of": len(ratio),
        }
        out[vid] = per
    return out


def paired_cost_per_additional_removal(
    cur: dict[str, pd.Series], base: dict[str, pd.Series]
) -> np.ndarray[Any, Any]:
    """Replicate by replicate: (the variant's cost − the baseline's) ÷ (the variant's
    :data:`REMOVED` − the baseline's), over the forecast years; NaN where the variant removes
    fewer than :data:`MIN_ADDITIONAL` more people than the baseline (no additional removal to
    price). Never total cost ÷ removals."""
    d_cost = (cur["cost_gbp"] - base["cost_gbp"]).to_numpy(dtype=float)
    d_removed = (cur[REMOVED] - base[REMOVED]).to_numpy(dtype=float)
    ok = d_removed >= MIN_ADDITIONAL
    out: np.ndarray[Any, Any] = np.full(len(d_cost), np.nan)
    out[ok] = d_cost[ok] / d_removed[ok]
    return out


def comparison_table(
    yearly: pd.DataFrame, first_year: int, order: list[str], baseline: str = "status_quo"
) -> pd.DataFrame:
    """Per variant, over the forecast years: p50 and the 10-90% range of each table metric,
    plus the cost per additional removal against ``baseline`` (paired replicates,
    :func:`paired_cost_per_additional_removal`; NaN for the baseline itself)."""
    fut = yearly[yearly["year"] >= first_year]
    base = (
        _per_replicate(fut[fut["variant"] == baseline]) if baseline in set(fut["variant"]) else None
    )
    rows = []
    for vid in order:
        g = fut[fut["variant"] == vid]
        cur = _per_replicate(g)
        per_rep = {m: v.to_numpy(dtype=float) for m, v in cur.items()}
        per_rep["cost_per_additional_removal"] = (
            paired_cost_per_additional_removal(cur, base)
            if base is not None and vid != baseline
            else np.full(len(per_rep["cost_gbp"]), np.nan)
        )
        row: dict[str, Any] = {"variant": vid}
        for m, v in per_rep.items():
            q = _q(v)
            row[m] = q["p50"]
            row[f"{m}_p10"] = q["p10"]
            row[f"{m}_p90"] = q["p90"]
        rows.append(row)
    return pd.DataFrame(rows).set_index("variant")


def differences_frame(diffs: dict[str, Any]) -> pd.DataFrame:
    """differences.json as a long table: variant, metric, p10, p50, p90, share_lower."""
    rows = [{"variant": v, "metric": m, **q} for v, per in diffs.items() for m, q in per.items()]
    return pd.DataFrame(rows, columns=["variant", "metric", "p10", "p50", "p90", "share_lower"])


def summary_frame(summary: dict[str, Any]) -> pd.DataFrame:
    """summary.json as a long table: variant, year, metric, p10, p50, p90."""
    rows = [
        {"variant": vid, "year": int(year), "metric": m, **q}
        for vid, years in summary.items()
        for year, metrics in years.items()
        for m, q in metrics.items()
    ]
    return pd.DataFrame(rows)


def fmt_number(x: float | None, *, compact: bool = False) -> str:
    """``1.23bn``, ``4.5m``, ``12,345`` (``compact``: ``12.3k`` too)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if abs(x) < 0.5:  # never "-0"
        return "0"
    steps = ((1e9, "bn"), (1e6, "m"), (1e3, "k")) if compact else ((1e9, "bn"), (1e6, "m"))
    for div, suffix in steps:
        if abs(x) >= div:
            return f"{x / div:.3g}{suffix}" if compact else f"{x / div:.{3 - len(suffix)}f}{suffix}"
    return f"{x:,.0f}"
