"""The network's vocabulary: transport modes, kinds of place, crossing attributes, and the
dotted paths by which dated policies and host conditions change a network.

Reads: nothing of the scenario (no models). Produces: the literals :data:`Mode` and
:data:`PlaceKind` (and their values :data:`MODES`, :data:`PLACE_KINDS`),
:data:`CROSSING_ATTRIBUTES`, the type :data:`Value` of a value set by a path,
:func:`parse_path` (a path → :class:`Target`, or ``ValueError``) and :func:`check_value` (what
a value for a target should have been, None when fine). The grammar of the paths is in
:mod:`corridor.scenario.network`. Invariant: this module imports no network model, so the
models and their checks can both use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

__all__ = [
    "CROSSING_ATTRIBUTES",
    "MODES",
    "PLACE_KINDS",
    "Mode",
    "PlaceKind",
    "Target",
    "Value",
    "check_value",
    "parse_path",
]

Mode = Literal["foot", "road", "rail", "sea", "small_boat", "air"]
MODES: tuple[str, ...] = get_args(Mode)
PlaceKind = Literal["origin", "transit", "coast", "destination"]
PLACE_KINDS: tuple[str, ...] = get_args(PlaceKind)
CROSSING_ATTRIBUTES: tuple[str, ...] = (
    "interception",
    "pushback_share",
    "detain_share",
    "capacity_per_day",
    "price_eur",
    "death_risk",
)
_SHARE_ATTRIBUTES = ("interception", "pushback_share", "detain_share", "death_risk")


Value = float | bool | str


@dataclass(frozen=True)
class Target:
    """What a dotted path selects: ``kind`` is links, borders, crossings or speeds."""

    kind: str
    names: tuple[str, ...]
    attribute: str


def parse_path(path: str) -> Target:
    """Split a policy path (see :mod:`corridor.scenario.network`); raises ``ValueError`` when
    malformed."""
    parts = path.split(".")
    head = parts[0]
    shapes = {"links": 3, "borders": 4, "crossings": 3, "speeds": 2}
    if head not in shapes or len(parts) != shapes[head]:
        raise ValueError(
            f"unknown path {path!r}; expected links.<id>.<attr>, borders.<A>.<B>.open, "
            "crossings.<link>.<attr>, crossings.country:<C>.<attr> or speeds.<mode>"
        )
    return Target(head, tuple(parts[1:-1]), parts[-1])


def check_value(target: Target, value: Value) -> str | None:
    """What is wrong with ``value`` for ``target`` (None when fine)."""
    attr = target.attribute
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if target.kind in ("links", "borders") and attr == "open":
        return None if isinstance(value, bool) else "true or false"
    if target.kind == "links" and attr == "mode":
        return None if value in MODES else "one of " + ", ".join(MODES)
    if target.kind == "links" and attr == "speed_kmday":
        return None if number and float(value) > 0 else "a speed > 0 km a day"
    if target.kind == "speeds":
        return None if number and float(value) > 0 else "a speed > 0 km a day"
    if target.kind == "crossings" and attr in _SHARE_ATTRIBUTES:
        return None if number and 0.0 <= float(value) <= 1.0 else "a share between 0 and 1"
    if target.kind == "crossings" and attr in ("capacity_per_day", "price_eur"):
        return None if number and float(value) >= 0.0 else "a number >= 0"
    return "a known attribute"
