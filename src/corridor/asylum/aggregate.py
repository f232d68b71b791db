"""The aggregate engine: the expected-value stock-flow version of the asylum pipeline.

The same model as the agent engine (:mod:`corridor.asylum.agents`), from the same parameters
(:func:`~corridor.asylum.params.build_params`; the rules are written there once), with people as
expected (real-valued) amounts: the large-population (fluid) limit of the agent engine, to which
the mean of agent runs converges as agents grow (``tests/test_engines_agree.py``). Each day, in
the order of :data:`corridor.engine.loop.PHASES`:

1. **claim** — arrivals ``× (1 − elasticity × p_removal)`` (deterrence on the run's own expected
   outcomes, :func:`~corridor.asylum.params.p_removal`); ``× claim_share`` claim; the
   inadmissible share is screened out onto the exit route; the rest join the decision queue,
   spread evenly over the day, in the priority class of the day.
2. **decide** — the decision queue in continuous time within the day (:func:`_queue_day`, exact
   for piecewise-constant rates): servers busy whenever cases wait, each finishing cases at the
   day's productivity (hazard ``μ``); waiting cases withdraw at the withdrawal hazard; servers
   removed by a schedule finish their cases first; new servers take waiting cases at the start of
   the day. Cases enter service by priority class, then first come first served: the queue is
   held as **cohorts by the day cases joined** (:func:`_take_queue`), so the nationality mix of
   decisions is that of the cases at the head, as in the agent engine, not the mix of the whole
   queue. Decisions grant at the day's grant rate. Queues count cases (people ÷ household size);
   stocks and flows count people.
3. **appeal** — a ``lodge_share`` of refusals lodge after ``lodging_days``; the tribunal is the
   same queue (``judges`` servers, ``hearings_per_judge_month``; no withdrawals), cohorts by
   lodging day; ``allow_rate`` of determinations grant.
4. **exit** — people refused (no appeal, or dismissed) and inadmissible people wait on the exit
   route, held as cohorts by the day they entered it, by nationality and kind (refused,
   inadmissible). The voluntary-return and abscond clocks compete (daily probabilities
   :attr:`~corridor.asylum.params.AsylumParams.depart_p`, ``depart_p_entry`` for today's
   entrants); removals listed ``removal_days`` ago are removed; hub stays end
   (``hub_exit_p``; removed onward / left / stayed); then removal listing takes the **oldest**
   removable people (nationalities with a returns agreement in force that day, both kinds) up to
   ``min(removal capacity a day, free detention places)``; then each operating hub, in listed
   order, takes the oldest eligible people up to ``min(seats a day, free beds)``
   (:func:`_take_exit`).
5. **record** — stocks at the end of the day and the day's flows, by nationality; the exit
   route is reported as ``refused`` (removable that day), ``limbo`` (not removable, or
   inadmissible and not held) or ``inadmissible``; costs priced by
   :func:`corridor.asylum.costs.price_activity` (the agent engine's rule).

As in the agent engine, withdrawn claims and arrivals who do not claim are outside the asylum
stocks; people leaving a hub in any of the three ways become ``departed``; ``new_hub_removals``
and ``new_hub_left`` count the ``removed_onward`` and ``left`` shares. So, for every nationality
and day (conservation, checked by the tests)::

    initial backlog share + Σ new_claims = Σ n_* + Σ new_withdrawals

What the expected values cannot carry: integer server counts (the agent engine rounds
``servers × agents_per_person``), household sizes beyond their mean (capacities are filled to
the exact amount), and ``service: fixed`` (the aggregate engine treats every service as
exponential). Within a day, the mix of today's entrants that start service or leave is their
share of the day's amounts.

The day loop is one Numba kernel (:func:`_kernel`, ``cache=True``); ``simulate(...,
compiled=False)`` runs the same source as plain Python.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Mapping
from typing import Any

import numba as nb
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from corridor.asylum.costs import price_activity
from corridor.asylum.overrides import apply_overrides
from corridor.asylum.params import (
    DETERRENCE_DENOMINATOR,
    DETERRENCE_NUMERATOR,
    FLOW_INDEX,
    HOST_POSITIONS,
    STOCK_INDEX,
    AsylumParams,
    build_params,
)
from corridor.asylum.result import FLOW_COLUMNS, STOCK_COLUMNS, ScenarioResult
from corridor.scenario.loaded import LoadedScenario
from corridor.scenario.schema import FLOWS, STOCKS

__all__ = ["ENGINE", "Simulated", "run_aggregate", "simulate"]

ENGINE = "aggregate"
F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
U8 = NDArray[np.uint8]
B = NDArray[np.bool_]

_S = STOCK_INDEX
_F = FLOW_INDEX


# Indices of the stocks and flows (compile-time constants of the kernel).
_AWAIT_DEC = _S["awaiting_decision"]
_AWAIT_APP = _S["awaiting_appeal"]
_GRANTED = _S["granted"]
_REFUSED = _S["refused"]
_DETAINED = _S["detained"]
_LIMBO = _S["limbo"]
_IN_HUB = _S["in_hub"]
_INADM = _S["inadmissible"]
_DEPARTED = _S["departed"]
_ABSCONDED = _S["absconded"]
_F_ARR = _F["arrivals"]
_F_CLAIMS = _F["claims"]
_F_WD = _F["withdrawals"]
_F_DEC = _F["decisions"]
_F_GRANTS = _F["grants"]
_F_REF = _F["refusals"]
_F_LODGED = _F["appeals_lodged"]
_F_DETERMINED = _F["appeals_determined"]
_F_ALLOWED = _F["appeals_allowed"]
_F_INADM = _F["inadmissible"]
_F_VOL = _F["voluntary_returns"]
_F_REM = _F["removals"]
_F_HUB_TR = _F["hub_transfers"]
_F_HUB_REM = _F["hub_removals"]
_F_HUB_LEFT = _F["hub_left"]
_F_ABS = _F["absconds"]

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
) -> None:  # pragma: no cover - compiled
    """Take ``amount`` cases from the head of a queue: priority class 0 first, then by cohort.

    ``coh[e, i]`` holds cases of nationality ``i`` that joined with cohort ``e`` (``e = 0``: the
    initial backlog, ``e = d + 1``: day ``d``), in units of ``scale`` (actual = ``coh × scale``);
    their class is ``pclass[max(e − 1, 0), i]`` (the class of the day they joined). ``ptr[k]``:
    the first cohort that may hold class ``k``. Updates ``total`` (by nationality) and
    ``by_class``; adds what was taken to ``out`` (by nationality), and what was taken from
    cohorts before ``last`` to ``out_old``.
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
                if row[i] == k:
                    have += coh[e, i]
            have *= scale
            if have <= 0.0:
                e += 1
                continue
            f = 1.0 if have <= left else left / have
            for i in range(n):
                if row[i] == k and coh[e, i] > 0.0:
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
) -> float:  # pragma: no cover - compiled
    """Take ``amount`` people, oldest cohort first, from the exit route entries ``(i, kind)``
    where ``elig[i, kind]``; within a cohort in proportion. ``coh[e, i, kind]`` in units of
    ``scale``; ``ptr[taker]`` is the taker's first cohort that may hold eligible people. Updates
    ``total[i, kind]``; adds what was taken to ``out`` (by nationality); returns the amount."""
    n = coh.shape[1]
    left = amount
    e = ptr[taker]
    while left > 0.0 and e <= last:
        have = 0.0
        for i in range(n):
            for k in range(2):
                if elig[i, k]:
                    have += coh[e, i, k]
        have *= scale
        if have <= 0.0:
            e += 1
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
            e += 1
    ptr[taker] = e
    return amount - max(left, 0.0)


