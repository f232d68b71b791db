"""Re-entry: people who leave a return hub come back into the flows.

Reads: the replicate's asylum scenario (its hubs and their hosts), the route preferences, the
route network's people leaving a hub in each host (``Context.reentry_routes``, from
``fitted/route_effects.json``: :mod:`corridor.forecast.network`, in expectation), the
asylum engine's hub leavers back on the routes (``new_hub_reentered``). Produces: the scenario
with the re-entry rule set on each hub (:func:`with_reentry_rule`) and, for the record, the flows
with them added (:func:`with_reentry`: ``hub_reentered``, ``hub_reentries_uk``, Western Balkans
detections and small-boat arrivals).

The rule (:func:`reentry_terms`): a hub in a Western Balkans host sits on the network at the host's
capital (:data:`~corridor.forecast.corridor_network.HUB_PLACES`). People who leave it set off from
there with the route choice, crossings, pushbacks and deaths everyone else on the network meets.
From the network (resolved in expectation): the share who can pay for a route and set off
(``reentry``), the days from the hub to the UK (``reentry_days``, their mean), the Western Balkans
detections each causes (attempts at the crossings into the EU, repeats counted) and the share
reaching the UK. The network's own reach is not calibrated (every traveller in it heads for Dover);
what is calibrated is the route's fitted small-boat arrivals per detection ``a_wb``, for the people
of the route, who set off from Istanbul. So a leaver reaches the UK with ``a_wb × d_I × r_h / r_I``
(``d_I``, ``r_I``: detections and reach per person from Istanbul on the network; ``r_h`` the reach
from the hub): the route's calibrated reach per person, moved by how much nearer the Channel the
hub is. Without network figures stored (a pack without ``reentry_from_hubs``) every leaver is back
after :data:`REENTRY_DAYS`, is detected once and reaches the UK at ``a_wb``. The asylum engine
applies the rule each day (:mod:`corridor.asylum.rules.reentry`), so people back from a hub are
arrivals and claims in the same run.

Invariants: a hub outside the Balkans (Rwanda) sends nobody back onto the route; the flow paths
that feed the handoff never include people back from a hub (the engine adds them, once); the
record's small-boat arrivals from re-entry equal the engine's (one hub; several Western Balkans
hubs operating in one run: their terms averaged, weighted by beds — an approximation, the
engine's leavers are not kept by hub).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from typing import Any

import numpy as np
import pandas as pd

from corridor.forecast.context import Context
from corridor.forecast.corridor_network import WB_STATES
from corridor.scenario.loaded import LoadedScenario

# Days from leaving a hub to being back on the Western Balkans route. Assumption (no published
# figure; range 14-60 days): about the time people take from Western Balkans states to the
# EU's external border again; it shifts re-entries by weeks, not their number.
REENTRY_DAYS = 30.0

WB_HOSTS = WB_STATES  # a hub in one of these hosts sends its leavers back onto the routes


@dataclasses.dataclass(frozen=True)
class ReentryTerms:
    """What the rule gives a hub's leavers (see the module docstring)."""

    reentry: float  # share back on the routes
    reach_uk: float  # of those, share arriving in the UK
    days: float  # days from leaving the hub to arriving
    detections: float  # Western Balkans detections each causes


def _route_rate(ctx: Context) -> float:
    """The Western Balkans route's fitted small-boat arrivals per detection, in [0, 1]."""
    return min(max(float(ctx.route_preferences.get("wb_detections", 0.0)), 0.0), 1.0)


