"""Run a network: one call, long tables out.

>>> from datetime import date
>>> from corridor.routes.run import demo_network, run_network
>>> result = run_network(demo_network(), days=30, seed=1, start=date(2024, 6, 1))
>>> list(result.events.columns)
['date', 'crossing', 'kind', 'count']
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from corridor.engine.agents import AgentTable
from corridor.engine.loop import ProgressFn, Simulation
from corridor.routes import kernels as K
from corridor.routes.module import RoutesModule
from corridor.routes.network import Graph
from corridor.routes.schema import Network

__all__ = ["RoutesResult", "demo_network", "run_network"]


@dataclass(frozen=True)
class RoutesResult:
    """The tables of a run (long format, rows with a zero count left out).

    * ``link_flows``: date, link, from, to, people — people entering the link that day, by
      direction (``link`` is the network link's id, ``from``/``to`` the direction travelled).
    * ``events``: date, crossing (its link id), kind (:data:`~corridor.routes.kernels.
      EVENT_KINDS`), count — events, not people: one person intercepted three times is three
      interceptions (as Frontex counts detections). ``attempt = interception + death +
      crossing``; ``interception = pushback + detention + turned back in place``.
    * ``arrivals``: date, destination, origin, people — people reaching their destination.
    * ``stocks``: date and :attr:`RoutesModule.STOCK_COLUMNS` — people at the end of each day
      (``queued``: people in the queues of crossings at the end of the day, part of
      ``en_route``).
    * ``routes``: route, places — every route chosen in the run (route ids of ``agents``).
    * ``agents`` (when asked for): one row per person at the end: origin, destination, place,
      link, route, budget_eur, status.
    """

    link_flows: pd.DataFrame
    events: pd.DataFrame
    arrivals: pd.DataFrame
    stocks: pd.DataFrame
    routes: pd.DataFrame
    agents: pd.DataFrame | None
    metrics: dict[str, Any]
    network: Network
    graph: Graph
    start: date
    days: int


def run_network(
    network: Network,
    days: int,
    seed: int,
    start: date,
    *,
    use_numba: bool = True,
    keep_agents: bool = False,
    progress: ProgressFn | None = None,
) -> RoutesResult:
    """Simulate ``days`` days of ``network`` from ``start`` with random seed ``seed``."""
    module = RoutesModule(network, start, days, use_numba=use_numba)
    sim = Simulation([module], days=days, seed=seed, agents=AgentTable({}, capacity=1024))
    t0 = time.perf_counter()
    sim.init()
    sim.run(progress)
    seconds = time.perf_counter() - t0
    g = module.graph
    dates = pd.to_datetime([start + timedelta(days=i) for i in range(days)])

    d, j = np.nonzero(module.flows)
    link_flows = pd.DataFrame({
        "date": dates[d],
        "link": np.asarray(g.link_key, dtype=object)[j],
        "from": np.asarray(g.names, dtype=object)[g.src[j]],
        "to": np.asarray(g.names, dtype=object)[g.dst[j]],
        "people": module.flows[d, j],
    })  # fmt: skip
    d, c, k = np.nonzero(module.events)
    events = pd.DataFrame({
        "date": dates[d],
        "crossing": np.asarray(g.cross_key, dtype=object)[c],
        "kind": np.asarray(K.EVENT_KINDS, dtype=object)[k],
        "count": module.events[d, c, k],
    })  # fmt: skip
    d, s, o = np.nonzero(module.arrivals)
    names = np.asarray(g.names, dtype=object)
    arrivals = pd.DataFrame({
        "date": dates[d],
        "destination": names[g.dests[s]],
        "origin": names[o],
        "people": module.arrivals[d, s, o],
    })  # fmt: skip
    stocks = pd.DataFrame(module.stocks, columns=list(module.STOCK_COLUMNS))
    stocks.insert(0, "date", dates)
    routes = pd.DataFrame({
        "route": np.arange(len(module.paths.paths)),
        "places": [
            " > ".join([g.names[g.src[p[0]]]] + [g.names[g.dst[x]] for x in p])
            for p in module.paths.paths
        ],
    })  # fmt: skip
    agents = _agents(sim, g) if keep_agents else None
    n = sim.agents.n
    metrics = {
        "kernel": "numba" if use_numba else "numpy",
        "agents": n,
        "agent_days": int(module.stocks[:, :6].sum()),
        "seconds": seconds,
        "loop_seconds": sim.loop_seconds,
        "network_versions": module.versions,
        "routes": len(module.paths.paths),
        "seed": seed,
    }
    return RoutesResult(
        link_flows, events, arrivals, stocks, routes, agents, metrics, network, g, start, days
    )


def _agents(sim: Simulation, g: Graph) -> pd.DataFrame:
    ag = sim.agents
    names = np.asarray(g.names, dtype=object)
    st = ag["status"]
    label = np.full(ag.n, "en_route", dtype=object)
    label[(st & K.STUCK) != 0] = "stranded"
    label[ag["dest"] < 0] = "displaced"
    label[(st & K.DETAINED) != 0] = "detained"
    label[(st & K.DEAD) != 0] = "dead"
    label[(st & K.ARRIVED) != 0] = "arrived"
    dest = ag["dest"]
    link = ag["link"]
    return pd.DataFrame({
        "origin": names[ag["origin"]],
        "destination": np.where(dest >= 0, names[np.maximum(dest, 0)], None),
        "place": names[ag["loc"]],
        "link": np.where(link >= 0, np.asarray(g.link_key, dtype=object)[np.maximum(link, 0)],
                         None),
        "route": ag["path"].copy(),
        "budget_eur": ag["budget"].copy(),
        "status": label,
    })  # fmt: skip


def demo_network(*, montenegro_rail: bool = False) -> Network:
    """A small illustrative network from Türkiye to the UK through the Western Balkans.

    Places and distances are approximate (great-circle km × ~1.2 for roads). Crossing figures
    cite ``shared/research/data.md`` where it has one and are otherwise labelled assumptions:
    Channel interception 0.45 (French prevention ~42-50% of attempts, §6), price EUR 2,000
    (Channel price ~£1,500 in 2023 rising to £3,000-6,000 in 2024, §6), death risk 0.002
    (~78 deaths for ~37,000 arrivals in 2024, §2); capacity 1,000 attempts a day (assumption:
    ~20 boats × ~50 people, cf. 53 people a boat in 2024, §2). Türkiye to Greece by sea
    EUR 1,000 (2015, §6); Serbia to Hungary EUR 2,000 (range EUR 500-5,000, 2020, §6). Flows:
    3,000 people a month (assumption, of the order of Channel arrivals in 2024, §2).

    ``montenegro_rail`` meets the host condition ``me_rail`` (Montenegro's remark that it is off
    the route for want of railways, §5/§16 caveat: rhetorical): a rail line Podgorica-Bijelo
    Polje-Belgrade side from 2027.
    """
    places = [
        ("Istanbul", "Türkiye", 28.98, 41.01, "origin"),
        ("Edirne", "Türkiye", 26.56, 41.68, "transit"),
        ("Izmir", "Türkiye", 27.14, 38.42, "coast"),
        ("Lesvos", "Greece", 26.33, 39.10, "transit"),
        ("Athens", "Greece", 23.73, 37.98, "transit"),
        ("Thessaloniki", "Greece", 22.94, 40.64, "transit"),
        ("Sofia", "Bulgaria", 23.32, 42.70, "transit"),
        ("Tirana", "Albania", 19.82, 41.33, "transit"),
        ("Podgorica", "Montenegro", 19.26, 42.44, "transit"),
        ("Bijelo Polje", "Montenegro", 19.75, 43.04, "transit"),
        ("Skopje", "North Macedonia", 21.43, 42.00, "transit"),
        ("Belgrade", "Serbia", 20.46, 44.79, "transit"),
        ("Sarajevo", "Bosnia and Herzegovina", 18.41, 43.86, "transit"),
        ("Bihac", "Bosnia and Herzegovina", 15.87, 44.82, "transit"),
        ("Zagreb", "Croatia", 15.98, 45.81, "transit"),
        ("Szeged", "Hungary", 20.15, 46.25, "transit"),
        ("Vienna", "Austria", 16.37, 48.21, "transit"),
        ("Munich", "Germany", 11.58, 48.14, "transit"),
        ("Calais", "France", 1.86, 50.95, "coast"),
        ("Dover", "United Kingdom", 1.31, 51.13, "destination"),
    ]
    links: list[dict[str, Any]] = [
        {"from": "Istanbul", "to": "Edirne", "km": 240, "mode": "road"},
        {"from": "Istanbul", "to": "Izmir", "km": 480, "mode": "road"},
        {"from": "Izmir", "to": "Lesvos", "km": 90, "mode": "small_boat", "bidirectional": False},
        {"from": "Lesvos", "to": "Athens", "km": 350, "mode": "sea"},
        {"from": "Edirne", "to": "Thessaloniki", "km": 400, "mode": "road"},
        {"from": "Edirne", "to": "Sofia", "km": 310, "mode": "road"},
        {"from": "Athens", "to": "Thessaloniki", "km": 500, "mode": "road"},
        {"from": "Athens", "to": "Tirana", "km": 750, "mode": "road"},
        {"from": "Thessaloniki", "to": "Skopje", "km": 240, "mode": "road"},
        {"from": "Thessaloniki", "to": "Tirana", "km": 380, "mode": "road"},
        {"from": "Sofia", "to": "Belgrade", "km": 390, "mode": "road"},
        {"from": "Skopje", "to": "Belgrade", "km": 430, "mode": "road"},
        {"from": "Tirana", "to": "Podgorica", "km": 160, "mode": "road"},
        {"from": "Podgorica", "to": "Sarajevo", "km": 240, "mode": "foot"},
        {"from": "Podgorica", "to": "Bijelo Polje", "km": 120, "mode": "road"},
        {"from": "Bijelo Polje", "to": "Belgrade", "km": 330, "mode": "road"},
        {"id": "me_rail_1", "from": "Podgorica", "to": "Bijelo Polje", "km": 120,
         "mode": "rail", "condition": "me_rail"},
        {"id": "me_rail_2", "from": "Bijelo Polje", "to": "Belgrade", "km": 330,
         "mode": "rail", "condition": "me_rail"},
        {"from": "Sarajevo", "to": "Bihac", "km": 320, "mode": "road"},
        {"from": "Belgrade", "to": "Bihac", "km": 420, "mode": "road"},
        {"from": "Belgrade", "to": "Szeged", "km": 180, "mode": "road"},
        {"from": "Bihac", "to": "Zagreb", "km": 150, "mode": "foot"},
        {"from": "Zagreb", "to": "Vienna", "km": 370, "mode": "road"},
        {"from": "Szeged", "to": "Vienna", "km": 400, "mode": "road"},
        {"from": "Vienna", "to": "Munich", "km": 400, "mode": "rail"},
        {"from": "Zagreb", "to": "Munich", "km": 580, "mode": "road"},
        {"from": "Munich", "to": "Calais", "km": 900, "mode": "road"},
        {"from": "Calais", "to": "Dover", "km": 50, "mode": "small_boat",
         "bidirectional": False},
    ]  # fmt: skip
    crossings: list[dict[str, Any]] = [
        {"link": "Izmir-Lesvos", "interception": 0.5, "pushback_share": 0.8, "price_eur": 1000,
         "death_risk": 0.002, "source": "price: data.md §6 (2015); others assumed"},
        {"link": "Edirne-Sofia", "interception": 0.4, "pushback_share": 0.7,
         "detain_share": 0.1, "price_eur": 600, "source": "assumed"},
        {"link": "Edirne-Thessaloniki", "interception": 0.5, "pushback_share": 0.8,
         "price_eur": 800, "source": "assumed"},
        {"link": "Thessaloniki-Skopje", "interception": 0.3, "pushback_share": 0.8,
         "price_eur": 1000, "source": "assumed; Greece-N. Macedonia/Albania entry zone is the"
         " largest WB smuggling market, EUR 19.5-29m a year (data.md §6, GI-TOC 2020)"},
        {"link": "Thessaloniki-Tirana", "interception": 0.2, "pushback_share": 0.8,
         "price_eur": 800, "source": "assumed"},
        {"link": "Belgrade-Szeged", "interception": 0.5, "pushback_share": 0.9,
         "price_eur": 2000, "source": "price: data.md §6 (EUR 500-5,000, 2020)"},
        {"link": "Bihac-Zagreb", "interception": 0.4, "pushback_share": 0.9, "price_eur": 1000,
         "source": "assumed; pushbacks documented (BVMN), no series (data.md gaps)"},
        {"link": "Calais-Dover", "interception": 0.45, "capacity_per_day": 1000,
         "price_eur": 2000, "death_risk": 0.002,
         "source": "data.md §2, §6: prevention ~42-50%, price £1,500-6,000, 78 deaths 2024"},
    ]  # fmt: skip
    origins = [
        {"origin": "Istanbul", "destination": "Dover", "people_per_month": 3000,
         "budget_eur_median": 8000, "budget_sigma": 0.5,
         "source": "assumed; end-to-end ~£4,000 overland (data.md §6, 2016)"},
    ]  # fmt: skip
    conditions = [
        {"id": "me_rail", "host": "Montenegro", "hub": "hub_montenegro", "met": montenegro_rail,
         "date": date(2027, 1, 1),
         "description": "Railways built in Montenegro (its stated condition for a hub)",
         "source": "data.md §5; §16 caveat: said half-jokingly"},
    ]  # fmt: skip
    return Network.model_validate({
        "places": [dict(zip(("place", "country", "lon", "lat", "kind"), p, strict=True))
                   for p in places],
        "links": links,
        "crossings": crossings,
        "origins": origins,
        "conditions": conditions,
    })  # fmt: skip