@nb.njit(cache=True)
def _queue_stage(
    d: int,
    arrivals: F64,
    pclass: U8,
    n_classes: int,
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
    """
    n = arrivals.shape[0]
    c = servers if mu > 0.0 else 0.0
    b = busy[0] + busy[1]
    a = min(b, c)
    r = b - a
    q = 0.0
    for i in range(n):
        q += total[i]
    # new (or idle) servers take waiting cases at the start of the day
    if a < c and q > 0.0:
        tmp[:] = 0.0
        _take_queue(min(q, c - a), coh, scale, ptr, pclass, n_classes, d, total, by_class, tmp, old)
        fill = 0.0
        for i in range(n):
            pool[i] += tmp[i]
            fill += tmp[i]
        a += fill
        q = 0.0
        for i in range(n):
            q += total[i]
    lam = 0.0
    for i in range(n):
        lam += arrivals[i]
    s0 = a + r
    _, a1, r1, _, reneged, started = _queue_day(q, a, r, lam, c, mu, w)
    # today's arrivals join the queue; then the day's starts leave its head
    for i in range(n):
        coh[d + 1, i] = arrivals[i] / scale
        total[i] += arrivals[i]
        by_class[pclass[d, i]] += arrivals[i]
    tmp[:] = 0.0
    old[:] = 0.0
    if started > 0.0:
        _take_queue(started, coh, scale, ptr, pclass, n_classes, d + 1, total, by_class, tmp, old)
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


@nb.njit(cache=True)
def _kernel(
    arrivals: F64,
    claim_share: F64,
    inad_share: F64,
    deter_on: B,
    elasticity: F64,
    lag: int,
    window: int,
    servers_dec: F64,
    rate_dec: F64,
    pclass: U8,
    n_classes: int,
    grant_rate: F64,
    withdrawal_hazard: F64,
    init_cases: F64,
    household: F64,
    lodge_share: F64,
    lodging_days: I64,
    servers_app: F64,
    rate_app: F64,
    allow_rate: F64,
    depart_p: F64,
    depart_p_entry: F64,
    voluntary_share: F64,
    removal_cap: F64,
    detention_places: F64,
    removal_days: I64,
    removable: B,
    inad_held: B,
    hub_operating: B,
    elig_ref: B,
    elig_inad: B,
    hub_beds: F64,
    hub_seats: F64,
    hub_q: F64,
    hub_onward: F64,
    hub_leave: F64,
    stocks: F64,
    flows: F64,
    p_rem_out: F64,
    fac_out: F64,
    queue_out: F64,
    awaiting_people: F64,
    detained_people: F64,
    hub_people: F64,
    hub_tr: F64,
    dec_cases: F64,
    app_cases: F64,
) -> None:  # pragma: no cover - compiled; run as Python through .py_func in the tests
    days, n = arrivals.shape
    nh = hub_beds.shape[1]
    due_lodge = np.zeros((days + lodging_days.max() + 1, n))  # cases
    due_rem = np.zeros((days + removal_days.max() + 1, n))  # people
    num_cum = np.zeros((days + 1, n))
    den_cum = np.zeros((days + 1, n))
    # decision queue: cohorts (cases), totals, in service
    coh_d = np.zeros((days + 1, n))
    wait_d = init_cases.copy()
    class_d = np.zeros(n_classes)
    for i in range(n):
        coh_d[0, i] = init_cases[i]
        class_d[pclass[0, i]] += init_cases[i]
    ptr_d = np.zeros(n_classes, dtype=np.int64)
    scale_d = 1.0
    busy_d = np.zeros(2)
    pool_d = np.zeros(n)
    # tribunal: cohorts by lodging day (cases), one class
    one_class = np.zeros((days, n), dtype=np.uint8)
    coh_a = np.zeros((days + 1, n))
    wait_a = np.zeros(n)
    class_a = np.zeros(1)
    ptr_a = np.ones(1, dtype=np.int64)
    busy_a = np.zeros(2)
    pool_a = np.zeros(n)
    pend = np.zeros(n)  # refused, appeal being lodged (cases)
    # exit route: cohorts by entry day (people), nationality, kind (0 refused, 1 inadmissible)
    coh_x = np.zeros((days + 1, n, 2))
    scale_x = 1.0
    tot_x = np.zeros((n, 2))
    enter = np.zeros((n, 2))  # entered today (people)
    ptr_x = np.ones(nh + 1, dtype=np.int64)  # 0: removal listing, 1 + j: hub j
    elig_rem = np.zeros((n, 2), dtype=np.bool_)
    elig_hub = np.zeros((nh, n, 2), dtype=np.bool_)
    for j in range(nh):
        for i in range(n):
            elig_hub[j, i, 0] = elig_ref[j, i]
            elig_hub[j, i, 1] = elig_inad[j, i]
    granted = np.zeros(n)
    det = np.zeros(n)
    hub = np.zeros((nh, n))
    departed = np.zeros(n)
    absconded = np.zeros(n)
    lam = np.zeros(n)
    wd = np.zeros(n)
    done = np.zeros(n)
    tmp = np.zeros(n)
    got = np.zeros(n)
    transfers = np.zeros(n)
    hub_removed = np.zeros(n)
    hub_left = np.zeros(n)
    hub_stayed = np.zeros(n)
    for d in range(days):
        fl = flows[d]
        # 0. returns agreements in force today; a change re-opens older cohorts to listing
        changed = d == 0
        for i in range(n):
            if d > 0 and removable[d, i] != removable[d - 1, i]:
                changed = True
            elig_rem[i, 0] = removable[d, i]
            elig_rem[i, 1] = removable[d, i]
        if changed:
            ptr_x[0] = 1
        # 1. claim: deterrence on the run's own outcomes, then claims and screening
        hi = min(max(d - lag, 0), d)
        lo = max(hi - window, 0)
        for i in range(n):
            a = arrivals[d, i]
            if deter_on[d]:
                den = den_cum[hi, i] - den_cum[lo, i]
                pr = 0.0
                if den > 0.0:
                    pr = min(max((num_cum[hi, i] - num_cum[lo, i]) / den, 0.0), 1.0)
                f = min(max(1.0 - elasticity[d] * pr, 0.0), 1.0)
                p_rem_out[d, i] = pr
                fac_out[d, i] = f
                a *= f
            c = a * claim_share[d]
            x = c * inad_share[d, i]
            lam[i] = (c - x) / household[i]
            enter[i, 1] += x
            fl[_F_ARR, i] = a
            fl[_F_CLAIMS, i] = c
            fl[_F_INADM, i] = x
        # 2. decide
        scale_d = _queue_stage(
            d,
            lam,
            pclass,
            n_classes,
            coh_d,
            scale_d,
            ptr_d,
            wait_d,
            class_d,
            busy_d,
            pool_d,
            servers_dec[d],
            rate_dec[d],
            withdrawal_hazard[d],
            wd,
            done,
            tmp,
            got,
        )
        lodge_at = d + lodging_days[d]
        tot_dec = 0.0
        for i in range(n):
            fl[_F_WD, i] = wd[i] * household[i]
            dec = done[i] * household[i]
            tot_dec += done[i]
            gr = dec * grant_rate[d, i]
            rf = dec - gr
            granted[i] += gr
            lod = rf * lodge_share[d]
            due_lodge[lodge_at, i] += lod / household[i]
            pend[i] += lod / household[i]
            enter[i, 0] += rf - lod
            fl[_F_DEC, i] = dec
            fl[_F_GRANTS, i] = gr
            fl[_F_REF, i] = rf
        dec_cases[d] = tot_dec
        # 3. appeal: lodged today join the tribunal queue
        for i in range(n):
            lam[i] = due_lodge[d, i]
            pend[i] = max(pend[i] - lam[i], 0.0)
            fl[_F_LODGED, i] = lam[i] * household[i]
        _queue_stage(
            d,
            lam,
            one_class,
            1,
            coh_a,
            1.0,
            ptr_a,
            wait_a,
            class_a,
            busy_a,
            pool_a,
            servers_app[d],
            rate_app[d],
            0.0,
            wd,
            done,
            tmp,
            got,
        )
        tot_app = 0.0
        for i in range(n):
            determined = done[i] * household[i]
            tot_app += done[i]
            allowed = determined * allow_rate[d]
            granted[i] += allowed
            enter[i, 0] += determined - allowed
            fl[_F_DETERMINED, i] = determined
            fl[_F_ALLOWED, i] = allowed
        app_cases[d] = tot_app
        # 4. exit: clocks, removals due, hub stays; then listing and transfers
        pf = depart_p[d]
        pe = depart_p_entry[d]
        vs = voluntary_share[d]
        for i in range(n):
            leave = 0.0
            for k in range(2):
                leave += tot_x[i, k] * pf + enter[i, k] * pe
                tot_x[i, k] *= 1.0 - pf
            fl[_F_VOL, i] = leave * vs
            fl[_F_ABS, i] = leave * (1.0 - vs)
        scale_x *= 1.0 - pf
        if scale_x < _TINY:
            coh_x[: d + 1] *= scale_x
            scale_x = 1.0
        for i in range(n):
            for k in range(2):
                x = enter[i, k] * (1.0 - pe)
                coh_x[d + 1, i, k] = x / scale_x
                tot_x[i, k] += x
                enter[i, k] = 0.0
            removed = due_rem[d, i]
            det[i] -= removed
            fl[_F_REM, i] = removed
            hub_removed[i] = 0.0
            hub_left[i] = 0.0
            hub_stayed[i] = 0.0
            transfers[i] = 0.0
        for j in range(nh):
            occ = 0.0
            for i in range(n):
                ex = hub[j, i] * hub_q[d, j]
                hub[j, i] -= ex
                hub_removed[i] += ex * hub_onward[d, j]
                hub_left[i] += ex * hub_leave[d, j]
                hub_stayed[i] += ex * (1.0 - hub_onward[d, j] - hub_leave[d, j])
                occ += hub[j, i]
            hub_people[d, j] = occ
        # removal listing: the oldest removable people, up to capacity and free places
        pool = 0.0
        held = 0.0
        for i in range(n):
            held += det[i]
            if removable[d, i]:
                pool += tot_x[i, 0] + tot_x[i, 1]
        listed = min(pool, removal_cap[d], max(detention_places[d] - held, 0.0))
        if listed > 0.0:
            got[:] = 0.0
            _take_exit(listed, coh_x, scale_x, ptr_x, 0, elig_rem, d + 1, tot_x, got)
            rem_at = d + removal_days[d]
            for i in range(n):
                if rem_at == d:  # removed the same day
                    fl[_F_REM, i] += got[i]
                else:
                    det[i] += got[i]
                    due_rem[rem_at, i] += got[i]
        # transfers to each operating hub, in listed order: the oldest eligible people
        for j in range(nh):
            if not hub_operating[d, j]:
                continue
            tot = 0.0
            for i in range(n):
                if elig_ref[j, i]:
                    tot += tot_x[i, 0]
                if elig_inad[j, i]:
                    tot += tot_x[i, 1]
            room = max(hub_beds[d, j] - hub_people[d, j], 0.0)
            moved = min(tot, hub_seats[d, j], room)
            if moved <= 0.0:
                continue
            got[:] = 0.0
            moved = _take_exit(moved, coh_x, scale_x, ptr_x, 1 + j, elig_hub[j], d + 1, tot_x, got)
            for i in range(n):
                hub[j, i] += got[i]
                transfers[i] += got[i]
            hub_people[d, j] += moved
            hub_tr[d, j] = moved
        # 5. record
        st = stocks[d]
        tot_await = 0.0
        tot_det = 0.0
        for i in range(n):
            fl[_F_HUB_TR, i] = transfers[i]
            fl[_F_HUB_REM, i] = hub_removed[i]
            fl[_F_HUB_LEFT, i] = hub_left[i]
            departed[i] += (
                fl[_F_VOL, i] + fl[_F_REM, i] + hub_removed[i] + hub_left[i] + hub_stayed[i]
            )
            absconded[i] += fl[_F_ABS, i]
            in_hub = 0.0
            for j in range(nh):
                in_hub += hub[j, i]
            h = household[i]
            st[_AWAIT_DEC, i] = (wait_d[i] + pool_d[i]) * h
            st[_AWAIT_APP, i] = (pend[i] + wait_a[i] + pool_a[i]) * h
            st[_GRANTED, i] = granted[i]
            ref = tot_x[i, 0]
            inad = tot_x[i, 1]
            st[_REFUSED, i] = ref if removable[d, i] else 0.0
            st[_LIMBO, i] = (0.0 if removable[d, i] else ref) + (0.0 if inad_held[d, i] else inad)
            st[_INADM, i] = inad if inad_held[d, i] else 0.0
            st[_DETAINED, i] = det[i]
            st[_IN_HUB, i] = in_hub
            st[_DEPARTED, i] = departed[i]
            st[_ABSCONDED, i] = absconded[i]
            queue_out[d, 0, i] = wait_d[i] * h
            queue_out[d, 1, i] = (pend[i] + wait_a[i]) * h
            num_cum[d + 1, i] = num_cum[d, i] + fl[_F_REM, i] + transfers[i]
            den_cum[d + 1, i] = (
                den_cum[d, i]
                + fl[_F_DEC, i]
                + fl[_F_VOL, i]
                + fl[_F_REM, i]
                + transfers[i]
                + fl[_F_ABS, i]
            )
            tot_await += st[_AWAIT_DEC, i] + st[_AWAIT_APP, i]
            tot_det += det[i]
        awaiting_people[d] = tot_await
        detained_people[d] = tot_det


@dataclasses.dataclass(frozen=True, eq=False)
class Simulated:
    """Raw arrays of one aggregate run (people by day, stage or flow, and nationality)."""

    stocks: F64  # (days, len(STOCKS), nat)
    flows: F64  # (days, len(FLOWS), nat)
    p_removal: F64  # (days, nat) as seen by deterrence that day (0 when off)
    factor: F64  # (days, nat) arrivals multiplier
    queues: F64  # (days, 2, nat) people waiting (not in service) for a caseworker, for a judge
    awaiting_people: F64  # (days,) awaiting a decision or an appeal
    detained_people: F64  # (days,)
    hub_people: F64  # (days, hubs) at the end of the day
    hub_transfers: F64  # (days, hubs)
    decision_cases: F64  # (days,) initial decisions, main applicants
    appeal_cases: F64  # (days,) appeals determined, main applicants


def simulate(p: AsylumParams, *, compiled: bool = True) -> Simulated:
    """Step the expected-value pipeline over every day of ``p`` (see the module docstring).

    ``compiled=False`` runs the same kernel as plain Python (slow; for tests and debugging).
    """
    if DETERRENCE_NUMERATOR != ("removals", "hub_transfers") or DETERRENCE_DENOMINATOR != (
        "decisions",
        "voluntary_returns",
        "removals",
        "hub_transfers",
        "absconds",
    ):  # the kernel spells the shared deterrence rule out; keep them in step
        raise RuntimeError("the deterrence outcome lists changed: update the aggregate kernel")
    days, n, nh = p.days, p.n_nat, p.n_hubs
    elig = p.hub_eligible if nh else np.zeros((0, n, 2), dtype=bool)
    f64 = np.float64
    out = Simulated(
        stocks=np.zeros((days, len(STOCKS), n)),
        flows=np.zeros((days, len(FLOWS), n)),
        p_removal=np.zeros((days, n)),
        factor=np.ones((days, n)),
        queues=np.zeros((days, 2, n)),
        awaiting_people=np.zeros(days),
        detained_people=np.zeros(days),
        hub_people=np.zeros((days, nh)),
        hub_transfers=np.zeros((days, nh)),
        decision_cases=np.zeros(days),
        appeal_cases=np.zeros(days),
    )

    def hubs(a: Any) -> F64:
        return np.ascontiguousarray(a, dtype=f64).reshape(days, nh)

    kernel = _kernel if compiled else _kernel.py_func
    kernel(
        np.ascontiguousarray(p.arrivals, dtype=f64),
        np.ascontiguousarray(p.claim_share, dtype=f64),
        np.ascontiguousarray(p.inadmissible_share, dtype=f64),
        np.ascontiguousarray(p.deterrence_on & (p.elasticity > 0)),
        np.ascontiguousarray(p.elasticity, dtype=f64),
        int(p.deterrence_lag_days),
        int(p.deterrence_window_days),
        np.ascontiguousarray(p.caseworkers, dtype=f64),
        np.ascontiguousarray(p.decisions_per_caseworker_day, dtype=f64),
        np.ascontiguousarray(p.priority_class, dtype=np.uint8),
        int(p.n_classes),
        np.ascontiguousarray(p.grant_rate, dtype=f64),
        np.ascontiguousarray(p.withdrawal_hazard, dtype=f64),
        np.ascontiguousarray(p.initial_cases, dtype=f64),
        np.ascontiguousarray(p.household, dtype=f64),
        np.ascontiguousarray(p.lodge_share, dtype=f64),
        np.ascontiguousarray(np.maximum(p.lodging_days, 0), dtype=np.int64),
        np.ascontiguousarray(p.judges, dtype=f64),
        np.ascontiguousarray(p.hearings_per_judge_day, dtype=f64),
        np.ascontiguousarray(p.allow_rate, dtype=f64),
        np.ascontiguousarray(p.depart_p, dtype=f64),
        np.ascontiguousarray(p.depart_p_entry, dtype=f64),
        np.ascontiguousarray(p.voluntary_share, dtype=f64),
        np.ascontiguousarray(p.removal_capacity_day, dtype=f64),
        np.ascontiguousarray(p.detention_places, dtype=f64),
        np.ascontiguousarray(np.maximum(p.removal_days, 0), dtype=np.int64),
        np.ascontiguousarray(p.removable, dtype=np.bool_),
        np.ascontiguousarray(p.inad_held, dtype=np.bool_),
        np.ascontiguousarray(p.hub_operating, dtype=np.bool_).reshape(days, nh),
        np.ascontiguousarray(elig[:, :, 0]),
        np.ascontiguousarray(elig[:, :, 1]),
        hubs(p.hub_beds),
        hubs(p.hub_seats_day),
        hubs(p.hub_exit_p if nh else np.zeros((days, 0))),
        hubs(p.hub_shares[:, :, 0] if nh else np.zeros((days, 0))),
        hubs(p.hub_shares[:, :, 1] if nh else np.zeros((days, 0))),
        out.stocks,
        out.flows,
        out.p_removal,
        out.factor,
        out.queues,
        out.awaiting_people,
        out.detained_people,
        out.hub_people,
        out.hub_transfers,
        out.decision_cases,
        out.appeal_cases,
    )
    return out


def _long(
    dates: pd.DatetimeIndex, nats: tuple[str, ...], arr: F64, cols: tuple[str, ...]
) -> pd.DataFrame:
    days, _, n = arr.shape
    data: dict[str, Any] = {
        "date": np.repeat(dates.values, n),
        "nationality": np.tile(np.array(nats, dtype=object), days),
    }
    for i, c in enumerate(cols):
        data[c] = arr[:, i, :].reshape(-1)
    return pd.DataFrame(data)


def _hubs_meta(p: AsylumParams) -> dict[str, dict[str, Any]]:
    """Per hub: hypothetical (operates only because it is hypothetical: its host refused),
    operating days and first operating day."""
    refused = p.host_position == HOST_POSITIONS.index("refused")
    out: dict[str, dict[str, Any]] = {}
    for j, hid in enumerate(p.hub_ids):
        first = int(p.hub_first_operating[j])
        out[hid] = {
            "hypothetical": bool(p.hub_hypothetical[:, j].any()),
            "hypothetical_operation": bool(
                (p.hub_operating[:, j] & p.hub_hypothetical[:, j] & refused[:, j]).any()
            ),
            "operating_days": int(p.hub_operating[:, j].sum()),
            "first_operating": None if first < 0 else str(p.dates[first].date()),
        }
    return out


def run_aggregate(
    loaded: LoadedScenario, overrides: Mapping[str, object] | None = None
) -> ScenarioResult:
    """Run the aggregate (expected-value) engine on a loaded scenario.

    ``overrides`` maps dotted paths of the scenario to values applied before the run, as in
    :func:`corridor.asylum.run.run_scenario` (e.g. ``{"deterrence.enabled": False,
    "hubs.hub_kosovo.beds": 0}``). Returns daily stocks and flows by nationality (every ``n_*``
    and ``new_*`` column of the contract, people), the costs table and ``events`` (per day and
    nationality: ``p_removal`` and ``arrivals_factor`` seen by deterrence, people waiting for a
    caseworker ``queue_decision`` or for a judge, lodging included, ``queue_appeal``).
    """
    t0 = time.perf_counter()
    if overrides:
        loaded = apply_overrides(loaded, overrides)
    p = build_params(loaded)
    t1 = time.perf_counter()
    sim = simulate(p)
    t2 = time.perf_counter()
    costs = price_activity(
        p,
        awaiting_people=sim.awaiting_people,
        detained_people=sim.detained_people,
        hub_people=sim.hub_people,
        decision_cases=sim.decision_cases,
        appeal_cases=sim.appeal_cases,
        removals=sim.flows[:, _F["removals"], :].sum(axis=1),
        hub_transfers=sim.hub_transfers,
    )
    stocks = _long(p.dates, p.nationalities, sim.stocks, STOCK_COLUMNS)
    flows = _long(p.dates, p.nationalities, sim.flows, FLOW_COLUMNS)
    n = p.n_nat
    events = pd.DataFrame(
        {
            "date": np.repeat(p.dates.values, n),
            "nationality": np.tile(np.array(p.nationalities, dtype=object), p.days),
            "p_removal": sim.p_removal.reshape(-1),
            "arrivals_factor": sim.factor.reshape(-1),
            "queue_decision": sim.queues[:, 0, :].reshape(-1),
            "queue_appeal": sim.queues[:, 1, :].reshape(-1),
        }
    )
    t3 = time.perf_counter()
    fl = sim.flows.sum(axis=(0, 2))
    meta: dict[str, Any] = {
        "engine": ENGINE,
        "scenario": loaded.name,
        "content_hash": loaded.content_hash,
        "days": p.days,
        "initial_people": float(p.initial_backlog),
        "not_claimed_people": float(fl[_F["arrivals"]] - fl[_F["claims"]]),
        "withdrawn_people": float(fl[_F["withdrawals"]]),
        "hubs": _hubs_meta(p),
        "seconds": {
            "params": t1 - t0,
            "simulate": t2 - t1,
            "tables": t3 - t2,
            "total": t3 - t0,
        },
    }
    if overrides:
        meta["overrides"] = dict(overrides)
    return ScenarioResult(stocks=stocks, flows=flows, costs=costs, meta=meta, events=events)