def reentry_terms(ctx: Context, host: str) -> ReentryTerms | None:
    """The re-entry terms of a hub in ``host`` (``None``: not a Western Balkans host)."""
    if not host.startswith(WB_HOSTS):
        return None
    a_wb = _route_rate(ctx)
    routes = ctx.reentry_routes
    name = next((h for h in WB_HOSTS if host.startswith(h)), host)
    hub, ref = routes.get(name), routes.get("reference")
    if hub is None or ref is None or not ref["channel_arrivals_per_person"] > 0:
        return ReentryTerms(1.0, a_wb, REENTRY_DAYS, 1.0)
    per_person = a_wb * ref["wb_detections_per_person"] / ref["channel_arrivals_per_person"]
    days = hub["mean_days_to_dover"]
    return ReentryTerms(
        reentry=min(max(hub["set_off_share"], 0.0), 1.0),
        reach_uk=min(max(per_person * hub["channel_arrivals_per_person"], 0.0), 1.0),
        days=days if np.isfinite(days) and days > 0 else REENTRY_DAYS,
        detections=max(hub["wb_detections_per_person"], 0.0),
    )


def with_reentry_rule(ctx: Context, loaded: LoadedScenario) -> LoadedScenario:
    """``loaded`` with each hub in a Western Balkans host sending its leavers back onto the
    routes from its place by :func:`reentry_terms`; other hubs unchanged (none back). Levers
    dated later (``hubs.<id>.reentry``...) still apply on top."""
    sc = loaded.scenario
    hubs = []
    for h in sc.hubs:
        terms = reentry_terms(ctx, h.host)
        if terms is not None:
            h = h.model_copy(
                update={
                    "reentry": terms.reentry,
                    "reentry_reach_uk": terms.reach_uk,
                    "reentry_days": terms.days,
                }
            )
        hubs.append(h)
    return dataclasses.replace(loaded, scenario=sc.model_copy(update={"hubs": hubs}))


def record_terms(
    ctx: Context, loaded: LoadedScenario, operating: Collection[str] | None = None
) -> tuple[float, float]:
    """(Western Balkans detections, UK arrivals) per person back on the routes, for the record:
    the terms of the scenario's Western Balkans hubs that operated in the run (``operating``:
    their ids; ``None``: every hub), weighted by beds (one hub: its own)."""
    weights, det, reach = [], [], []
    for h in loaded.scenario.hubs:
        terms = reentry_terms(ctx, h.host)
        if terms is None or (operating is not None and h.id not in operating):
            continue
        weights.append(max(float(h.beds), 1e-9))
        det.append(terms.detections)
        reach.append(terms.reach_uk)
    if not weights:
        return 1.0, _route_rate(ctx)
    w = np.asarray(weights) / sum(weights)
    return float(w @ np.asarray(det)), float(w @ np.asarray(reach))


def with_reentry(
    ctx: Context,
    paths: dict[str, np.ndarray[Any, Any]],
    reentered: np.ndarray[Any, Any],
    terms: tuple[float, float] | None = None,
) -> dict[str, np.ndarray[Any, Any]]:
    """The flows as recorded, with ``reentered`` people (monthly, back on the routes) added:
    each causes ``terms[0]`` Western Balkans detections and ``terms[1]`` of them reach the UK
    as small-boat arrivals (:func:`record_terms` of the run; ``None``: one detection each and
    the route's fitted rate, the terms of a run without a Western Balkans hub)."""
    det, reach = terms if terms is not None else (1.0, _route_rate(ctx))
    out = dict(paths)
    out["hub_reentered"] = reentered
    out["hub_reentries_uk"] = reach * reentered
    if reentered.any():
        out["wb_detections"] = paths["wb_detections"] + det * reentered
        out["small_boat_arrivals"] = paths["small_boat_arrivals"] + reach * reentered
    return out


def future_monthly(frame: pd.DataFrame, column: str, months: pd.PeriodIndex) -> Any:
    """``column`` of a daily table summed over each month of ``months`` (other days dropped)."""
    d = frame["date"].to_numpy(dtype="datetime64[s]").astype("datetime64[M]")
    first = np.datetime64(str(months[0]), "M")
    code = (d - first).astype(np.int64)
    keep = (code >= 0) & (code < len(months))
    values = frame[column].to_numpy(dtype=float)
    return np.bincount(code[keep], weights=values[keep], minlength=len(months))
