"""Re-entry: people who leave a return hub come back into the flows.

Reads: the replicate's asylum scenario (its hubs and their hosts), the route preferences, the
asylum engine's hub leavers back on the routes (``new_hub_reentered``). Produces: the scenario
with the re-entry rule set on each hub (:func:`with_reentry_rule`) — a hub in a Western Balkans
host sits on the Western Balkans route, so everyone who leaves it is back on that route
:data:`REENTRY_DAYS` later (each is detected there again) and reaches the Channel at that route's
fitted rate, the rule every person on the route follows; the asylum engine applies it each day
(:mod:`corridor.asylum.rules.reentry`), so people back from a hub are arrivals and claims in the
same run — and, for the record, the flows with them added (:func:`with_reentry`:
``hub_reentered``, ``hub_reentries_uk``, Western Balkans detections and small-boat arrivals).
Invariants: a hub outside the Balkans (Rwanda) sends nobody back onto the route; the flow paths
that feed the handoff never include people back from a hub (the engine adds them, once).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from corridor.forecast.context import Context
from corridor.scenario.loaded import LoadedScenario

# Days from leaving a hub to being back on the Western Balkans route. Assumption (no published
# figure; range 14-60 days): about the time people take from Western Balkans states to the
# EU's external border again; it shifts re-entries by weeks, not their number.
REENTRY_DAYS = 30.0

WB_HOSTS: tuple[str, ...] = (
    "Albania",
    "Bosnia and Herzegovina",
    "Kosovo",
    "Montenegro",
    "North Macedonia",
    "Serbia",
)


def with_reentry_rule(ctx: Context, loaded: LoadedScenario) -> LoadedScenario:
    """``loaded`` with each hub in a Western Balkans host sending its leavers back onto the
    Western Balkans route (``reentry = 1``, ``reentry_days`` :data:`REENTRY_DAYS`), of whom the
    route's fitted share reach the UK (``reentry_reach_uk``); other hubs unchanged (none back).
    Levers dated later (``hubs.<id>.reentry``...) still apply on top."""
    a_wb = min(max(float(ctx.route_preferences.get("wb_detections", 0.0)), 0.0), 1.0)
    sc = loaded.scenario
    hubs = [
        h.model_copy(
            update={"reentry": 1.0, "reentry_reach_uk": a_wb, "reentry_days": REENTRY_DAYS}
        )
        if h.host.startswith(WB_HOSTS)
        else h
        for h in sc.hubs
    ]
    return dataclasses.replace(loaded, scenario=sc.model_copy(update={"hubs": hubs}))


def with_reentry(
    ctx: Context, paths: dict[str, np.ndarray[Any, Any]], reentered: np.ndarray[Any, Any]
) -> dict[str, np.ndarray[Any, Any]]:
    """The flows as recorded, with ``reentered`` people (monthly) back on the Western Balkans
    route: each is a Western Balkans detection, and the route's fitted small-boat arrivals per
    detection of them reach the UK (the engine's ``reentry_reach_uk``)."""
    a_wb = ctx.route_preferences.get("wb_detections", 0.0)
    out = dict(paths)
    out["hub_reentered"] = reentered
    out["hub_reentries_uk"] = a_wb * reentered
    if reentered.any():
        out["wb_detections"] = paths["wb_detections"] + reentered
        out["small_boat_arrivals"] = paths["small_boat_arrivals"] + a_wb * reentered
    return out


def future_monthly(frame: pd.DataFrame, column: str, months: pd.PeriodIndex) -> Any:
    """``column`` of a daily table summed over each month of ``months`` (other days dropped)."""
    d = frame["date"].to_numpy(dtype="datetime64[s]").astype("datetime64[M]")
    first = np.datetime64(str(months[0]), "M")
    code = (d - first).astype(np.int64)
    keep = (code >= 0) & (code < len(months))
    values = frame[column].to_numpy(dtype=float)
    return np.bincount(code[keep], weights=values[keep], minlength=len(months))
