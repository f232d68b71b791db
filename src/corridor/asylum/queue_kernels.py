"""Kernels of the asylum system: multi-server queues, FIFO hand-overs and event timers.

The state machine's codes live here because every kernel reads them. The modules in
:mod:`corridor.asylum.agents` do everything that is the same for each case independently
(random draws, state changes, counts) with vectorised NumPy on the day's batch; these kernels do
the parts that are sequential by nature:

* :func:`serve_day` — one day of a non-preemptive multi-server queue (caseworkers or judges) in
  continuous time: servers are taken in order of the time they become free; a free server takes
  the first waiting case of the highest priority class that has one, or idles until the next
  arrival. Cases that reach the head of the queue after their withdrawal time are withdrawn
  (reneging). The waiting times are those of the continuous-time queue exactly: days only
  decide when results are reported. :func:`serve_day_rate` is the same queue where service is
  *work* (Exp(1), or 1 when fixed) done at a piecewise-constant daily rate (``rate_cum``,
  ``rate_day``): a change of productivity applies to cases already in service;
  :func:`serve_day` is its constant-rate form (mean service time).
* :func:`take_fifo` — hand over the oldest cases of several FIFO queues to a capacity-limited
  process (removal listing, hub flights) while a daily budget and free places last.
* :func:`append` — append cases to FIFO queues (linked lists through the ``qnext`` column).
* :func:`draw_uniform` — a case's own uniform draws for a batch of cases.
* :func:`event_times` — when clocks fire under a piecewise-constant daily hazard (the rule of
  :func:`corridor.asylum.params.event_time`, which is its twin).
* :func:`move_states`, :func:`add_flows` — state changes and flows of a batch of cases, kept in
  the people-by-state and people-by-flow counts.
* :func:`queue_members` — the live members of a queue in a given set of states (to restate them
  when a returns agreement starts or ends).
* :func:`push_timers`, :func:`pop_due` — a binary min-heap of per-case event times
  ``(time, agent, kind)`` with lazy cancellation: an entry is acted on only if the case's
  ``t_next`` still equals its time and the case is still in the state the timer was set for.

Each kernel is compiled with Numba (``cache=True``) and has a twin in plain Python/NumPy with the
same arguments (``*_py``): :func:`serve_day_py` keeps its servers in :mod:`heapq`,
:func:`take_fifo_py` scans the queue heads with Python lists, :func:`append_py` links a batch with
vectorised NumPy, :func:`push_timers_py`/:func:`pop_due_py` keep the heap as a sorted array (a
sorted array is a valid heap, so either implementation can continue the other's). Tests check
that a whole run gives identical results with either set.

Queues are singly linked lists through the agent column ``qnext`` (``-1`` ends a list) with
``qhead[q]``/``qtail[q]``. A case is in at most one queue at a time and leaves it only at the
head; a case that leaves the system while queued (withdrawn, departed, absconded) stays linked
and is dropped when it reaches the head (lazy deletion). Such cases are never queued again, so
their links are never reused.
"""

from __future__ import annotations

import heapq
import math
from types import SimpleNamespace
from typing import Any

import numba as nb
import numpy as np
from numpy.typing import NDArray

from corridor.asylum.params import event_time
from corridor.engine.rng import uniform, uniform_np

# --------------------------------------------------------------------------------------------
# The state machine (codes of the agent column ``state``)

NEW = 0  # spawned today, before the claim phase (never seen at the end of a day)
WAITING_DECISION = 1  # in the caseworker queue
IN_DECISION = 2  # with a caseworker
WAITING_APPEAL = 3  # refused; appeal being lodged or waiting for a judge
IN_APPEAL = 4  # being heard
GRANTED = 5  # protection granted (initially or on appeal); terminal
REFUSED = 6  # appeal rights exhausted, removable: awaiting removal, departure or a hub
DETAINED = 7  # listed for removal, in detention until removed
LIMBO = 8  # refused or inadmissible, not removable: awaiting departure or a hub
INADMISSIBLE = 9  # screened out; awaiting removal, a hub or departure
IN_HUB = 10  # in a third-country hub
DEPARTED = 11  # left: voluntary return, removal, or end of a hub stay; terminal
ABSCONDED = 12  # lost contact; terminal
NOT_CLAIMED = 13  # arrived but did not claim asylum; terminal, outside the asylum stocks
WITHDRAWN = 14  # withdrew the claim while waiting; terminal, outside the asylum stocks
N_STATES = 15
STATE_NAMES: tuple[str, ...] = (
    "new",
    "waiting_decision",
    "in_decision",
    "waiting_appeal",
    "in_appeal",
    "granted",
    "refused",
    "detained",
    "limbo",
    "inadmissible",
    "in_hub",
    "departed",
    "absconded",
    "not_claimed",
    "withdrawn",
)
# Reported stock (name in schema.STOCKS) of each state; None: not an asylum stock.
STATE_STOCK: tuple[str | None, ...] = (
    None,
    "awaiting_decision",
    "awaiting_decision",
    "awaiting_appeal",
    "awaiting_appeal",
    "granted",
    "refused",
    "detained",
    "limbo",
    "inadmissible",
    "in_hub",
    "departed",
    "absconded",
    None,
    None,
)

