"""The aggregate engine's day loop: one Numba kernel (:func:`_kernel`, ``cache=True``).

Reads: the daily parameter arrays of :class:`~corridor.asylum.params.AsylumParams`, passed as
contiguous arrays by :func:`corridor.asylum.cohort.driver.simulate`. Produces (writes into the
output arrays it is given): stocks by (day, stock, nationality) and flows by (day, flow,
nationality) in people; the deterrence share and arrivals factor; people waiting for a
caseworker or a judge; people awaiting, detained and in each hub; hub transfers; decisions and
appeals determined in cases. Reports: nothing else (the driver assembles the result).

Each day, in the order of :data:`corridor.engine.loop.PHASES`: returns agreements in force (a
change re-opens older cohorts to listing); **spawn** (the day's arrivals plus people back from a
hub, :mod:`~corridor.asylum.rules.reentry`); **claim** (deterrence on the run's own outcomes,
claims, screening); **decide** (:func:`~corridor.asylum.cohort.fluid_queue._queue_stage`, grants
and refusals, appeal lodging scheduled; nationalities paused that day set aside,
:mod:`~corridor.asylum.rules.pauses`, their cohorts re-opened the day the pause is lifted);
**appeal** (the tribunal stage, allowed or dismissed); **exit** (competing exit clocks,
removals due, hub stays ending, removal listing and hub transfers by
:func:`~corridor.asylum.cohort.fluid_queue._take_exit`; hub leavers scheduled to come back by
:func:`~corridor.asylum.rules.reentry.schedule_reentry`; people returned to the UK from a hub
back on the exit route the same day as the kind of
:func:`~corridor.asylum.rules.exits.returned_kind`, before listing and transfers); **record**.

Invariants: conservation — for every nationality and day, initial backlog share + initial
refused + Σ new_claims = Σ n_* + Σ new_withdrawals (the initial refused are cohort 0 of the exit
route); the rules the agent engine shares live in
:mod:`corridor.asylum.rules` and are called from here; queues count
cases (people ÷ household size), stocks and flows count people.
"""

from __future__ import annotations

import numba as nb
import numpy as np
from numpy.typing import NDArray

