"""Route effects of Montenegro's railway condition, from the agent-based route network
(runs for the maps and a cross-check; the forecast resolves the network in expectation).

The flagship's network pack (``data/scenarios/uk-balkans/network/``: ``network.yaml`` and the
four tables) is the full corridor: the Eastern Mediterranean route from Türkiye into Greece and
Bulgaria, the six Western Balkans states and the EU states they border, the Central
Mediterranean route from Libya and Tunisia to Italy, and onward to the French coast and Dover.
Montenegro's stated condition for a return hub, railways (data.md §5, said half-jokingly:
caveat 16), is the host condition ``me_rail``: where it is met, the hypothetical rail links
Podgorica - Bijelo Polje - Belgrade exist from its date.

:func:`rail_comparison` runs the network without and with the railway (same seed: common random
numbers) and :func:`route_effects` summarises each run per person who set off from Istanbul
(:class:`RouteEffects`). The forecast does not use these runs: each replicate resolves the
same network in expectation (:mod:`corridor.forecast.network`, the same rules as these agents,
agreement tested in ``tests/test_routes_expected.py``). ``corridor refit`` stores these runs
beside that resolution (``fitted/route_effects.json`` ``agents``) for the report's flow maps and
route shares, and as a cross-check; :func:`wb_detection_factor` is the railway's multiplier on
Western Balkans detections per person as a run gives it.

What is counted, and why. Frontex counts *detections*, not people (data.md caveat 1): a person
who is stopped at a border and tries again is detected again, and one person can be detected
on the Eastern Mediterranean route and again on the Western Balkan route. The Western Balkans
series the flagship multiplies is such a count (caveat 2: the UK's "22,000 smuggled along the
WB routes" in 2024 is Frontex's 21,525 detections). So the route effect is measured the same
way: every *attempt* at a crossing from a Western Balkans state into the EU (intercepted, died
or got through: each is a detection event) counts, and repeat attempts count again. The
people-based measures (shares of people through Montenegro or Serbia, arrivals, days on the
way) are separate fields.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from corridor.forecast.corridor_network import (
    DEFAULT_PACK,
    HUB_PLACES,
    ME_RAIL,
    START,
    hub_network,
    load_corridor_network,
    wb_crossings,
)
from corridor.routes.maps import save_flow_map
from corridor.routes.module import spawn_plan
from corridor.routes.run import RoutesResult, run_network
from corridor.routes.schema import Network

__all__ = [
    "RouteEffects",
    "comparison_maps",
    "effects_of",
    "flow_map_png",
    "rail_comparison",
    "reentry_effects",
    "route_effects",
    "wb_detection_factor",
]


@dataclass(frozen=True)
class RouteEffects:
    """A run of the network summarised per person who set off from ``origin`` (Istanbul).

    People who set off: everyone spawned at ``origin`` except those still stranded there at the
    end, who could pay for no route and never left (``stranded_at_origin``).

    * ``wb_detections_per_person``: attempts (= interceptions + deaths + crossings, each one a
      detection event, as Frontex counts: data.md caveat 1) at the crossings from a Western
      Balkans state into a state outside the region (Serbia-Hungary, Serbia-Romania,
      Serbia-Croatia, Bosnia-Croatia in the pack), per person who set off. Repeat attempts
      after a pushback or a turn-back count again. Exits from Greece into the region
      (Greece-North Macedonia, Greece-Albania) are not counted: Frontex counts entries into
      the EU.
    * ``share_via_montenegro``, ``share_via_serbia``: people entering the country (entries of
      a link from a place outside it to a place in it), per person who set off. Entries are
      counted on the network's links and so include every origin's people; in the pack only
      the routes from Istanbul reach the Western Balkans. A person who enters twice counts
      twice (rare: routes are loopless, and the pushed back stay on the near side).
    * ``mean_days_to_dover``: mean days from setting off to the destination, for the people
      of ``origin`` who arrived (exact: arrival dates from the arrivals table, departure dates
      from the order in which agents were spawned).
    * ``mean_days_to_channel``: days to the French coast for the same people:
      ``mean_days_to_dover`` less the days spent at the Channel, estimated from the Channel
      crossings' events as (turned back ÷ crossings) failed attempts, a day each, plus the
      days on the boat (``ceil(km / speed)``). Assumes the crossings' capacity does not bind
      (at the pack's flows it does not: a few dozen attempts a day against 1,000).
    * ``channel_arrivals_per_person``: people of ``origin`` reaching the destination (Dover),
      per person who set off.
    * ``route_shares``: the routes held at the end by the people who set off, by share (top
      ten). A route is the one chosen last: after a pushback people choose again from the
      crossing's start, so a route may begin part-way.
    * ``result`` (not compared): the run, for maps.
    """

    wb_detections_per_person: float
    share_via_montenegro: float
    share_via_serbia: float
    mean_days_to_channel: float
    channel_arrivals_per_person: float
    route_shares: dict[str, float]
    seed: int
    days: int
    origin: str
    people: int
    stranded_at_origin: int
    mean_days_to_dover: float
    result: RoutesResult | None = field(default=None, repr=False, compare=False)


def route_effects(
    network: Network,
    *,
    days: int = 730,
    seed: int = 0,
    start: date = START,
    origin: str = "Istanbul",
    use_numba: bool = True,
) -> RouteEffects:
    """Run ``network`` (:func:`~corridor.routes.run.run_network`, agents kept) for ``days``
    days from ``start`` with ``seed`` and summarise it per person who set off from ``origin``
    (:func:`effects_of`)."""
    result = run_network(network, days, seed, start, use_numba=use_numba, keep_agents=True)
    return effects_of(result, origin=origin)


def effects_of(result: RoutesResult, *, origin: str = "Istanbul") -> RouteEffects:
    """Summarise a run kept with its agents (see :class:`RouteEffects` for what is counted)."""
    agents = result.agents
    if agents is None:
        raise ValueError("the run has no agents table: run it with keep_agents=True")
    g = result.graph
    if origin not in g.names:
        raise ValueError(f"no place {origin!r} in the network")
    country = {name: g.countries[int(g.country[i])] for i, name in enumerate(g.names)}

    status = agents["status"].to_numpy()
    mine = agents["origin"].to_numpy() == origin
    stuck_home = mine & (status == "stranded") & (agents["place"].to_numpy() == origin)
    set_off = mine & ~stuck_home
    people = int(set_off.sum())

    def per(x: float) -> float:
        return float(x) / people if people else math.nan

    # Western Balkans detections: attempts at crossings from the region into a state outside it
    wb = [g.cross_key[j] for j in wb_crossings(g)]
    ev = result.events
    attempts = float(ev.loc[(ev["kind"] == "attempt") & ev["crossing"].isin(wb), "count"].sum())

    # entries into a country
    flows = result.link_flows
    c_from = flows["from"].map(country)
    c_to = flows["to"].map(country)

    def entries(state: str) -> float:
        return float(flows.loc[(c_to == state) & (c_from != state), "people"].sum())

    # days on the way: arrival dates (arrivals table) less departure dates (spawn order)
    plan = spawn_plan(result.network, g, result.start, result.days)
    spawn_day = np.repeat(np.arange(result.days), plan.count.sum(axis=1))
    if spawn_day.size != len(agents):
        raise ValueError("the agents table does not match the run's spawn plan")
    arr = result.arrivals[result.arrivals["origin"] == origin]
    arrived = int(arr["people"].sum())
    if arrived:
        arr_day = (arr["date"] - pd.Timestamp(result.start)).dt.days.to_numpy()
        mean_arrival = float((arr_day * arr["people"].to_numpy()).sum()) / arrived
        mean_departure = float(spawn_day[mine & (status == "arrived")].mean())
        days_to_dover = mean_arrival - mean_departure
        days_to_channel = days_to_dover - _channel_days(result)
    else:
        days_to_dover = days_to_channel = math.nan

    routes = dict(zip(result.routes["route"], result.routes["places"], strict=True))
    held = agents.loc[set_off & (agents["route"].to_numpy() >= 0), "route"]
    counts = held.map(routes).value_counts()
    shares = {str(k): float(v) / people for k, v in counts.head(10).items()} if people else {}

    return RouteEffects(
        wb_detections_per_person=per(attempts),
        share_via_montenegro=per(entries("Montenegro")),
        share_via_serbia=per(entries("Serbia")),
        mean_days_to_channel=days_to_channel,
        channel_arrivals_per_person=per(arrived),
        route_shares=shares,
        seed=int(result.metrics["seed"]),
        days=result.days,
        origin=origin,
        people=people,
        stranded_at_origin=int(stuck_home.sum()),
        mean_days_to_dover=days_to_dover,
        result=result,
    )


def _channel_days(result: RoutesResult) -> float:
    """Mean days from reaching the coast to the destination, for those who crossed: failed
    attempts (turned back, one a day) per crossing, plus the days on the boat, over the
    crossings into a destination place (the Channel in the pack). Boat speeds are the links'
    own or their mode's, as in the tables (dated policies that change speeds are ignored)."""
    g, net = result.graph, result.network
    dests = {g.names[int(d)] for d in g.dests}
    links = {lk.key: lk for lk in net.links}
    ev = result.events
    turned = crossed = boat = 0.0
    for j, key in enumerate(g.cross_key):
        if g.names[int(g.dst[int(g.cross_link[j])])] not in dests:
            continue
        mine = ev[ev["crossing"] == key].groupby("kind")["count"].sum()
        n = float(mine.get("crossing", 0))
        turned += float(
            mine.get("interception", 0) - mine.get("pushback", 0) - mine.get("detention", 0)
        )
        crossed += n
        lk = links[key]
        speed = lk.speed_kmday or net.speeds.of(lk.mode)
        boat += n * math.ceil(lk.km / speed - 1e-9)
    return (turned + boat) / crossed if crossed else 0.0


def rail_comparison(
    pack_dir: Path = DEFAULT_PACK, *, days: int = 730, seed: int = 0
) -> tuple[RouteEffects, RouteEffects]:
    """The pack's network run without and with Montenegro's railway (``me_rail`` met), same
    seed and days, from the condition's date; returns (without, with)."""
    without = route_effects(load_corridor_network(pack_dir), days=days, seed=seed)
    with_rail = route_effects(
        load_corridor_network(pack_dir, montenegro_rail=True), days=days, seed=seed
    )
    return without, with_rail


def reentry_effects(
    pack_dir: Path = DEFAULT_PACK,
    *,
    days: int = 730,
    seed: int = 0,
    people_per_month: float = 600.0,
) -> dict[str, RouteEffects]:
    """People who leave a hub, on the network: for each host of :data:`HUB_PLACES`, the pack's
    network (without the railway) with one origin, the hub's place, heading for the pack's
    destination with the budget of the pack's first origin (people who left a hub carry what
    people on the route carry: an assumption), run like :func:`rail_comparison` and summarised
    per person who set off from the hub (:func:`effects_of`). The route choice, crossings,
    pushbacks and deaths are the ones everyone else meets."""
    network = load_corridor_network(pack_dir)
    return {
        host: route_effects(
            hub_network(network, place, people_per_month), days=days, seed=seed, origin=place
        )
        for host, place in HUB_PLACES.items()
    }


def wb_detection_factor(without: RouteEffects, with_: RouteEffects) -> float:
    """``with_.wb_detections_per_person / without.wb_detections_per_person``: the multiplier
    the railway puts on Western Balkans detections (detections, not people: caveat 1)."""
    base = without.wb_detections_per_person
    if not base > 0.0:
        raise ValueError("no Western Balkans detections without the railway: no factor")
    return with_.wb_detections_per_person / base


def flow_map_png(
    source: RouteEffects | RoutesResult, path: str | Path, *, title: str | None = None
) -> Path:
    """Draw the people a month on each link of a run (:func:`corridor.routes.maps.flow_map`)
    as a PNG at ``path``, written atomically; returns the path."""
    result = source.result if isinstance(source, RouteEffects) else source
    if result is None:
        raise ValueError("these effects carry no run to draw")
    if title is None:
        rail = any(c.met for c in result.network.conditions if c.id == ME_RAIL)
        title = (
            f"People a month per link, {result.start:%Y-%m} + {result.days} days"
            f" ({'with' if rail else 'without'} Montenegro's railway)"
        )
    save_flow_map(result, path, title=title)
    return Path(path)


def comparison_maps(
    without: RouteEffects, with_: RouteEffects, folder: str | Path
) -> tuple[Path, Path]:
    """Flow maps of both cases: ``flows_without_rail.png`` and ``flows_with_rail.png`` in
    ``folder``."""
    out = Path(folder)
    return (
        flow_map_png(without, out / "flows_without_rail.png"),
        flow_map_png(with_, out / "flows_with_rail.png"),
    )