# Timer kinds (heap entries).
T_WITHDRAW = 0
T_VOLUNTARY = 1
T_ABSCOND = 2
T_REMOVE = 3
T_HUB_EXIT = 4

_INF = np.inf


# --------------------------------------------------------------------------------------------
# Per-case draws


@nb.njit(cache=True)
def draw_uniform(
    key: np.uint64, agents: NDArray[np.int64], draw: int
) -> NDArray[np.float64]:  # pragma: no cover - compiled
    """U[0,1) of each case's own counter (stream key, day 0, agent, draw)."""
    out = np.empty(agents.shape[0], dtype=np.float64)
    for j in range(agents.shape[0]):
        out[j] = uniform(key, 0, agents[j], draw)
    return out


def draw_uniform_py(key: np.uint64, agents: NDArray[np.int64], draw: int) -> NDArray[np.float64]:
    """Twin of :func:`draw_uniform` (:func:`corridor.engine.rng.uniform_np`)."""
    return uniform_np(key, 0, agents, draw)


# --------------------------------------------------------------------------------------------
# Clocks and bookkeeping of a batch of cases


@nb.njit(cache=True)
def event_times(
    h_cum: NDArray[np.float64],
    hazard_day: NDArray[np.float64],
    t0: NDArray[np.float64],
    e: NDArray[np.float64],
) -> NDArray[np.float64]:  # pragma: no cover - compiled
    """:func:`corridor.asylum.params.event_time` case by case (the same operations in the same
    order, so the same floats): the time a clock started at ``t0`` with Exp(1) threshold ``e``
    fires, ``inf`` if not before the end of the period."""
    days = hazard_day.shape[0]
    out = np.empty(t0.shape[0], dtype=np.float64)
    for j in range(t0.shape[0]):
        d0 = int(min(max(np.floor(t0[j]), 0.0), days - 1.0))
        start = max(t0[j], 0.0)
        target = h_cum[d0] + (start - d0) * hazard_day[d0] + e[j]
        d = np.searchsorted(h_cum, target, side="right") - 1
        dd = min(d, days - 1)
        rate = hazard_day[dd]
        if d < days and rate > 0.0:
            out[j] = max(dd + (target - h_cum[dd]) / rate, start)
        else:
            out[j] = _INF
    return out


@nb.njit(cache=True)
def move_states(
    ids: NDArray[np.int64],
    new: NDArray[np.uint8],
    nationality: NDArray[np.uint8],
    people: NDArray[np.uint8],
    state: NDArray[np.uint8],
    stock: NDArray[np.int64],
) -> None:  # pragma: no cover - compiled
    """Cases ``ids`` move to states ``new``; ``stock[nationality, state]`` (people) follows."""
    for j in range(ids.shape[0]):
        a = ids[j]
        n = nationality[a]
        stock[n, state[a]] -= people[a]
        state[a] = new[j]
        stock[n, new[j]] += people[a]


def move_states_py(
    ids: NDArray[np.int64],
    new: NDArray[np.uint8],
    nationality: NDArray[np.uint8],
    people: NDArray[np.uint8],
    state: NDArray[np.uint8],
    stock: NDArray[np.int64],
) -> None:
    """Twin of :func:`move_states` (``np.add.at``)."""
    nat = nationality[ids]
    ppl = people[ids].astype(np.int64)
    np.subtract.at(stock, (nat, state[ids]), ppl)
    state[ids] = new
    np.add.at(stock, (nat, state[ids]), ppl)


@nb.njit(cache=True)
def add_flows(
    days: NDArray[np.int64],
    ids: NDArray[np.int64],
    nationality: NDArray[np.uint8],
    people: NDArray[np.uint8],
    flows: NDArray[np.int64],
    flow: int,
) -> None:  # pragma: no cover - compiled
    """Add the people of cases ``ids`` to ``flows[days, nationality, flow]``."""
    for j in range(ids.shape[0]):
        a = ids[j]
        flows[days[j], nationality[a], flow] += people[a]


