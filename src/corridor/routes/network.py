"""A :class:`~corridor.routes.schema.Network` as arrays: places, directed links in CSR order,
crossings, the state of every link on a date, and the k cheapest routes by generalised cost.

Directed links. Each network link gives a directed link ``from → to`` and, when bidirectional,
``to → from`` (in table order, forward first). A crossing controls the forward one.

State on a date (:func:`state_on`) is a pure function of the network and the date: it replays
every dated event up to that date, in date order (on the same date: link windows, then crossing
rows, then met host conditions, then policies, each in table order). The module rebuilds it on
each day of :func:`change_days`.

Routes. :func:`k_shortest_paths` is Yen's algorithm (Yen 1971, "Finding the k shortest loopless
paths in a network", Management Science 17(11)); its searches are A* over a binary heap, guided
by the exact cheapest cost to the target (one reverse Dijkstra per target), which bans can only
raise, so each search stays optimal and mostly walks straight down the remaining route. We write it
here rather than call :func:`scipy.sparse.csgraph.dijkstra` because (1) csgraph works on a
place-by-place matrix, in which parallel links (a road and a new railway between the same two
places, which is what a railway condition adds) collapse into one entry, while a route here is
a sequence of *links*; and (2) each Yen spur search removes particular links and places, which
with csgraph means building a new matrix per search. Networks of routes are small (tens to a few
hundred places): one search costs well under a millisecond in Python, and the table of routes
for a network state is computed only when the network changes and only for the places people
can be in (:func:`route_table`).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from corridor.routes.schema import MODES, PLACE_KINDS, Network, RouteChoice, parse_path

__all__ = [
    "Graph",
    "NetworkState",
    "PathTable",
    "Routes",
    "build_graph",
    "change_days",
    "k_shortest_paths",
    "link_costs",
    "route_table",
    "state_on",
]

NO_LIMIT = -1  # capacity_per_day of a crossing without a limit


@dataclass(frozen=True)
class Graph:
    """The fixed arrays of a network (what does not change by date)."""

    names: tuple[str, ...]
    countries: tuple[str, ...]
    country: NDArray[np.int32]  # per place, index into countries
    kind: NDArray[np.int8]  # per place, index into PLACE_KINDS
    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    link_key: tuple[str, ...]  # per directed link: the network link's id
    link_row: NDArray[np.int32]  # per directed link: row in network.links
    forward: NDArray[np.bool_]  # per directed link: from → to (else the reverse)
    src: NDArray[np.int32]
    dst: NDArray[np.int32]
    km: NDArray[np.float64]
    csr_ptr: NDArray[np.int64]  # out-links of place i: csr_link[csr_ptr[i]:csr_ptr[i+1]]
    csr_link: NDArray[np.int32]
    cross_key: tuple[str, ...]  # per crossing: its link id
    cross_link: NDArray[np.int32]  # per crossing: its (forward) directed link
    link_cross: NDArray[np.int32]  # per directed link: its crossing, or -1
    dests: NDArray[np.int32]  # destination places (those of the origins table), by slot
    dest_slot: NDArray[np.int32]  # per place: its slot in dests, or -1

    @property
    def n_places(self) -> int:
        return len(self.names)

    @property
    def n_links(self) -> int:
        return len(self.src)

    @property
    def n_cross(self) -> int:
        return len(self.cross_key)

    @property
    def n_dest(self) -> int:
        return len(self.dests)


def build_graph(net: Network) -> Graph:
    """The arrays of ``net`` (validated: every reference resolves)."""
    pidx = net.place_index()
    countries = tuple(sorted({p.country for p in net.places}))
    cidx = {c: i for i, c in enumerate(countries)}
    src: list[int] = []
    dst: list[int] = []
    km: list[float] = []
    key: list[str] = []
    row: list[int] = []
    fwd: list[bool] = []
    for i, lk in enumerate(net.links):
        a, b = pidx[lk.from_], pidx[lk.to]
        pairs = [(a, b, True)] + ([(b, a, False)] if lk.bidirectional else [])
        for x, y, f in pairs:
            src.append(x)
            dst.append(y)
            km.append(lk.km)
            key.append(lk.key)
            row.append(i)
            fwd.append(f)
    src_a = np.asarray(src, np.int32)
    n = len(net.places)
    csr_ptr = np.zeros(n + 1, np.int64)
    np.add.at(csr_ptr, src_a.astype(np.int64) + 1, 1)
    forward_of = {k: j for j, (k, f) in enumerate(zip(key, fwd, strict=True)) if f}
    cross_key = tuple(dict.fromkeys(c.link for c in net.crossings))
    cross_link = np.asarray([forward_of[k] for k in cross_key], np.int32)
    link_cross = np.full(len(src), -1, np.int32)
    link_cross[cross_link] = np.arange(len(cross_key), dtype=np.int32)
    dest_names = dict.fromkeys(o.destination for o in net.origins if o.destination is not None)
    dests = np.asarray([pidx[d] for d in dest_names], np.int32)
    dest_slot = np.full(n, -1, np.int32)
    dest_slot[dests] = np.arange(len(dests), dtype=np.int32)
    return Graph(
        names=tuple(p.place for p in net.places),
        countries=countries,
        country=np.asarray([cidx[p.country] for p in net.places], np.int32),
        kind=np.asarray([PLACE_KINDS.index(p.kind) for p in net.places], np.int8),
        lon=np.asarray([p.lon for p in net.places], np.float64),
        lat=np.asarray([p.lat for p in net.places], np.float64),
        link_key=tuple(key),
        link_row=np.asarray(row, np.int32),
        forward=np.asarray(fwd, bool),
        src=src_a,
        dst=np.asarray(dst, np.int32),
        km=np.asarray(km, np.float64),
        csr_ptr=np.cumsum(csr_ptr),
        csr_link=np.argsort(src_a, kind="stable").astype(np.int32),
        cross_key=cross_key,
        cross_link=cross_link,
        link_cross=link_cross,
        dests=dests,
        dest_slot=dest_slot,
    )


# ---------------------------------------------------------------------------------------------
# The state of the network on a date
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class NetworkState:
    """Attributes of every directed link and crossing on one date."""

    link_open: NDArray[np.bool_]
    speed: NDArray[np.float64]  # km a day
    mode: NDArray[np.int8]  # index into MODES
    cross_active: NDArray[np.bool_]
    interception: NDArray[np.float64]
    pushback: NDArray[np.float64]
    detain: NDArray[np.float64]
    capacity: NDArray[np.int64]  # attempts a day, NO_LIMIT = none
    price: NDArray[np.float64]  # EUR
    death: NDArray[np.float64]


Event = tuple[date, int, int, tuple[str, Any]]


def _events(net: Network) -> list[Event]:
    """Every dated event as (date, order, index, (kind, value)); None dates sort first."""
    ev: list[Event] = []
    cond = {c.id: c for c in net.conditions}
    for i, lk in enumerate(net.links):
        start = lk.from_date or date.min
        if lk.condition is not None:
            c = cond[lk.condition]
            if not c.met:
                continue
            start = max(start, c.date)
        ev.append((start, 0, i, ("link_on", lk.key)))
        if lk.to_date is not None:
            ev.append((lk.to_date, 0, i, ("link_off", lk.key)))
    for i, cr in enumerate(net.crossings):
        ev.append((cr.from_date or date.min, 1, i, ("crossing", cr)))
    for i, c in enumerate(net.conditions):
        if c.met:
            ev.append((c.date, 2, i, ("set", c.set)))
    for i, p in enumerate(net.policies):
        ev.append((p.date, 3, i, ("set", p.set)))
    ev.sort(key=lambda e: (e[0], e[1], e[2]))
    return ev


def change_days(net: Network, start: date, days: int) -> list[int]:
    """Days (0-based from ``start``) on which the network's state may change; always has 0."""
    out = {0}
    for d, *_ in _events(net):
        k = (d - start).days if d > start else 0
        if k < days:
            out.add(k)
    return sorted(out)