from corridor.asylum.cohort.fluid_queue import _TINY, _queue_stage, _take_exit
from corridor.asylum.params import (
    DETERRENCE_DENOMINATOR_INDEX,
    DETERRENCE_NUMERATOR_INDEX,
    FLOW_INDEX,
    STOCK_INDEX,
)
from corridor.asylum.rules.appeals import allowed_expected
from corridor.asylum.rules.claims import screen_expected
from corridor.asylum.rules.decisions import decide_expected, lodging_time
from corridor.asylum.rules.deterrence import (
    arrivals_factor,
    deterrence_window,
    record_outcomes,
    removal_share,
)
from corridor.asylum.rules.exits import (
    INADMISSIBLE_KIND,
    REFUSED_KIND,
    agreement_changed,
    day_budget,
    exit_held,
    free_room,
    hub_split,
    removal_day,
    returned_kind,
)
from corridor.asylum.rules.pauses import pause_lifted
from corridor.asylum.rules.reentry import schedule_reentry

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
_F_HUB_RET = _F["hub_returned_uk"]
_F_ABS = _F["absconds"]
_F_REENTERED = _F["hub_reentered"]
_NUM_IDX = DETERRENCE_NUMERATOR_INDEX
_DEN_IDX = DETERRENCE_DENOMINATOR_INDEX


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
    paused: B,
    grant_rate: F64,
    withdrawal_hazard: F64,
    init_cases: F64,
    init_refused: F64,
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
    newest_first: bool,
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
    hub_back: F64,
    hub_reentry: F64,
    hub_reach: F64,
    hub_reentry_days: F64,
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
    due_route = np.zeros((days, n))  # people back on the routes from a hub (re-entry)
    due_uk = np.zeros((days, n))  # ... of whom arrive in the UK
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
    no_pause = np.zeros((days, n), dtype=np.bool_)  # appeals are not paused
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
    ptr_x = np.zeros(nh + 1, dtype=np.int64)  # 0: removal listing, 1 + j: hub j
    for i in range(n):  # refused before day 0 and still here: cohort 0, the oldest
        coh_x[0, i, 0] = init_refused[i]
        tot_x[i, 0] = init_refused[i]
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
    hub_returned = np.zeros((n, 2))  # brought back to the UK today, by exit-route kind
    for d in range(days):
        fl = flows[d]
        # 0. returns agreements in force today; a change re-opens older cohorts to listing
        changed = d == 0
        for i in range(n):
            if agreement_changed(removable, inad_held, d, i):
                changed = True
            elig_rem[i, 0] = removable[d, i]
            elig_rem[i, 1] = removable[d, i]
        if changed:
            ptr_x[0] = 0
        # 1. claim: deterrence on the run's own outcomes, then claims and screening
        lo, hi = deterrence_window(d, lag, window)
        for i in range(n):
            a = arrivals[d, i] + due_uk[d, i]  # people back from a hub are arrivals too
            fl[_F_REENTERED, i] = due_route[d, i]
            if deter_on[d]:
                pr = removal_share(num_cum, den_cum, lo, hi, i)
                f = arrivals_factor(elasticity[d], pr)
                p_rem_out[d, i] = pr
                fac_out[d, i] = f
                a *= f
            c, x, queued = screen_expected(a, claim_share[d], inad_share[d, i])
            lam[i] = queued / household[i]
            enter[i, 1] += x
            fl[_F_ARR, i] = a
            fl[_F_CLAIMS, i] = c
            fl[_F_INADM, i] = x
        # 2. decide (a pause lifted today re-opens the older cohorts to the queue)
        for i in range(n):
            if pause_lifted(paused, d, i):
                ptr_d[:] = 0
        scale_d = _queue_stage(
            d,
            lam,
            pclass,
            n_classes,
            paused,
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
        lodge_at = int(lodging_time(float(d), lodging_days[d]))
        tot_dec = 0.0
        for i in range(n):
            fl[_F_WD, i] = wd[i] * household[i]
            dec = done[i] * household[i]
            tot_dec += done[i]
            gr, lod, to_exit = decide_expected(dec, grant_rate[d, i], lodge_share[d])
            rf = dec - gr
            granted[i] += gr
            due_lodge[lodge_at, i] += lod / household[i]
            pend[i] += lod / household[i]
            enter[i, 0] += to_exit
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
            no_pause,
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
            allowed = allowed_expected(determined, allow_rate[d])
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
            hub_returned[i, 0] = 0.0
            hub_returned[i, 1] = 0.0
            transfers[i] = 0.0
        for j in range(nh):
            occ = 0.0
            for i in range(n):
                ex = hub[j, i] * hub_q[d, j]
                hub[j, i] -= ex
                onward, left, back, stayed = hub_split(
                    ex, hub_onward[d, j], hub_leave[d, j], hub_back[d, j]
                )
                hub_returned[i, returned_kind(elig_ref[j, i])] += back
                hub_removed[i] += onward
                hub_left[i] += left
                schedule_reentry(
                    due_route,
                    due_uk,
                    d,
                    i,
                    left,
                    hub_reentry[d, j],
                    hub_reach[d, j],
                    hub_reentry_days[d, j],
                )
                hub_stayed[i] += stayed
                occ += hub[j, i]
            hub_people[d, j] = occ
        # people returned to the UK rejoin the exit route today (a cohort of today's entrants)
        for i in range(n):
            for k in range(2):
                x = hub_returned[i, k]
                if x > 0.0:
                    coh_x[d + 1, i, k] += x / scale_x
                    tot_x[i, k] += x
        # removal listing: the oldest removable people, up to capacity and free places
        pool = 0.0
        held = 0.0
        for i in range(n):
            held += det[i]
            if removable[d, i]:
                pool += tot_x[i, 0] + tot_x[i, 1]
        room = max(free_room(detention_places[d], 1.0, held), 0.0)
        listed = min(pool, day_budget(0.0, removal_cap[d], 1.0), room)
        if listed > 0.0:
            got[:] = 0.0
            _take_exit(listed, coh_x, scale_x, ptr_x, 0, elig_rem, d + 1, tot_x, got, newest_first)
            rem_at = removal_day(d, removal_days[d])
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
            room = max(free_room(hub_beds[d, j], 1.0, hub_people[d, j]), 0.0)
            moved = min(tot, day_budget(0.0, hub_seats[d, j], 1.0), room)
            if moved <= 0.0:
                continue
            got[:] = 0.0
            moved = _take_exit(
                moved, coh_x, scale_x, ptr_x, 1 + j, elig_hub[j], d + 1, tot_x, got, newest_first
            )
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
            fl[_F_HUB_RET, i] = hub_returned[i, 0] + hub_returned[i, 1]
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
            held_ref = exit_held(REFUSED_KIND, removable[d, i], inad_held[d, i])
            held_inad = exit_held(INADMISSIBLE_KIND, removable[d, i], inad_held[d, i])
            st[_REFUSED, i] = ref if held_ref else 0.0
            st[_LIMBO, i] = (0.0 if held_ref else ref) + (0.0 if held_inad else inad)
            st[_INADM, i] = inad if held_inad else 0.0
            st[_DETAINED, i] = det[i]
            st[_IN_HUB, i] = in_hub
            st[_DEPARTED, i] = departed[i]
            st[_ABSCONDED, i] = absconded[i]
            queue_out[d, 0, i] = wait_d[i] * h
            queue_out[d, 1, i] = (pend[i] + wait_a[i]) * h
            tot_await += st[_AWAIT_DEC, i] + st[_AWAIT_APP, i]
            tot_det += det[i]
        awaiting_people[d] = tot_await
        record_outcomes(num_cum, den_cum, d, fl.T, _NUM_IDX, _DEN_IDX)
        detained_people[d] = tot_det
