"""Expected-value resolution of a route network: the agents' rules, resolved as a Markov chain.

Reads: a :class:`~corridor.routes.schema.Network`, a date and an origin row (origin,
destination, budget median and log-sd). From them, the same tables the agent kernels
(:mod:`corridor.routes.kernels`) use: the state on the date (:func:`~corridor.routes.network.
state_on`: speeds, active crossings, interception, pushback and detain shares, death risks,
prices, capacities) and the table of routes (:func:`~corridor.routes.network.route_table`,
``closure="crossings"``, as :class:`~corridor.routes.module.RoutesModule` fills it: the options
of each (place, destination) group, their logit weights and total prices, the fallback).
Nothing is re-derived: option weights, option prices, the fallback and link costs are the
table's and :func:`~corridor.routes.network.link_costs`'s.

Gives: for one origin and its destination, the expected outcome **per person who sets off**
(:class:`Expected`): attempts and the other events at each crossing, entries of each directed
link, the chances of arriving, dying, being detained and being stuck elsewhere, the mean days
to the destination of those who arrive, and the share of people stranded at the origin (who
never set off, as :func:`~corridor.flagship.network_effects.effects_of` counts them: stranded
at the origin's place at the end). Two steps: :func:`build` (once per network state and
origin: the route table, the budget classes, the nodes and edges of the chain, the pattern of
its linear system) and :func:`evaluate` (per set of crossing probabilities: fill in the chances,
one LU factorisation, two solves; ~0.2 ms for the pack's chain of ~120 nodes).

The chain. A *decision node* is (budget class, place, prices paid S): the person chooses among
the group's options priced <= their remaining budget ``B₀ - S`` with chance ``w_j / Σ w`` over
those (``_choose_route``: its uniform draw against the cumulative weights, up to rounding);
none: the fallback if they can pay it, else stuck at that place (stranded). A *crossing node*
is (class, route, position, S): the person has reached the start of an active crossing on
their route. Unable to pay its price they leave the queue and choose again there the next day.
Otherwise each attempt is intercepted with chance p; the intercepted are detained (share δ),
pushed back (π: to the decision node at the crossing's start, the next day) or turned back
(τ = 1 - δ - π: again the next day); the others die (μ) or cross, pay and walk on. Turned-back
retries are a geometric number of attempts: per visit the outcomes have chances
``p·δ/(1-pτ)``, ``p·π/(1-pτ)``, ``(1-p)μ/(1-pτ)``, ``(1-p)(1-μ)/(1-pτ)``, there are
``1/(1-pτ)`` attempts and ``pτ/(1-pτ)`` failed days, the same whatever the outcome
(memoryless). Shares act as the kernel's ``u < δ``, ``u < δ + π`` (each bound clipped to
[0, 1]). Pushbacks make cycles (the same S comes back to the same place), so the chain is
solved exactly as a linear system, ``(I - Q)ᵀ v = π₀`` (expected visits of each node) and
``(I - Q) a = r`` (chance of arriving from each node), with one sparse LU factorisation
(SuperLU, :func:`scipy.sparse.linalg.splu`) of the sparse, nearly triangular matrix. Not a
fixed point: exact to rounding, and cheaper than iterating to 1e-12 (a pushback cycle can keep
most of its mass for many rounds).

Budget classes. Every rule compares the remaining budget ``B₀ - S`` with a price, so each
outcome is a step function of the initial budget B₀, with steps at sums ``S + price``. The
classes are intervals of B₀ between steps, each resolved at its conditional median (from the
origin's log-normal), with its remaining budget tracked exactly as crossings are paid. They are
found by splitting (:func:`build`): from one class, a class is split at every step strictly
inside it at a node its people visit (expected, at the state's probabilities) ``tol`` = 1e-9
times or more, until no class has one. Then nothing changes inside a class at any node that
matters, and the budget integral is exact, not a quadrature: on the pack, 8 classes for
Istanbul's people with no step left inside a class at all. (Steps reachable only on unlikely
histories are not chased: on the pack, following every history up to the budgets' 1 - 1e-15
quantile gives some 5,000 steps, and the same answers to 1e-14.) Equal-probability classes at
their midpoint quantiles (``classes=64``) are kept for comparison: a step inside a class puts
up to half the class's people on the wrong side (~0.8% of the people at each step for 64).
:attr:`Expected.budget_error` bounds the difference from the steps left inside classes at the
evaluated probabilities (the expected visits of the nodes with such a step). Residue: the
agents hold budgets in float32, which moves a step by < 0.01 EUR (a chance of ~1e-7).

Days. The agents move on a one-day clock and this resolution follows it exactly: a segment of
travel starts at the start of a day (setting off; the day after a crossing, on the crossing's
link; the day after a pushback or a choice forced at a crossing, at its start) with one day of
time; links are covered at the state's speeds with the kernel's float operations
(:func:`~corridor.modules.flee_rules.travel_time`; km done on a link kept in float32
overnight); reaching an active crossing, the rest of the day is lost and the first attempt is
that day; a turned-back attempt costs a day; arriving, the day counted is the day of arrival.
So the expected days are the agents' expected days (arrival day less set-off day), with no
rounding difference, as long as capacities do not bind.

Assumptions: one network state (no change after ``when``); crossing capacities do not bind
(people attempt the day they reach a crossing and every day after a turn-back: check with
:func:`capacity_use`, expected attempts a day at the origins' flows against capacities); every
option's links are usable in the state (they are: the table has no route through a closed link
or a crossing with p = 1 or capacity 0), so nobody chooses again mid-route.

Changed probabilities (:func:`evaluate` with ``risks``): the option set and the fallback stay
the table's; with ``reweight=True`` (the default) each option's generalised cost moves by the
change of :func:`~corridor.routes.network.link_costs` along its links (risk enters it through
``weight_time·p/(1-p)`` and ``weight_risk·(death + detention)``), and its logit weight by
``exp(-θ Δc)``, which is the table's weight recomputed for the new costs (the group's reference
cancels in the choice); ``reweight=False`` keeps the table's weights. The agents would also
rebuild the table (Yen's k cheapest), which may change the option set: not reproduced.

Invariants: arrived + dead + detained + stuck elsewhere = 1 per person who set off; attempts
= interceptions + deaths + crossings and interceptions = pushbacks + detentions + turned back,
crossing by crossing; with the state's own probabilities :func:`evaluate` uses the table's
weights to the bit.
"""

