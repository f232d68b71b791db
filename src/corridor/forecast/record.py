"""Record: a replicate's monthly metrics and their calendar years (``summary.json``'s figures).

Reads: the asylum engine's daily result (flows, stocks, costs by nationality), the replicate's
monthly flow paths and the :class:`~corridor.forecast.context.Context`. Produces: the monthly
:data:`METRICS` (flows summed over each month and every nationality, stocks on the month's last
day; small-boat arrivals, detections, claims, decisions and grant rate, people awaiting a
decision, enforced removals (``removals``: to the country of origin, from the UK or onward
from a hub; voluntary departures are ``voluntary_returns``), people awaiting an appeal
(``appeals_backlog_end``), hub transfers, leavers and re-entries, people brought back to the
UK from a hub (``hub_returned_uk``: back on the exit route, refused or in limbo), limbo,
deaths at sea, enforced removals and hub transfers (``enforced_removals``); the cost in pounds of
the scenario's price year, its present value at the Green Book rate (3.5% a year, discounted by
whole years to the first forecast year) and its parts, one ``cost_<item>_gbp`` per priced
stage, :data:`COST_PARTS`) and :func:`to_yearly`. Invariants: NumPy sums by month code (this
runs for every replicate); before the cut-off the detections are the observed ones; the cost
parts add up to ``cost_gbp``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from corridor.asylum.params import COST_ITEMS
from corridor.asylum.result import ScenarioResult
from corridor.forecast.context import FLOW_SERIES, Context
from corridor.forecast.deaths import channel_risk, deaths
from corridor.forecast.flows import prevention_on

# Green Book discount rate (real, per year): https://www.gov.uk/government/publications/the-green-book-appraisal-and-evaluation-in-central-government
GREEN_BOOK_RATE = 0.035

# The cost of each priced stage (one per cost item of the asylum engines), pounds a period.
COST_PARTS: tuple[str, ...] = tuple(f"cost_{item}_gbp" for item in COST_ITEMS)

# Metrics of summary.json, per calendar year (stocks at 31 December, flows summed).
METRICS: tuple[str, ...] = (
    "small_boat_arrivals",
    "wb_detections",
    "em_detections",
    "cm_detections",
    "asylum_claims",
    "initial_decisions",
    "initial_grant_rate",
    "backlog_end",
    "removals",
    "voluntary_returns",
    "appeals_backlog_end",
    "hub_transfers",
    "in_hub_end",
    "hub_leavers",
    "hub_reentries_uk",
    "hub_returned_uk",
    "limbo_end",
    "deaths",
    "enforced_removals",
    "cost_gbp",
    "cost_pv_gbp",
    *COST_PARTS,
)


_STOCKS = ["backlog_end", "limbo_end", "in_hub_end", "appeals_backlog_end"]


def to_yearly(monthly: pd.DataFrame, keys: list[str] | None = None) -> pd.DataFrame:
    """Calendar years: flows summed, stocks at year end, the grant rate recomputed. With
    ``keys`` (columns of ``monthly``, e.g. variant and replicate), one group-by for many
    replicates at once, indexed by the keys and ``year``."""
    keys = keys or []
    by = [monthly[k] for k in keys] + [
        pd.Series(pd.PeriodIndex(monthly.index).year, index=monthly.index, name="year")
    ]
    g = monthly.drop(columns=keys).groupby(by, sort=False)
    flows = g[[c for c in monthly.columns if c not in {*keys, *_STOCKS, "initial_grant_rate"}]]
    out = flows.sum()
    grants = out.pop("grants")
    out = out.join(g[_STOCKS].last())
    dec = out["initial_decisions"]
    out["initial_grant_rate"] = 100.0 * grants / dec.where(dec > 0)
    result: pd.DataFrame = out[list(METRICS)]
    return result


_FLOW_COLS = (
    "new_claims", "new_grants", "new_refusals", "new_removals", "new_voluntary_returns",
    "new_hub_removals", "new_hub_transfers",
)  # fmt: skip


_STOCK_COLS = ("n_awaiting_decision", "n_in_hub", "n_limbo", "n_inadmissible", "n_awaiting_appeal")


def _month_codes(dates: np.ndarray[Any, Any], months: np.ndarray[Any, Any]) -> Any:
    """Each date's position in the sorted ``months`` (``datetime64[M]``)."""
    return np.searchsorted(months, dates.astype("datetime64[M]"))


