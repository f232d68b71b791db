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
* maps: :func:`~corridor.routes.maps.flow_map`.
"""

from corridor.routes.module import RoutesModule
from corridor.routes.run import RoutesResult, demo_network, run_network
from corridor.routes.schema import Crossing, Link, Network, Origin, Place, load_network

__all__ = [
    "Crossing",
    "Link",
    "Network",
    "Origin",
    "Place",
    "RoutesModule",
    "RoutesResult",
    "demo_network",
    "load_network",
    "run_network",
]