from __future__ import annotations

import calendar
import math
from collections import deque
from dataclasses import dataclass, field, replace
from datetime import date
from statistics import NormalDist

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.sparse.linalg import splu

from corridor.routes.network import (
    Graph,
    NetworkState,
    PathTable,
    Routes,
    build_graph,
    link_costs,
    route_table,
    state_on,
)
from corridor.routes.schema import Network, Origin, RouteChoice

__all__ = [
    "BudgetClasses",
    "CrossingRisks",
    "Expected",
    "Structure",
    "budget_classes",
    "build",
    "capacity_use",
    "evaluate",
    "origin_row",
    "quantile_bounds",
]

# targets of an edge that are not nodes
ARRIVE, STUCK_HOME, STUCK_AWAY = -1, -2, -3
# kinds of edge
_CHOICE, _SURE, _CROSS, _PUSH = 0, 1, 2, 3
MAX_CLASSES = 10_000  # a guard on the splitting of budget classes (the pack needs 8)


@dataclass(frozen=True)
class CrossingRisks:
    """The probabilities of each crossing (arrays by crossing, the graph's order)."""

    interception: NDArray[np.float64]
    pushback: NDArray[np.float64]
    detain: NDArray[np.float64]
    death: NDArray[np.float64]

    @classmethod
    def of(cls, state: NetworkState) -> CrossingRisks:
        return cls(state.interception, state.pushback, state.detain, state.death)

    def shares(self) -> tuple[NDArray[np.float64], ...]:
        """Per attempt: (p, detained, pushed back, turned back, died) as the kernel draws them
        (``u < δ``, ``u < δ + π`` with u uniform on [0, 1): each bound clipped to [0, 1])."""
        p = np.clip(np.asarray(self.interception, np.float64), 0.0, 1.0)
        lo = np.clip(np.asarray(self.detain, np.float64), 0.0, 1.0)
        hi = np.clip(np.asarray(self.detain, np.float64) + self.pushback, 0.0, 1.0)
        hi = np.maximum(hi, lo)
        mu = np.clip(np.asarray(self.death, np.float64), 0.0, 1.0)
        return p, lo, hi - lo, 1.0 - hi, mu


