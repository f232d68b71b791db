"""What a forecast reads from its pack's ``fitted/`` folder, and the state it starts from.

Reads: ``fitted/series-<cutoff>.json`` (the flow series fitted through a cut-off),
``fitted/flow_model_selection.json`` (the form of the flow series, chosen by rolling-origin
score: :mod:`corridor.flagship.flow_selection`),
``fitted/route_effects.json`` (the railway's effect on Western Balkans detections and the
re-entry terms of hub leavers, from the route network resolved in expectation),
``fitted/routes.json`` (route preferences by cut-off).

Produces: the fits as objects (:mod:`corridor.forecast.state` checks the stored state).

Invariants: nothing here writes; a missing file gives ``None`` (the railway: factor 1; the
flow form: the random walk).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from corridor.forecast.series import FORMS, RANDOM_WALK, SeriesFit

__all__ = [
    "load_flow_form",
    "load_route_effects",
    "load_route_preferences",
    "load_route_shares",
    "load_series_fits",
]


def load_series_fits(pack: Path, cutoff: str) -> dict[str, SeriesFit] | None:
    """The flow fits stored in the pack for this cut-off (``fitted/series-<cutoff>.json``)."""
    path = pack / "fitted" / f"series-{cutoff}.json"
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return {k: SeriesFit.from_dict(v) for k, v in data["fits"].items()}


def load_flow_form(pack: Path) -> str:
    """The flow series' form chosen by the rolling-origin score (``chosen`` in
    ``fitted/flow_model_selection.json``); the random walk when none is stored."""
    path = pack / "fitted" / "flow_model_selection.json"
    if not path.is_file():
        return RANDOM_WALK
    chosen = json.loads(path.read_text(encoding="utf-8")).get("chosen")
    return str(chosen) if chosen in FORMS else RANDOM_WALK


def load_route_effects(pack: Path) -> tuple[float, str]:
    path = pack / "fitted" / "route_effects.json"
    if not path.is_file():
        return 1.0, "no route effects stored (factor 1)"
    data = json.loads(path.read_text(encoding="utf-8"))
    return float(data["wb_detection_factor"]), str(data.get("note", ""))


def load_route_shares(pack: Path) -> dict[str, dict[str, float]]:
    """Per person on the Western Balkans routes, from the route network run without and with
    Montenegro's railway (``fitted/route_effects.json``): ``{"without"|"with_rail":
    {"wb_detections_per_person", "share_via_montenegro", "share_via_serbia"}}`` ({} if none)."""
    path = pack / "fitted" / "route_effects.json"
    if not path.is_file():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    keys = ("wb_detections_per_person", "share_via_montenegro", "share_via_serbia")
    return {run: {k: float(data[run][k]) for k in keys} for run in ("without", "with_rail")}


def load_reentry_routes(pack: Path) -> dict[str, dict[str, float]]:
    """People leaving a hub in each Western Balkans host, from the route network
    (``fitted/route_effects.json`` ``reentry_from_hubs``) with the network's travellers from
    Istanbul beside them (``"reference"``): ``{host: {"set_off_share",
    "wb_detections_per_person", "channel_arrivals_per_person", "mean_days_to_dover"}}`` ({} if
    none are stored: the forecast then uses the route's fitted rate)."""
    path = pack / "fitted" / "route_effects.json"
    if not path.is_file():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    hubs = data.get("reentry_from_hubs")
    if not hubs:
        return {}
    keys = (
        "set_off_share",
        "wb_detections_per_person",
        "channel_arrivals_per_person",
        "mean_days_to_dover",
    )
    out = {str(h): {k: float(v[k]) for k in keys} for h, v in hubs.items()}
    ref = data["without"]
    out["reference"] = {
        "set_off_share": 1.0,
        "wb_detections_per_person": float(ref["wb_detections_per_person"]),
        "channel_arrivals_per_person": float(ref["channel_arrivals_per_person"]),
        "mean_days_to_dover": math.nan,
    }
    return out


def load_route_preferences(pack: Path, cutoff: str) -> dict[str, float] | None:
    """The fitted route preferences ``a_r`` for a cut-off (``None`` when none are stored)."""
    path = pack / "fitted" / "routes.json"
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    entry = data.get("by_cutoff", {}).get(cutoff)
    if entry is None:
        return None
    return {str(k): float(v) for k, v in entry["route_preferences"]["per_detection"].items()}
