"""Cost accounting shared by both asylum engines: activity → the ``costs`` table → summaries.

The engines count activity each day (people awaiting a decision or an appeal, people detained,
people in each hub, initial decisions and appeal determinations in cases, removals, transfers to
each hub). :func:`price_activity` prices it with the one rule both engines use
(:func:`corridor.asylum.params.daily_costs`: unit costs are the dated ``costs.csv`` rows
overriding the :class:`~corridor.scenario.schema.Costs` fields from their ``from_date``, and
policies overriding both; hub payments, fixed payments and set-up from the hub parameters) and
returns the long ``costs`` table of :class:`~corridor.asylum.result.ScenarioResult`: columns
``date``, ``item`` (one of :data:`~corridor.asylum.params.COST_ITEMS`), ``gbp`` (nominal pounds
spent that day).

The summaries are pure functions of that table and the ``flows`` table: totals by calendar year,
cost per arrival, per person removed and per person relocated (transferred to a hub). The
*third-country* items (:data:`THIRD_COUNTRY_ITEMS`) are what a relocation policy costs: transfers,
per-person and fixed payments, set-up and nights in hubs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from corridor.asylum.params import COST_ITEMS, AsylumParams, daily_costs
from corridor.scenario.schema import FLOWS, STOCKS

__all__ = [
    "COST_ITEMS",
    "THIRD_COUNTRY_ITEMS",
    "CostSummary",
    "cost_per_arrival",
    "cost_per_person_relocated",
    "cost_per_person_removed",
    "costs_frame",
    "price_activity",
    "summarise_costs",
    "third_country_cost",
    "totals_by_year",
]

F64 = NDArray[np.float64]

THIRD_COUNTRY_ITEMS: tuple[str, ...] = (
    "hub_transfers",
    "hub_per_person",
    "hub_fixed",
    "hub_setup",
    "hub_nights",
)
"""Cost items of a third-country (hub) policy; :func:`cost_per_person_relocated` uses them."""


def costs_frame(dates: pd.DatetimeIndex, by_item: Mapping[str, F64]) -> pd.DataFrame:
    """The long costs table from ``{item: (days,) pounds}``: one row per day and item of
    :data:`COST_ITEMS` (days in order, items in :data:`COST_ITEMS` order within a day; items
    missing from ``by_item`` are 0)."""
    n = len(dates)
    cols = []
    for item in COST_ITEMS:
        v = np.asarray(by_item.get(item, np.zeros(n)), dtype=np.float64)
        if v.shape != (n,):
            raise ValueError(f"cost item {item!r} has shape {v.shape}, expected ({n},)")
        cols.append(v)
    unknown = sorted(set(by_item) - set(COST_ITEMS))
    if unknown:
        raise ValueError(f"unknown cost items {unknown}")
    gbp = np.column_stack(cols) if cols else np.zeros((n, 0))
    return pd.DataFrame(
        {
            "date": np.repeat(pd.DatetimeIndex(dates).values, len(COST_ITEMS)),
            "item": np.tile(np.array(COST_ITEMS, dtype=object), n),
            "gbp": gbp.reshape(-1),
        }
    )


def price_activity(p: AsylumParams, **activity: F64) -> pd.DataFrame:
    """Price one run's daily activity (all nationalities together) into the costs table: the
    keyword arrays of :func:`price_matrix` (``stocks`` ``(days, len(STOCKS))`` people at the end
    of each day, ``flows`` ``(days, len(FLOWS))`` people, ``decision_cases`` and
    ``appeal_cases`` ``(days,)`` in cases, ``hub_people`` and ``hub_transfers`` ``(days,
    hubs)``). See :func:`corridor.asylum.params.daily_costs` for the rule."""
    gbp = price_matrix(p, **activity)
    return costs_frame(p.dates, dict(zip(COST_ITEMS, gbp.T, strict=True)))


def price_matrix(
    p: AsylumParams,
    *,
    stocks: F64,
    flows: F64,
    hub_people: F64,
    decision_cases: F64,
    appeal_cases: F64,
    hub_transfers: F64,
) -> F64:
    """One run's daily activity priced as a ``(days, len(COST_ITEMS))`` array of pounds (items
    in :data:`COST_ITEMS` order; unit costs are per case for decisions and appeals), for callers
    that sum periods before making a table; :func:`price_activity` makes the table."""
    by_item = daily_costs(
        p,
        stocks=np.asarray(stocks, dtype=np.float64).reshape(p.days, len(STOCKS)),
        flows=np.asarray(flows, dtype=np.float64).reshape(p.days, len(FLOWS)),
        hub_people=np.asarray(hub_people, dtype=np.float64).reshape(p.days, p.n_hubs),
        decision_cases=np.asarray(decision_cases, dtype=np.float64),
        appeal_cases=np.asarray(appeal_cases, dtype=np.float64),
        hub_transfers=np.asarray(hub_transfers, dtype=np.float64).reshape(p.days, p.n_hubs),
    )
    unknown = sorted(set(by_item) - set(COST_ITEMS))
    if unknown:
        raise ValueError(f"unknown cost items {unknown}")
    zeros = np.zeros(p.days)
    return np.column_stack(
        [np.asarray(by_item.get(item, zeros), dtype=np.float64) for item in COST_ITEMS]
    )


# ---------------------------------------------------------------------------------------------
# Summaries
# ---------------------------------------------------------------------------------------------
def totals_by_year(costs: pd.DataFrame) -> pd.DataFrame:
    """Nominal pounds by calendar year (index ``year``) and item (columns in
    :data:`COST_ITEMS` order), plus a ``total`` column."""
    years = pd.DatetimeIndex(costs["date"]).year
    out = (
        costs.assign(year=years)
        .pivot_table(index="year", columns="item", values="gbp", aggfunc="sum", fill_value=0.0)
        .reindex(columns=list(COST_ITEMS), fill_value=0.0)
    )
    out.columns.name = None
    out["total"] = out.sum(axis=1)
    return out


def _flow_total(flows: pd.DataFrame, column: str) -> float:
    return float(flows[column].sum()) if column in flows.columns else 0.0


def third_country_cost(costs: pd.DataFrame) -> float:
    """Pounds spent on the :data:`THIRD_COUNTRY_ITEMS`."""
    return float(costs.loc[costs["item"].isin(THIRD_COUNTRY_ITEMS), "gbp"].sum())


def cost_per_arrival(costs: pd.DataFrame, flows: pd.DataFrame) -> float:
    """All costs ÷ people arriving over the period (NaN if nobody arrived)."""
    arrivals = _flow_total(flows, "new_arrivals")
    return float(costs["gbp"].sum()) / arrivals if arrivals > 0 else float("nan")


def cost_per_person_removed(costs: pd.DataFrame, flows: pd.DataFrame) -> float:
    """All costs ÷ people removed (enforced removals from the UK plus onward removals from
    hubs); NaN if nobody was removed."""
    removed = _flow_total(flows, "new_removals") + _flow_total(flows, "new_hub_removals")
    return float(costs["gbp"].sum()) / removed if removed > 0 else float("nan")


def cost_per_person_relocated(costs: pd.DataFrame, flows: pd.DataFrame) -> float:
    """Third-country costs ÷ people transferred to hubs; NaN if nobody was transferred."""
    relocated = _flow_total(flows, "new_hub_transfers")
    return third_country_cost(costs) / relocated if relocated > 0 else float("nan")


@dataclass(frozen=True)
class CostSummary:
    """Headline cost figures of one run (nominal pounds; people are people, not cases)."""

    total_gbp: float
    third_country_gbp: float
    by_year: pd.DataFrame
    arrivals: float
    removed: float
    relocated: float
    per_arrival_gbp: float
    per_person_removed_gbp: float
    per_person_relocated_gbp: float


def summarise_costs(costs: pd.DataFrame, flows: pd.DataFrame) -> CostSummary:
    """Totals, totals by calendar year, and costs per arrival / person removed / relocated."""
    return CostSummary(
        total_gbp=float(costs["gbp"].sum()),
        third_country_gbp=third_country_cost(costs),
        by_year=totals_by_year(costs),
        arrivals=_flow_total(flows, "new_arrivals"),
        removed=_flow_total(flows, "new_removals") + _flow_total(flows, "new_hub_removals"),
        relocated=_flow_total(flows, "new_hub_transfers"),
        per_arrival_gbp=cost_per_arrival(costs, flows),
        per_person_removed_gbp=cost_per_person_removed(costs, flows),
        per_person_relocated_gbp=cost_per_person_relocated(costs, flows),
    )