@dataclass(frozen=True)
class BudgetClasses:
    """Intervals ``[lower, upper)`` of the initial budget, their probability and the budget
    each is resolved at (the interval's conditional median)."""

    lower: NDArray[np.float64]
    upper: NDArray[np.float64]
    mass: NDArray[np.float64]
    budget: NDArray[np.float64]


def budget_classes(median: float, sigma: float, bounds: NDArray[np.float64]) -> BudgetClasses:
    """Classes of a log-normal budget (``median``, log-sd ``sigma``) split at ``bounds``; one
    class at the median when ``sigma`` is 0 (every budget is the median)."""
    if sigma <= 0.0 or median <= 0.0:
        one = np.ones(1)
        return BudgetClasses(one * 0.0, one * math.inf, one, one * median)
    nd = NormalDist()
    inner = np.unique(bounds[(bounds > 0.0) & np.isfinite(bounds)])
    lower = np.concatenate([[0.0], inner])
    upper = np.concatenate([inner, [math.inf]])

    def cdf(b: float) -> float:
        if b <= 0.0:
            return 0.0
        return 1.0 if math.isinf(b) else nd.cdf(math.log(b / median) / sigma)

    fl = np.asarray([cdf(b) for b in lower])
    fu = np.asarray([cdf(b) for b in upper])
    mid = np.clip((fl + fu) / 2.0, 1e-300, 1.0 - 1e-16)
    rep = median * np.exp(sigma * np.asarray([nd.inv_cdf(float(x)) for x in mid]))
    # strictly inside the interval even where the quantile is not resolved (far tails)
    bad = ~((rep > lower) & (rep < upper))
    rep[bad] = np.where(np.isinf(upper[bad]), lower[bad] * 2.0 + 1.0, (lower + upper)[bad] / 2)
    keep = fu - fl > 0.0
    return BudgetClasses(lower[keep], upper[keep], (fu - fl)[keep], rep[keep])


def quantile_bounds(median: float, sigma: float, n: int) -> NDArray[np.float64]:
    """The bounds of ``n`` equal-probability classes of the log-normal budget."""
    nd = NormalDist()
    z = np.asarray([nd.inv_cdf(k / n) for k in range(1, n)])
    return np.asarray(median * np.exp(sigma * z), np.float64)


@dataclass(frozen=True)
class _Walk:
    """Travel from a segment's start (start of a day, one day of time) to the next active
    crossing (``end`` = its position on the route) or the destination (``end`` = -1):
    ``days`` whole days later; ``links`` entered (the crossing link itself when the segment
    starts on it)."""

    end: int
    days: int
    links: tuple[int, ...]


def _walk(
    g: Graph, st: NetworkState, links: NDArray[np.int32], pos: int, on_link: bool, dest: int
) -> _Walk:
    """The kernel's day clock (``move_day`` with :func:`~corridor.modules.flee_rules.
    travel_time`), for one person on one route with nothing drawn."""
    day, t, d = 0, 1.0, 0.0
    lk = int(links[pos]) if on_link else -1
    entered: list[int] = [lk] if on_link else []
    while True:
        if lk >= 0:
            v, length = float(st.speed[lk]), float(g.km[lk])
            while True:
                need = (length - d) / v
                if need > t:  # the day ends on the link; km kept in float32 overnight
                    d = float(np.float32(d + v * t))
                    day, t = day + 1, 1.0
                    continue
                t, d = t - need, 0.0
                break
            here = int(g.dst[lk])
            pos, lk = pos + 1, -1
            if here == dest:
                return _Walk(-1, day, tuple(entered))
        nl = int(links[pos])
        if not st.link_open[nl]:
            raise ValueError(f"a route uses the closed link {g.link_key[nl]}")
        cr = int(g.link_cross[nl])
        if cr >= 0 and st.cross_active[cr]:
            return _Walk(pos, day, tuple(entered))
        if not t > 0.0:
            day, t = day + 1, 1.0
        lk, d = nl, 0.0
        entered.append(nl)


