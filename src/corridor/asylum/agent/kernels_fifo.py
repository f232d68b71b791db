"""Numba kernels of the FIFO queues (linked lists) and the capacity-limited hand-over from them.

Reads: ``qhead``/``qtail`` (per queue) and the agent columns ``qnext``, ``state``, ``t_state``,
``people``, ``exit_key``; a set of states that count as still waiting (``ok_state``).
Produces: cases appended to queues (:func:`append`), or linked in order newest first
(:func:`insert_newest`: by day, then in random order within a day); the oldest (or newest)
waiting heads of several queues handed over while a daily budget and free places last
(:func:`take_fifo`: removal listing, hub transfers); the live
members of a queue (:func:`queue_members`: restating them when a returns agreement starts or
ends); a paused nationality's cases set aside from a decision queue (:func:`set_aside`) and
merged back in their order when the pause is lifted (:func:`merge_back`). Reports: nothing.

Invariants: a queue is a singly linked list through ``qnext`` (``-1`` ends it) with
``qhead[q]``/``qtail[q]`` (``-1`` when empty); a case is in at most one queue and leaves only at
the head; cases no longer in an ``ok_state`` stay linked and are dropped when they reach the head
(lazy deletion); :func:`take_fifo` takes by (``t_state``, agent id) across queues, never
overtakes a household that does not fit, and lets the budget go negative by at most one household
(the caller carries the debt). Twins: :mod:`corridor.asylum.agent.twins`.
"""

from __future__ import annotations

import numba as nb
import numpy as np
from numpy.typing import NDArray

_INF = np.inf


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


@nb.njit(cache=True, inline="always")
def _day(t_state: NDArray[np.float32], a: int) -> float:  # pragma: no cover - compiled
    """The day case ``a`` entered its queue."""
    return float(np.floor(np.float64(t_state[a])))


@nb.njit(cache=True, inline="always")
def _newer(t_state: NDArray[np.float32], key: NDArray[np.float32], a: int, b: int) -> bool:
    """Case ``a`` comes before ``b`` newest first: a later day, or the same day and a larger
    ``key`` (a uniform draw of its own: within a day, in random order)."""
    da = _day(t_state, a)
    db = _day(t_state, b)
    return da > db or (da == db and (key[a] > key[b] or (key[a] == key[b] and a > b)))


@nb.njit(cache=True)
def insert_newest(
    qhead: NDArray[np.int64],
    qtail: NDArray[np.int64],
    qnext: NDArray[np.int32],
    queues: NDArray[np.int64],
    agents: NDArray[np.int64],
    t_state: NDArray[np.float32],
    key: NDArray[np.float32],
) -> None:  # pragma: no cover - compiled
    """Link ``agents[i]`` into queue ``queues[i]`` kept newest first (:func:`_newer`): after the
    cases newer than it (the day's others, walked from the head)."""
    for j in range(agents.shape[0]):
        q, a = queues[j], agents[j]
        prev = -1
        b = qhead[q]
        while b >= 0 and _newer(t_state, key, b, a):
            prev = b
            b = qnext[b]
        qnext[a] = b
        if prev < 0:
            qhead[q] = a
        else:
            qnext[prev] = a
        if b < 0:
            qtail[q] = a


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


@nb.njit(cache=True, inline="always")
def _live_head(
    q: int,
    qhead: NDArray[np.int64],
    qtail: NDArray[np.int64],
    qnext: NDArray[np.int32],
    state: NDArray[np.uint8],
    ok_state: NDArray[np.bool_],
) -> int:  # pragma: no cover - compiled
    """Queue ``q``'s head after dropping the cases that left it while waiting (-1: empty)."""
    while qhead[q] >= 0 and not ok_state[state[qhead[q]]]:
        _pop_head(q, qhead, qtail, qnext)
    return int(qhead[q])


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
            a = _live_head(q, qhead, qtail, qnext, state, ok_state)
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


