"""The agent engine's modules, one per phase of the day (the engine's ``Module`` protocol).

Reads: the shared :class:`~corridor.asylum.agent.state.AsylumState` (params, agent table,
queues, servers, timers) and the engine's :class:`~corridor.engine.loop.Simulation` (seed, agent
table). Adds: cases (:class:`Arrivals`: the initial backlog on day 0, then the day's arrivals).
Changes: states, queues, server pools, budgets and clocks, phase by phase —
:class:`Policies` (``policies``), :class:`Arrivals` (``spawn``), :class:`Claims` (``claim``),
:class:`Decisions` (``decide``), :class:`Appeals` (``appeal``), :class:`Exits` (``exit``),
:class:`Recorder` (``record``). Reports (as people, through the state's records): every ``new_*``
flow of :data:`~corridor.scenario.schema.FLOWS` on the day it happens (appeals lodged on the
lodging day), stocks, queue lengths, hub occupancy and transfers, the deterrence share and
factor; case counts of decisions and appeals for costs.

Invariants: conservation — each person is in exactly one state, and ``initial + Σ
new_arrivals = Σ n_* + Σ (new_arrivals − new_claims) + Σ new_withdrawals`` every day
(``Options.audit`` recounts the table daily and raises on a difference); no case is left in
state NEW at the end of a day; capacities (removals, seats) are taken in FIFO order of the time
cases entered the exit route, a household that does not fit waits; the step order and rules are
those described in :mod:`corridor.asylum.agents`.
"""

from __future__ import annotations

import logging

import numpy as np
from numpy.typing import NDArray

from corridor.asylum.agent import codes as qk
from corridor.asylum.agent.state import (
    EXIT_WAITING,
    INADMISSIBLE_KIND,
    REFUSED_KIND,
    STATE_TO_STOCK,
    AsylumState,
)
from corridor.asylum.params import (
    DETERRENCE_DENOMINATOR_INDEX,
    DETERRENCE_NUMERATOR_INDEX,
    deterrence_factor,
    p_removal,
)
from corridor.asylum.rules.appeals import allowed
from corridor.asylum.rules.claims import INADMISSIBLE, NOT_CLAIMED, QUEUED, screen
from corridor.asylum.rules.decisions import APPEALS, GRANTED, decide, lodging_times
from corridor.asylum.rules.deterrence import record_outcomes
from corridor.asylum.rules.exits import (
    HUB_LEFT,
    HUB_ONWARD,
    HUB_RETURNED,
    agreements_changed,
    day_budget,
    free_room,
    hub_outcomes,
    removal_day,
    returned_kind,
)
from corridor.asylum.rules.queues import whole_servers
from corridor.engine.loop import Simulation
from corridor.engine.rng import generator

log = logging.getLogger("corridor.asylum.agents")

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]


class _Part:
    """Base of the modules: they share one :class:`AsylumState`."""

    name = "asylum"
    phases: tuple[str, ...] = ()

    def __init__(self, state: AsylumState) -> None:
        self.s = state

    def init(self, sim: Simulation) -> None:
        return None

    def step(self, sim: Simulation, day: int, phase: str) -> None:  # pragma: no cover
        raise NotImplementedError


class Policies(_Part):
    """Applies dated values at the start of the day: server pools, hub seat budgets.

    Requires: params (schedules and Policy overrides already merged into daily arrays).
    Changes: the caseworker and judge pools; clears seat budgets of hubs not operating today;
    on a day a returns agreement starts or ends, the removal queues and the state of the people
    of that nationality waiting on the exit route (LIMBO ↔ REFUSED / INADMISSIBLE).
    """

    name = "asylum.policies"
    phases = ("policies",)

    def step(self, sim: Simulation, day: int, phase: str) -> None:
        s, p = self.s, self.s.p
        s.caseworkers.set_count(whole_servers(p.caseworkers[day], p.sample), day)
        s.judges.set_count(whole_servers(p.judges[day], p.sample), day)
        changed = agreements_changed(p.removable, p.inad_held, day)
        if changed.size:
            s.set_removable(day)
            s.restate(day, changed)
            log.info("day %d: returns agreements change for %s", day, changed.tolist())
        if p.n_hubs:
            s.hub_budget[~p.hub_operating[day]] = 0.0
            if day > 0:
                for h in np.flatnonzero(p.hub_operating[day] != p.hub_operating[day - 1]):
                    log.info(
                        "day %d: hub %s %s",
                        day,
                        p.hub_ids[h],
                        "starts operating" if p.hub_operating[day, h] else "stops operating",
                    )


