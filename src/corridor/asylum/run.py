"""Run a scenario with either engine: ``run_scenario(loaded, seed, engine, overrides)``.

* ``engine="agents"``: the modules of :mod:`corridor.asylum.agents` in the engine's step loop
  (:class:`~corridor.engine.loop.Simulation`); one agent per case.
* ``engine="aggregate"``: :func:`corridor.asylum.aggregate.run_aggregate` (expected values).

``overrides`` maps dotted parameter paths to values applied to the scenario before the run, e.g.
``{"asylum.caseworkers": 2500, "deterrence.enabled": False, "hubs.hub_a.beds": 0}`` (a hub is
named by its id or its position in the list; :func:`corridor.asylum.overrides.apply_overrides`,
re-exported here). The result's ``meta`` records them.

The result is a :class:`~corridor.asylum.result.ScenarioResult`: daily stocks and flows by
nationality (people; divided by ``agents_per_person``), daily costs by item
(:data:`~corridor.asylum.params.COST_ITEMS`, priced by
:func:`corridor.asylum.costs.price_activity`, the rule both engines share), and ``events``
with, per day and nationality, the deterrence share ``p_removal`` and arrivals factor and the
people waiting (not yet in service) for a caseworker (``queue_decision``) or a judge, lodging
included (``queue_appeal``).

Contract: reads a loaded scenario, a seed (default: the scenario's), the engine's name and
overrides; produces a :class:`~corridor.asylum.result.ScenarioResult` (:func:`run_scenario`;
:func:`run_agents` also returns the agent engine's final
:class:`~corridor.asylum.agent.state.AsylumState`, whose service episodes :func:`episodes` lists);
reports ``meta`` (engine, kernels, scenario, content hash, seed, agents per person, agents,
initial / not-claimed / withdrawn people, per-hub operation, timings, overrides). Invariants: the
same scenario, seed and overrides give the same result; this module imports the aggregate engine,
which does not import it back (overrides live in :mod:`corridor.asylum.overrides`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd

from corridor.asylum.agent import codes as qk
from corridor.asylum.agent.modules import build_modules
from corridor.asylum.agent.state import AsylumState, Options, new_table
from corridor.asylum.cohort.driver import run_aggregate
from corridor.asylum.costs import price_activity
from corridor.asylum.overrides import apply_overrides
from corridor.asylum.params import AsylumParams, build_params
from corridor.asylum.resolution import frames_at
from corridor.asylum.result import ScenarioResult
from corridor.engine.loop import Simulation
from corridor.errors import InputError
from corridor.scenario.loaded import LoadedScenario
from corridor.scenario.schema import FLOWS, STOCKS

__all__ = ["Engine", "apply_overrides", "episodes", "run_agents", "run_scenario"]

log = logging.getLogger(__name__)

Engine = Literal["agents", "aggregate"]


def run_scenario(
    loaded: LoadedScenario,
    seed: int | None = None,
    engine: Engine = "agents",
    overrides: Mapping[str, Any] | None = None,
) -> ScenarioResult:
    """Run ``loaded`` once. ``seed`` defaults to the scenario's own ``seed``. The tables are at
    the scenario's ``outputs.resolution`` (:mod:`corridor.asylum.resolution`)."""
    if overrides:
        loaded = apply_overrides(loaded, overrides)
    if engine == "aggregate":
        result: ScenarioResult = run_aggregate(loaded)
        if overrides:
            result.meta.setdefault("overrides", dict(overrides))
        return result
    if engine != "agents":
        raise InputError(
            f"unknown engine {engine!r}", field="engine", expected="agents | aggregate"
        )
    result, _ = run_agents(loaded, seed)
    resolution = loaded.scenario.outputs.resolution
    if resolution != "day":
        stocks, flows, costs, events = frames_at(
            resolution, result.stocks, result.flows, result.costs, result.events
        )
        meta = {**result.meta, "resolution": resolution}
        result = ScenarioResult(stocks=stocks, flows=flows, costs=costs, meta=meta, events=events)
    if overrides:
        result.meta["overrides"] = dict(overrides)
    return result


