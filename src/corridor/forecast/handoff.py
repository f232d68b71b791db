"""Handoff: the people who reach the UK become the asylum system's arrivals.

Reads: the :class:`~corridor.forecast.context.Context`, the replicate's flow paths, draws and
seed, a variant and levers. Produces: the asylum scenario of the replicate — future small-boat
arrivals split by nationality (the mix of the last quarters before the cut-off) and non-boat
claims written into its arrivals table, the variant's structure and levers from the forecast's
start (:mod:`corridor.forecast.levers`), the hubs' re-entry rule
(:mod:`corridor.forecast.reentry`), each hub's life drawn for the replicate and its host's
condition (:mod:`corridor.forecast.hub_process`), deterrence from ``deterrence_from`` with the
replicate's elasticity, the asylum system's future decision capacity, grant rates, removal
capacity, tribunal capacity and allowed share of appeals drawn for the replicate
(:mod:`corridor.forecast.system`), pauses in deciding a nationality drawn for the replicate
(:mod:`corridor.forecast.pauses`). Invariants: the arrivals table before the cut-off is the
observed one; claims come from arrivals through the asylum engine's claim share, never
from a factor here.
"""

from __future__ import annotations

import dataclasses
import functools
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from corridor.forecast.config import Variant
from corridor.forecast.context import Context
from corridor.forecast.hub_process import with_hub_process
from corridor.forecast.levers import apply_levers, apply_variant
from corridor.forecast.pauses import future_pauses
from corridor.forecast.reentry import with_reentry_rule
from corridor.forecast.system import (
    History,
    future_appeals,
    future_grant_rates,
    future_productivity,
    future_returns,
    published_history,
)
from corridor.scenario.loaded import LoadedScenario


def scenario_for(
    ctx: Context,
    variant: Variant,
    paths: dict[str, np.ndarray[Any, Any]],
    draws: dict[str, float],
    seed: int,
    levers: dict[str, Any] | None = None,
) -> LoadedScenario:
    """Step 3: the asylum scenario of a replicate: future arrivals from ``paths``, the
    variant with the re-entry rule on its hubs (:mod:`corridor.forecast.reentry`), its levers
    from the forecast's start, deterrence, future capacity and grant rates; its tables monthly
    (``outputs.resolution``), as the forecast records them."""
    loaded = _with_future_arrivals(ctx, paths, ctx.future_months)
    sc = loaded.scenario
    monthly = sc.outputs.model_copy(update={"resolution": "month"})
    loaded = dataclasses.replace(loaded, scenario=sc.model_copy(update={"outputs": monthly}))
    start = (ctx.cutoff + pd.Timedelta(days=1)).date()
    loaded = with_reentry_rule(ctx, apply_variant(loaded, variant, start))
    if levers:
        loaded = apply_levers(loaded, levers, start)
    loaded, drawn = with_hub_process(
        loaded, variant, ctx.config.hub_process, ctx.cutoff.date(), ctx.end.date(), seed
    )
    draws.update(drawn)
    loaded = _with_deterrence(loaded, ctx.config.deterrence_from, draws["deterrence.elasticity"])
    loaded, drawn = future_productivity(loaded, ctx.cutoff, ctx.end, seed)
    draws.update(drawn)
    history = _history(ctx.pack)
    loaded, drawn = future_grant_rates(loaded, ctx.cutoff, ctx.end, seed, history.grant)
    draws.update(drawn)
    pauses = ctx.config.decision_pauses
    loaded, drawn = future_pauses(loaded, ctx.cutoff, ctx.end, seed, pauses, ctx.pack)
    draws.update(drawn)
    loaded, drawn = future_returns(loaded, ctx.cutoff, ctx.end, seed, history.returns)
    draws.update(drawn)
    loaded, drawn = future_appeals(loaded, ctx.cutoff, ctx.end, seed, history.allow)
    draws.update(drawn)
    return loaded


@functools.lru_cache(maxsize=8)
def _history(pack: Path) -> History:
    return published_history(pack)


def _with_future_arrivals(
    ctx: Context, paths: dict[str, np.ndarray[Any, Any]], months: pd.PeriodIndex
) -> LoadedScenario:
    claim_share = float(ctx.loaded.scenario.arrivals.claim_share)
    ts = months.to_timestamp()
    sb = paths["small_boat_arrivals"]
    nats = list(ctx.mix)
    people = [sb * share for share in ctx.mix.values()]
    non_boat = ctx.config.boat_nationalities_exclude
    if non_boat:
        nats.append(non_boat[0])
        people.append(paths["other_route_claims"] / max(claim_share, 1e-9))
    n = len(ts)
    future = pd.DataFrame(
        {
            "month": np.tile(ts.to_numpy(), len(nats)),
            "nationality": np.repeat(np.array(nats, dtype=object), n),
            "people": np.concatenate(people),
        }
    )
    future["source"] = "simulated (corridor.flagship)"
    tables = dict(ctx.loaded.tables)
    tables["arrivals"] = pd.concat([tables["arrivals"], future], ignore_index=True)
    return dataclasses.replace(ctx.loaded, tables=tables)


def _with_deterrence(loaded: LoadedScenario, start: date, elasticity: float) -> LoadedScenario:
    """Deterrence off before ``start`` (observed arrivals are used as they are), on after."""
    from corridor.scenario.schema import Deterrence, Policy

    sc = loaded.scenario
    det = Deterrence(enabled=True, elasticity=0.0)
    policy = Policy(
        date=start,
        set={"deterrence.elasticity": float(elasticity)},
        note="flagship: deterrence from the cut-off",
    )
    policies = [*sc.policies, policy]  # fmt: skip
    sc = sc.model_copy(update={"deterrence": det, "policies": policies})
    return dataclasses.replace(loaded, scenario=sc)