class Arrivals(_Part):
    """Spawns cases: the initial backlog on day 0, then the day's arrivals, then people back
    from a hub who reach the UK again (:mod:`corridor.asylum.rules.reentry`).

    Adds agents (state NEW, or WAITING_DECISION for the backlog). Reports ``new_arrivals``,
    ``new_hub_reentered``;
    records the deterrence share and factor used (``events``).
    """

    name = "asylum.arrivals"
    phases = ("spawn",)

    def step(self, sim: Simulation, day: int, phase: str) -> None:
        s, p = self.s, self.s.p
        if day == 0 and p.initial_backlog > 0:
            self._initial(sim)
        if day == 0 and p.initial_refused.sum() > 0:
            self._initial_refused(sim)
        factor = np.ones(p.n_nat)
        if p.deterrence_on[day]:
            prem = p_removal(
                s.num_cum, s.den_cum, day, p.deterrence_lag_days, p.deterrence_window_days
            )
            factor = deterrence_factor(p, prem, day)
            s.p_removal_days[day] = prem
        s.factor_days[day] = factor
        lam = p.arrivals[day] * factor * p.sample / p.household
        g = generator(sim.seed, "arrivals", day)
        counts = g.poisson(lam)
        n = int(counts.sum())
        nat = np.repeat(np.arange(p.n_nat, dtype=np.uint8), counts)
        u = g.random(n)
        people = np.minimum(1 + g.poisson(p.household[nat] - 1.0), 255).astype(np.uint8)
        order = np.argsort(u, kind="stable")
        t = _in_day(day + u[order], day)
        ids = sim.agents.add(
            n,
            nationality=nat[order],
            people=people[order],
            t_arrive=t,
            t_state=t,
            state=qk.NEW,
        )
        s.stock[:, qk.NEW] += np.bincount(nat, weights=people, minlength=p.n_nat).astype(np.int64)
        s.flow(day, ids, "arrivals")
        s.new_lo, s.new_hi = int(ids[0]) if n else sim.agents.n, sim.agents.n
        self._back(sim, day, factor)

    def _back(self, sim: Simulation, day: int, factor: F64) -> None:
        """People who left a hub and are back on the routes today (``new_hub_reentered``);
        those who reach the UK arrive as new cases, deterred like every arrival."""
        s = self.s
        due = s.back.pop(day, None)
        if not due:
            return
        ids = np.concatenate([d[0] for d in due])
        s.flow(day, ids, "hub_reentered")
        a = ids[np.concatenate([d[1] for d in due])]
        nat = s.col("nationality")[a]
        a = a[s.draw("reentry_arrive", a) < factor[nat]]
        if a.size == 0:
            return
        nat, people = s.col("nationality")[a], s.col("people")[a]
        t = _in_day(np.full(a.size, day + 0.5), day)
        new = sim.agents.add(
            a.size, nationality=nat, people=people, t_arrive=t, t_state=t, state=qk.NEW
        )
        s.stock[:, qk.NEW] += np.bincount(nat, weights=people, minlength=s.p.n_nat).astype(np.int64)
        s.flow(day, new, "arrivals")
        s.new_hi = sim.agents.n

    def _spawn_initial(self, sim: Simulation, stream: str, cases: F64) -> tuple[I64, int]:
        """Cases present on day 0 (``cases`` by nationality, sampled; claimed in the year before
        day 0, in agent order) as NEW agents, and their people."""
        s, p = self.s, self.s.p
        g = generator(sim.seed, stream)
        total = float(cases.sum())
        n = int(np.rint(total * p.sample))
        nat = g.choice(p.n_nat, size=n, p=cases / total).astype(np.uint8)
        people = np.minimum(1 + g.poisson(p.household[nat] - 1.0), 255).astype(np.uint8)
        t = np.sort(-365.0 * g.random(n)).astype(np.float32)
        ids = sim.agents.add(n, nationality=nat, people=people, t_arrive=t, t_state=t, state=qk.NEW)
        s.stock[:, qk.NEW] += np.bincount(nat, weights=people, minlength=p.n_nat).astype(np.int64)
        return ids, int(people.sum())

    def _initial(self, sim: Simulation) -> None:
        """People awaiting a decision on day 0 join the decision queue, oldest claims first."""
        ids, self.s.initial_people = self._spawn_initial(sim, "initial", self.s.p.initial_cases)
        self.s.enqueue_decision(ids, 0)

    def _initial_refused(self, sim: Simulation) -> None:
        """People refused before day 0 and still here join the exit route: their clocks start on
        day 0; in the removal order they come before (oldest first) or after (newest first) the
        people refused on day 0 (refused at -1: the aggregate engine's cohort 0)."""
        s, p = self.s, self.s.p
        ids, s.initial_refused_people = self._spawn_initial(
            sim, "initial_refused", p.initial_refused / p.household
        )
        s.exit_route(0, ids, np.full(ids.size, -1.0), REFUSED_KIND)