def run_agents(
    loaded: LoadedScenario, seed: int | None = None, options: Options | None = None
) -> tuple[ScenarioResult, AsylumState]:
    """The agent engine, also returning the final state (agent table, episodes) for inspection."""
    opts = options or Options()
    run_seed = loaded.scenario.seed if seed is None else int(seed)
    t0 = time.perf_counter()
    p = build_params(loaded)
    table = new_table(p)
    state = AsylumState(p=p, seed=run_seed, options=opts, agents=table)
    sim = Simulation(modules=build_modules(state), days=p.days, seed=run_seed, agents=table)
    sim.run()
    result = _result(loaded, p, state, sim, run_seed, time.perf_counter() - t0)
    return result, state


def _result(
    loaded: LoadedScenario,
    p: AsylumParams,
    s: AsylumState,
    sim: Simulation,
    seed: int,
    seconds: float,
) -> ScenarioResult:
    scale = 1.0 / p.sample
    n_nat = p.n_nat
    date_col = np.repeat(p.dates.to_numpy(), n_nat)
    nat_col = np.tile(np.asarray(p.nationalities, dtype=object), p.days)

    def frame(values: np.ndarray[Any, Any], names: tuple[str, ...], prefix: str) -> pd.DataFrame:
        df = pd.DataFrame(values.reshape(p.days * n_nat, len(names)) * scale)
        df.columns = pd.Index([f"{prefix}{n}" for n in names])
        df.insert(0, "nationality", nat_col)
        df.insert(0, "date", date_col)
        return df

    stocks = frame(s.stocks_days, STOCKS, "n_")
    flows = frame(s.flows, FLOWS, "new_")
    st = s.stocks_days.sum(axis=1) * scale
    fl = s.flows.sum(axis=1) * scale
    costs = price_activity(
        p,
        stocks=st,
        flows=fl,
        hub_people=s.hub_occ_days.astype(np.float64) * scale,
        decision_cases=s.cases[:, 0].astype(np.float64) * scale,
        appeal_cases=s.cases[:, 1].astype(np.float64) * scale,
        hub_transfers=s.hub_transfers_days.astype(np.float64) * scale,
    )
    events = pd.DataFrame(
        {
            "date": date_col,
            "nationality": nat_col,
            "p_removal": s.p_removal_days.reshape(-1),
            "arrivals_factor": s.factor_days.reshape(-1),
            "queue_decision": s.queue_days[:, :, 0].reshape(-1) * scale,
            "queue_appeal": s.queue_days[:, :, 1].reshape(-1) * scale,
        }
    )
    n = sim.agents.n
    meta: dict[str, Any] = {
        "engine": "agents",
        "kernels": s.kern.name,
        "scenario": loaded.name,
        "content_hash": loaded.content_hash,
        "seed": seed,
        "agents_per_person": p.sample,
        "days": p.days,
        "agents": n,
        "agent_days": n * p.days,
        "initial_people": s.initial_people * scale,
        "initial_refused_people": s.initial_refused_people * scale,
        "not_claimed_people": float(s.stock[:, qk.NOT_CLAIMED].sum()) * scale,
        "withdrawn_people": float(s.stock[:, qk.WITHDRAWN].sum()) * scale,
        "hubs": {
            hid: {
                "hypothetical": bool(p.hub_hypothetical[:, j].any()),
                "operating_days": int(p.hub_operating[:, j].sum()),
                "first_operating": None
                if p.hub_first_operating[j] < 0
                else str(p.dates[p.hub_first_operating[j]].date()),
            }
            for j, hid in enumerate(p.hub_ids)
        },
        "loop_seconds": sim.loop_seconds,
        "seconds": seconds,
    }
    return ScenarioResult(stocks=stocks, flows=flows, costs=costs, meta=meta, events=events)


def episodes(state: AsylumState) -> pd.DataFrame:
    """One row per service episode (Ciw's data record): agent, stage (0 decision, 1 appeal),
    time joined the queue, service start, service end (``record_episodes=True`` runs only)."""
    cols = ("agent", "stage", "t_queue", "t_start", "t_end")
    if not state.episodes:
        return pd.DataFrame({c: [] for c in cols})
    parts = list(zip(*state.episodes, strict=True))
    return pd.DataFrame({c: np.concatenate(v) for c, v in zip(cols, parts, strict=True)})