def add_flows_py(
    days: NDArray[np.int64],
    ids: NDArray[np.int64],
    nationality: NDArray[np.uint8],
    people: NDArray[np.uint8],
    flows: NDArray[np.int64],
    flow: int,
) -> None:
    """Twin of :func:`add_flows` (``np.add.at``)."""
    where: Any = (days, nationality[ids], flow)
    np.add.at(flows, where, people[ids].astype(np.int64))


# --------------------------------------------------------------------------------------------
# Timers: a binary min-heap on three arrays, ordered by (time, agent, kind)


@nb.njit(cache=True, inline="always")
def _before(t1: float, a1: int, k1: int, t2: float, a2: int, k2: int) -> bool:  # pragma: no cover
    if t1 != t2:
        return t1 < t2
    if a1 != a2:
        return a1 < a2
    return k1 < k2


@nb.njit(cache=True)
def push_timers(
    ht: NDArray[np.float64],
    ha: NDArray[np.int64],
    hk: NDArray[np.int8],
    size: int,
    times: NDArray[np.float64],
    agents: NDArray[np.int64],
    kinds: NDArray[np.int8],
) -> int:  # pragma: no cover - compiled
    """Push entries (the arrays must have room); return the new size."""
    for j in range(times.shape[0]):
        t, a, k = times[j], agents[j], kinds[j]
        i = size
        size += 1
        while i > 0:
            parent = (i - 1) >> 1
            if _before(t, a, k, ht[parent], ha[parent], hk[parent]):
                ht[i], ha[i], hk[i] = ht[parent], ha[parent], hk[parent]
                i = parent
            else:
                break
        ht[i], ha[i], hk[i] = t, a, k
    return size


@nb.njit(cache=True)
def pop_due(
    ht: NDArray[np.float64],
    ha: NDArray[np.int64],
    hk: NDArray[np.int8],
    size: int,
    until: float,
    out_t: NDArray[np.float64],
    out_a: NDArray[np.int64],
    out_k: NDArray[np.int8],
) -> tuple[int, int]:  # pragma: no cover - compiled
    """Pop every entry with time < ``until``, in order; return (count, new size)."""
    n = 0
    while size > 0 and ht[0] < until:
        out_t[n], out_a[n], out_k[n] = ht[0], ha[0], hk[0]
        n += 1
        size -= 1
        t, a, k = ht[size], ha[size], hk[size]
        i = 0
        while True:
            c = 2 * i + 1
            if c >= size:
                break
            if c + 1 < size and _before(ht[c + 1], ha[c + 1], hk[c + 1], ht[c], ha[c], hk[c]):
                c += 1
            if _before(ht[c], ha[c], hk[c], t, a, k):
                ht[i], ha[i], hk[i] = ht[c], ha[c], hk[c]
                i = c
            else:
                break
        if size > 0:
            ht[i], ha[i], hk[i] = t, a, k
    return n, size


def push_timers_py(
    ht: NDArray[np.float64],
    ha: NDArray[np.int64],
    hk: NDArray[np.int8],
    size: int,
    times: NDArray[np.float64],
    agents: NDArray[np.int64],
    kinds: NDArray[np.int8],
) -> int:
    """Twin of :func:`push_timers`: append, then keep the live part sorted (a sorted heap)."""
    m = times.shape[0]
    ht[size : size + m], ha[size : size + m], hk[size : size + m] = times, agents, kinds
    size += m
    order = np.lexsort((hk[:size], ha[:size], ht[:size]))
    ht[:size], ha[:size], hk[:size] = ht[:size][order], ha[:size][order], hk[:size][order]
    return size


def pop_due_py(
    ht: NDArray[np.float64],
    ha: NDArray[np.int64],
    hk: NDArray[np.int8],
    size: int,
    until: float,
    out_t: NDArray[np.float64],
    out_a: NDArray[np.int64],
    out_k: NDArray[np.int8],
) -> tuple[int, int]:
    """Twin of :func:`pop_due`: sort the live part, cut at ``until``."""
    order = np.lexsort((hk[:size], ha[:size], ht[:size]))
    t, a, k = ht[:size][order], ha[:size][order], hk[:size][order]
    n = int(np.searchsorted(t, until, side="left"))
    out_t[:n], out_a[:n], out_k[:n] = t[:n], a[:n], k[:n]
    rest = size - n
    ht[:rest], ha[:rest], hk[:rest] = t[n:], a[n:], k[n:]
    return n, rest


# --------------------------------------------------------------------------------------------
# FIFO queues as linked lists


