"""The aggregate engine's driver: parameters in, kernel run, :class:`ScenarioResult` out.

Reads: a :class:`~corridor.scenario.loaded.LoadedScenario` (and optional overrides, applied by
:func:`corridor.asylum.overrides.apply_overrides`), built into
:class:`~corridor.asylum.params.AsylumParams`. Produces: :class:`Simulated` (the raw arrays of
one run, :func:`simulate`) and, from it, a :class:`~corridor.asylum.result.ScenarioResult`
(:func:`run_aggregate`): ``stocks`` and ``flows`` in long form (every ``n_*`` and ``new_*``
column, people), ``costs`` priced by :func:`corridor.asylum.costs.price_activity` (the rule both
engines share), ``events`` (deterrence share and factor, people waiting for a caseworker or a
judge). Reports: ``meta`` (engine, scenario, content hash, days, initial, not-claimed and
withdrawn people, per-hub operation, timings, overrides).

Invariants: ``compiled=False`` runs the same kernel source as Python; the
result's columns and row order (date, then nationality) are those of the agent engine.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from corridor.asylum.cohort.kernel import _kernel
from corridor.asylum.costs import costs_frame, price_matrix
from corridor.asylum.overrides import apply_overrides
from corridor.asylum.params import (
    COST_ITEMS,
    FLOW_INDEX,
    HOST_POSITIONS,
    AsylumParams,
    build_params,
)
from corridor.asylum.resolution import last_in_periods, mean_periods, period_starts, sum_periods
from corridor.asylum.result import FLOW_COLUMNS, STOCK_COLUMNS, ScenarioResult
from corridor.scenario.loaded import LoadedScenario
from corridor.scenario.schema import FLOWS, STOCKS

ENGINE = "aggregate"
F64 = NDArray[np.float64]

_F = FLOW_INDEX


@dataclasses.dataclass(frozen=True, eq=False)
class Simulated:
    """Raw arrays of one aggregate run (people by day, stage or flow, and nationality)."""

    stocks: F64  # (days, len(STOCKS), nat)
    flows: F64  # (days, len(FLOWS), nat)
    p_removal: F64  # (days, nat) as seen by deterrence that day (0 when off)
    factor: F64  # (days, nat) arrivals multiplier
    queues: F64  # (days, 2, nat) people waiting (not in service) for a caseworker, for a judge
    awaiting_people: F64  # (days,) awaiting a decision or an appeal
    detained_people: F64  # (days,)
    hub_people: F64  # (days, hubs) at the end of the day
    hub_transfers: F64  # (days, hubs)
    decision_cases: F64  # (days,) initial decisions, main applicants
    appeal_cases: F64  # (days,) appeals determined, main applicants


def simulate(p: AsylumParams, *, compiled: bool = True) -> Simulated:
    """Step the expected-value pipeline over every day of ``p`` (see the module docstring).

    ``compiled=False`` runs the same kernel as plain Python (slow; for tests and debugging).
    """
    days, n, nh = p.days, p.n_nat, p.n_hubs
    elig = p.hub_eligible if nh else np.zeros((0, n, 2), dtype=bool)
    f64 = np.float64
    out = Simulated(
        stocks=np.zeros((days, len(STOCKS), n)),
        flows=np.zeros((days, len(FLOWS), n)),
        p_removal=np.zeros((days, n)),
        factor=np.ones((days, n)),
        queues=np.zeros((days, 2, n)),
        awaiting_people=np.zeros(days),
        detained_people=np.zeros(days),
        hub_people=np.zeros((days, nh)),
        hub_transfers=np.zeros((days, nh)),
        decision_cases=np.zeros(days),
        appeal_cases=np.zeros(days),
    )

    def hubs(a: Any) -> F64:
        return np.ascontiguousarray(a, dtype=f64).reshape(days, nh)

    kernel = _kernel if compiled else _kernel.py_func
    kernel(
        np.ascontiguousarray(p.arrivals, dtype=f64),
        np.ascontiguousarray(p.claim_share, dtype=f64),
        np.ascontiguousarray(p.inadmissible_share, dtype=f64),
        np.ascontiguousarray(p.deterrence_on & (p.elasticity > 0)),
        np.ascontiguousarray(p.elasticity, dtype=f64),
        int(p.deterrence_lag_days),
        int(p.deterrence_window_days),
        np.ascontiguousarray(p.caseworkers, dtype=f64),
        np.ascontiguousarray(p.decisions_per_caseworker_day, dtype=f64),
        np.ascontiguousarray(p.priority_class, dtype=np.uint8),
        int(p.n_classes),
        np.ascontiguousarray(p.paused, dtype=np.bool_),
        np.ascontiguousarray(p.grant_rate, dtype=f64),
        np.ascontiguousarray(p.withdrawal_hazard, dtype=f64),
        np.ascontiguousarray(p.initial_cases, dtype=f64),
        np.ascontiguousarray(p.initial_refused, dtype=f64),
        np.ascontiguousarray(p.household, dtype=f64),
        np.ascontiguousarray(p.lodge_share, dtype=f64),
        np.ascontiguousarray(np.maximum(p.lodging_days, 0), dtype=np.int64),
        np.ascontiguousarray(p.judges, dtype=f64),
        np.ascontiguousarray(p.hearings_per_judge_day, dtype=f64),
        np.ascontiguousarray(p.allow_rate, dtype=f64),
        np.ascontiguousarray(p.depart_p, dtype=f64),
        np.ascontiguousarray(p.depart_p_entry, dtype=f64),
        np.ascontiguousarray(p.voluntary_share, dtype=f64),
        np.ascontiguousarray(p.removal_capacity_day, dtype=f64),
        np.ascontiguousarray(p.detention_places, dtype=f64),
        np.ascontiguousarray(np.maximum(p.removal_days, 0), dtype=np.int64),
        bool(p.exit_newest_first),
        np.ascontiguousarray(p.removable, dtype=np.bool_),
        np.ascontiguousarray(p.inad_held, dtype=np.bool_),
        np.ascontiguousarray(p.hub_operating, dtype=np.bool_).reshape(days, nh),
        np.ascontiguousarray(elig[:, :, 0]),
        np.ascontiguousarray(elig[:, :, 1]),
        hubs(p.hub_beds),
        hubs(p.hub_seats_day),
        hubs(p.hub_exit_p if nh else np.zeros((days, 0))),
        hubs(p.hub_shares[:, :, 0] if nh else np.zeros((days, 0))),
        hubs(p.hub_shares[:, :, 1] if nh else np.zeros((days, 0))),
        hubs(p.hub_shares[:, :, 3] if nh else np.zeros((days, 0))),
        hubs(p.hub_reentry),
        hubs(p.hub_reach_uk),
        hubs(p.hub_reentry_days),
        out.stocks,
        out.flows,
        out.p_removal,
        out.factor,
        out.queues,
        out.awaiting_people,
        out.detained_people,
        out.hub_people,
        out.hub_transfers,
        out.decision_cases,
        out.appeal_cases,
    )
    return out


def _long(
    dates: pd.DatetimeIndex, nats: tuple[str, ...], arr: F64, cols: tuple[str, ...]
) -> pd.DataFrame:
    days, _, n = arr.shape
    data: dict[str, Any] = {
        "date": np.repeat(dates.values, n),
        "nationality": np.tile(np.array(nats, dtype=object), days),
    }
    for i, c in enumerate(cols):
        data[c] = arr[:, i, :].reshape(-1)
    return pd.DataFrame(data)


def _hubs_meta(p: AsylumParams) -> dict[str, dict[str, Any]]:
    """Per hub: hypothetical (operates only because it is hypothetical: its host refused),
    operating days and first operating day."""
    refused = p.host_position == HOST_POSITIONS.index("refused")
    out: dict[str, dict[str, Any]] = {}
    for j, hid in enumerate(p.hub_ids):
        first = int(p.hub_first_operating[j])
        out[hid] = {
            "hypothetical": bool(p.hub_hypothetical[:, j].any()),
            "hypothetical_operation": bool(
                (p.hub_operating[:, j] & p.hub_hypothetical[:, j] & refused[:, j]).any()
            ),
            "operating_days": int(p.hub_operating[:, j].sum()),
            "first_operating": None if first < 0 else str(p.dates[first].date()),
        }
    return out


def run_aggregate(
    loaded: LoadedScenario,
    overrides: Mapping[str, object] | None = None,
    *,
    params: AsylumParams | None = None,
) -> ScenarioResult:
    """Run the aggregate (expected-value) engine on a loaded scenario.

    ``overrides`` maps dotted paths of the scenario to values applied before the run, as in
    :func:`corridor.asylum.run.run_scenario` (e.g. ``{"deterrence.enabled": False,
    "hubs.hub_kosovo.beds": 0}``). Returns stocks and flows by nationality (every ``n_*``
    and ``new_*`` column of the contract, people), the costs table and ``events`` (per day and
    nationality: ``p_removal`` and ``arrivals_factor`` seen by deterrence, people waiting for a
    caseworker ``queue_decision`` or for a judge, lodging included, ``queue_appeal``).
    ``params``: the scenario's parameters when the caller has them already (they must be
    ``loaded``'s).
    """
    t0 = time.perf_counter()
    if overrides:
        loaded = apply_overrides(loaded, overrides)
    p = build_params(loaded) if params is None else params
    t1 = time.perf_counter()
    sim = simulate(p)
    t2 = time.perf_counter()
    day_flows = sim.flows.sum(axis=2)
    gbp = price_matrix(  # (days, items): pounds by day and cost item
        p,
        stocks=sim.stocks.sum(axis=2),
        flows=day_flows,
        hub_people=sim.hub_people,
        decision_cases=sim.decision_cases,
        appeal_cases=sim.appeal_cases,
        hub_transfers=sim.hub_transfers,
    )
    resolution = loaded.scenario.outputs.resolution
    dates, stock_arr, flow_arr = p.dates, sim.stocks, sim.flows
    extras = {
        "p_removal": sim.p_removal,
        "arrivals_factor": sim.factor,
        "queue_decision": sim.queues[:, 0, :],
        "queue_appeal": sim.queues[:, 1, :],
    }
    if resolution != "day":  # periods from the arrays: no daily frames built
        starts, dates = period_starts(p.dates, resolution)
        stock_arr, flow_arr = last_in_periods(sim.stocks, starts), sum_periods(sim.flows, starts)
        extras = {k: mean_periods(v, starts) for k, v in extras.items()}
        gbp = sum_periods(gbp, starts)
    costs = costs_frame(dates, dict(zip(COST_ITEMS, gbp.T, strict=True)))
    stocks = _long(dates, p.nationalities, stock_arr, STOCK_COLUMNS)
    flows = _long(dates, p.nationalities, flow_arr, FLOW_COLUMNS)
    n = p.n_nat
    events = pd.DataFrame(
        {
            "date": np.repeat(dates.values, n),
            "nationality": np.tile(np.array(p.nationalities, dtype=object), len(dates)),
            **{k: v.reshape(-1) for k, v in extras.items()},
        }
    )
    t3 = time.perf_counter()
    fl = day_flows.sum(axis=0)  # the bits of sim.flows.sum(axis=(0, 2)), in its order
    meta: dict[str, Any] = {
        "engine": ENGINE,
        "scenario": loaded.name,
        "content_hash": loaded.content_hash,
        "days": p.days,
        "resolution": resolution,
        "initial_people": float(p.initial_backlog),
        "initial_refused_people": float(p.initial_refused.sum()),
        "not_claimed_people": float(fl[_F["arrivals"]] - fl[_F["claims"]]),
        "withdrawn_people": float(fl[_F["withdrawals"]]),
        "hubs": _hubs_meta(p),
        "seconds": {
            "params": t1 - t0,
            "simulate": t2 - t1,
            "tables": t3 - t2,
            "total": t3 - t0,
        },
    }
    if overrides:
        meta["overrides"] = dict(overrides)
    return ScenarioResult(stocks=stocks, flows=flows, costs=costs, meta=meta, events=events)