class Claims(_Part):
    """Today's arrivals claim (or not) and are screened for inadmissibility.

    Reports ``new_claims``, ``new_inadmissible``. Moves NEW → NOT_CLAIMED | INADMISSIBLE |
    LIMBO | WAITING_DECISION.
    """

    name = "asylum.claims"
    phases = ("claim",)

    def step(self, sim: Simulation, day: int, phase: str) -> None:
        s, p = self.s, self.s.p
        ids = np.arange(s.new_lo, s.new_hi, dtype=np.int64)
        if ids.size == 0:
            return
        nat = s.col("nationality")[ids]
        out = screen(
            s.draw("claim", ids),
            s.draw("inadmissible", ids),
            float(p.claim_share[day]),
            np.ascontiguousarray(p.inadmissible_share[day, nat]),
        )
        s.move(ids[out == NOT_CLAIMED], qk.NOT_CLAIMED)
        s.flow(day, ids[out != NOT_CLAIMED], "claims")
        ia = ids[out == INADMISSIBLE]
        s.flow(day, ia, "inadmissible")
        s.exit_route(day, ia, s.col("t_arrive")[ia].astype(np.float64), INADMISSIBLE_KIND)
        s.enqueue_decision(ids[out == QUEUED], day)


class Decisions(_Part):
    """The initial-decision queue (caseworkers): service, decisions, withdrawals; the cases of
    a nationality paused that day wait aside (:mod:`corridor.asylum.rules.pauses`).

    Reports ``new_decisions``, ``new_grants``, ``new_refusals``, ``new_appeals_lodged`` (on the
    lodging day), ``new_withdrawals``; case counts for costs.
    """

    name = "asylum.decisions"
    phases = ("decide",)

    def step(self, sim: Simulation, day: int, phase: str) -> None:
        s, p = self.s, self.s.p
        s.apply_pauses(day)  # paused nationalities wait aside (rules.pauses)
        _, _, done, t_done, wd, _ = s.serve(day, s.caseworkers, s.classes, False)
        s.move(wd, qk.WITHDRAWN)
        s.flow(day, wd, "withdrawals")
        if done.size:
            s.flow(day, done, "decisions")
            s.cases[day, 0] += done.size
            nat = s.col("nationality")[done]
            out = decide(
                s.draw("grant", done),
                s.draw("appeal", done),
                np.ascontiguousarray(p.grant_rate[day, nat]),
                float(p.lodge_share[day]),
            )
            grant = out == GRANTED
            s.move(done[grant], qk.GRANTED)
            s.flow(day, done[grant], "grants")
            ref, t_ref = done[~grant], t_done[~grant]
            s.flow(day, ref, "refusals")
            lodge = out[~grant] == APPEALS
            app, t_app = ref[lodge], lodging_times(t_ref[lodge], int(p.lodging_days[day]))
            s.move(app, qk.WAITING_APPEAL)
            s.col("t_state")[app] = t_ref[lodge].astype(np.float32)
            s.col("t_next")[app] = t_app.astype(np.float32)
            lodge_day = np.floor(t_app).astype(np.int64)
            inside = lodge_day < p.days
            s.flow(lodge_day[inside], app[inside], "appeals_lodged")
            s.kern.append(
                s.qhead, s.qtail, s.col("qnext"), np.full(app.size, s.q_appeal, np.int64), app
            )
            s.waiting_cases[1] += app.size
            s.exit_route(day, ref[~lodge], t_ref[~lodge], REFUSED_KIND)
        # withdrawals due today among cases still waiting
        t, a, _ = s.decide_timers.pop_due(day + 1.0)
        ok = (s.col("state")[a] == qk.WAITING_DECISION) & (
            s.col("t_next")[a].astype(np.float64) == t
        )
        a = a[ok]
        s.move(a, qk.WITHDRAWN)
        s.flow(day, a, "withdrawals")
        s.waiting_cases[0] -= a.size