def monthly_metrics(
    ctx: Context,
    result: ScenarioResult,
    paths: dict[str, np.ndarray[Any, Any]],
    months: pd.PeriodIndex,
    seed: int = 0,
) -> pd.DataFrame:
    """The replicate's monthly :data:`METRICS`: flows summed over each month and every
    nationality, stocks on the month's last day. NumPy sums by month code instead of pandas
    group-bys: the main job does this for every replicate."""
    fl, st, co = result.flows, result.stocks, result.costs
    f_dates = fl["date"].to_numpy(dtype="datetime64[s]")
    f_months = f_dates.astype("datetime64[M]")
    uniq = np.unique(f_months)
    n_m = len(uniq)
    index = pd.PeriodIndex(pd.DatetimeIndex(uniq.astype("datetime64[ns]")), freq="M", name="date")

    def monthly_sum(values: np.ndarray[Any, Any], codes: np.ndarray[Any, Any]) -> Any:
        return np.bincount(codes, weights=values, minlength=n_m)[:n_m]

    code = np.searchsorted(uniq, f_months)
    # columns gathered in a dict and made a frame once (a frame's column insert costs ~0.4 ms)
    out: dict[str, Any] = {}
    boats = ~fl["nationality"].isin(set(ctx.config.boat_nationalities_exclude)).to_numpy()
    out["small_boat_arrivals"] = monthly_sum(
        np.where(boats, fl["new_arrivals"].to_numpy(dtype=float), 0.0), code
    )
    future = index > ctx.cutoff.to_period("M")
    labels = index.strftime("%Y-%m")
    for s in FLOW_SERIES:
        observed = ctx.observed[s].reindex(labels).to_numpy(dtype=float)
        simulated = pd.Series(paths[s], index=months).reindex(index).to_numpy(dtype=float)
        out[s] = np.where(future, simulated, observed)
    f = {c: monthly_sum(fl[c].to_numpy(dtype=float), code) for c in _FLOW_COLS}
    # stocks: the sum over nationalities on the last simulated day of each month
    s_dates = st["date"].to_numpy(dtype="datetime64[s]")
    same_days = len(s_dates) == len(f_dates) and np.array_equal(s_dates, f_dates)
    s_code = code if same_days else _month_codes(s_dates, uniq)
    month_end = ((uniq + 1).astype("datetime64[D]") - np.timedelta64(1, "D")).astype(
        "datetime64[s]"
    )
    last_day = np.minimum(month_end, s_dates.max())
    # monthly tables (the forecast's resolution) carry each month's last day already
    monthly = result.meta.get("resolution") == "month"
    on_last = np.ones(len(s_dates), dtype=bool) if monthly else s_dates == last_day[s_code]
    k = {
        c: monthly_sum(np.where(on_last, st[c].to_numpy(dtype=float), 0.0), s_code)
        for c in _STOCK_COLS
    }
    c_code = _month_codes(co["date"].to_numpy(dtype="datetime64[s]"), uniq)
    c_gbp = co["gbp"].to_numpy(dtype=float)
    c_item = co["item"].to_numpy()
    parts = {
        f"cost_{item}_gbp": monthly_sum(np.where(c_item == item, c_gbp, 0.0), c_code)
        for item in COST_ITEMS
    }
    cost = monthly_sum(c_gbp, c_code)
    out["asylum_claims"] = f["new_claims"]
    out["grants"] = f["new_grants"]
    out["initial_decisions"] = f["new_grants"] + f["new_refusals"]
    decided = out["initial_decisions"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["initial_grant_rate"] = np.where(
            decided > 0, 100.0 * out["grants"] / np.where(decided > 0, decided, 1.0), np.nan
        )
    out["backlog_end"] = k["n_awaiting_decision"]
    # people with an appeal lodged or pending at the tribunal
    out["appeals_backlog_end"] = k["n_awaiting_appeal"]
    # enforced returns to the country of origin of people who claimed asylum: from the UK and
    # onward from a hub (the transfer to a hub itself is hub_transfers; voluntary departures are
    # voluntary_returns, not removals). Compare: Home Office Ret_05 asylum-related enforced
    # returns (observed/returns_annual.csv).
    out["removals"] = f["new_removals"] + f["new_hub_removals"]
    out["voluntary_returns"] = f["new_voluntary_returns"]
    out["hub_transfers"] = f["new_hub_transfers"]
    out["in_hub_end"] = k["n_in_hub"]
    out["hub_leavers"] = monthly_sum(fl["new_hub_left"].to_numpy(dtype=float), code)
    reentries = pd.Series(paths["hub_reentries_uk"], index=months).reindex(index)
    out["hub_reentries_uk"] = reentries.fillna(0.0).to_numpy(dtype=float)
    # brought back to the UK from a hub (a court does not uphold the transfer): they rejoin the
    # exit route (corridor.asylum.rules.exits.returned_kind), so limbo_end and costs carry them
    out["hub_returned_uk"] = monthly_sum(fl["new_hub_returned_uk"].to_numpy(dtype=float), code)
    # limbo: refused and not removable, or inadmissible and not transferred (undecided, stuck)
    out["limbo_end"] = k["n_limbo"] + k["n_inadmissible"]
    # dead and missing in the Channel: per attempt (crossed + stopped at the coast), with a
    # trend (corridor.forecast.deaths)
    starts = index.to_timestamp()
    risk = channel_risk(ctx.pack, ctx.cutoff, ctx.config.channel.death_risk, starts, seed)
    out["deaths"] = deaths(out["small_boat_arrivals"], prevention_on(ctx, paths, starts), risk)
    # enforced removals from the UK and transfers to hubs: people the state made leave
    # (voluntary departures and onward removals from a hub excluded)
    out["enforced_removals"] = f["new_removals"] + f["new_hub_transfers"]
    out["cost_gbp"] = cost
    # present value at the start of the first forecast year, discounted by whole years
    years_on = index.year.to_numpy() - (ctx.cutoff.year + 1)
    out["cost_pv_gbp"] = cost * (1.0 + GREEN_BOOK_RATE) ** (-years_on.astype(float))
    out.update(parts)
    return pd.DataFrame({k: np.asarray(v, dtype=float) for k, v in out.items()}, index=index)
