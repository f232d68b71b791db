"""The aggregate engine: the expected-value stock-flow version of the asylum pipeline.

The same pipeline as the agent engine (:mod:`corridor.asylum.agents`), from the same parameters
(:func:`~corridor.asylum.params.build_params`), with people as expected (real-valued) counts by
nationality stepped forward one day at a time (explicit Euler on the daily flows). Each day, in
the order of :data:`corridor.engine.loop.PHASES`:

1. **claim** — arrivals ``× (1 − elasticity × p_removal)``: deterrence on the run's own expected
   outcomes, the shared rule of :func:`~corridor.asylum.params.p_removal` (removals and hub
   transfers among decisions, voluntary returns, removals, transfers and absconds of that
   nationality in ``[d − lag − window, d − lag)``); ``× claim_share`` claim; the inadmissible
   share is screened out — held as ``inadmissible`` if removable or some configured hub may take
   them, else in ``limbo`` — and the rest join the initial-decision queue.
2. **decide** — withdrawals (daily probability of the rate per year) from the cases waiting
   (not in service: ``max(n − c, 0)`` of ``n``); then decisions at the mean-field M/M/c
   throughput ``μ × min(n, c)`` = ``min(work, capacity)``, with ``n`` the cases in the system,
   ``c`` the caseworkers and ``μ`` the decisions one caseworker makes a day (so a case in service
   takes ``1/μ`` days on average, as in the agent engine); servers go to priority classes in
   order and, within a class, decisions are shared in proportion to the cases of each
   nationality (the fluid form of FIFO); grants and refusals at the day's grant rate. Queues
   count cases (people ÷ household size); stocks and flows count people.
3. **appeal** — a ``lodge_share`` of refusals lodge after ``lodging_days`` (in
   ``awaiting_appeal`` meanwhile); the tribunal determines ``μ × min(n, judges)`` a day
   (``μ`` = hearings per judge-day); ``allow_rate`` of them are granted. Refused people (no
   appeal, or dismissed) whose nationality has a returns agreement wait for removal
   (``refused``), the others are in ``limbo``.
4. **exit** — voluntary returns and absconding (daily probabilities) from ``refused``,
   ``limbo`` and ``inadmissible``; removals due today (listed ``removal_days`` ago); hub exits
   (mean stay ``stay_days``; removed onward / left / stayed); then removal listing of removable
   people (refused or inadmissible with a returns agreement) into detention up to
   ``min(removable, removal capacity a day, free detention places)``; then transfers to each
   operating hub, in listed order, up to ``min(eligible, seats a day, free beds)`` (eligible:
   refused and limbo if ``eligible_refused``, inadmissible if ``eligible_inadmissible``, of the
   hub's nationalities), pools in proportion to their size.
5. **record** — stocks at the end of the day and the day's flows, by nationality; costs priced by
   :func:`corridor.asylum.costs.price_activity` (the agent engine's rule).

As in the agent engine, withdrawn claims and arrivals who do not claim are outside the asylum
stocks; people leaving a hub in any of the three ways become ``departed``; ``new_hub_removals``
and ``new_hub_left`` count the ``removed_onward`` and ``left`` shares (the contract has no flow
for the ``stayed`` share, who appear only in ``departed``). So, for every nationality and day
(conservation, checked by the tests)::

    initial backlog share + Σ new_claims = Σ n_* + Σ new_withdrawals

Where the agent engine serves the oldest case first (FIFO), the aggregate engine serves each
nationality (and each pool of removal listing and hub transfers) in proportion to its size: the
two agree in totals and in steady state, not in the timing of each nationality's share.

The day loop is one Numba kernel (:func:`_kernel`, ``cache=True``); ``simulate(...,
compiled=False)`` runs the same source as plain Python.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from typing import Any

import numba as nb
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from corridor.asylum.costs import price_activity
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


@nb.njit(cache=True)
def _serve(
    cases: F64,
    servers: float,
    rate: float,
    pclass: NDArray[np.uint8],
    n_classes: int,
    out: F64,
) -> None:  # pragma: no cover - compiled
    """Cases finished today into ``out``: the mean-field M/M/c throughput ``rate × min(n, c)``.

    ``cases`` are in the system (waiting or in service), ``servers`` = c, ``rate`` = cases one
    server finishes a day. Servers go to priority classes in order (class 0 first); a class with
    ``n_k`` cases and ``s_k = min(n_k, servers left)`` servers finishes ``min(n_k, rate × s_k)``
    cases, shared pro rata among its nationalities.
    """
    n = cases.shape[0]
    left = servers
    for k in range(n_classes):
        nk = 0.0
        for i in range(n):
            if pclass[i] == k:
                nk += cases[i]
        if nk <= 0.0:
            continue
        sk = min(nk, left)
        done = min(nk, rate * sk)
        f = done / nk
        for i in range(n):
            if pclass[i] == k:
                out[i] = cases[i] * f
        left -= sk


@nb.njit(cache=True)
def _kernel(
    arrivals: F64,
    claim_share: F64,
    inad_share: F64,
    deter_on: NDArray[np.bool_],
    elasticity: F64,
    lag: int,
    window: int,
    servers_dec: F64,
    rate_dec: F64,
    pclass: NDArray[np.uint8],
    n_classes: int,
    grant_rate: F64,
    withdrawal_p: F64,
    init_w: F64,
    household: F64,
    lodge_share: F64,
    lodging_days: NDArray[np.int64],
    servers_app: F64,
    rate_app: F64,
    allow_rate: F64,
    voluntary_p: F64,
    abscond_p: F64,
    removal_cap: F64,
    detention_places: F64,
    removal_days: NDArray[np.int64],
    ret: NDArray[np.bool_],
    inad_held: NDArray[np.bool_],
    hub_operating: NDArray[np.bool_],
    elig_ref: NDArray[np.bool_],
    elig_inad: NDArray[np.bool_],
    hub_beds: F64,
    hub_seats: F64,
    hub_q: F64,
    hub_onward: F64,
    hub_leave: F64,
    stocks: F64,
    flows: F64,
    p_rem_out: F64,
    fac_out: F64,
    awaiting_people: F64,
    detained_people: F64,
    hub_people: F64,
    hub_tr: F64,
    dec_cases: F64,
    app_cases: F64,
) -> None:  # pragma: no cover - compiled; run as Python through .py_func in the tests
    days, n = arrivals.shape
    nh = hub_beds.shape[1]
    due_lodge = np.zeros((days + lodging_days.max() + 1, n))
    due_rem = np.zeros((days + removal_days.max() + 1, n))
    num_cum = np.zeros((days + 1, n))
    den_cum = np.zeros((days + 1, n))
    w = init_w.copy()
    pend = np.zeros(n)
    aq = np.zeros(n)
    granted = np.zeros(n)
    refused = np.zeros(n)
    limbo = np.zeros(n)
    inad = np.zeros(n)
    det = np.zeros(n)
    hub = np.zeros((nh, n))
    departed = np.zeros(n)
    absconded = np.zeros(n)
    cases = np.zeros(n)
    one_class = np.zeros(n, dtype=np.uint8)
    served = np.zeros(n)
    det_c = np.zeros(n)
    transfers = np.zeros(n)
    hub_removed = np.zeros(n)
    hub_left = np.zeros(n)
    hub_stayed = np.zeros(n)
    for d in range(days):
        fl = flows[d]
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
            w[i] += c - x
            if inad_held[i]:
                inad[i] += x
            else:
                limbo[i] += x
            fl[_F_ARR, i] = a
            fl[_F_CLAIMS, i] = c
            fl[_F_INADM, i] = x
        # 2. decide: withdrawals, then min(work, capacity), by class and pro rata
        # withdrawals: only cases waiting (not in service) renege
        in_system = 0.0
        for i in range(n):
            in_system += w[i] / household[i]
        waiting_share = 0.0
        if in_system > servers_dec[d]:
            waiting_share = (in_system - servers_dec[d]) / in_system
        for i in range(n):
            wd = w[i] * waiting_share * withdrawal_p[d]
            w[i] -= wd
            fl[_F_WD, i] = wd
            cases[i] = w[i] / household[i]
        served[:] = 0.0
        _serve(cases, servers_dec[d], rate_dec[d], pclass[d], n_classes, served)
        # 3. appeal: lodging delay, tribunal capacity
        lodge_at = d + lodging_days[d]
        for i in range(n):
            dec = served[i] * household[i]
            w[i] -= dec
            gr = dec * grant_rate[d, i]
            rf = dec - gr
            granted[i] += gr
            lod = rf * lodge_share[d]
            due_lodge[lodge_at, i] += lod
            pend[i] += lod
            lodged = due_lodge[d, i]
            pend[i] -= lodged
            aq[i] += lodged
            fl[_F_DEC, i] = dec
            fl[_F_GRANTS, i] = gr
            fl[_F_REF, i] = rf
            fl[_F_LODGED, i] = lodged
            cases[i] = aq[i] / household[i]
            # refused without appeal go onto the exit route now
            if ret[i]:
                refused[i] += rf - lod
            else:
                limbo[i] += rf - lod
        det_c[:] = 0.0
        _serve(cases, servers_app[d], rate_app[d], one_class, 1, det_c)
        for i in range(n):
            determined = det_c[i] * household[i]
            aq[i] -= determined
            allowed = determined * allow_rate[d]
            granted[i] += allowed
            if ret[i]:
                refused[i] += determined - allowed
            else:
                limbo[i] += determined - allowed
            fl[_F_DETERMINED, i] = determined
            fl[_F_ALLOWED, i] = allowed
        # 4. exit: clocks (voluntary, abscond, removals due, hub stays), then listing, transfers
        vp = voluntary_p[d]
        ap = abscond_p[d]
        keep = 1.0 - vp - ap
        for i in range(n):
            at_risk = refused[i] + limbo[i] + inad[i]
            fl[_F_VOL, i] = at_risk * vp
            fl[_F_ABS, i] = at_risk * ap
            refused[i] *= keep
            limbo[i] *= keep
            inad[i] *= keep
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
        # removal listing: removable refused and inadmissible, up to capacity and free places
        pool = 0.0
        held = 0.0
        for i in range(n):
            held += det[i]
            if ret[i]:
                pool += refused[i] + inad[i]
        listed_total = min(pool, removal_cap[d], max(detention_places[d] - held, 0.0))
        if listed_total > 0.0:
            frac = listed_total / pool
            rem_at = d + removal_days[d]
            for i in range(n):
                if ret[i]:
                    li = (refused[i] + inad[i]) * frac
                    refused[i] -= refused[i] * frac
                    inad[i] -= inad[i] * frac
                    if rem_at == d:  # removed the same day
                        fl[_F_REM, i] += li
                    else:
                        det[i] += li
                        due_rem[rem_at, i] += li
        # transfers to each operating hub, in listed order
        for j in range(nh):
            if not hub_operating[d, j]:
                continue
            tot = 0.0
            for i in range(n):
                if elig_ref[j, i]:
                    tot += refused[i] + limbo[i]
                if elig_inad[j, i]:
                    tot += inad[i]
            room = max(hub_beds[d, j] - hub_people[d, j], 0.0)
            moved = min(tot, hub_seats[d, j], room)
            if moved <= 0.0:
                continue
            frac = moved / tot
            for i in range(n):
                got = 0.0
                if elig_ref[j, i]:
                    got += (refused[i] + limbo[i]) * frac
                    refused[i] -= refused[i] * frac
                    limbo[i] -= limbo[i] * frac
                if elig_inad[j, i]:
                    got += inad[i] * frac
                    inad[i] -= inad[i] * frac
                hub[j, i] += got
                transfers[i] += got
            hub_people[d, j] += moved
            hub_tr[d, j] = moved
        # 5. record
        st = stocks[d]
        tot_await = 0.0
        tot_det = 0.0
        tot_dec = 0.0
        tot_app = 0.0
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
            st[_AWAIT_DEC, i] = w[i]
            st[_AWAIT_APP, i] = pend[i] + aq[i]
            st[_GRANTED, i] = granted[i]
            st[_REFUSED, i] = refused[i]
            st[_DETAINED, i] = det[i]
            st[_LIMBO, i] = limbo[i]
            st[_IN_HUB, i] = in_hub
            st[_INADM, i] = inad[i]
            st[_DEPARTED, i] = departed[i]
            st[_ABSCONDED, i] = absconded[i]
            num_cum[d + 1, i] = num_cum[d, i] + fl[_F_REM, i] + transfers[i]
            den_cum[d + 1, i] = (
                den_cum[d, i]
                + fl[_F_DEC, i]
                + fl[_F_VOL, i]
                + fl[_F_REM, i]
                + transfers[i]
                + fl[_F_ABS, i]
            )
            tot_await += w[i] + pend[i] + aq[i]
            tot_det += det[i]
            tot_dec += served[i]
            tot_app += det_c[i]
        awaiting_people[d] = tot_await
        detained_people[d] = tot_det
        dec_cases[d] = tot_dec
        app_cases[d] = tot_app


@dataclasses.dataclass(frozen=True, eq=False)
class Simulated:
    """Raw arrays of one aggregate run (people by day, stage or flow, and nationality)."""

    stocks: F64  # (days, len(STOCKS), nat)
    flows: F64  # (days, len(FLOWS), nat)
    p_removal: F64  # (days, nat) as seen by deterrence that day (0 when off)
    factor: F64  # (days, nat) arrivals multiplier
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
    # Inadmissible claimants are held (stock "inadmissible") if removable or some configured hub
    # may take them; otherwise they are in limbo (as the agent engine does).
    inad_held = p.returns_agreement | elig[:, :, 1].any(axis=0)
    f64 = np.float64
    out = Simulated(
        stocks=np.zeros((days, len(STOCKS), n)),
        flows=np.zeros((days, len(FLOWS), n)),
        p_removal=np.zeros((days, n)),
        factor=np.ones((days, n)),
        awaiting_people=np.zeros(days),
        detained_people=np.zeros(days),
        hub_people=np.zeros((days, nh)),
        hub_transfers=np.zeros((days, nh)),
        decision_cases=np.zeros(days),
        appeal_cases=np.zeros(days),
    )
    hub_q = -np.expm1(-1.0 / np.maximum(p.hub_stay_days, 1e-12)) if nh else np.zeros((days, 0))
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
        np.ascontiguousarray(p.withdrawal_p, dtype=f64),
        np.ascontiguousarray(float(p.initial_backlog) * p.initial_mix, dtype=f64),
        np.ascontiguousarray(p.household, dtype=f64),
        np.ascontiguousarray(p.lodge_share, dtype=f64),
        np.ascontiguousarray(np.maximum(p.lodging_days, 0), dtype=np.int64),
        np.ascontiguousarray(p.judges, dtype=f64),
        np.ascontiguousarray(p.hearings_per_judge_day, dtype=f64),
        np.ascontiguousarray(p.allow_rate, dtype=f64),
        np.ascontiguousarray(p.voluntary_p, dtype=f64),
        np.ascontiguousarray(p.abscond_p, dtype=f64),
        np.ascontiguousarray(p.removal_capacity_day, dtype=f64),
        np.ascontiguousarray(p.detention_places, dtype=f64),
        np.ascontiguousarray(np.maximum(p.removal_days, 0), dtype=np.int64),
        np.ascontiguousarray(p.returns_agreement, dtype=np.bool_),
        np.ascontiguousarray(inad_held, dtype=np.bool_),
        np.ascontiguousarray(p.hub_operating, dtype=np.bool_).reshape(days, nh),
        np.ascontiguousarray(elig[:, :, 0]),
        np.ascontiguousarray(elig[:, :, 1]),
        np.ascontiguousarray(p.hub_beds, dtype=f64).reshape(days, nh),
        np.ascontiguousarray(p.hub_seats_day, dtype=f64).reshape(days, nh),
        np.ascontiguousarray(hub_q, dtype=f64).reshape(days, nh),
        np.ascontiguousarray(p.hub_shares[:, :, 0] if nh else np.zeros((days, 0)), dtype=f64),
        np.ascontiguousarray(p.hub_shares[:, :, 1] if nh else np.zeros((days, 0)), dtype=f64),
        out.stocks,
        out.flows,
        out.p_removal,
        out.factor,
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
        from corridor.asylum.run import apply_overrides  # the one implementation

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
            "queue_decision": sim.stocks[:, _S["awaiting_decision"], :].reshape(-1),
            "queue_appeal": sim.stocks[:, _S["awaiting_appeal"], :].reshape(-1),
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