@nb.njit(cache=True)
def append(
    qhead: NDArray[np.int64],
    qtail: NDArray[np.int64],
    qnext: NDArray[np.int32],
    queues: NDArray[np.int64],
    agents: NDArray[np.int64],
) -> None:  # pragma: no cover - compiled
    """Append ``agents[i]`` to queue ``queues[i]``, in order."""
    for j in range(agents.shape[0]):
        q, a = queues[j], agents[j]
        qnext[a] = -1
        if qtail[q] >= 0:
            qnext[qtail[q]] = a
        else:
            qhead[q] = a
        qtail[q] = a


def append_py(
    qhead: NDArray[np.int64],
    qtail: NDArray[np.int64],
    qnext: NDArray[np.int32],
    queues: NDArray[np.int64],
    agents: NDArray[np.int64],
) -> None:
    """Twin of :func:`append`, vectorised: link each queue's new cases in one go."""
    if agents.size == 0:
        return
    order = np.argsort(queues, kind="stable")
    q, a = queues[order], agents[order]
    last = np.ones(q.size, dtype=bool)
    last[:-1] = q[1:] != q[:-1]
    first = np.ones(q.size, dtype=bool)
    first[1:] = q[1:] != q[:-1]
    qnext[a[:-1]] = np.where(last[:-1], -1, a[1:])
    qnext[a[-1]] = -1
    qf, af = q[first], a[first]
    had = qtail[qf] >= 0
    qnext[qtail[qf[had]]] = af[had]
    qhead[qf[~had]] = af[~had]
    qtail[q[last]] = a[last]


@nb.njit(cache=True, inline="always")
def _pop_head(
    q: int, qhead: NDArray[np.int64], qtail: NDArray[np.int64], qnext: NDArray[np.int32]
) -> None:  # pragma: no cover - compiled
    a = qhead[q]
    nxt = qnext[a]
    qhead[q] = nxt
    if nxt < 0:
        qtail[q] = -1
    qnext[a] = -1


def _pop_head_py(
    q: int, qhead: NDArray[np.int64], qtail: NDArray[np.int64], qnext: NDArray[np.int32]
) -> None:
    a = int(qhead[q])
    nxt = int(qnext[a])
    qhead[q] = nxt
    if nxt < 0:
        qtail[q] = -1
    qnext[a] = -1


# --------------------------------------------------------------------------------------------
# Capacity-limited hand-over from FIFO queues


@nb.njit(cache=True)
def take_fifo(
    queues: NDArray[np.int64],
    qhead: NDArray[np.int64],
    qtail: NDArray[np.int64],
    qnext: NDArray[np.int32],
    state: NDArray[np.uint8],
    ok_state: NDArray[np.bool_],
    t_state: NDArray[np.float32],
    people: NDArray[np.uint8],
    budget: float,
    room: float,
    out: NDArray[np.int64],
) -> tuple[int, float, float]:  # pragma: no cover - compiled
    """Take cases while ``budget > 0``: each time the head (of ``queues``) that entered its queue
    first (``t_state``, then agent id); stop when the chosen household does not fit in ``room``.

    Heads whose state is not ``ok_state`` are dropped (they left the queue while waiting).
    Each case taken costs its ``people`` from both budget and room (the budget may go negative:
    the debt is carried to the next day by the caller). Returns (taken, budget, room).
    """
    n = 0
    while budget > 0.0:
        best = -1
        bt = _INF
        ba = -1
        for j in range(queues.shape[0]):
            q = queues[j]
            while qhead[q] >= 0 and not ok_state[state[qhead[q]]]:
                _pop_head(q, qhead, qtail, qnext)
            a = qhead[q]
            if a >= 0:
                t = np.float64(t_state[a])
                if t < bt or (t == bt and a < ba):
                    best, bt, ba = q, t, a
        if best < 0:
            break
        p = np.float64(people[ba])
        if p > room:
            break
        _pop_head(best, qhead, qtail, qnext)
        out[n] = ba
        n += 1
        budget -= p
        room -= p
    return n, budget, room