def state_on(net: Network, graph: Graph, when: date) -> NetworkState:
    """The state of every link and crossing on ``when`` (see the module docstring)."""
    g = graph
    by_key: dict[str, list[int]] = {}
    for j, k in enumerate(g.link_key):
        by_key.setdefault(k, []).append(j)
    cross_of = {k: c for c, k in enumerate(g.cross_key)}
    rows = net.links
    exists = np.zeros(g.n_links, bool)
    closed = np.zeros(g.n_links, bool)  # closed by a policy (a link may exist and be closed)
    mode = np.asarray([MODES.index(rows[r].mode) for r in g.link_row], np.int8)
    own = np.asarray([rows[r].speed_kmday or 0.0 for r in g.link_row], np.float64)
    speeds = {m: net.speeds.of(m) for m in MODES}
    nc = g.n_cross
    active = np.zeros(nc, bool)
    attrs = {
        "interception": np.zeros(nc),
        "pushback_share": np.zeros(nc),
        "detain_share": np.zeros(nc),
        "capacity_per_day": np.full(nc, -1.0),
        "price_eur": np.zeros(nc),
        "death_risk": np.zeros(nc),
    }
    for d, _, _, payload in _events(net):
        if d > when:
            break
        kind, value = payload
        if kind == "link_on":
            exists[by_key[value]] = True
        elif kind == "link_off":
            exists[by_key[value]] = False
        elif kind == "crossing":
            c = cross_of[value.link]
            active[c] = True
            for a in attrs:
                v = getattr(value, a)
                attrs[a][c] = -1.0 if v is None else float(v)
        else:
            for path, v in value.items():
                _apply(path, v, g, by_key, cross_of, closed, mode, own, speeds, attrs)
    speed = np.where(own > 0, own, np.asarray([speeds[MODES[m]] for m in mode], np.float64))
    cap = attrs["capacity_per_day"]
    return NetworkState(
        link_open=exists & ~closed,
        speed=speed,
        mode=mode,
        cross_active=active,
        interception=attrs["interception"],
        pushback=attrs["pushback_share"],
        detain=attrs["detain_share"],
        capacity=np.where(cap < 0, NO_LIMIT, np.floor(np.maximum(cap, 0.0))).astype(np.int64),
        price=attrs["price_eur"],
        death=attrs["death_risk"],
    )