@dataclass
class _Part:
    """The chain of one budget class, nodes numbered from 0 (the first: setting off)."""

    node_cross: list[int] = field(default_factory=list)  # attempted crossing, else -1
    node_steps: list[tuple[float, ...]] = field(default_factory=list)  # S + price compared
    src: list[int] = field(default_factory=list)
    dst: list[int] = field(default_factory=list)
    kind: list[int] = field(default_factory=list)
    option: list[int] = field(default_factory=list)
    days: list[int] = field(default_factory=list)
    links: list[tuple[int, ...]] = field(default_factory=list)

    def arrays(self) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int8],
                              NDArray[np.int64], NDArray[np.int64]]:  # fmt: skip
        """src, dst, kind, option, node_cross."""
        return (
            np.asarray(self.src, np.int64),
            np.asarray(self.dst, np.int64),
            np.asarray(self.kind, np.int8),
            np.asarray(self.option, np.int64),
            np.asarray(self.node_cross, np.int64),
        )


@dataclass
class _Builder:
    """Builds the chain of a budget class from the tables (see the module docstring)."""

    g: Graph
    st: NetworkState
    r: Routes
    table: PathTable
    origin: int
    dest: int
    walks: dict[tuple[int, int, bool], _Walk] = field(default_factory=dict)

    def walk(self, p: int, pos: int, on_link: bool) -> _Walk:
        key = (p, pos, on_link)
        if key not in self.walks:
            t = self.table
            lk = t.links[t.ptr[p] : t.ptr[p + 1]]
            self.walks[key] = _walk(self.g, self.st, lk, pos, on_link, self.dest)
        return self.walks[key]

    def part(self, b0: float) -> _Part:
        """Nodes are (-1, place, S) for a decision, (route, position, S) for a crossing,
        S the prices paid so far (remaining budget ``b0 - S``)."""
        g, st, r, tb = self.g, self.st, self.r, self.table
        slot, nd = int(g.dest_slot[self.dest]), g.n_dest
        out = _Part()
        index: dict[tuple[int, int, float], int] = {}
        todo: deque[tuple[int, int, float]] = deque()

        def node(key: tuple[int, int, float]) -> int:
            if key not in index:
                index[key] = len(out.node_cross)
                out.node_cross.append(-1)
                out.node_steps.append(())
                todo.append(key)
            return index[key]

        def edge(s: int, t: int, kind: int, opt: int, days: int, links: tuple[int, ...]) -> None:
            out.src.append(s)
            out.dst.append(t)
            out.kind.append(kind)
            out.option.append(opt)
            out.days.append(days)
            out.links.append(links)

        def ride(s: int, p: int, pos: int, on_link: bool, paid: float, kind: int, j: int) -> None:
            w = self.walk(p, pos, on_link)
            t = ARRIVE if w.end < 0 else node((p, w.end, paid))
            edge(s, t, kind, j, w.days + (1 if on_link else 0), w.links)

        node((-1, self.origin, 0.0))
        while todo:
            a, b, paid = key = todo.popleft()
            s = index[key]
            budget = b0 - paid
            if a < 0:  # a decision at place b (_choose_route, then the fallback)
                grp = b * nd + slot
                lo, hi = int(r.ptr[grp]), int(r.ptr[grp + 1])
                fb = (paid + float(r.fallback_price[grp]),) if r.fallback_path[grp] >= 0 else ()
                out.node_steps[s] = tuple(paid + float(x) for x in r.price[lo:hi]) + fb
                ok = [j for j in range(lo, hi) if r.price[j] <= budget]
                total = 0.0
                for j in ok:  # in option order, as _choose_route sums
                    total += float(r.weight[j])
                if total > 0.0:
                    for j in ok:
                        if r.weight[j] > 0.0:
                            ride(s, int(r.path[j]), 0, False, paid, _CHOICE, j)
                elif r.fallback_price[grp] <= budget:
                    ride(s, int(r.fallback_path[grp]), 0, False, paid, _SURE, -1)
                else:
                    edge(s, STUCK_HOME if b == self.origin else STUCK_AWAY, _SURE, -1, 0, ())
                continue
            nl = int(tb.links[tb.ptr[a] + b])
            x = int(g.link_cross[nl])
            price = float(st.price[x])
            out.node_steps[s] = (paid + price,)
            back = node((-1, int(g.src[nl]), paid))
            if budget < price:  # priced out: leaves the queue, chooses again the next day
                edge(s, back, _SURE, -1, 1, ())
                continue
            out.node_cross[s] = x
            edge(s, back, _PUSH, -1, 1, ())
            ride(s, a, b, True, paid + price, _CROSS, -1)
        return out


