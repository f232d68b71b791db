"""The network part of a scenario, as the routes code imports it.

The models, their checks and the reader live in the scenario layer,
:mod:`corridor.scenario.network` (whose docstring describes the tables, what their rows mean
and the dotted paths of dated changes and host conditions); this module re-exports them
unchanged, so that ``from corridor.routes.schema import Network, load_network`` keeps working.
Nothing in :mod:`corridor.scenario` imports :mod:`corridor.routes`.
"""

from __future__ import annotations

from corridor.scenario.network import (
    CROSSING_ATTRIBUTES,
    MODES,
    PLACE_KINDS,
    TABLES,
    Crossing,
    HostCondition,
    Link,
    Mode,
    ModeSpeeds,
    Network,
    NetworkPolicy,
    Origin,
    Place,
    PlaceKind,
    Problem,
    RouteChoice,
    Row,
    Target,
    Value,
    check_network,
    load_network,
    parse_path,
)

__all__ = [
    "CROSSING_ATTRIBUTES",
    "MODES",
    "PLACE_KINDS",
    "TABLES",
    "Crossing",
    "HostCondition",
    "Link",
    "Mode",
    "ModeSpeeds",
    "Network",
    "NetworkPolicy",
    "Origin",
    "Place",
    "PlaceKind",
    "Problem",
    "RouteChoice",
    "Row",
    "Target",
    "Value",
    "check_network",
    "load_network",
    "parse_path",
]