class Appeals(_Part):
    """The tribunal queue (judges). Reports ``new_appeals_determined``, ``new_appeals_allowed``."""

    name = "asylum.appeals"
    phases = ("appeal",)

    def step(self, sim: Simulation, day: int, phase: str) -> None:
        s, p = self.s, self.s.p
        _, _, done, t_done, _, _ = s.serve(day, s.judges, np.asarray([s.q_appeal], np.int64), True)
        if done.size == 0:
            return
        s.flow(day, done, "appeals_determined")
        s.cases[day, 1] += done.size
        allow = allowed(s.draw("allow", done), float(p.allow_rate[day]))
        s.move(done[allow], qk.GRANTED)
        s.flow(day, done[allow], "appeals_allowed")
        s.exit_route(day, done[~allow], t_done[~allow], REFUSED_KIND)


class Exits(_Part):
    """Departures, absconding, removals and hub transfers.

    Reports ``new_voluntary_returns``, ``new_absconds``, ``new_removals``, ``new_hub_transfers``,
    ``new_hub_removals``, ``new_hub_left``, ``new_hub_returned_uk``; hub leavers due back on the
    routes are kept for :class:`Arrivals`
    (:meth:`~corridor.asylum.agent.state.AsylumState.schedule_back`); people returned to the UK
    from a hub rejoin the exit route at the time their stay ended, as the kind of
    :func:`~corridor.asylum.rules.exits.returned_kind`.
    """

    name = "asylum.exits"
    phases = ("exit",)

    def step(self, sim: Simulation, day: int, phase: str) -> None:
        self._clocks(day)
        self._removals(day)
        for h in range(self.s.p.n_hubs):
            if self.s.p.hub_operating[day, h]:
                self._transfers(day, h)

    def _clocks(self, day: int) -> None:
        s, p = self.s, self.s.p
        t, a, k = s.exit_timers.pop_due(day + 1.0)
        if a.size == 0:
            return
        state = s.col("state")[a]
        live = s.col("t_next")[a].astype(np.float64) == t
        waiting = live & EXIT_WAITING[state]
        vol = a[waiting & (k == qk.T_VOLUNTARY)]
        s.move(vol, qk.DEPARTED)
        s.flow(day, vol, "voluntary_returns")
        ab = a[waiting & (k == qk.T_ABSCOND)]
        s.move(ab, qk.ABSCONDED)
        s.flow(day, ab, "absconds")
        rem = a[live & (state == qk.DETAINED) & (k == qk.T_REMOVE)]
        s.move(rem, qk.DEPARTED)
        s.flow(day, rem, "removals")
        ended = live & (state == qk.IN_HUB) & (k == qk.T_HUB_EXIT)
        out = a[ended]
        if out.size:
            hub = s.col("hub")[out].astype(np.int64)
            np.subtract.at(s.hub_occ, hub, s.col("people")[out].astype(np.int64))
            shares = p.hub_shares[day, hub]
            u = s.draw("hub_outcome", out)
            outcome = hub_outcomes(u, *(np.ascontiguousarray(shares[:, c]) for c in (0, 1, 3)))
            back = outcome == HUB_RETURNED
            s.move(out[~back], qk.DEPARTED)
            onward = outcome == HUB_ONWARD
            left = outcome == HUB_LEFT
            s.flow(day, out[onward], "hub_removals")
            s.flow(day, out[left], "hub_left")
            s.schedule_back(day, out[left], hub[left])
            self._returned(day, out[back], hub[back], t[ended][back])

    def _returned(self, day: int, ids: I64, hub: I64, t: F64) -> None:
        """People brought back to the UK from hubs ``hub`` at times ``t``: back on the exit
        route (``new_hub_returned_uk``)."""
        s = self.s
        if ids.size == 0:
            return
        s.flow(day, ids, "hub_returned_uk")
        rounds = s.col("returned")
        rounds[ids] = np.minimum(rounds[ids].astype(np.int64) + 1, 255).astype(np.uint8)
        nat = s.col("nationality")[ids].astype(np.int64)
        kind = np.asarray(
            [returned_kind(bool(r)) for r in s.p.hub_eligible[hub, nat, 0]], dtype=np.int64
        )
        for k in (REFUSED_KIND, INADMISSIBLE_KIND):
            m = kind == k
            s.exit_route(day, ids[m], t[m], k)

    def _take(self, queues: I64, budget: float, room: float, taker: int) -> tuple[I64, float]:
        """Cases handed over from ``queues`` (oldest or newest first, :mod:`kernels_fifo`) by
        ``taker`` (0: removal listing, 1 + h: hub h) while ``budget`` and ``room`` last."""
        s = self.s
        out = np.empty(max(int(budget), 0) + queues.size + 2, np.int64)
        args = (
            queues,
            s.qhead,
            s.qtail,
            s.col("qnext"),
            s.col("state"),
            EXIT_WAITING,
            s.col("t_state"),
            s.col("people"),
            budget,
            room,
            out,
        )
        if s.p.exit_newest_first:
            n, budget, _ = s.kern.take_newest(*args, s.exit_credit[taker])
        else:
            n, budget, _ = s.kern.take_fifo(*args)
        return out[:n], float(budget)

    def _removals(self, day: int) -> None:
        s, p = self.s, self.s.p
        s.removal_budget = day_budget(s.removal_budget, p.removal_capacity_day[day], p.sample)
        if s.removal_budget <= 0 or not s.stock[s.removable][:, EXIT_WAITING].any():
            return
        room = free_room(p.detention_places[day], p.sample, float(s.stock[:, qk.DETAINED].sum()))
        ids, s.removal_budget = self._take(s.removal_queues, s.removal_budget, room, 0)
        if ids.size == 0:
            return
        at = removal_day(day, int(p.removal_days[day]))
        if at == day:  # removed the same day
            s.move(ids, qk.DEPARTED)
            s.flow(day, ids, "removals")
            return
        s.move(ids, qk.DETAINED)
        s.col("t_state")[ids] = np.float32(day + 1)
        # detained at the end of days day .. day + removal_days - 1, removed on the last day
        t = np.full(ids.size, float(at))
        s.col("t_next")[ids] = t.astype(np.float32)
        s.exit_timers.push(t, ids, qk.T_REMOVE, p.days)

    def _transfers(self, day: int, h: int) -> None:
        s, p = self.s, self.s.p
        s.hub_budget[h] = day_budget(float(s.hub_budget[h]), p.hub_seats_day[day, h], p.sample)
        queues = s.hub_queues[h]
        if queues.size == 0 or s.hub_budget[h] <= 0 or not s.stock[:, EXIT_WAITING].any():
            return
        room = free_room(p.hub_beds[day, h], p.sample, float(s.hub_occ[h]))
        ids, s.hub_budget[h] = self._take(queues, float(s.hub_budget[h]), room, 1 + h)
        if ids.size == 0:
            return
        s.move(ids, qk.IN_HUB)
        s.col("hub")[ids] = h
        s.col("t_state")[ids] = np.float32(day + 1)
        t0 = np.full(ids.size, day + 1.0)
        t_end = s.kern.event_times(s.h_hub[h], s.hub_hazard[h], t0, s.clock("hub_stay", ids))
        t = t_end.astype(np.float32)
        s.col("t_next")[ids] = t
        s.exit_timers.push(t.astype(np.float64), ids, qk.T_HUB_EXIT, p.days)
        s.flow(day, ids, "hub_transfers")
        ppl = int(s.col("people")[ids].astype(np.int64).sum())
        s.hub_occ[h] += ppl
        s.hub_transfers_days[day, h] += ppl