def _probabilities(
    kind: NDArray[np.int8],
    option: NDArray[np.int64],
    src: NDArray[np.int64],
    node_cross: NDArray[np.int64],
    weights: NDArray[np.float64],
    shares: tuple[NDArray[np.float64], ...],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Chance of each edge, and of ending a visit with each attempt at each node (1: none),
    from :meth:`CrossingRisks.shares`."""
    p, _det, push, turn, mu = shares
    q = 1.0 - p * turn
    attempting = node_cross >= 0
    xs = np.where(attempting, node_cross, 0)
    if np.any(attempting & ~(q[xs] > 0.0)):
        raise ValueError("a crossing where every attempt is turned back: attempts never end")
    qn = np.where(attempting, q[xs], 1.0)
    prob = np.ones(src.size)
    ch = kind == _CHOICE
    if ch.any():
        w = weights[option[ch]]
        tot = np.bincount(src[ch], weights=w, minlength=node_cross.size)
        if not (tot[src[ch]] > 0.0).all():
            raise ValueError("every affordable option's weight underflows")
        prob[ch] = w / tot[src[ch]]
    xe = xs[src]
    cr = kind == _CROSS
    prob[cr] = ((1.0 - p) * (1.0 - mu))[xe[cr]] / qn[src[cr]]
    pb = kind == _PUSH
    prob[pb] = (p * push)[xe[pb]] / qn[src[pb]]
    return prob, qn


@dataclass(frozen=True)
class _System:
    """The sparsity pattern of ``A = I - Q`` for a chain's edges (CSC), fixed once: each
    evaluation only fills in the chances and factorises (SuperLU)."""

    n: int
    inner: NDArray[np.bool_]  # edges whose target is a node
    to: NDArray[np.bool_]  # edges that arrive
    at: NDArray[np.int64]  # position in the CSC data of each entry (diagonal, inner edges)
    indptr: NDArray[np.int64]
    indices: NDArray[np.int64]

    @classmethod
    def of(cls, n: int, src: NDArray[np.int64], dst: NDArray[np.int64]) -> _System:
        inner = dst >= 0
        rows = np.concatenate([np.arange(n), src[inner]])
        cols = np.concatenate([np.arange(n), dst[inner]])
        uniq, at = np.unique(cols * n + rows, return_inverse=True)  # column-major, as CSC
        indptr = np.searchsorted(uniq // n, np.arange(n + 1)).astype(np.int64)
        return cls(n, inner, dst == ARRIVE, at, indptr, uniq % n)

    def solve(
        self, src: NDArray[np.int64], prob: NDArray[np.float64], init: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Expected visits of each node from ``init`` and the chance of arriving from each:
        ``Aᵀ v = init`` and ``A a = r`` (r: chance of arriving by an edge), one LU."""
        n = self.n
        values = np.concatenate([np.ones(n), -prob[self.inner]])
        data = np.bincount(self.at, weights=values, minlength=self.indices.size)
        rhs = np.bincount(src[self.to], weights=prob[self.to], minlength=n)
        lu = splu(sp.csc_matrix((data, self.indices, self.indptr), shape=(n, n)))
        return np.asarray(lu.solve(init, trans="T")), np.asarray(lu.solve(rhs))


def _steps_inside(
    part: _Part, lo: float, hi: float, risks: CrossingRisks, w: NDArray[np.float64], tol: float
) -> tuple[set[float], list[bool]]:
    """The steps strictly inside the class ``(lo, hi)`` at nodes its people visit ``tol``
    times or more (expected, under ``risks``), and which nodes have a step inside at all."""
    src, dst, kind, opt, nc = part.arrays()
    prob, _ = _probabilities(kind, opt, src, nc, w, risks.shares())
    init = np.zeros(nc.size)
    init[0] = 1.0
    visits, _ = _System.of(nc.size, src, dst).solve(src, prob, init)
    big: set[float] = set()
    flags: list[bool] = []
    for steps, v in zip(part.node_steps, visits.tolist(), strict=True):
        inside = [t for t in steps if lo < t < hi]
        flags.append(bool(inside))
        if v >= tol:
            big.update(inside)
    return big, flags


@dataclass(frozen=True)
class Structure:
    """What :func:`evaluate` needs, built once (:func:`build`): the chains of every budget
    class, one after the other."""

    graph: Graph
    state: NetworkState
    choice: RouteChoice
    routes: Routes
    paths: PathTable
    origin: int
    dest: int
    classes: BudgetClasses
    # nodes
    node_cross: NDArray[np.int64]  # crossing attempted at a crossing node, else -1
    node_split: NDArray[np.bool_]  # a step (S + price) strictly inside the node's class
    init: NDArray[np.float64]  # chance of setting off at each node (a class's first)
    # edges
    src: NDArray[np.int64]
    dst: NDArray[np.int64]  # a node, or ARRIVE, STUCK_HOME, STUCK_AWAY
    kind: NDArray[np.int8]
    option: NDArray[np.int64]  # option of a choice edge (index into routes), else -1
    days: NDArray[np.float64]  # whole days on the edge (failed attempts added by evaluate)
    entries: sp.csr_matrix  # directed links × edges: links entered on each edge
    option_links: NDArray[np.float64]  # options × directed links: each option's links
    used: NDArray[np.bool_]  # directed links on some option
    system: _System
    group_start: NDArray[np.int64]  # starts of the non-empty option groups (reduceat)
    base_cost: NDArray[np.float64]  # link_costs of the state

    @property
    def n_nodes(self) -> int:
        return len(self.node_cross)


def origin_row(network: Network, origin: str, when: date, destination: str | None = None) -> Origin:
    """The origins row of ``origin`` (and ``destination``, default: its first) that applies on
    ``when`` (the last by ``from_date``)."""
    rows = [
        r
        for r in network.origins
        if r.origin == origin
        and r.destination is not None
        and (destination is None or r.destination == destination)
    ]
    if not rows:
        raise ValueError(f"no origin row for {origin!r} with a destination")
    dest = rows[0].destination
    rows = sorted(
        (r for r in rows if r.destination == dest and (r.from_date or date.min) <= when),
        key=lambda r: r.from_date or date.min,
    )
    if not rows:
        raise ValueError(f"no origin row for {origin!r} applies on {when}")
    return rows[-1]


def build(
    network: Network,
    origin: str,
    when: date,
    *,
    destination: str | None = None,
    classes: int | None = None,
    tol: float = 1e-9,
    graph: Graph | None = None,
    state: NetworkState | None = None,
    row: Origin | None = None,
) -> Structure:
    """The chains of ``origin``'s people (its origins row on ``when``, or ``row``) on the
    network's state on ``when`` (``graph`` and ``state`` may be passed in when built).

    Budget classes: from one class, a class is split at every step (``S + price``) strictly
    inside it at a node its people visit ``tol`` times or more (expected, at the state's
    probabilities), until none is left. ``classes=n``: ``n`` equal-probability classes at
    their midpoint quantiles instead, not split. Either way :attr:`Expected.budget_error`
    bounds what the steps left inside classes can change."""
    g = build_graph(network) if graph is None else graph
    st = state_on(network, g, when) if state is None else state
    row = origin_row(network, origin, when, destination) if row is None else row
    if row.destination is None:
        raise ValueError("the origin row has no destination")
    o, dest = g.names.index(row.origin), g.names.index(row.destination)
    if o == dest:
        raise ValueError("the origin is the destination")
    table = PathTable()
    needed = {(o, int(g.dest_slot[dest]))}
    r = route_table(g, st, network.choice, table, needed, closure="crossings")
    med, sig = float(row.budget_eur_median), float(row.budget_sigma)
    builder = _Builder(g, st, r, table, o, dest)
    risks = CrossingRisks.of(st)
    split = classes is None and sig > 0.0
    bounds: set[float] = set()
    if classes is not None and sig > 0.0:
        bounds = set(quantile_bounds(med, sig, classes).tolist())
    seen: dict[tuple[float, float], tuple[_Part, set[float], list[bool]]] = {}
    while True:
        bc = budget_classes(med, sig, np.asarray(sorted(bounds), np.float64))
        new: set[float] = set()
        for lo, hi, b0 in zip(
            bc.lower.tolist(), bc.upper.tolist(), bc.budget.tolist(), strict=True
        ):
            if (lo, hi) not in seen:
                part = builder.part(b0)
                seen[lo, hi] = (part, *_steps_inside(part, lo, hi, risks, r.weight, tol))
            if split:
                new |= seen[lo, hi][1]
        if not new:
            break
        bounds |= new
        if len(bounds) > MAX_CLASSES:
            raise ValueError(f"over {MAX_CLASSES} budget classes: raise tol or pass classes")
    keys = list(zip(bc.lower.tolist(), bc.upper.tolist(), strict=True))
    parts = [seen[k][0] for k in keys]
    sizes = np.asarray([len(p.node_cross) for p in parts], np.int64)
    offset = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    src = np.concatenate(
        [np.asarray(p.src, np.int64) + k for p, k in zip(parts, offset, strict=True)]
    )
    dst = np.concatenate(
        [
            np.where(np.asarray(p.dst) >= 0, np.asarray(p.dst, np.int64) + k, p.dst)
            for p, k in zip(parts, offset, strict=True)
        ]
    ).astype(np.int64)
    init = np.zeros(int(sizes.sum()))
    init[offset] = bc.mass
    links = [x for p in parts for x in p.links]
    rows = np.repeat(np.arange(len(links)), [len(x) for x in links])
    cols = np.asarray([j for x in links for j in x], np.int64)
    entries = sp.csr_matrix((np.ones(cols.size), (cols, rows)), shape=(g.n_links, len(links)))
    opt = [table.links[table.ptr[p] : table.ptr[p + 1]] for p in r.path.tolist()]
    orow = np.repeat(np.arange(len(opt)), [len(x) for x in opt])
    ocol = np.concatenate(opt).astype(np.int64) if opt else np.zeros(0, np.int64)
    option_links = np.zeros((len(opt), g.n_links))
    np.add.at(option_links, (orow, ocol), 1.0)
    return Structure(
        graph=g,
        state=st,
        choice=network.choice,
        routes=r,
        paths=table,
        origin=o,
        dest=dest,
        classes=bc,
        node_cross=np.concatenate([np.asarray(p.node_cross, np.int64) for p in parts]),
        node_split=np.asarray([f for k in keys for f in seen[k][2]], np.bool_),
        init=init,
        src=src,
        dst=dst,
        kind=np.concatenate([np.asarray(p.kind, np.int8) for p in parts]),
        option=np.concatenate([np.asarray(p.option, np.int64) for p in parts]),
        days=np.concatenate([np.asarray(p.days, np.float64) for p in parts]),
        entries=entries,
        option_links=option_links,
        used=option_links.sum(axis=0) > 0,
        system=_System.of(int(sizes.sum()), src, dst),
        group_start=r.ptr[:-1][np.diff(r.ptr) > 0].astype(np.int64),
        base_cost=link_costs(g, st, network.choice),
    )


@dataclass(frozen=True)
class Expected:
    """The expected outcome of one origin's people (:func:`evaluate`). Arrays are by crossing
    (the graph's order) or by directed link; all per person who set off except
    ``stranded_at_origin`` (per person who left the origin's table: ``1 - set_off``)."""

    structure: Structure
    set_off: float
    stranded_at_origin: float
    attempts: NDArray[np.float64]
    interceptions: NDArray[np.float64]
    pushbacks: NDArray[np.float64]
    detentions: NDArray[np.float64]
    deaths: NDArray[np.float64]
    crossings: NDArray[np.float64]
    entries: NDArray[np.float64]
    arrived: float
    dead: float
    detained: float
    stuck: float  # stuck at a place other than the origin
    days_to_destination: float  # mean, of those who arrive
    budget_error: float  # bound on the chance that a person's budget class misleads

    @property
    def graph(self) -> Graph:
        return self.structure.graph


def _choice_weights(
    s: Structure, risks: CrossingRisks | None, reweight: bool
) -> NDArray[np.float64]:
    w = s.routes.weight
    if risks is None or not reweight or w.size == 0:
        return w
    new = replace(
        s.state,
        interception=np.asarray(risks.interception, np.float64),
        pushback=np.asarray(risks.pushback, np.float64),
        detain=np.asarray(risks.detain, np.float64),
        death=np.asarray(risks.death, np.float64),
    )
    cost = link_costs(s.graph, new, s.choice)
    used = s.used
    if not np.isfinite(cost[used]).all():
        raise ValueError("a crossing on a route has become impassable (p = 1): rebuild")
    delta = np.zeros(cost.size)
    delta[used] = cost[used] - s.base_cost[used]
    dc = s.option_links @ delta
    ref = np.minimum.reduceat(dc, s.group_start)
    sizes = np.diff(np.append(s.group_start, dc.size))
    out: NDArray[np.float64] = w * np.exp(-s.choice.logit_scale * (dc - np.repeat(ref, sizes)))
    return out


def evaluate(
    s: Structure, risks: CrossingRisks | None = None, *, reweight: bool = True
) -> Expected:
    """The expected outcome under ``risks`` (default: the state's); see the module docstring
    for what stays of the table when they change."""
    rk = CrossingRisks.of(s.state) if risks is None else risks
    w = _choice_weights(s, risks, reweight)
    shares = rk.shares()
    prob, qn = _probabilities(s.kind, s.option, s.src, s.node_cross, w, shares)
    visits, reach = s.system.solve(s.src, prob, s.init)
    flow = visits[s.src] * prob
    p, det, push, _turn, mu = shares
    x = s.node_cross
    at = x >= 0
    attempts = np.bincount(x[at], weights=visits[at] / qn[at], minlength=p.size)
    stuck_home = float(flow[s.dst == STUCK_HOME].sum())
    set_off = 1.0 - stuck_home
    per = 1.0 / set_off if set_off > 0.0 else math.nan
    to = s.dst == ARRIVE
    arrived = float(flow[to].sum())
    # days: whole days on each edge, plus the failed attempts pτ/(1-pτ) of a crossing node's
    # visit on the edges out of it (the same whatever the outcome), counted for those who
    # arrive in the end: Σ flow × days × chance of arriving after the edge
    fails = 1.0 / qn - 1.0
    days = s.days + np.where((s.kind == _CROSS) | (s.kind == _PUSH), fails[s.src], 0.0)
    ahead = np.where(s.dst >= 0, reach[np.maximum(s.dst, 0)], np.where(to, 1.0, 0.0))
    day_sum = float(np.dot(flow * days, ahead))
    a = np.asarray(attempts * per, np.float64)
    return Expected(
        structure=s,
        set_off=set_off,
        stranded_at_origin=stuck_home,
        attempts=a,
        interceptions=a * p,
        pushbacks=a * p * push,
        detentions=a * p * det,
        deaths=a * (1.0 - p) * mu,
        crossings=a * (1.0 - p) * (1.0 - mu),
        entries=np.asarray(s.entries @ flow) * per,
        arrived=arrived * per,
        dead=float((a * (1.0 - p) * mu).sum()),
        detained=float((a * p * det).sum()),
        stuck=float(flow[s.dst == STUCK_AWAY].sum()) * per,
        days_to_destination=day_sum / arrived if arrived > 0.0 else math.nan,
        budget_error=float(np.dot(visits, s.node_split)),
    )


def capacity_use(
    network: Network, when: date, results: dict[str, Expected] | None = None
) -> dict[str, float]:
    """Expected attempts a day at each crossing with a capacity, over its capacity, at the
    flows of the network's origins rows on ``when`` (people a month spread over the days of
    ``when``'s month, as :func:`~corridor.routes.module.spawn_plan` does): the check of the
    assumption that capacities do not bind. A mean: the agents' days vary around it, so a value
    near 1 binds on some days (the pack's Channel: ~0.12). ``results`` (by origin place) may be
    passed in; the others are built and evaluated."""
    g = build_graph(network)
    st = state_on(network, g, when)
    per_day = 1.0 / calendar.monthrange(when.year, when.month)[1]
    a_day = np.zeros(g.n_cross)
    done: set[tuple[str, str]] = set()
    for r in network.origins:
        if r.destination is None or (r.origin, r.destination) in done:
            continue
        done.add((r.origin, r.destination))
        row = origin_row(network, r.origin, when, r.destination)
        e = (results or {}).get(r.origin)
        if e is None:
            e = evaluate(build(network, r.origin, when, graph=g, state=st, row=row))
        a_day += float(row.people_per_month) * per_day * e.set_off * e.attempts
    limited = st.cross_active & (st.capacity >= 0)
    return {
        g.cross_key[c]: float(a_day[c] / st.capacity[c]) if st.capacity[c] > 0 else math.inf
        for c in np.flatnonzero(limited).tolist()
    }
