"""Numba kernels of one day of a non-preemptive multi-server queue (caseworkers or judges).

Reads: the priority classes (queue ids in order), the queues (``qhead``/``qtail``/``qnext``),
the agent columns ``state``, ``t_arrive``, ``t_next``; the servers' ``free_at``/``serving``
(persisting between days); the daily service rate (``rate_cum``, ``rate_day``) or a constant
mean service time; the service stream key. Produces: cases started (agent, start time, time
joined the queue), completed (agent, end time, in time order) and withdrawn at the head (agent,
withdrawal time); sets ``t_next`` of started cases to their end of service and unlinks them;
updates ``free_at``/``serving``. Reports: the three counts. State codes are left to the caller.

Invariants (the continuous-time queue, exactly; days only decide when results are reported):
servers are taken in order of the time they become free (ties by index); a free server takes the
first waiting case of the highest priority class that has one, or idles until the next arrival;
a case's work is Exp(1) (or 1 when fixed) from its own counter (stream key, day 0, agent, draw),
the same whoever serves it and whenever; work is done at the daily rate (:func:`work_end`), so a
change of productivity applies to cases already in service; servers above ``n_servers`` finish
their case and retire; decision cases whose withdrawal time (``t_next``) is reached before they
start are withdrawn (reneging). Twins: :mod:`corridor.asylum.agent.twins`.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np
from numpy.typing import NDArray

from corridor.asylum.agent.kernels_fifo import _pop_head
from corridor.engine.rng import uniform

_INF = np.inf


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


@nb.njit(cache=True, inline="always")
def _work(key: np.uint64, a: int, draw: int, exponential: bool) -> float:  # pragma: no cover
    if not exponential:
        return 1.0
    return -math.log1p(-uniform(key, 0, a, draw))


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
