"""Routes: people travelling a network of places towards a destination, border crossings with
interception, smugglers' prices and capacities, deaths, dated enforcement and host conditions.

Public API:

* scenario part: :class:`~corridor.routes.schema.Network` (and its rows
  :class:`~corridor.routes.schema.Place`, :class:`~corridor.routes.schema.Link`,
  :class:`~corridor.routes.schema.Crossing`, :class:`~corridor.routes.schema.Origin`),
  :func:`~corridor.routes.schema.load_network` (a ``network:`` section plus CSV tables);
* running: :func:`~corridor.routes.run.run_network` →
  :class:`~corridor.routes.run.RoutesResult`; the engine module
  :class:`~corridor.routes.module.RoutesModule`;
* routes: :func:`~corridor.routes.network.k_shortest_paths` (Yen) and
  :func:`~corridor.routes.network.route_table`;
* maps: :func:`~corridor.routes.maps.flow_map`;
* expected values without agents: :func:`~corridor.routes.expected.build` and
  :func:`~corridor.routes.expected.evaluate` (the same rules as a Markov chain).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

# Imported on first use, so that reading a scenario does not load Numba and the kernels.
_WHERE = {
    "Crossing": "schema",
    "Link": "schema",
    "Network": "schema",
    "Origin": "schema",
    "Place": "schema",
    "load_network": "schema",
    "RoutesModule": "module",
    "RoutesResult": "run",
    "demo_network": "run",
    "run_network": "run",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(f"corridor.routes.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'corridor.routes' has no attribute {name!r}")