def _apply(
    path: str,
    value: object,
    g: Graph,
    by_key: dict[str, list[int]],
    cross_of: dict[str, int],
    closed: NDArray[np.bool_],
    mode: NDArray[np.int8],
    own: NDArray[np.float64],
    speeds: dict[str, float],
    attrs: dict[str, NDArray[np.float64]],
) -> None:
    t = parse_path(path)
    if t.kind == "links":
        js = by_key[t.names[0]]
        if t.attribute == "open":
            closed[js] = not bool(value)
        elif t.attribute == "mode":
            mode[js] = MODES.index(str(value))
        else:
            own[js] = float(value)  # type: ignore[arg-type]
    elif t.kind == "borders":
        a, b = (g.countries.index(c) for c in t.names)
        cs, cd = g.country[g.src], g.country[g.dst]
        hit = ((cs == a) & (cd == b)) | ((cs == b) & (cd == a))
        closed[hit] = not bool(value)
    elif t.kind == "speeds":
        speeds[t.attribute] = float(value)  # type: ignore[arg-type]
    else:
        name = t.names[0]
        if name.startswith("country:"):
            ci = g.countries.index(name[len("country:") :])
            cs = np.flatnonzero(g.country[g.src[g.cross_link]] == ci).astype(np.int64)
        else:
            cs = np.asarray([cross_of[name]], np.int64)
        attrs[t.attribute][cs] = float(value)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# Generalised cost and the k cheapest routes