def take_fifo_py(
    queues: NDArray[np.int64],
    qhead: NDArray[np.int64],
    qtail: NDArray[np.int64],
    qnext: NDArray[np.int32],
    state: NDArray[np.uint8],
    ok_state: NDArray[np.bool_],
    t_state: NDArray[np.float32],
    people: NDArray[np.uint8],
    budget: float,
    room: float,
    out: NDArray[np.int64],
) -> tuple[int, float, float]:
    """Twin of :func:`take_fifo` (Python lists of heads, ``min`` over keys)."""
    n = 0
    budget, room = float(budget), float(room)
    qs = [int(q) for q in queues]
    while budget > 0.0:
        heads = []
        for q in qs:
            while qhead[q] >= 0 and not ok_state[state[qhead[q]]]:
                _pop_head_py(q, qhead, qtail, qnext)
            if qhead[q] >= 0:
                a = int(qhead[q])
                heads.append((float(t_state[a]), a, q))
        if not heads:
            break
        _, a, q = min(heads)
        p = float(people[a])
        if p > room:
            break
        _pop_head_py(q, qhead, qtail, qnext)
        out[n] = a
        n += 1
        budget -= p
        room -= p
    return n, budget, room


@nb.njit(cache=True)
def queue_members(
    q: int,
    qhead: NDArray[np.int64],
    qnext: NDArray[np.int32],
    state: NDArray[np.uint8],
    ok_state: NDArray[np.bool_],
    out: NDArray[np.int64],
) -> int:  # pragma: no cover - compiled
    """Write the members of queue ``q`` whose state is ``ok_state``, in queue order; return how
    many (``out`` must have room for the whole list). The queue is not changed."""
    n = 0
    a = qhead[q]
    while a >= 0:
        if ok_state[state[a]]:
            out[n] = a
            n += 1
        a = qnext[a]
    return n


def queue_members_py(
    q: int,
    qhead: NDArray[np.int64],
    qnext: NDArray[np.int32],
    state: NDArray[np.uint8],
    ok_state: NDArray[np.bool_],
    out: NDArray[np.int64],
) -> int:
    """Twin of :func:`queue_members` (a Python walk of the list)."""
    members = []
    a = int(qhead[q])
    while a >= 0:
        if ok_state[state[a]]:
            members.append(a)
        a = int(qnext[a])
    out[: len(members)] = members
    return len(members)


# --------------------------------------------------------------------------------------------
# One day of a multi-server queue


@nb.njit(cache=True)
def work_end(
    rate_cum: NDArray[np.float64], rate_day: NDArray[np.float64], t0: float, work: float
) -> float:  # pragma: no cover - compiled
    """Time at which ``work`` is done from ``t0`` at the daily rates (``rate_cum[k]`` = Σ of
    ``rate_day`` over days ``< k``); beyond the last day the last rate goes on (``inf`` if 0)."""
    days = rate_day.shape[0]
    last = rate_day[days - 1]
    if t0 >= days:
        return t0 + work / last if last > 0.0 else _INF
    d0 = int(t0) if t0 > 0.0 else 0  # floor
    start = max(t0, 0.0)
    target = rate_cum[d0] + (start - d0) * rate_day[d0] + work
    if target >= rate_cum[days]:
        if last <= 0.0:
            return _INF
        return float(max(days + (target - rate_cum[days]) / last, start))
    # the day in which the cumulative rate reaches the target (rate_cum is non-decreasing)
    lo, hi = d0, days - 1
    while lo < hi:
        mid = (lo + hi + 1) >> 1
        if rate_cum[mid] <= target:
            lo = mid
        else:
            hi = mid - 1
    while rate_day[lo] <= 0.0 and lo < days - 1:  # a day without work cannot end it
        lo += 1
    return float(max(lo + (target - rate_cum[lo]) / rate_day[lo], start))


def work_end_py(
    rate_cum: NDArray[np.float64], rate_day: NDArray[np.float64], t0: float, work: float
) -> float:
    """Twin of :func:`work_end` (NumPy ``searchsorted``)."""
    days = rate_day.shape[0]
    last = float(rate_day[days - 1])
    if t0 >= days:
        return t0 + work / last if last > 0.0 else math.inf
    d0 = int(t0) if t0 > 0.0 else 0  # floor
    start = max(t0, 0.0)
    target = float(rate_cum[d0]) + (start - d0) * float(rate_day[d0]) + work
    if target >= rate_cum[days]:
        if last <= 0.0:
            return math.inf
        return float(max(days + (target - float(rate_cum[days])) / last, start))
    lo = max(int(np.searchsorted(rate_cum[:days], target, side="right")) - 1, d0)
    while rate_day[lo] <= 0.0 and lo < days - 1:
        lo += 1
    return float(max(lo + (target - float(rate_cum[lo])) / float(rate_day[lo]), start))


@nb.njit(cache=True, inline="always")
def _work(key: np.uint64, a: int, draw: int, exponential: bool) -> float:  # pragma: no cover
    if not exponential:
        return 1.0
    return -math.log1p(-uniform(key, 0, a, draw))


