"""Hub variants' costs per outcome and break-even deterrence, paired against the status quo.

Reads: the main job's yearly replicates (variant, replicate, year, :data:`METRICS`), the first
forecast year and the variant ids. Produces, for every variant that transfers anyone to a hub in
some replicate, replicate by replicate over the forecast years (common random numbers: the same
replicate of the status quo saw the same flows) and then p10 / p50 / p90 with how many replicates
gave a number (``replicates`` of ``of``):

* ``cost_per_transfer_gbp`` — the hub's own costs (set-up, nights, flights, payments to the host:
  the ``hub_*`` cost items) ÷ people transferred: the Home Office IA's unit (£169k gross);
* ``net_cost_per_transfer_gbp`` — (variant's total cost − the status quo's) ÷ people transferred;
* ``cost_per_person_deterred_gbp`` — (variant's total cost − the status quo's) ÷ (the status
  quo's small-boat arrivals − the variant's), where at least :data:`MIN_PEOPLE` fewer arrived;
* ``breakeven_deterrence`` — the IA's form ``d* = 1 − S/G`` (:mod:`corridor.asylum.breakeven`):
  ``G`` the cost per transfer above, ``S`` the status quo's cost per asylum claim in the same
  replicate; from the job's runs (deterrence on as drawn), where ``corridor breakeven`` reruns
  both with deterrence off;
* ``cost_<part>_gbp`` breakdown totals (p10/p50/p90 of the variant's sum over the years):
  ``setup``, ``nights`` (per bed-night), ``flights`` (transfers), ``host_payments`` (fixed and
  per person: Montenegro's railway is here), ``legal`` (tribunal and legal aid, minus the status
  quo's: court challenges to the scheme itself are not priced).

Invariants: a variant without transfers in any replicate gets only its breakdown; NaN never
reaches the JSON (``None`` with ``replicates`` 0). Reference figures (:data:`REFERENCES`) cite
../shared/research data.md section 4.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["HUB_OUTCOMES", "MIN_PEOPLE", "REFERENCES", "hub_outcomes"]

MIN_PEOPLE = 10.0  # fewer people deterred (or transferred) than this: no ratio to report

_HUB_ITEMS = ("hub_transfers", "hub_nights", "hub_per_person", "hub_fixed", "hub_setup")
_PARTS: dict[str, tuple[str, ...]] = {
    "setup": ("hub_setup",),
    "nights": ("hub_nights",),
    "flights": ("hub_transfers",),
    "host_payments": ("hub_fixed", "hub_per_person"),
}
_LEGAL = ("appeals_tribunal", "appeals_legal_aid")

HUB_OUTCOMES: tuple[str, ...] = (
    "cost_per_transfer_gbp",
    "net_cost_per_transfer_gbp",
    "cost_per_person_deterred_gbp",
    "breakeven_deterrence",
)

# What analysts quote (data.md section 4, "Third-country / offshore schemes").
REFERENCES: tuple[tuple[str, str, str], ...] = (
    (
        "Home Office IA (Illegal Migration Bill, Jun 2023): gross cost per person relocated",
        "£169,000 (incl. ~£105,000 to the third country, £22,000 flights and escorts)",
        "https://www.bbc.com/news/live/uk-66045323",
    ),
    (
        "Home Office IA: break-even deterrence",
        "37% of arrivals (2023 spending levels)",
        "https://hansard.parliament.uk/Lords/2023-06-27/debates/C8ED1DB5-DDC2-47C9-B55B-46B134D0CF33/IllegalMigrationBillEconomicImpactAssessment",
    ),
    (
        "NAO (Mar 2024): UK-Rwanda, projected cost of the first 300 relocations",
        "£541m-£576.8m (~£1.8m-£2.0m per person)",
        "https://www.lbc.co.uk/news/rwanda-bill-costs-taxpayer-rishi-sunak-watchdog-report/",
    ),
)


def _q(values: np.ndarray[Any, Any]) -> dict[str, Any]:
    v = values[np.isfinite(values)]
    if not len(v):
        return {"p10": None, "p50": None, "p90": None, "replicates": 0, "of": len(values)}
    p10, p50, p90 = np.percentile(v, [10, 50, 90])
    return {
        "p10": float(p10),
        "p50": float(p50),
        "p90": float(p90),
        "replicates": len(v),
        "of": len(values),
    }


def _sums(g: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    return g.groupby("replicate")[columns].sum()


def hub_outcomes(
    yearly: pd.DataFrame, first_year: int, order: list[str], baseline: str = "status_quo"
) -> dict[str, dict[str, Any]]:
    """``{variant: {outcome or cost part: {p10, p50, p90, replicates, of}}}`` (module
    docstring); empty without the baseline."""
    fut = yearly[yearly["year"] >= first_year]
    if baseline not in set(fut["variant"]):
        return {}
    items = sorted({*_HUB_ITEMS, *_LEGAL})
    cols = [
        "cost_gbp",
        "hub_transfers",
        "small_boat_arrivals",
        "asylum_claims",
        *(f"cost_{i}_gbp" for i in items),
    ]
    cols = [c for c in cols if c in fut.columns]
    base = _sums(fut[fut["variant"] == baseline], cols)
    out: dict[str, dict[str, Any]] = {}
    for vid in order:
        if vid == baseline:
            continue
        cur = _sums(fut[fut["variant"] == vid], cols).reindex(base.index)
        transfers = cur["hub_transfers"].to_numpy(dtype=float)
        hub_cost = sum(
            cur.get(f"cost_{i}_gbp", pd.Series(0.0, index=cur.index)) for i in _HUB_ITEMS
        )
        hub = np.asarray(hub_cost, dtype=float)
        if not np.any(transfers >= MIN_PEOPLE) and not np.any(hub > 0):
            continue
        d_cost = (cur["cost_gbp"] - base["cost_gbp"]).to_numpy(dtype=float)
        deterred = (base["small_boat_arrivals"] - cur["small_boat_arrivals"]).to_numpy(float)
        ok = transfers >= MIN_PEOPLE
        per = np.where(ok, hub / np.where(ok, transfers, 1.0), np.nan)
        net = np.where(ok, d_cost / np.where(ok, transfers, 1.0), np.nan)
        dok = deterred >= MIN_PEOPLE
        per_det = np.where(dok, d_cost / np.where(dok, deterred, 1.0), np.nan)
        claims = base["asylum_claims"].to_numpy(dtype=float)
        s = base["cost_gbp"].to_numpy(dtype=float) / np.where(claims > 0, claims, np.nan)
        d_star = np.where(ok, 1.0 - s / np.where(ok, per, 1.0), np.nan)
        res: dict[str, Any] = {
            "cost_per_transfer_gbp": _q(per),
            "net_cost_per_transfer_gbp": _q(net),
            "cost_per_person_deterred_gbp": _q(per_det),
            "breakeven_deterrence": _q(d_star),
        }
        for part, its in _PARTS.items():
            total = sum(cur.get(f"cost_{i}_gbp", pd.Series(0.0, index=cur.index)) for i in its)
            res[f"cost_{part}_gbp"] = _q(np.asarray(total, dtype=float))
        legal = sum(
            cur.get(f"cost_{i}_gbp", pd.Series(0.0, index=cur.index))
            - base.get(f"cost_{i}_gbp", pd.Series(0.0, index=base.index))
            for i in _LEGAL
        )
        res["cost_legal_gbp"] = _q(np.asarray(legal, dtype=float))
        out[vid] = res
    return out