# ---------------------------------------------------------------------------------------------
def link_costs(graph: Graph, state: NetworkState, choice: RouteChoice) -> NDArray[np.float64]:
    """Generalised cost of each directed link (days-equivalent; inf where unusable).

    ``weight_time × km / speed`` for travel; on an active crossing add
    ``weight_time × p/(1-p)`` (the expected number of failed attempts, one day each),
    ``weight_price × price`` and ``weight_risk × (death + detention)``, where the chance of
    ending in detention is ``p·δ / (p·δ + 1 - p)`` (δ = detain share). A crossing that nobody
    can pass (p = 1 or capacity 0) and a closed link cost inf.
    """
    s = state
    cost = choice.weight_time * graph.km / s.speed
    cl = graph.cross_link
    p = s.interception
    with np.errstate(divide="ignore", invalid="ignore"):
        wait = np.where(p < 1.0, p / (1.0 - p), np.inf)
        detained = np.where(p < 1.0, p * s.detain / (p * s.detain + 1.0 - p), 1.0)
    extra = (
        choice.weight_time * wait
        + choice.weight_price * s.price
        + choice.weight_risk * (s.death + detained)
    )
    extra = np.where(s.capacity == 0, np.inf, extra)
    cost[cl] += np.where(s.cross_active, extra, 0.0)
    return np.where(s.link_open, cost, np.inf)


Path = tuple[int, ...]
OutLinks = list[list[tuple[int, int, float]]]


def _out_links(graph: Graph, cost: NDArray[np.float64]) -> OutLinks:
    """Out-links of each place as (link, end, cost), links of infinite cost left out."""
    out: OutLinks = [[] for _ in range(graph.n_places)]
    for j in graph.csr_link.tolist():
        if math.isfinite(cost[j]):
            out[int(graph.src[j])].append((j, int(graph.dst[j]), float(cost[j])))
    return out


@dataclass(frozen=True)
class _Tree:
    """Cheapest cost ``h[v]`` from every place to one target, and the first link ``nxt[v]``
    of a cheapest route (-1: none), from one Dijkstra on the reversed links."""

    h: list[float]
    nxt: list[int]


def _to_target(graph: Graph, cost: NDArray[np.float64], target: int) -> _Tree:
    into: OutLinks = [[] for _ in range(graph.n_places)]
    for j in range(graph.n_links):
        if math.isfinite(cost[j]):
            into[int(graph.dst[j])].append((j, int(graph.src[j]), float(cost[j])))
    dist = [math.inf] * graph.n_places
    nxt = [-1] * graph.n_places
    dist[target] = 0.0
    heap = [(0.0, target)]
    while heap:
        c, u = heapq.heappop(heap)
        if c > dist[u]:
            continue
        for j, v, w in into[u]:
            if c + w < dist[v]:
                dist[v] = c + w
                nxt[v] = j
                heapq.heappush(heap, (c + w, v))
    return _Tree(dist, nxt)


def _search(
    out: OutLinks,
    tree: _Tree,
    dst: Sequence[int],
    source: int,
    target: int,
    banned_links: set[int],
    banned_places: set[int],
) -> tuple[float, Path] | None:
    """Cheapest route source → target avoiding the banned links (out of ``source``) and places.

    First the shortcut: take the allowed first link with the least ``w + h[end]``; if the tree
    route from its end avoids the banned places and ``source``, it is optimal (``h`` is a lower
    bound once things are banned). Otherwise A* guided by ``h`` (a consistent lower bound, since
    bans only raise costs). Returns (cost, links) or None.
    """
    h = tree.h
    if not math.isfinite(h[source]):
        return None
    lb, first, end = math.inf, -1, -1
    for lk, v, w in out[source]:
        if lk in banned_links or v in banned_places or v == source:
            continue
        if w + h[v] < lb:
            lb, first, end = w + h[v], lk, v
    if first < 0:
        return None
    links = [first]
    u = end
    while u != target and u not in banned_places and u != source:
        lk = tree.nxt[u]
        if lk in banned_links:
            break
        links.append(lk)
        u = dst[lk]
    if u == target:
        return lb, tuple(links)
    return _astar(out, h, source, target, banned_links, banned_places)


def _astar(
    out: OutLinks,
    h: Sequence[float],
    source: int,
    target: int,
    banned_links: set[int],
    banned_places: set[int],
) -> tuple[float, Path] | None:
    best = {source: 0.0}
    prev: dict[int, tuple[int, int]] = {}
    heap: list[tuple[float, int, int]] = [(h[source], 0, source)]
    count = 1
    done: set[int] = set()
    while heap:
        _, _, u = heapq.heappop(heap)
        if u in done:
            continue
        done.add(u)
        if u == target:
            links: list[int] = []
            c = best[u]
            while u != source:
                lk, u = prev[u]
                links.append(lk)
            return c, tuple(reversed(links))
        c = best[u]
        for lk, v, w in out[u]:
            if lk in banned_links or v in banned_places or v in done:
                continue
            nc = c + w
            if nc < best.get(v, math.inf) and math.isfinite(h[v]):
                best[v] = nc
                prev[v] = (lk, u)
                heapq.heappush(heap, (nc + h[v], count, v))
                count += 1
    return None


