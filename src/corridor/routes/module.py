"""Routes as a module of the engine: people travel a network of places towards a destination,
cross borders, are intercepted, pay smugglers, die, and arrive.

Phases (in the order of :data:`corridor.engine.loop.PHASES`):

* ``policies``: on each day of :func:`~corridor.routes.network.change_days` (day 0 included)
  the state of the network is rebuilt for that date (links opening or closing, modes and
  speeds, crossing attributes, met host conditions, dated policies) and with it the table of
  routes (:func:`~corridor.routes.network.route_table`: the k cheapest from the origins, from
  where people stand or arrive next, and from the start of every crossing on those routes).
  On a change after day 0 the crossing queues are emptied (their people rejoin in id order if
  their route still leads there), people en route are flagged to choose again at their next
  place (when ``choice.rechoose_on_change``) and the stranded try again.
* ``spawn``: each origins row sends its people of the day (people a month spread over the days
  of the month; the running total is rounded down, so a month's total is exact), with budgets
  drawn from the row's log-normal (stream ``budget``).
* ``move``: :func:`~corridor.routes.kernels.move_day`.
* ``cross``: :func:`~corridor.routes.kernels.cross_day` (the module keeps the queues).
* ``record``: the day's entries per directed link, events per crossing and kind, arrivals per
  destination and origin, and the stocks of people.

Adds agent columns (:data:`AGENT_COLUMNS`): ``loc``, ``link``, ``on_link`` (as Flee's module),
``dest`` (-1: none, Flee's rules), ``origin``, ``path`` (a route id of :attr:`RoutesModule.paths`,
-1: none yet), ``path_pos`` (the route's link the person is on or takes next), ``budget`` (EUR)
and ``status`` (bits of :mod:`corridor.routes.kernels`).

Invariants: every person is at one place or on one link; a person is in a crossing's queue
exactly when their ``WAIT`` bit is set; spawned people = en route + stranded + arrived + dead +
detained + displaced, every day. Conflict-displaced people moved by this module
must not also be moved by :class:`~corridor.modules.flee.FleeMovement` (one mover per table).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
from numpy.typing import NDArray

from corridor.engine import dtypes as dt
from corridor.engine.loop import Simulation
from corridor.engine.rng import generator, stream_key
from corridor.routes import kernels as K
from corridor.routes.network import (
    Graph,
    NetworkState,
    PathTable,
    Routes,
    build_graph,
    change_days,
    route_table,
    state_on,
)
from corridor.routes.schema import PLACE_KINDS, Network

__all__ = ["AGENT_COLUMNS", "AGENT_FILL", "STREAMS", "RoutesModule", "SpawnPlan", "spawn_plan"]

# Agent columns this module reads and writes (to move to corridor.engine.dtypes on integration).
AGENT_COLUMNS: dict[str, Any] = {
    "loc": dt.LOC,
    "link": dt.LINK,
    "on_link": dt.DIST,
    "dest": dt.LOC,
    "origin": dt.LOC,
    "path": np.int32,
    "path_pos": np.uint16,
    "budget": np.float32,
    "status": np.uint8,
}
AGENT_FILL: dict[str, int] = {"link": dt.NO_LINK, "dest": -1, "path": -1}
STREAMS = ("route", "flee_move", "flee_route", "intercept", "outcome", "death")


@dataclass(frozen=True)
class SpawnPlan:
    """People leaving each origin group on each day, and their budget distribution."""

    origin: NDArray[np.int32]  # per group (origin, destination pair)
    dest: NDArray[np.int32]  # -1: displaced by conflict
    count: NDArray[np.int64]  # (days, groups)
    median: NDArray[np.float64]  # (days, groups) EUR
    sigma: NDArray[np.float64]  # (days, groups)


def spawn_plan(net: Network, graph: Graph, start: date, days: int) -> SpawnPlan:
    """Daily spawns of every (origin, destination) pair (see the module docstring)."""
    pidx = net.place_index()
    groups = list(dict.fromkeys((o.origin, o.destination) for o in net.origins))
    dates = [start + timedelta(days=i) for i in range(days)]
    per_day = np.asarray([1.0 / calendar.monthrange(d.year, d.month)[1] for d in dates])
    count = np.zeros((days, len(groups)), np.int64)
    median = np.zeros((days, len(groups)))
    sigma = np.zeros((days, len(groups)))
    day_of = np.asarray([d.toordinal() for d in dates], np.int64)
    for g, (o, d) in enumerate(groups):
        rows = sorted(
            (r for r in net.origins if (r.origin, r.destination) == (o, d)),
            key=lambda r: r.from_date or date.min,
        )
        rate = np.zeros(days)
        for r in rows:
            since = day_of >= (r.from_date or date.min).toordinal()
            rate[since] = r.people_per_month
            median[since, g] = r.budget_eur_median
            sigma[since, g] = r.budget_sigma
        total = np.floor(np.concatenate([[0.0], np.cumsum(rate * per_day)]) + 1e-9)
        count[:, g] = np.diff(total).astype(np.int64)
    return SpawnPlan(
        origin=np.asarray([pidx[o] for o, _ in groups], np.int32),
        dest=np.asarray([pidx[d] if d is not None else -1 for _, d in groups], np.int32),
        count=count,
        median=median,
        sigma=sigma,
    )


@dataclass
class RoutesModule:
    """Directed travel, crossings and Flee's rules on one network (see the module docstring).

    Records, per day: ``flows[day, link]`` (people entering each directed link),
    ``events[day, crossing, kind]`` (:data:`~corridor.routes.kernels.EVENT_KINDS`),
    ``arrivals[day, slot, origin]`` and ``stocks[day, k]`` (:data:`STOCK_COLUMNS`).
    """

    network: Network
    start: date
    days: int
    use_numba: bool = True
    name: str = "routes"
    phases: tuple[str, ...] = ("policies", "spawn", "move", "cross", "record")
    graph: Graph = field(init=False)
    paths: PathTable = field(init=False)
    versions: int = field(init=False, default=0)

    STOCK_COLUMNS = ("en_route", "stranded", "arrived", "dead", "detained", "displaced", "queued")

    def init(self, sim: Simulation) -> None:
        net, g = self.network, build_graph(self.network)
        self.graph = g
        have = set(sim.agents.columns())
        for col, dtype in AGENT_COLUMNS.items():
            if col not in have:
                sim.agents.add_column(col, dtype, AGENT_FILL.get(col, 0))
        self.plan = spawn_plan(net, g, self.start, self.days)
        sim.agents.reserve(sim.agents.n + int(self.plan.count.sum()))
        self.changes = set(change_days(net, self.start, self.days))
        self.paths = PathTable()
        # (place, destination slot) groups of the origins: people choose there first
        self.origin_groups = {
            (int(o), int(g.dest_slot[d]))
            for o, d in zip(self.plan.origin, self.plan.dest, strict=True)
            if d >= 0
        }
        self.keys = {k: stream_key(sim.seed, k) for k in STREAMS}
        s = net.flee
        kind = g.kind
        self.movechance = np.where(
            kind == PLACE_KINDS.index("origin"),
            s.conflict_movechance,
            np.where(
                kind == PLACE_KINDS.index("destination"), s.camp_movechance, s.default_movechance
            ),
        ).astype(np.float64)
        score = np.ones(g.n_places)
        score[kind == PLACE_KINDS.index("destination")] *= s.camp_weight
        score[kind == PLACE_KINDS.index("origin")] *= s.conflict_weight
        self._flee_base = (
            (s.weight_softening + score[g.dst]) / (s.softening + g.km) ** s.distance_power
        ) ** s.weight_power
        nd, npl = g.n_dest, g.n_places
        self.flows = np.zeros((self.days, g.n_links), np.int64)
        self.events = np.zeros((self.days, g.n_cross, len(K.EVENT_KINDS)), np.int64)
        self.arrivals = np.zeros((self.days, nd, npl), np.int64)
        self.stocks = np.zeros((self.days, len(self.STOCK_COLUMNS)), np.int64)
        self._today: dict[str, NDArray[np.int64]] = {}
        self.queue = np.zeros(0, np.int64)  # crossing queues (see kernels.cross_day)
        self.qptr = np.zeros(g.n_cross + 1, np.int64)

    # -- policies --------------------------------------------------------------------------
    def _apply_policies(self, sim: Simulation, day: int) -> None:
        if day not in self.changes:
            return
        g, net = self.graph, self.network
        st: NetworkState = state_on(net, g, self.start + timedelta(days=day))
        self.state = st
        needed = self.origin_groups | self._standing(sim)
        self.routes: Routes = route_table(
            g, st, net.choice, self.paths, needed, closure="crossings"
        )
        blocked = np.zeros(g.n_links, bool)
        blocked[g.cross_link] = st.cross_active & ((st.capacity == 0) | (st.interception >= 1))
        self.link_usable = st.link_open & ~blocked
        w = np.where(st.link_open, self._flee_base, 0.0)
        self.flee_w = w
        self.flee_wsum = np.zeros(g.n_places)
        np.add.at(self.flee_wsum, g.src, w)
        self.flee_nopen = np.bincount(g.src[st.link_open], minlength=g.n_places).astype(np.int64)
        self.versions += 1
        if day > 0:
            ag = sim.agents
            status, dest = ag["status"], ag["dest"]
            # the queues are emptied: people rejoin them (in id order) if their route still
            # leads there
            status[self.queue] &= np.uint8(~K.WAIT & 0xFF)
            self.queue = np.zeros(0, np.int64)
            self.qptr[:] = 0
            live = (dest >= 0) & ((status & K.DONE) == 0)
            if not net.choice.rechoose_on_change:
                live &= (status & K.STUCK) != 0
            status[live] = (status[live] & np.uint8(~K.STUCK & 0xFF)) | np.uint8(K.CHOOSE)

    def _standing(self, sim: Simulation) -> set[tuple[int, int]]:
        """Groups where people on their way may choose in the new state: where they stand or
        arrive next (and, when they do not choose again on a change, every place ahead on
        their routes, where a closed link may stop them)."""
        ag, g = sim.agents, self.graph
        if ag.n == 0:
            return set()
        dest, status, link = ag["dest"], ag["status"], ag["link"]
        live = (dest >= 0) & ((status & K.DONE) == 0)
        place = np.where(link >= 0, g.dst[np.maximum(link, 0)], ag["loc"])[live]
        slot = g.dest_slot[dest[live]].astype(np.int64)
        keys = np.unique(place.astype(np.int64) * g.n_dest + slot)
        out = {(int(k // g.n_dest), int(k % g.n_dest)) for k in keys}
        if not self.network.choice.rechoose_on_change:
            path = ag["path"][live]
            for p, s in {(int(p), int(s)) for p, s in zip(path, slot, strict=True) if p >= 0}:
                lo, hi = self.paths.ptr[p], self.paths.ptr[p + 1]
                out |= {(int(x), s) for x in g.src[self.paths.links[lo:hi]]}
        return out

    # -- spawn -----------------------------------------------------------------------------
    def _spawn(self, sim: Simulation, day: int) -> None:
        p = self.plan
        for gi in np.flatnonzero(p.count[day]).tolist():
            k = int(p.count[day, gi])
            med, sig = float(p.median[day, gi]), float(p.sigma[day, gi])
            if sig > 0.0:
                z = generator(sim.seed, "budget", day, gi).standard_normal(k)
                budget = (med * np.exp(sig * z)).astype(np.float32)
            else:
                budget = np.full(k, med, np.float32)
            directed = p.dest[gi] >= 0
            sim.agents.add(
                k,
                loc=p.origin[gi],
                origin=p.origin[gi],
                dest=p.dest[gi],
                budget=budget,
                status=K.CHOOSE if directed else 0,
            )

    # -- move and cross --------------------------------------------------------------------
    def _move(self, sim: Simulation, day: int) -> None:
        ag, g, st, r = sim.agents, self.graph, self.state, self.routes
        args = (
            ag.raw("loc"), ag.raw("link"), ag.raw("on_link"), ag.raw("dest"), ag.raw("origin"),
            ag.raw("path"), ag.raw("path_pos"), ag.raw("budget"), ag.raw("status"),
            day, self.keys["route"], self.keys["flee_move"], self.keys["flee_route"],
            g.dst, g.km, st.speed, st.link_open, self.link_usable, g.link_cross,
            st.cross_active, self.paths.ptr, self.paths.links, g.dest_slot,
            r.ptr, r.path, r.weight, r.price, r.fallback_path, r.fallback_price,
            self.movechance, g.csr_ptr, g.csr_link, self.flee_w, self.flee_wsum,
            self.flee_nopen, g.n_dest,
        )  # fmt: skip
        out = K.move_day(ag.n, *args) if self.use_numba else K.move_day_np(ag.n, *args)
        self._today = {
            "flows": out.entries,
            "arrivals": out.arrivals,
            "stocks": out.stocks,
            "waiting": out.waiting,
        }

    def _cross(self, sim: Simulation, day: int) -> None:
        joiners = self._today["waiting"]
        g, st = self.graph, self.state
        events = np.zeros((g.n_cross, len(K.EVENT_KINDS)), np.int64)
        if joiners.size or self.queue.size:
            ag = sim.agents
            kernel = K.cross_day if self.use_numba else K.cross_day_np
            events, entries, self.queue, self.qptr = kernel(
                self.queue, self.qptr, joiners, ag.raw("link"), ag.raw("on_link"),
                ag.raw("path"), ag.raw("path_pos"), ag.raw("budget"), ag.raw("status"), day,
                self.keys["intercept"], self.keys["outcome"], self.keys["death"],
                self.paths.ptr, self.paths.links, g.link_cross,
                st.interception, st.pushback, st.detain, st.capacity, st.price, st.death,
            )  # fmt: skip
            self._today["flows"] = self._today["flows"] + entries
        self._today["events"] = events

    def _record(self, day: int) -> None:
        t = self._today
        self.flows[day] = t["flows"]
        self.arrivals[day] = t["arrivals"].reshape(self.graph.n_dest, self.graph.n_places)
        ev = t["events"]
        self.events[day] = ev
        s = t["stocks"]
        deaths = int(ev[:, K.EVENT_KINDS.index("death")].sum())
        detained = int(ev[:, K.EVENT_KINDS.index("detention")].sum())
        self.stocks[day] = (
            s[0] + s[1] - deaths - detained,  # en route (the queue included)
            s[2],
            s[3],
            s[4] + deaths,
            s[5] + detained,
            s[6],
            self.queue.size,
        )

    def step(self, sim: Simulation, day: int, phase: str) -> None:
        if phase == "policies":
            self._apply_policies(sim, day)
        elif phase == "spawn":
            self._spawn(sim, day)
        elif phase == "move":
            self._move(sim, day)
        elif phase == "cross":
            self._cross(sim, day)
        elif phase == "record":
            self._record(day)
