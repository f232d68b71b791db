"""Numba kernels of the aggregate engine's queues: the fluid multi-server queue and cohort takes.

Reads: real-valued amounts — cases waiting, in service with active and retiring servers,
arrivals spread over the day, servers, the day's completion and withdrawal hazards; cohort
arrays ``coh[e, i]`` (decision/tribunal queues: cases of nationality ``i`` that joined with
cohort ``e``) or ``coh[e, i, kind]`` (exit route: people, kind 0 refused, 1 inadmissible), held
in units of a running ``scale``, with a first-cohort pointer per class or taker. Produces: one
day of the queue solved exactly for piecewise-constant rates (:func:`_queue_day`); amounts taken
from the head of a queue, by priority class then cohort (:func:`_take_queue`), or from the exit
route, oldest (or newest) cohort first, among eligible (nationality, kind)
(:func:`_take_exit`); one day of a queue stage with its cohorts (:func:`_queue_stage`: cases
withdrawn and completed by nationality, the new scale), paused nationalities set aside in their
cohorts
(:mod:`corridor.asylum.rules.pauses`). Reports: nothing.

Invariants: amounts never go negative (clamped at 0); within a cohort a take is in proportion;
the cohort pointers only move forward (except when the caller re-opens them); a scale below
:data:`_TINY` is folded back into the cohorts; when nothing waits the class totals are cleared.
Each kernel is compiled with ``cache=True``; ``.py_func`` runs the same source as Python.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np
from numpy.typing import NDArray

from corridor.asylum.rules.pauses import decidable, paused_withdrawals_expected
from corridor.asylum.rules.queues import servers_at_work

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
U8 = NDArray[np.uint8]
B = NDArray[np.bool_]

_TINY = 1e-200  # renormalise a cohort scale factor below this


@nb.njit(cache=True)
def _queue_day(
    q: float, a: float, r: float, lam: float, c: float, mu: float, w: float
) -> tuple[float, float, float, float, float, float]:  # pragma: no cover - compiled
    """One day of the fluid multi-server queue with reneging, solved exactly.

    ``q`` cases waiting, ``a`` in service with active servers (``a ≤ c``; ``a = c`` when
    ``q > 0``), ``r`` in service with retiring servers (they finish and leave), ``lam`` arrivals
    spread evenly over the day, ``c`` servers, ``mu`` completions per case in service a day,
    ``w`` withdrawals per waiting case a day. Regimes: cases wait and every active server is busy
    (``dq/dt = lam − mu·c − w·q``), or nobody waits and arrivals start at once
    (``da/dt = lam − mu·a``); at most a few switches a day. Returns ``(q, a, r)`` at the end of
    the day, cases completed, withdrawn and started.
    """
    r1 = r * math.exp(-mu)
    done = r - r1
    started = 0.0
    reneged = 0.0
    t = 0.0
    for _ in range(8):
        left = 1.0 - t
        if left <= 1e-12:
            break
        if q > 0.0 and a < c:  # free servers take waiting cases at once
            x = min(q, c - a)
            q -= x
            a += x
            started += x
        if q > 0.0 or (a >= c and lam > mu * c):
            # servers full, cases waiting (or starting to)
            a = c
            net = lam - mu * c
            dt = left
            empty = False
            if net < 0.0:
                if w > 0.0:
                    qe = net / w
                    t0 = math.log((q - qe) / (-qe)) / w
                else:
                    t0 = q / (-net)
                if t0 <= left:
                    dt = t0
                    empty = True
            if empty:
                q1 = 0.0
            elif w > 0.0:
                qe = net / w
                q1 = max(qe + (q - qe) * math.exp(-w * dt), 0.0)
            else:
                q1 = max(q + net * dt, 0.0)
            served = mu * c * dt
            reneged += max(q + lam * dt - served - q1, 0.0)
            started += served
            done += served
            q = q1
            t += dt
        else:
            # nobody waits: arrivals start at once
            dt = left
            full = False
            if mu > 0.0:
                ae = lam / mu
                if ae > c:
                    t_c = math.log((a - ae) / (c - ae)) / mu
                    if t_c <= left:
                        dt = t_c
                        full = True
                a1 = c if full else ae + (a - ae) * math.exp(-mu * dt)
            else:
                if lam > 0.0 and a + lam * left >= c:
                    dt = (c - a) / lam
                    full = True
                a1 = c if full else a + lam * dt
            started += lam * dt
            done += max(a + lam * dt - a1, 0.0)
            a = a1
            t += dt
    return q, a, r1, done, reneged, started


@nb.njit(cache=True)
def _take_queue(
    amount: float,
    coh: F64,
    scale: float,
    ptr: I64,
    pclass: U8,
    n_classes: int,
    last: int,
    total: F64,
    by_class: F64,
    out: F64,
    out_old: F64,
    skip: B,
) -> None:  # pragma: no cover - compiled
    """Take ``amount`` cases from the head of a queue: priority class 0 first, then by cohort.

    ``coh[e, i]`` holds cases of nationality ``i`` that joined with cohort ``e`` (``e = 0``: the
    initial backlog, ``e = d + 1``: day ``d``), in units of ``scale`` (actual = ``coh × scale``);
    their class is ``pclass[max(e − 1, 0), i]`` (the class of the day they joined). ``ptr[k]``:
    the first cohort that may hold class ``k``. Updates ``total`` (by nationality) and
    ``by_class``; adds what was taken to ``out`` (by nationality), and what was taken from
    cohorts before ``last`` to ``out_old``. Nationalities with ``skip[i]`` (paused,
    :mod:`corridor.asylum.rules.pauses`) are passed over: they keep their place, and the
    pointers may move past them (the caller re-opens the cohorts when the pause is lifted).
    """
    n = coh.shape[1]
    for k in range(n_classes):
        left = min(amount, by_class[k])
        if left <= 0.0:
            continue
        amount -= left
        e = ptr[k]
        while left > 0.0 and e <= last:
            row = pclass[max(e - 1, 0)]
            have = 0.0
            for i in range(n):
                if row[i] == k and not skip[i]:
                    have += coh[e, i]
            have *= scale
            if have <= 0.0:
                e += 1
                continue
            f = 1.0 if have <= left else left / have
            for i in range(n):
                if row[i] == k and not skip[i] and coh[e, i] > 0.0:
                    x = coh[e, i] * scale * f
                    out[i] += x
                    if e < last:
                        out_old[i] += x
                    total[i] = max(total[i] - x, 0.0)
                    coh[e, i] = 0.0 if f >= 1.0 else coh[e, i] * (1.0 - f)
            taken = min(have, left)
            by_class[k] = max(by_class[k] - taken, 0.0)
            left -= taken
            if f >= 1.0:
                e += 1
        ptr[k] = e
        amount += left  # not found (rounding): offered to the next class


@nb.njit(cache=True)
def _take_exit(
    amount: float,
    coh: F64,
    scale: float,
    ptr: I64,
    taker: int,
    elig: B,
    last: int,
    total: F64,
    out: F64,
    newest: bool,
) -> float:  # pragma: no cover - compiled
    """Take ``amount`` people, oldest cohort first (``newest``: newest first, from ``last``
    down), from the exit route entries ``(i, kind)`` where ``elig[i, kind]``; within a cohort in
    proportion. ``coh[e, i, kind]`` in units of ``scale``; ``ptr[taker]`` is the taker's first
    cohort that may hold eligible people (oldest first only). Updates ``total[i, kind]``; adds
    what was taken to ``out`` (by nationality); returns the amount."""
    n = coh.shape[1]
    left = amount
    e = last if newest else ptr[taker]
    step = -1 if newest else 1
    # newest first scans down with no pointer: callers never ask for more than there is, so a
    # rounding residue stops the scan (oldest first keeps its pointer and exact residue)
    tiny = 1e-12 * amount if newest else 0.0
    while left > tiny and 0 <= e <= last:
        have = 0.0
        for i in range(n):
            for k in range(2):
                if elig[i, k]:
                    have += coh[e, i, k]
        have *= scale
        if have <= 0.0:
            e += step
            continue
        f = 1.0 if have <= left else left / have
        for i in range(n):
            for k in range(2):
                if elig[i, k] and coh[e, i, k] > 0.0:
                    x = coh[e, i, k] * scale * f
                    out[i] += x
                    total[i, k] = max(total[i, k] - x, 0.0)
                    coh[e, i, k] = 0.0 if f >= 1.0 else coh[e, i, k] * (1.0 - f)
        left -= min(have, left)
        if f >= 1.0:
            e += step
    if not newest:
        ptr[taker] = e
    return amount - max(left, 0.0)


@nb.njit(cache=True)
def _queue_stage(
    d: int,
    arrivals: F64,
    pclass: U8,
    n_classes: int,
    paused: B,
    coh: F64,
    scale: float,
    ptr: I64,
    total: F64,
    by_class: F64,
    busy: F64,
    pool: F64,
    servers: float,
    mu: float,
    w: float,
    withdrawn: F64,
    completed: F64,
    tmp: F64,
    old: F64,
) -> float:  # pragma: no cover - compiled
    """One day of a queue stage (decisions or appeals) with its cohorts; returns the new scale.

    ``arrivals`` (cases by nationality) join today's cohort ``d + 1``; ``busy = [a, r]`` are the
    cases in service with active and retiring servers, ``pool`` the cases in service by
    nationality. Writes cases withdrawn and completed today by nationality.

    A nationality paused today (``paused[d]``, :mod:`corridor.asylum.rules.pauses`) is set
    aside: its waiting cases and arrivals are left out of the fluid queue (the servers serve
    the others), keep their cohorts and withdraw at the day's hazard
    (:func:`~corridor.asylum.rules.pauses.paused_withdrawals_expected`, spread with the queue's
    own withdrawals over every waiting case).
    """
    n = arrivals.shape[0]
    skip = paused[d]
    c = servers_at_work(servers, mu)  # fractional: a fluid queue's servers are a service rate
    b = busy[0] + busy[1]
    a = min(b, c)
    r = b - a
    q = 0.0
    held = 0.0  # set aside (paused nationalities), waiting since before today
    for i in range(n):
        if decidable(paused, d, i):
            q += total[i]
        else:
            held += total[i]
    # new (or idle) servers take waiting cases at the start of the day
    if a < c and q > 0.0:
        tmp[:] = 0.0
        _take_queue(
            min(q, c - a), coh, scale, ptr, pclass, n_classes, d, total, by_class, tmp, old, skip
        )
        fill = 0.0
        for i in range(n):
            pool[i] += tmp[i]
            fill += tmp[i]
        a += fill
        q = 0.0
        for i in range(n):
            if decidable(paused, d, i):
                q += total[i]
    lam = 0.0
    joined = 0.0  # today's arrivals of paused nationalities
    for i in range(n):
        if decidable(paused, d, i):
            lam += arrivals[i]
        else:
            joined += arrivals[i]
    s0 = a + r
    _, a1, r1, _, reneged, started = _queue_day(q, a, r, lam, c, mu, w)
    if held > 0.0 or joined > 0.0:
        reneged += paused_withdrawals_expected(held, joined, w)
    # today's arrivals join the queue; then the day's starts leave its head
    for i in range(n):
        coh[d + 1, i] = arrivals[i] / scale
        total[i] += arrivals[i]
        by_class[pclass[d, i]] += arrivals[i]
    tmp[:] = 0.0
    old[:] = 0.0
    if started > 0.0:
        _take_queue(
            started, coh, scale, ptr, pclass, n_classes, d + 1, total, by_class, tmp, old, skip
        )
    em = math.exp(-mu)
    phi = 0.0
    if started > 0.0:
        phi = min(max((a1 + r1 - s0 * em) / started, 0.0), 1.0)
    started_old = 0.0
    for i in range(n):
        new = pool[i] * em + tmp[i] * phi
        completed[i] = max(pool[i] + tmp[i] - new, 0.0)
        pool[i] = new
        started_old += old[i]
    busy[0] = a1
    busy[1] = r1
    # withdrawals, by time spent waiting today: cases that waited all day (1), today's arrivals
    # still waiting and older cases that started today (about half a day each); today's
    # arrivals that started today are taken to have waited no time.
    for i in range(n):
        withdrawn[i] = 0.0
    if reneged > 0.0:
        q_new = 0.0
        for i in range(n):
            q_new += coh[d + 1, i] * scale
        q_all = 0.0
        for i in range(n):
            q_all += total[i]
        q_old = max(q_all - q_new, 0.0)
        weight = q_old + 0.5 * q_new + 0.5 * started_old
        r_day = min(reneged / weight, 1.0) if weight > 0.0 else 0.0
        # older cases that started today: as many again leave the head, withdrawn
        if started_old > 0.0 and r_day > 0.0:
            tmp[:] = 0.0
            _take_queue(
                0.5 * r_day * started_old,
                coh,
                scale,
                ptr,
                pclass,
                n_classes,
                d + 1,
                total,
                by_class,
                tmp,
                old,
                skip,
            )
            for i in range(n):
                withdrawn[i] += tmp[i]
        # the others: today's cohort at half the rate of the older ones
        r_new = 0.5 * r_day
        today = np.zeros(n_classes)
        for i in range(n):
            x_new = coh[d + 1, i] * scale
            today[pclass[d, i]] += x_new
            x_old = max(total[i] - x_new, 0.0)
            out = x_old * r_day + x_new * r_new
            withdrawn[i] += out
            total[i] = max(total[i] - out, 0.0)
            coh[d + 1, i] *= 1.0 - r_new
        for k in range(n_classes):
            older = max(by_class[k] - today[k], 0.0)
            by_class[k] = older * (1.0 - r_day) + today[k] * (1.0 - r_new)
        # older cohorts: through the scale, today's cohort kept its own units
        new_scale = scale * (1.0 - r_day)
        if new_scale < _TINY:
            coh[: d + 1] *= new_scale
            new_scale = 1.0
        for i in range(n):
            coh[d + 1, i] *= scale / new_scale
        scale = new_scale
    q1 = 0.0
    for i in range(n):
        q1 += total[i]
    if q1 <= 0.0:  # nothing waits: clear rounding residue
        for k in range(n_classes):
            by_class[k] = 0.0
            ptr[k] = d + 2
    return scale
