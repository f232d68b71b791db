"""The plain Python/NumPy twins of the agent engine's Numba kernels (reference; slow).

Reads and produces exactly what the kernel of the same name without ``_py`` does, with the same
arguments (:mod:`~corridor.asylum.agent.kernels_case`, :mod:`~corridor.asylum.agent.kernels_fifo`,
:mod:`~corridor.asylum.agent.kernels_serve`): :func:`serve_day_py` keeps its servers in
:mod:`heapq`, :func:`take_fifo_py` scans the queue heads with Python lists, :func:`append_py`
links a batch with vectorised NumPy, :func:`set_aside_py`/:func:`merge_back_py` split and sort
Python lists, :func:`push_timers_py`/:func:`pop_due_py` keep the heap as a
sorted array. Reports: nothing.

Invariants: a whole run gives identical results with either kernel set (checked by the tests);
a sorted array is a valid heap, so either implementation can continue the other's timers. The
twin of :func:`~corridor.asylum.agent.kernels_case.event_times` is
:func:`corridor.asylum.params.event_time` itself.
"""

from __future__ import annotations

import heapq
import itertools
import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from corridor.engine.rng import uniform_np

# --------------------------------------------------------------------------------------------
# Per-case draws and bookkeeping (twins of kernels_case)


def draw_uniform_py(key: np.uint64, agents: NDArray[np.int64], draw: int) -> NDArray[np.float64]:
    """Twin of :func:`draw_uniform` (:func:`corridor.engine.rng.uniform_np`)."""
    return uniform_np(key, 0, agents, draw)


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
# Timers (twins of kernels_case): the heap kept as a sorted array


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
# FIFO queues (twins of kernels_fifo)


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


def _newest_key(
    t_state: NDArray[np.float32], key: NDArray[np.float32], a: int
) -> tuple[int, float, int]:
    """Sort key of a case newest first (larger first): day, own uniform, agent id."""
    return (math.floor(float(t_state[a])), float(key[a]), a)


def insert_newest_py(
    qhead: NDArray[np.int64],
    qtail: NDArray[np.int64],
    qnext: NDArray[np.int32],
    queues: NDArray[np.int64],
    agents: NDArray[np.int64],
    t_state: NDArray[np.float32],
    key: NDArray[np.float32],
) -> None:
    """Twin of :func:`insert_newest` (a Python walk of each list)."""
    for q, a in zip(queues.tolist(), agents.tolist(), strict=True):
        mine = _newest_key(t_state, key, a)
        prev, b = -1, int(qhead[q])
        while b >= 0 and _newest_key(t_state, key, b) > mine:
            prev, b = b, int(qnext[b])
        qnext[a] = b
        if prev < 0:
            qhead[q] = a
        else:
            qnext[prev] = a
        if b < 0:
            qtail[q] = a


def _pop_head_py(
    q: int, qhead: NDArray[np.int64], qtail: NDArray[np.int64], qnext: NDArray[np.int32]
) -> None:
    a = int(qhead[q])
    nxt = int(qnext[a])
    qhead[q] = nxt
    if nxt < 0:
        qtail[q] = -1
    qnext[a] = -1


def _live_head_py(
    q: int,
    qhead: NDArray[np.int64],
    qtail: NDArray[np.int64],
    qnext: NDArray[np.int32],
    state: NDArray[np.uint8],
    ok_state: NDArray[np.bool_],
) -> int:
    while qhead[q] >= 0 and not ok_state[state[qhead[q]]]:
        _pop_head_py(q, qhead, qtail, qnext)
    return int(qhead[q])


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
            a = _live_head_py(q, qhead, qtail, qnext, state, ok_state)
            if a >= 0:
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


