"""One replicate of the forecast: flows → routes and the Channel → handoff → asylum (with re-entry).

The step order (each replicate, each variant)::

    0. routes    the route network resolved in expectation under this replicate's crossing
                 probabilities (each crossing's odds of interception and of a pushback drawn
                 around the tables' assumptions: corridor.forecast.network): the railway's
                 factor on Western Balkans detections, the shares through Montenegro and
                 Serbia, and what people leaving a hub meet on the way back
    1. flows     draw the latent monthly flows after the cut-off from the fitted structural
                 time-series models (corridor.forecast.series): Western Balkans, Eastern and
                 Central Mediterranean detections, small-boat arrivals, non-boat claims;
                 before the cut-off the observed months are used as they are
    2. levers    apply the variant's levers to the drawn flows: EU return hubs (EU-bound flows
                 fall, a share of the deterred turn to the Channel), Montenegro's railway (its
                 effect on Western Balkans detections, from step 0),
                 French prevention (small-boat arrivals × F(p1)/F(p0), retries included)
    3. handoff   small-boat arrivals split by nationality (mean of the last quarters' mix) and
                 non-boat claims, written into the asylum scenario's arrivals table; the
                 variant's hubs get the re-entry rule (a hub in a Western Balkans host sends
                 its leavers back onto the route network from the host's capital: the share
                 who can pay for a route, their days to the UK, the detections each causes and
                 the share reaching the UK come from step 0's resolution of people setting
                 off there, with the route choice everyone else on the network follows, scaled to
                 the route's calibrated reach: :mod:`corridor.forecast.reentry`)
    4. asylum    the asylum engine (aggregate by default, or agents) runs 2018 → end day by day
                 in the loop's phase order (:data:`corridor.engine.loop.PHASES`) with the
                 calibrated parameters, the variant's overrides (hubs, caseworkers, transfers),
                 its levers (dated from the forecast's start: history is never rewritten),
                 deterrence from ``deterrence_from`` with this replicate's elasticity, and the
                 re-entry connector: people who leave a hub are back in that run's arrivals and
                 claims on the day they reach the UK (:mod:`corridor.asylum.rules.reentry`)
    5. record    monthly and yearly metrics (:data:`METRICS`), the flows with the people back
                 from hubs added (:func:`with_reentry`)

Each step is a module with its contract in its docstring: 0 :mod:`~corridor.forecast.network`
(on :mod:`corridor.routes.expected`), 1-2 :mod:`~corridor.forecast.flows`,
3 :mod:`~corridor.forecast.handoff` and :mod:`~corridor.forecast.reentry`, 4 the asylum engine
(:mod:`corridor.asylum`), 5 :mod:`~corridor.forecast.record`; what a job shares is
prepared once in :mod:`~corridor.forecast.context`. :func:`run_replicate` below is the loop.

Randomness: every draw comes from a named stream of the replicate's seed (``flows/<series>``,
``assumptions``), so replicate ``r`` of two variants shares its flows (common random numbers)
and a replicate's numbers do not depend on which worker runs it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from corridor.asylum.cohort.driver import run_aggregate
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
    truncate_inputs,
)
from corridor.forecast.flows import assumption_draws, flow_paths
from corridor.forecast.handoff import scenario_for
from corridor.forecast.network import replicate_terms
from corridor.forecast.record import METRICS, monthly_metrics, to_yearly
from corridor.forecast.reentry import (
    future_monthly,
    record_terms,
    with_reentry,
)
from corridor.scenario.loaded import LoadedScenario

__all__ = [
    "FLOW_SERIES",
    "METRICS",
    "Context",
    "ReplicateResult",
    "assumption_draws",
    "build_context",
    "fit_all",
    "flow_paths",
    "nationality_mix",
    "observed_monthly",
    "prepare_replicate",
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
    """Steps 0-5 of one replicate of one variant (see the module docstring). ``levers`` are
    dotted paths set from the forecast's start (:func:`apply_levers`) on top of the variant."""
    ctx, network = with_network(ctx, seed)  # 0
    draws, paths = flow_paths(ctx, variant, seed)  # 1-2
    draws.update(network)
    loaded = scenario_for(ctx, variant, paths, draws, seed, levers)  # 3, re-entry rule on hubs
    if engine == "aggregate":  # 4 (people back from a hub arrive inside the engine's days)
        result = run_aggregate(loaded)
    else:
        result = run_scenario(loaded, seed=seed, engine=engine)  # type: ignore[arg-type]
    months = ctx.future_months
    reentered = future_monthly(result.flows, "new_hub_reentered", months)
    operating = {k for k, h in result.meta.get("hubs", {}).items() if h.get("operating_days")}
    det, reach = record_terms(ctx, loaded, operating)
    run_paths = with_reentry(ctx, paths, reentered, (det, reach))  # the flows as recorded
    monthly = monthly_metrics(ctx, result, run_paths, months, seed)  # 5
    meta = {
        "variant": variant.id,
        "replicate": replicate,
        "seed": seed,
        "engine": engine,
        "draws": draws,
        "hubs": result.meta.get("hubs", {}),
        "reentry": {
            "detections_per_person": det,
            "reach_uk": reach,
            "reentered": float(reentered.sum()),
        },
        "route_shares": ctx.route_shares,
    }
    return ReplicateResult(
        variant.id, replicate, seed, monthly, meta, result if keep_asylum else None, run_paths
    )


def prepare_replicate(
    ctx: Context, variant: Variant, seed: int, levers: dict[str, Any] | None = None
) -> tuple[LoadedScenario, dict[str, np.ndarray[Any, Any]], dict[str, float]]:
    """Steps 1-3 of a replicate without re-entry: its flow paths after the cut-off (levers
    applied), its assumption draws, and the asylum scenario they make (any engine can run it)."""
    ctx, network = with_network(ctx, seed)
    draws, paths = flow_paths(ctx, variant, seed)
    draws.update(network)
    loaded = scenario_for(ctx, variant, paths, draws, seed, levers)
    return loaded, with_reentry(ctx, paths, np.zeros(len(ctx.future_months))), draws


def with_network(ctx: Context, seed: int) -> tuple[Context, dict[str, float]]:
    """Step 0: the route network resolved under this replicate's crossing probabilities
    (:mod:`corridor.forecast.network`), its terms in the replicate's context, and what was
    drawn (with ``network.rail_wb_factor``); ``ctx`` as it is when the scenario draws none."""
    prior = ctx.config.network_risks
    if ctx.network is None or prior is None:
        return ctx, {}
    terms, drawn = replicate_terms(ctx.network, prior, seed)
    ctx = dataclasses.replace(
        ctx,
        rail_wb_factor=terms.rail_wb_factor,
        route_shares=terms.route_shares,
        reentry_routes=terms.reentry_routes,
    )
    return ctx, dict(drawn)