def k_shortest_paths(
    graph: Graph,
    cost: NDArray[np.float64],
    source: int,
    target: int,
    k: int,
    *,
    out: OutLinks | None = None,
    tree: _Tree | None = None,
) -> list[tuple[float, Path]]:
    """Up to ``k`` cheapest loopless routes (as directed-link sequences), cheapest first (Yen).

    Links of infinite cost are left out; costs are summed along each route. ``out`` and
    ``tree`` (:func:`_to_target`) may be passed in when many sources share a target.
    """
    if source == target:
        return []
    out = _out_links(graph, cost) if out is None else out
    tree = _to_target(graph, cost, target) if tree is None else tree
    dst = graph.dst.tolist()
    first = _search(out, tree, dst, source, target, set(), set())
    if first is None:
        return []
    found: list[tuple[float, Path]] = [(_cost(cost, first[1]), first[1])]
    candidates: list[tuple[float, Path, int]] = []
    seen = {first[1]}
    dev = 0  # where the last route found left its parent (Lawler 1972: spurs start there)
    while len(found) < k:
        _, last = found[-1]
        nodes = [source] + [dst[lk] for lk in last]
        for j in range(dev, len(last)):
            root = last[:j]
            banned = {p[j] for _, p in found if len(p) > j and p[:j] == root}
            spur = _search(out, tree, dst, nodes[j], target, banned, set(nodes[:j]))
            if spur is None:
                continue
            path = root + spur[1]
            if path not in seen:
                seen.add(path)
                heapq.heappush(candidates, (_cost(cost, path), path, j))
        if not candidates:
            break
        c, path, dev = heapq.heappop(candidates)
        found.append((c, path))
    return found


def _cost(cost: NDArray[np.float64], path: Path) -> float:
    return float(sum(float(cost[j]) for j in path))


@dataclass
class PathTable:
    """Every route chosen in a run, each stored once: route ``p`` is the directed links
    ``links[ptr[p]:ptr[p+1]]``. Ids stay valid for the whole run (tables only grow)."""

    index: dict[Path, int] = field(default_factory=dict)
    paths: list[Path] = field(default_factory=list)
    ptr: NDArray[np.int64] = field(default_factory=lambda: np.zeros(1, np.int64))
    links: NDArray[np.int32] = field(default_factory=lambda: np.zeros(0, np.int32))

    def add(self, path: Path) -> int:
        got = self.index.get(path)
        if got is None:
            got = len(self.paths)
            self.index[path] = got
            self.paths.append(path)
        return got

    def freeze(self) -> None:
        """Rebuild the arrays after :meth:`add` calls."""
        if len(self.ptr) - 1 == len(self.paths):
            return
        lens = np.asarray([len(p) for p in self.paths], np.int64)
        self.ptr = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
        flat = [j for p in self.paths for j in p]
        self.links = np.asarray(flat, np.int32)


@dataclass(frozen=True)
class Routes:
    """The routes open to a person at place ``i`` heading for destination slot ``s``: options
    ``ptr[g]:ptr[g+1]`` with ``g = i × n_dest + s``. Each option has a route id, a logit weight
    ``exp(-θ (c - c_min))`` relative to the group's cheapest, the route's total price and its
    generalised cost. Options are in route-link order (not cost order), so that a route keeps
    its place among the options when costs change (common random numbers).

    A person who can pay for none of the options takes the group's fallback, the route of
    least total price (ties: least cost), when they can pay for it: without it, the k cheapest
    routes by cost could all be dearer than a route that exists.

    Only the groups a person can be in are filled (see :func:`route_table`); the others are
    empty."""

    ptr: NDArray[np.int64]
    path: NDArray[np.int32]
    weight: NDArray[np.float64]
    price: NDArray[np.float64]
    cost: NDArray[np.float64]
    fallback_path: NDArray[np.int32]  # per group: the route of least price (-1: none)
    fallback_price: NDArray[np.float64]  # per group: its price (inf: none)


