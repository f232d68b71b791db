"""One replicate of the forecast: flows → routes and the Channel → handoff → asylum → re-entry.

The step order (each replicate, each variant)::

    1. flows     draw the latent monthly flows after the cut-off from the fitted structural
                 time-series models (corridor.forecast.series): Western Balkans, Eastern and
                 Central Mediterranean detections, small-boat arrivals, non-boat claims;
                 before the cut-off the observed months are used as they are
    2. levers    apply the variant's levers to the drawn flows: EU return hubs (EU-bound flows
                 fall, a share of the deterred turn to the Channel), Montenegro's railway (its
                 effect on Western Balkans detections, from the agent-based route network),
                 French prevention (small-boat arrivals × F(p1)/F(p0), retries included)
    3. arrivals  small-boat arrivals split by nationality (mean of the last quarters' mix) and
                 non-boat claims, written into the asylum scenario's arrivals table
    4. asylum    the asylum engine (aggregate by default, or agents) runs 2018 → end with the
                 calibrated parameters, the variant's overrides (hubs, caseworkers, transfers),
                 its levers (dated from the forecast's start: history is never rewritten) and
                 deterrence from ``deterrence_from`` with this replicate's elasticity
    5. re-entry  people who leave a hub come back into the flows: hub leavers in a Western
                 Balkans host re-enter the Western Balkans route a month later (each is detected
                 again) and reach the Channel at the rate fitted for that route, the rule every
                 other person on the route follows (:func:`reentry_share`); steps 3-4 run again
                 with them until the leavers no longer change (at most :data:`MAX_PASSES` runs)
    6. record    monthly and yearly metrics (:data:`METRICS`)

Each step is a module with its contract in its docstring: 1-2 :mod:`~corridor.forecast.flows`,
3 :mod:`~corridor.forecast.handoff`, 4 the asylum engine (:mod:`corridor.asylum`), 5
:mod:`~corridor.forecast.reentry`, 6 :mod:`~corridor.forecast.record`; what a job shares is
prepared once in :mod:`~corridor.forecast.context`. :func:`run_replicate` below is the loop.

Randomness: every draw comes from a named stream of the replicate's seed (``flows/<series>``,
``assumptions``), so replicate ``r`` of two variants shares its flows (common random numbers)
and a replicate's numbers do not depend on which worker runs it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from corridor.asylum.cohort.driver import run_aggregate
from corridor.asylum.params import AsylumParams
from corridor.asylum.params.build import build_params, with_arrivals
from corridor.asylum.result import ScenarioResult
from corridor.asylum.run import run_scenario
from corridor.forecast.config import Variant
from corridor.forecast.context import (
    FLOW_SERIES,
    Context,
    build_context,
    fit_all,
    nationality_mix,
    observed_monthly,
    productivity_sigma,
    truncate_inputs,
)
from corridor.forecast.flows import assumption_draws, flow_paths
from corridor.forecast.handoff import scenario_for, with_future_arrivals
from corridor.forecast.record import METRICS, monthly_metrics, to_yearly
from corridor.forecast.reentry import (
    MAX_PASSES,
    WB_HOSTS,
    future_monthly,
    reentry_share,
    with_reentry,
)
from corridor.scenario.loaded import LoadedScenario

__all__ = [
    "FLOW_SERIES",
    "MAX_PASSES",
    "METRICS",
    "WB_HOSTS",
    "Context",
    "ReplicateResult",
    "assumption_draws",
    "build_context",
    "fit_all",
    "flow_paths",
    "nationality_mix",
    "observed_monthly",
    "prepare_replicate",
    "productivity_sigma",
    "reentry_share",
    "run_replicate",
    "to_yearly",
    "truncate_inputs",
    "with_reentry",
]


@dataclass
class ReplicateResult:
    variant: str
    replicate: int
    seed: int
    monthly: pd.DataFrame  # index month (Period), columns METRICS (stocks at month end)
    meta: dict[str, Any]
    asylum: ScenarioResult | None = None
    paths: dict[str, np.ndarray[Any, Any]] = field(default_factory=dict)  # monthly, future

    def yearly(self) -> pd.DataFrame:
        return to_yearly(self.monthly)


def run_replicate(
    ctx: Context,
    variant: Variant,
    replicate: int,
    seed: int,
    *,
    engine: str = "aggregate",
    levers: dict[str, Any] | None = None,
    keep_asylum: bool = False,
) -> ReplicateResult:
    """Steps 1-6 of one replicate of one variant (see the module docstring). ``levers`` are
    dotted paths set from the forecast's start (:func:`apply_levers`) on top of the variant."""
    draws, paths = flow_paths(ctx, variant, seed)  # 1-2
    share = reentry_share(ctx, variant)
    months = ctx.future_months
    reentered = np.zeros(len(months))
    passes = 0
    loaded: LoadedScenario | None = None
    params: AsylumParams | None = None
    while True:
        passes += 1
        run_paths = with_reentry(ctx, paths, reentered)
        if loaded is None:
            loaded = scenario_for(ctx, variant, run_paths, draws, seed, levers)  # 3
        else:  # a further pass: only the arrivals differ (people back from the hubs)
            loaded = with_future_arrivals(ctx, run_paths, loaded)
        if engine == "aggregate":  # 4; a further pass rebuilds only the arrivals
            params = build_params(loaded) if params is None else with_arrivals(params, loaded)
            result = run_aggregate(loaded, params=params)
        else:
            result = run_scenario(loaded, seed=seed, engine=engine)  # type: ignore[arg-type]
        leavers = future_monthly(result.flows, "new_hub_left", months)
        nxt = np.zeros(len(months))
        nxt[1:] = share * leavers[:-1]  # 5. a month from the hub back onto the route
        if share <= 0.0 or passes >= MAX_PASSES or np.max(np.abs(nxt - reentered)) < 0.5:
            break
        reentered = nxt
    monthly = monthly_metrics(ctx, result, run_paths, months)  # 6
    meta = {
        "variant": variant.id,
        "replicate": replicate,
        "seed": seed,
        "engine": engine,
        "draws": draws,
        "hubs": result.meta.get("hubs", {}),
        "reentry": {"share_in_balkans": share, "passes": passes},
    }
    return ReplicateResult(
        variant.id, replicate, seed, monthly, meta, result if keep_asylum else None, run_paths
    )


def prepare_replicate(
    ctx: Context, variant: Variant, seed: int, levers: dict[str, Any] | None = None
) -> tuple[LoadedScenario, dict[str, np.ndarray[Any, Any]], dict[str, float]]:
    """Steps 1-3 of a replicate without re-entry: its flow paths after the cut-off (levers
    applied), its assumption draws, and the asylum scenario they make (any engine can run it)."""
    draws, paths = flow_paths(ctx, variant, seed)
    paths = with_reentry(ctx, paths, np.zeros(len(ctx.future_months)))
    return scenario_for(ctx, variant, paths, draws, seed, levers), paths, draws
