"""Re-entry: people who leave a return hub come back into the flows.

Reads: a variant's hubs (hosts), the asylum engine's monthly hub leavers, the route
preferences. Produces: the re-entered people each month — leavers from a hub in a Western
Balkans host are back on the Western Balkans route a month later (each detected again) and reach
the Channel at that route's fitted rate, the rule every person on the route follows — added to
the flow paths (``hub_reentered``, ``hub_reentries_uk``). Invariants: a hub outside the Balkans
(Rwanda) sends nobody back onto the route; the replicate's runs repeat until the leavers no
longer change (at most :data:`MAX_PASSES`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from corridor.forecast.config import Variant
from corridor.forecast.context import Context
from corridor.forecast.levers import apply_variant

MAX_PASSES = 3  # asylum runs per replicate at most while hub leavers re-enter the flows


WB_HOSTS: tuple[str, ...] = (
    "Albania",
    "Bosnia and Herzegovina",
    "Kosovo",
    "Montenegro",
    "North Macedonia",
    "Serbia",
)


def reentry_share(ctx: Context, variant: Variant) -> float:
    """Share of a variant's hub leavers who re-enter the Western Balkans route: the beds of the
    hubs that can operate in the variant whose host is a Western Balkans state, over all such
    beds (0 without hubs; a hub in Rwanda, say, sends nobody back onto the Balkans route)."""
    loaded = apply_variant(ctx.loaded, variant, (ctx.cutoff + pd.Timedelta(days=1)).date())
    beds = {"wb": 0.0, "all": 0.0}
    for hub in loaded.scenario.hubs:
        if not any(step.status == "operating" for step in hub.agreement):
            continue
        beds["all"] += float(hub.beds)
        if hub.host.startswith(WB_HOSTS):
            beds["wb"] += float(hub.beds)
    return beds["wb"] / beds["all"] if beds["all"] > 0 else 0.0


def with_reentry(
    ctx: Context, paths: dict[str, np.ndarray[Any, Any]], reentered: np.ndarray[Any, Any]
) -> dict[str, np.ndarray[Any, Any]]:
    """The flows with ``reentered`` people a month back on the Western Balkans route: each is
    a Western Balkans detection, and a share of them, the route's fitted small-boat arrivals
    per detection, reaches the UK the same month (as for everyone on the route)."""
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
