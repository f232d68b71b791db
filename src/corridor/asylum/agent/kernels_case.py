"""Numba kernels for a batch of cases: per-case draws, event clocks, bookkeeping, timer heap.

Reads: the agent columns passed in (``nationality``, ``people``, ``state``), a stream key, the
cumulative hazard of a piecewise-constant daily rate. Produces: per-case U[0,1) draws
(:func:`draw_uniform`), clock firing times (:func:`event_times`); changes ``state`` and the
people-by-(nationality, state) counts (:func:`move_states`); adds people to the daily flows
(:func:`add_flows`); pushes and pops ``(time, agent, kind)`` timers (:func:`push_timers`,
:func:`pop_due`). Reports: nothing itself (the counts it updates are what the engine reports).

Invariants: ``stock`` stays equal to the sum of ``people`` by (nationality, state) of the table;
:func:`event_times` performs the operations of :func:`corridor.asylum.params.event_time` in the
same order (the same floats); the timer arrays hold a binary min-heap ordered by (time, agent,
kind) in ``[0, size)`` (a sorted array is also valid, so the twins can continue it). Each kernel
is compiled with ``cache=True``; its plain-NumPy twin is in :mod:`corridor.asylum.agent.twins`.
"""

from __future__ import annotations

import numba as nb
import numpy as np
from numpy.typing import NDArray

from corridor.engine.rng import uniform

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