class Recorder(_Part):
    """Writes the day's stocks, queue lengths, hub occupancy and deterrence sums.

    With ``audit`` it recounts people by (nationality, state) from the agent table and raises
    ``AssertionError`` if the running counts differ (conservation check).
    """

    name = "asylum.record"
    phases = ("record",)

    def step(self, sim: Simulation, day: int, phase: str) -> None:
        s = self.s
        s.stocks_days[day] = s.stock @ STATE_TO_STOCK
        s.queue_days[day, :, 0] = s.stock[:, qk.WAITING_DECISION]
        s.queue_days[day, :, 1] = s.stock[:, qk.WAITING_APPEAL]
        s.hub_occ_days[day] = s.hub_occ
        record_outcomes(
            s.num_cum,
            s.den_cum,
            day,
            s.flows[day],
            DETERRENCE_NUMERATOR_INDEX,
            DETERRENCE_DENOMINATOR_INDEX,
        )
        if s.options.audit:
            self._audit(sim, day)

    def _audit(self, sim: Simulation, day: int) -> None:
        s = self.s
        ag = sim.agents
        count = np.zeros_like(s.stock)
        np.add.at(count, (ag["nationality"], ag["state"]), ag["people"].astype(np.int64))
        if not np.array_equal(count, s.stock):
            raise AssertionError(f"day {day}: running stocks differ from the agent table")
        if count[:, qk.NEW].any():
            raise AssertionError(f"day {day}: cases left in state NEW")
        occ = np.zeros_like(s.hub_occ)
        inhub = ag["state"] == qk.IN_HUB
        np.add.at(occ, ag["hub"][inhub].astype(np.int64), ag["people"][inhub].astype(np.int64))
        if not np.array_equal(occ, s.hub_occ):
            raise AssertionError(f"day {day}: hub occupancy differs from the agent table")


def _in_day(t: F64, day: int) -> NDArray[np.float32]:
    """Times as float32, kept strictly inside [day, day + 1)."""
    t32 = t.astype(np.float32)
    top = np.nextafter(np.float32(day + 1), np.float32(0))
    return np.minimum(t32, top)


def build_modules(state: AsylumState) -> list[_Part]:
    """The modules in a fixed order (the loop orders them by phase anyway)."""
    return [
        Policies(state),
        Arrivals(state),
        Claims(state),
        Decisions(state),
        Appeals(state),
        Exits(state),
        Recorder(state),
    ]