def _constant_rate(mean_service: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    rate = 1.0 / mean_service if mean_service > 0.0 else 1e300
    return np.array([0.0, rate]), np.array([rate])


@nb.njit(cache=True)
def _constant_rate_nb(
    mean_service: float,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:  # pragma: no cover - compiled
    rate = 1.0 / mean_service if mean_service > 0.0 else 1e300
    cum = np.empty(2)
    cum[0] = 0.0
    cum[1] = rate
    day = np.empty(1)
    day[0] = rate
    return cum, day


@nb.njit(cache=True)
def serve_day_rate(
    day: int,
    classes: NDArray[np.int64],
    qhead: NDArray[np.int64],
    qtail: NDArray[np.int64],
    qnext: NDArray[np.int32],
    state: NDArray[np.uint8],
    t_arrive: NDArray[np.float32],
    t_next: NDArray[np.float32],
    arrival_in_next: bool,
    waiting_code: int,
    n_servers: int,
    free_at: NDArray[np.float64],
    serving: NDArray[np.int64],
    rate_cum: NDArray[np.float64],
    rate_day: NDArray[np.float64],
    exponential: bool,
    key: np.uint64,
    draw: int,
    out_start: NDArray[np.int64],
    out_start_t: NDArray[np.float64],
    out_queue_t: NDArray[np.float64],
    out_done: NDArray[np.int64],
    out_done_t: NDArray[np.float64],
    out_wd: NDArray[np.int64],
    out_wd_t: NDArray[np.float64],
) -> tuple[int, int, int]:  # pragma: no cover - compiled
    """Run the queue through day ``day`` (times in [day, day + 1)).

    ``classes`` are queue ids in priority order. A waiting case's queue-arrival time is
    ``t_arrive`` (decisions; then ``t_next`` holds its withdrawal time) or ``t_next`` (appeals:
    the lodging time; no withdrawals). Servers ``0..n_servers-1`` are active; a server above that
    finishes its case and retires. ``free_at``/``serving`` persist between days: a busy server
    has ``serving >= 0`` and ``free_at`` = end of service. A case needs Exp(1) work (or 1 when
    not ``exponential``), drawn from its own counter (stream key, day 0, agent, ``draw``), so the
    same work whoever serves it and whenever; the work is done at the daily rate
    (:func:`work_end`: ``rate_cum``, ``rate_day``), so its end of service is known at its start.

    Writes: cases started (agent, start time, queue-arrival time), cases completed (agent, end
    time, in time order), cases withdrawn at the head (agent, withdrawal time); sets ``t_next`` of
    started cases to their end of service (float32) and unlinks them. Returns the three counts.
    State codes are left to the caller.
    """
    d1 = day + 1.0
    m = free_at.shape[0]
    hs = np.empty(m, dtype=np.float64)
    hi = np.empty(m, dtype=np.int64)
    size = 0
    for i in range(m):
        if serving[i] >= 0 or i < n_servers:
            s = free_at[i]
            if serving[i] < 0 and s < day:
                s = np.float64(day)
            j = size
            size += 1
            while j > 0:
                p = (j - 1) >> 1
                if s < hs[p] or (s == hs[p] and i < hi[p]):
                    hs[j], hi[j] = hs[p], hi[p]
                    j = p
                else:
                    break
            hs[j], hi[j] = s, i
    n_start = 0
    n_done = 0
    n_wd = 0
    n_cls = classes.shape[0]
    while size > 0 and hs[0] < d1:
        s = hs[0]
        i = hi[0]
        # pop the server heap
        size -= 1
        ls, li = hs[size], hi[size]
        j = 0
        while True:
            c = 2 * j + 1
            if c >= size:
                break
            if c + 1 < size and (hs[c + 1] < hs[c] or (hs[c + 1] == hs[c] and hi[c + 1] < hi[c])):
                c += 1
            if hs[c] < ls or (hs[c] == ls and hi[c] < li):
                hs[j], hi[j] = hs[c], hi[c]
                j = c
            else:
                break
        if size > 0:
            hs[j], hi[j] = ls, li
        a = serving[i]
        if a >= 0:
            out_done[n_done] = a
            out_done_t[n_done] = s
            n_done += 1
            serving[i] = -1
        free_at[i] = s
        if i >= n_servers:
            continue
        # choose the next case: highest class with a case waiting at s, else the next arrival
        pick_q = -1
        pick_a = -1
        pick_t = _INF
        for k in range(n_cls):
            q = classes[k]
            a = -1
            tq = 0.0
            while qhead[q] >= 0:
                a = qhead[q]
                if state[a] != waiting_code:
                    _pop_head(q, qhead, qtail, qnext)
                    a = -1
                    continue
                tq = np.float64(t_next[a]) if arrival_in_next else np.float64(t_arrive[a])
                if not arrival_in_next:
                    tw = np.float64(t_next[a])
                    if tw <= max(s, tq):
                        out_wd[n_wd] = a
                        out_wd_t[n_wd] = tw
                        n_wd += 1
                        _pop_head(q, qhead, qtail, qnext)
                        a = -1
                        continue
                break
            if a < 0:
                continue
            if tq <= s:
                pick_q, pick_a, pick_t = q, a, s
                break
            if tq < pick_t:
                pick_q, pick_a, pick_t = q, a, tq
        if pick_a < 0 or pick_t >= d1:
            continue  # idle for the rest of the day
        a = pick_a
        _pop_head(pick_q, qhead, qtail, qnext)
        tq = np.float64(t_next[a]) if arrival_in_next else np.float64(t_arrive[a])
        end = work_end(rate_cum, rate_day, pick_t, _work(key, a, draw, exponential))
        out_start[n_start] = a
        out_start_t[n_start] = pick_t
        out_queue_t[n_start] = tq
        n_start += 1
        t_next[a] = np.float32(end)
        serving[i] = a
        free_at[i] = end
        j = size
        size += 1
        while j > 0:
            p = (j - 1) >> 1
            if end < hs[p] or (end == hs[p] and i < hi[p]):
                hs[j], hi[j] = hs[p], hi[p]
                j = p
            else:
                break
        hs[j], hi[j] = end, i
    return n_start, n_done, n_wd


def serve_day_rate_py(
    day: int,
    classes: NDArray[np.int64],
    qhead: NDArray[np.int64],
    qtail: NDArray[np.int64],
    qnext: NDArray[np.int32],
    state: NDArray[np.uint8],
    t_arrive: NDArray[np.float32],
    t_next: NDArray[np.float32],
    arrival_in_next: bool,
    waiting_code: int,
    n_servers: int,
    free_at: NDArray[np.float64],
    serving: NDArray[np.int64],
    rate_cum: NDArray[np.float64],
    rate_day: NDArray[np.float64],
    exponential: bool,
    key: np.uint64,
    draw: int,
    out_start: NDArray[np.int64],
    out_start_t: NDArray[np.float64],
    out_queue_t: NDArray[np.float64],
    out_done: NDArray[np.int64],
    out_done_t: NDArray[np.float64],
    out_wd: NDArray[np.int64],
    out_wd_t: NDArray[np.float64],
) -> tuple[int, int, int]:
    """Twin of :func:`serve_day_rate`: an event loop over a :mod:`heapq` of (free time,
    server)."""
    d1 = day + 1.0
    heap = [
        (float(free_at[i]) if serving[i] >= 0 else max(float(free_at[i]), float(day)), i)
        for i in range(free_at.shape[0])
        if serving[i] >= 0 or i < n_servers
    ]
    heapq.heapify(heap)
    started: list[tuple[int, float, float]] = []
    done: list[tuple[int, float]] = []
    withdrawn: list[tuple[int, float]] = []

    def arrival(a: int) -> float:
        return float(t_next[a]) if arrival_in_next else float(t_arrive[a])

    def head(q: int, s: float) -> int:
        """The first live case of queue q, dropping those gone or withdrawn by their start."""
        while qhead[q] >= 0:
            a = int(qhead[q])
            if state[a] != waiting_code:
                _pop_head_py(q, qhead, qtail, qnext)
                continue
            if not arrival_in_next and float(t_next[a]) <= max(s, arrival(a)):
                withdrawn.append((a, float(t_next[a])))
                _pop_head_py(q, qhead, qtail, qnext)
                continue
            return a
        return -1

    while heap and heap[0][0] < d1:
        s, i = heapq.heappop(heap)
        if serving[i] >= 0:
            done.append((int(serving[i]), s))
            serving[i] = -1
        free_at[i] = s
        if i >= n_servers:
            continue
        choice: tuple[float, int, int] | None = None  # (start, class rank, agent)
        for rank, q in enumerate(int(c) for c in classes):
            a = head(q, s)
            if a < 0:
                continue
            if arrival(a) <= s:
                choice = (s, rank, a)
                break
            if choice is None or arrival(a) < choice[0]:
                choice = (arrival(a), rank, a)
        if choice is None or choice[0] >= d1:
            continue
        start, rank, a = choice
        _pop_head_py(int(classes[rank]), qhead, qtail, qnext)
        work = -math.log1p(-float(uniform_np(key, 0, a, draw))) if exponential else 1.0
        end = work_end_py(rate_cum, rate_day, start, work)
        started.append((a, start, arrival(a)))
        t_next[a] = np.float32(end)
        serving[i] = a
        free_at[i] = end
        heapq.heappush(heap, (end, i))
    for n, (a, t0, tq) in enumerate(started):
        out_start[n], out_start_t[n], out_queue_t[n] = a, t0, tq
    for n, (a, t) in enumerate(done):
        out_done[n], out_done_t[n] = a, t
    for n, (a, t) in enumerate(withdrawn):
        out_wd[n], out_wd_t[n] = a, t
    return len(started), len(done), len(withdrawn)


@nb.njit(cache=True)
def serve_day(
    day: int,
    classes: NDArray[np.int64],
    qhead: NDArray[np.int64],
    qtail: NDArray[np.int64],
    qnext: NDArray[np.int32],
    state: NDArray[np.uint8],
    t_arrive: NDArray[np.float32],
    t_next: NDArray[np.float32],
    arrival_in_next: bool,
    waiting_code: int,
    n_servers: int,
    free_at: NDArray[np.float64],
    serving: NDArray[np.int64],
    mean_service: float,
    exponential: bool,
    key: np.uint64,
    draw: int,
    out_start: NDArray[np.int64],
    out_start_t: NDArray[np.float64],
    out_queue_t: NDArray[np.float64],
    out_done: NDArray[np.int64],
    out_done_t: NDArray[np.float64],
    out_wd: NDArray[np.int64],
    out_wd_t: NDArray[np.float64],
) -> tuple[int, int, int]:  # pragma: no cover - compiled
    """:func:`serve_day_rate` at a constant rate: service takes Exp(mean) (or ``mean``)."""
    cum, rate = _constant_rate_nb(mean_service)
    return serve_day_rate(
        day,
        classes,
        qhead,
        qtail,
        qnext,
        state,
        t_arrive,
        t_next,
        arrival_in_next,
        waiting_code,
        n_servers,
        free_at,
        serving,
        cum,
        rate,
        exponential,
        key,
        draw,
        out_start,
        out_start_t,
        out_queue_t,
        out_done,
        out_done_t,
        out_wd,
        out_wd_t,
    )


def serve_day_py(
    day: int,
    classes: NDArray[np.int64],
    qhead: NDArray[np.int64],
    qtail: NDArray[np.int64],
    qnext: NDArray[np.int32],
    state: NDArray[np.uint8],
    t_arrive: NDArray[np.float32],
    t_next: NDArray[np.float32],
    arrival_in_next: bool,
    waiting_code: int,
    n_servers: int,
    free_at: NDArray[np.float64],
    serving: NDArray[np.int64],
    mean_service: float,
    exponential: bool,
    key: np.uint64,
    draw: int,
    out_start: NDArray[np.int64],
    out_start_t: NDArray[np.float64],
    out_queue_t: NDArray[np.float64],
    out_done: NDArray[np.int64],
    out_done_t: NDArray[np.float64],
    out_wd: NDArray[np.int64],
    out_wd_t: NDArray[np.float64],
) -> tuple[int, int, int]:
    """Twin of :func:`serve_day`."""
    cum, rate = _constant_rate(mean_service)
    return serve_day_rate_py(
        day,
        classes,
        qhead,
        qtail,
        qnext,
        state,
        t_arrive,
        t_next,
        arrival_in_next,
        waiting_code,
        n_servers,
        free_at,
        serving,
        cum,
        rate,
        exponential,
        key,
        draw,
        out_start,
        out_start_t,
        out_queue_t,
        out_done,
        out_done_t,
        out_wd,
        out_wd_t,
    )


NUMBA = SimpleNamespace(
    event_times=event_times,
    move_states=move_states,
    add_flows=add_flows,
    serve_day=serve_day,
    serve_day_rate=serve_day_rate,
    queue_members=queue_members,
    take_fifo=take_fifo,
    append=append,
    push_timers=push_timers,
    pop_due=pop_due,
    draw_uniform=draw_uniform,
    name="numba",
)
"""The compiled kernels (the default)."""

TWINS = SimpleNamespace(
    event_times=event_time,
    move_states=move_states_py,
    add_flows=add_flows_py,
    serve_day=serve_day_py,
    serve_day_rate=serve_day_rate_py,
    queue_members=queue_members_py,
    take_fifo=take_fifo_py,
    append=append_py,
    push_timers=push_timers_py,
    pop_due=pop_due_py,
    draw_uniform=draw_uniform_py,
    name="numpy",
)
"""The Python/NumPy twins (reference implementations; slow)."""