def take_newest_py(
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
    credit: NDArray[np.float64],
) -> tuple[int, float, float]:
    """Twin of :func:`take_newest` (Python walks of the lists)."""
    n = 0
    budget, room = float(budget), float(room)
    qs = [int(q) for q in queues]

    def day_of(a: int) -> float:
        return float(math.floor(float(t_state[a])))

    while budget > 0.0 and room > 0.0:
        heads = [_live_head_py(q, qhead, qtail, qnext, state, ok_state) for q in qs]
        if all(a < 0 for a in heads):
            break
        day = max(day_of(a) for a in heads if a >= 0)
        per = []
        for q in qs:
            total_q, a = 0.0, int(qhead[q])
            while a >= 0:
                if ok_state[state[a]]:
                    if day_of(a) != day:
                        break
                    total_q += float(people[a])
                a = int(qnext[a])
            per.append(total_q)
        total = sum(per)
        whole = min(budget, room) >= total
        f = 1.0 if whole else min(budget, room) / total
        target = [
            p_q if whole else f * p_q + float(credit[q]) for q, p_q in zip(qs, per, strict=True)
        ]
        while budget > 0.0:
            best, gap = -1, -math.inf
            for j, q in enumerate(qs):
                if per[j] <= 0.0:
                    continue
                a = _live_head_py(q, qhead, qtail, qnext, state, ok_state)
                if a < 0 or day_of(a) != day or float(people[a]) > room:
                    continue
                if target[j] > gap:
                    best, gap = j, target[j]
            if best < 0:
                break
            q = qs[best]
            a = int(qhead[q])
            p = float(people[a])
            _pop_head_py(q, qhead, qtail, qnext)
            out[n] = a
            n += 1
            target[best] -= p
            budget -= p
            room -= p
        if not whole:
            for j, q in enumerate(qs):
                if per[j] > 0.0:
                    credit[q] = target[j]
            break
    return n, budget, room


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


def _walk_py(q: int, qhead: NDArray[np.int64], qnext: NDArray[np.int32]) -> list[int]:
    out = []
    a = int(qhead[q])
    while a >= 0:
        out.append(a)
        a = int(qnext[a])
    return out


def _link_py(
    q: int, members: list[int], qhead: NDArray[np.int64], qtail: NDArray[np.int64],
    qnext: NDArray[np.int32],
) -> None:  # fmt: skip
    for a, b in itertools.pairwise(members):
        qnext[a] = b
    if members:
        qnext[members[-1]] = -1
    qhead[q] = members[0] if members else -1
    qtail[q] = members[-1] if members else -1


def set_aside_py(
    q: int,
    aside0: int,
    qhead: NDArray[np.int64],
    qtail: NDArray[np.int64],
    qnext: NDArray[np.int32],
    nationality: NDArray[np.uint8],
    paused: NDArray[np.bool_],
) -> int:
    """Twin of :func:`set_aside` (Python lists: split the walk, relink)."""
    members = _walk_py(q, qhead, qnext)
    moved = [a for a in members if paused[nationality[a]]]
    _link_py(q, [a for a in members if not paused[nationality[a]]], qhead, qtail, qnext)
    for i in sorted({int(nationality[a]) for a in moved}):
        t = aside0 + i
        _link_py(
            t, _walk_py(t, qhead, qnext) + [a for a in moved if nationality[a] == i],
            qhead, qtail, qnext,
        )  # fmt: skip
    return len(moved)


def merge_back_py(
    src: int,
    dst: int,
    qhead: NDArray[np.int64],
    qtail: NDArray[np.int64],
    qnext: NDArray[np.int32],
) -> None:
    """Twin of :func:`merge_back` (a sort of the two lists' ids)."""
    merged = sorted(_walk_py(src, qhead, qnext) + _walk_py(dst, qhead, qnext))
    _link_py(dst, merged, qhead, qtail, qnext)
    qhead[src] = qtail[src] = -1


# --------------------------------------------------------------------------------------------
# One day of a multi-server queue (twins of kernels_serve)


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


def _constant_rate(mean_service: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    rate = 1.0 / mean_service if mean_service > 0.0 else 1e300
    return np.array([0.0, rate]), np.array([rate])


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