@nb.njit(cache=True)
def take_newest(
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
) -> tuple[int, float, float]:  # pragma: no cover - compiled
    """Take cases newest first (queues kept by :func:`insert_newest`), as the aggregate engine
    takes its cohorts: the whole newest day of every queue while ``budget`` and ``room`` cover
    it; of the day they do not cover, each queue's share of the budget in proportion to its
    people that day. Whole households are taken from the heads (in random order within the
    day), each time from the queue furthest below its target (its share plus ``credit[q]``, what
    its earlier shares left over or took beyond), until the budget is spent (it may end in debt
    by part of a household: the caller carries it); then ``credit[q]`` = target − taken. No
    household is taken that does not fit in ``room``. Returns (taken, budget, room)."""
    n = 0
    nq = queues.shape[0]
    per = np.zeros(nq)
    target = np.zeros(nq)
    while budget > 0.0 and room > 0.0:
        day = -_INF
        for j in range(nq):
            a = _live_head(queues[j], qhead, qtail, qnext, state, ok_state)
            if a >= 0:
                day = max(day, _day(t_state, a))
        if day == -_INF:
            break
        total = 0.0
        for j in range(nq):  # the day's live people in each queue (they lead it)
            per[j] = 0.0
            a = qhead[queues[j]]
            while a >= 0:
                if ok_state[state[a]]:
                    if _day(t_state, a) != day:
                        break
                    per[j] += np.float64(people[a])
                a = qnext[a]
            total += per[j]
        whole = min(budget, room) >= total
        f = 1.0 if whole else min(budget, room) / total
        for j in range(nq):
            target[j] = per[j] if whole else f * per[j] + credit[queues[j]]
        while budget > 0.0:
            best = -1
            gap = -_INF
            for j in range(nq):  # the queue furthest below its target, with a head of the day
                if per[j] <= 0.0:
                    continue
                a = _live_head(queues[j], qhead, qtail, qnext, state, ok_state)
                if a < 0 or _day(t_state, a) != day:
                    continue
                if np.float64(people[a]) > room:
                    continue
                if target[j] > gap:
                    best, gap = j, target[j]
            if best < 0:
                break
            q = queues[best]
            a = qhead[q]
            p = np.float64(people[a])
            _pop_head(q, qhead, qtail, qnext)
            out[n] = a
            n += 1
            target[best] -= p
            budget -= p
            room -= p
        if not whole:
            for j in range(nq):
                if per[j] > 0.0:
                    credit[queues[j]] = target[j]
            break
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


# --------------------------------------------------------------------------------------------
# Pauses: a nationality's cases set aside and merged back in their order


@nb.njit(cache=True)
def set_aside(
    q: int,
    aside0: int,
    qhead: NDArray[np.int64],
    qtail: NDArray[np.int64],
    qnext: NDArray[np.int32],
    nationality: NDArray[np.uint8],
    paused: NDArray[np.bool_],
) -> int:  # pragma: no cover - compiled
    """Move the members of queue ``q`` whose nationality ``i`` has ``paused[i]`` to the end of
    queue ``aside0 + i``, keeping their order; the others keep theirs. Returns how many."""
    prev = -1
    a = qhead[q]
    moved = 0
    while a >= 0:
        nxt = qnext[a]
        i = nationality[a]
        if paused[i]:
            if prev >= 0:
                qnext[prev] = nxt
            else:
                qhead[q] = nxt
            if qtail[q] == a:
                qtail[q] = prev
            t = aside0 + i
            qnext[a] = -1
            if qtail[t] >= 0:
                qnext[qtail[t]] = a
            else:
                qhead[t] = a
            qtail[t] = a
            moved += 1
        else:
            prev = a
        a = nxt
    return moved


@nb.njit(cache=True)
def merge_back(
    src: int,
    dst: int,
    qhead: NDArray[np.int64],
    qtail: NDArray[np.int64],
    qnext: NDArray[np.int32],
) -> None:  # pragma: no cover - compiled
    """Merge queue ``src`` into queue ``dst`` by agent id (both lists in increasing id: the
    order cases joined the decision queue); ``src`` is left empty."""
    a = qhead[src]
    b = qhead[dst]
    head = -1
    tail = -1
    while a >= 0 or b >= 0:
        if b < 0 or (a >= 0 and a < b):
            x = a
            a = qnext[a]
        else:
            x = b
            b = qnext[b]
        if tail >= 0:
            qnext[tail] = x
        else:
            head = x
        tail = x
    if tail >= 0:
        qnext[tail] = -1
    qhead[dst] = head
    qtail[dst] = tail
    qhead[src] = -1
    qtail[src] = -1
