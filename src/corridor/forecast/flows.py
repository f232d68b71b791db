"""Flows and routes: a replicate's monthly departures on each route and the Channel crossing.

Reads: the :class:`~corridor.forecast.context.Context` (fits, route preferences, the railway's
effect, the Channel's prevention schedule and priors), a variant and the replicate's seed.
Adds: the replicate's assumption draws (stream ``assumptions``) and monthly paths after the
cut-off — Western Balkans, Eastern and Central Mediterranean detections, small-boat arrivals
(people who crossed), non-boat claims, the share of Channel attempts prevented — with the
variant's levers on the routes: EU return hubs (EU-bound flows fall, a share of the deterred
turn to the Channel at each route's fitted rate), Montenegro's railway (detections change by the
route network's factor, the Channel by the route's fitted rate), French prevention (arrivals ×
F(p1)/F(p0), retries included, :class:`~corridor.scenario.forecast_schema.Channel`).
Invariants: streams ``flows/<series>`` and ``assumptions`` depend on the seed only (common random
numbers across variants); a lever acts only from its date; no prevention share dated after the
cut-off is read (a back-test's future carries on the last share known at its origin).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from corridor.engine.rng import generator
from corridor.forecast.config import Variant
from corridor.forecast.context import FLOW_SERIES, Context
from corridor.forecast.series import simulate_paths
from corridor.scenario.prior_values import inverse_cdf


def step_values(
    values: list[tuple[date, float]], when: Any, before: float | None = None
) -> np.ndarray[Any, Any]:
    """A dated step schedule at the times ``when``: each step's value from its date on; before
    the first step ``before`` (default: the first step's value)."""
    ts = pd.to_datetime(np.asarray(when)).to_numpy()
    steps = sorted(values)
    out = np.full(len(ts), steps[0][1] if before is None else before, dtype=np.float64)
    for d, v in steps:
        out[ts >= np.datetime64(pd.Timestamp(d))] = v
    return out


def prevention_on(ctx: Context, paths: dict[str, Any], dates: Any) -> np.ndarray[Any, Any]:
    """The share of Channel attempts prevented on each of ``dates``: the replicate's path
    (``paths["prevention"]``, the variant's levers in it) after the cut-off, the observed share
    of that year before it (0 before the first published year)."""
    values = np.asarray(dates)
    if not np.issubdtype(values.dtype, np.datetime64):
        values = pd.to_datetime(values).to_numpy()
    day = values.astype("datetime64[D]")
    months = ctx.future_months.to_timestamp().to_numpy(dtype="datetime64[M]")
    # each day's month among the future months (a look-up by position: no reindexed Series)
    month = day.astype("datetime64[M]")
    drawn = np.full(len(day), np.nan)
    if len(months):
        pos = np.minimum(np.searchsorted(months, month), len(months) - 1)
        hit = months[pos] == month
        drawn[hit] = np.asarray(paths["prevention"], dtype=float)[pos[hit]]
    steps = [(d.date, d.value) for d in ctx.config.channel.prevention]
    past = step_values(steps, day, before=0.0)
    return np.where(np.isnan(drawn), past, drawn)


def intercepted(crossed: Any, prevention: Any) -> Any:
    """Attempts stopped at the French coast for ``crossed`` people who got across, with a
    share ``prevention`` of attempts stopped: ``p / (1 − p)`` per crossing, retries included
    (whatever the give-up share; see :class:`~corridor.scenario.forecast_schema.Channel`)."""
    return crossed * prevention / np.maximum(1.0 - prevention, 1e-9)


def _crossing_share(p: np.ndarray[Any, Any], give_up: float) -> np.ndarray[Any, Any]:
    """F(p): share of new arrivals at the coast who eventually cross (retries included)."""
    return (1.0 - p) / np.maximum((1.0 - p) + p * give_up, 1e-12)


def assumption_draws(ctx: Context, seed: int) -> dict[str, float]:
    """This replicate's draws of the assumption priors (stream ``assumptions``)."""
    cfg = ctx.config
    g = generator(int(seed), "assumptions")
    u = g.random(3)
    return {
        "channel.give_up": float(inverse_cdf(cfg.channel.give_up, u[0:1])[0]),
        "deterrence.elasticity": float(inverse_cdf(cfg.deterrence_elasticity, u[1:2])[0]),
        "eu.displacement": float(inverse_cdf(cfg.eu_return_hubs.displacement, u[2:3])[0]),
    }


def flow_paths(
    ctx: Context, variant: Variant, seed: int
) -> tuple[dict[str, float], dict[str, np.ndarray[Any, Any]]]:
    """Steps 1-2: this replicate's assumption draws and its monthly flows after the cut-off,
    with the variant's levers on the routes and the Channel. ``paths["prevention"]`` is the
    share of attempts at the French coast prevented each month (the variant's)."""
    cfg = ctx.config
    months = ctx.future_months
    n = len(months)
    draws = assumption_draws(ctx, seed)
    paths = {name: simulate_paths(fit, [seed], n)[0] for name, fit in ctx.fits.items()}
    ts = months.to_timestamp()

    eu = cfg.eu_return_hubs
    if variant.eu_return_hubs:
        on = ts >= pd.Timestamp(eu.from_date)
        cut = draws["deterrence.elasticity"] * eu.return_rate_add
        # of the people deterred from each route, a share turns to the Channel and reaches
        # the UK at that route's fitted rate (corridor.flagship.routes_fit)
        displaced = sum(
            ctx.route_preferences.get(s, 0.0) * paths[s] * cut * on for s in FLOW_SERIES
        )
        for s in FLOW_SERIES:
            paths[s] = paths[s] * np.where(on, 1.0 - cut, 1.0)
        paths["small_boat_arrivals"] = (
            paths["small_boat_arrivals"] + draws["eu.displacement"] * displaced
        )
    paths["rail_on"] = np.zeros(n)
    if variant.montenegro_rail:
        on = ts >= pd.Timestamp(variant.rail_from or cfg.cutoff)
        paths["rail_on"] = on.astype(float)
        before = paths["wb_detections"]
        paths["wb_detections"] = before * np.where(on, ctx.rail_wb_factor, 1.0)
        # the Channel moves with the Western Balkans at the fitted rate
        a_wb = ctx.route_preferences.get("wb_detections", 0.0)
        paths["small_boat_arrivals"] = np.maximum(
            paths["small_boat_arrivals"] + a_wb * (paths["wb_detections"] - before), 0.0
        )
    # the shares published by the cut-off carry on (none yet published: none prevented)
    known = [(d.date, d.value) for d in cfg.channel.prevention if d.date <= ctx.cutoff.date()]
    prevention = step_values(known, months.to_timestamp()) if known else np.zeros(n)
    paths["prevention"] = prevention
    if variant.prevention_add > 0:
        on = ts >= pd.Timestamp(variant.prevention_from or cfg.cutoff)
        p1 = np.minimum(prevention + np.where(on, variant.prevention_add, 0.0), 0.95)
        g_up = draws["channel.give_up"]
        paths["small_boat_arrivals"] = paths["small_boat_arrivals"] * (
            _crossing_share(p1, g_up) / _crossing_share(prevention, g_up)
        )
        paths["prevention"] = p1
    return draws, paths