def route_table(
    graph: Graph,
    state: NetworkState,
    choice: RouteChoice,
    table: PathTable,
    needed: set[tuple[int, int]] | None = None,
    *,
    closure: Literal["all", "crossings"] = "all",
) -> Routes:
    """The k cheapest routes (and the fallback) for each (place, destination slot) group.

    ``needed`` holds the groups to fill (default: every place and destination). It is grown,
    in place, to its closure: a place on a route of a group joins it, with the same
    destination, where people who take that route may choose again. Within one network state
    that is only at the start of an active crossing (pushed back, priced out):
    ``closure="crossings"``, for a caller that adds the places where people stand or arrive
    next when the state changes (as :class:`~corridor.routes.module.RoutesModule` does).
    ``closure="all"`` adds every place on every route.
    """
    nd = graph.n_dest
    if needed is None:
        needed = {(i, s) for i in range(graph.n_places) for s in range(nd)}
    cost = link_costs(graph, state, choice)
    price_of_link = np.zeros(graph.n_links)
    price_of_link[graph.cross_link] = np.where(state.cross_active, state.price, 0.0)
    # least price first, cost as a tie-break (prices are EUR, costs days: 1e-6 cannot reorder
    # two prices that differ by a cent)
    by_price = np.where(np.isfinite(cost), price_of_link + 1e-6 * cost, np.inf)
    out, out_price = _out_links(graph, cost), _out_links(graph, by_price)
    crossing_starts = np.zeros(graph.n_links, bool)
    crossing_starts[graph.cross_link] = state.cross_active
    trees: dict[int, _Tree] = {}
    price_trees: dict[int, _Tree] = {}
    dst = graph.dst.tolist()
    options: dict[int, list[tuple[int, float, float, float]]] = {}
    fb_path = np.full(graph.n_places * nd, -1, np.int32)
    fb_price = np.full(graph.n_places * nd, np.inf)
    todo = sorted(needed)
    while todo:
        added: set[tuple[int, int]] = set()
        for i, s in todo:
            target = int(graph.dests[s])
            if i == target:
                continue
            if s not in trees:
                trees[s] = _to_target(graph, cost, target)
                price_trees[s] = _to_target(graph, by_price, target)
            grp = i * nd + s
            cheap = _search(out_price, price_trees[s], dst, i, target, set(), set())
            routes = k_shortest_paths(graph, cost, i, target, choice.k, out=out, tree=trees[s])
            if cheap is not None:
                fb_path[grp] = table.add(cheap[1])
                fb_price[grp] = float(sum(price_of_link[j] for j in cheap[1]))
            opts = []
            cmin = routes[0][0] if routes else 0.0
            for c, path in sorted(routes, key=lambda r: r[1]):
                opts.append(
                    (
                        table.add(path),
                        math.exp(-choice.logit_scale * (c - cmin)),
                        float(sum(price_of_link[j] for j in path)),
                        c,
                    )
                )
            options[grp] = opts
            for path in [p for _, p in routes] + ([cheap[1]] if cheap is not None else []):
                for j in path:
                    if closure == "crossings" and not crossing_starts[j]:
                        continue
                    key = (int(graph.src[j]), s)
                    if key not in needed:
                        needed.add(key)
                        added.add(key)
        todo = sorted(added)
    ptr = np.zeros(graph.n_places * nd + 1, np.int64)
    flat: list[tuple[int, float, float, float]] = []
    for grp in range(graph.n_places * nd):
        flat += options.get(grp, [])
        ptr[grp + 1] = len(flat)
    table.freeze()
    return Routes(
        ptr=ptr,
        path=np.asarray([o[0] for o in flat], np.int32),
        weight=np.asarray([o[1] for o in flat], np.float64),
        price=np.asarray([o[2] for o in flat], np.float64),
        cost=np.asarray([o[3] for o in flat], np.float64),
        fallback_path=fb_path,
        fallback_price=fb_price,
    )
