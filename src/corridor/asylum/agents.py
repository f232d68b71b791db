"""The asylum system as agent-based modules of the engine: one agent is one case.

A case is a main applicant with dependants; its ``people`` column is the household size, drawn
as ``1 + Poisson(h − 1)`` so that its mean is the nationality's ``household_size`` ``h``. Every
count reported is people (the sum of ``people``), never cases — except the case counts that
price decisions and appeals (unit costs are per main applicant).

Columns (declared once, in :data:`COLUMNS`)
-------------------------------------------
``nationality`` uint8, ``state`` uint8 (codes in :mod:`corridor.asylum.queue_kernels`),
``people`` uint8, ``priority`` uint8 (decision-queue class), ``hub`` int8 (-1 none; the hub a
case was sent to), ``t_arrive`` float32 (arrival time in days since the period start:
``day + U``), ``t_state`` float32 (time the current state was entered), ``t_next`` float32 (time
of the next scheduled event: withdrawal while waiting, end of service, appeal lodging, departure
or abscond clock, removal, end of hub stay), ``qnext`` int32 (next case in the same FIFO queue).
Agents are never deleted; an agent's index is the case's identity.

State machine
-------------
::

    spawn ─► NEW ─┬─► NOT_CLAIMED                       (1 − claim_share)
                  ├─► INADMISSIBLE | LIMBO              (inadmissibility share, while in force)
                  └─► WAITING_DECISION ─┬─► WITHDRAWN   (reneging, withdrawal_rate)
                                        └─► IN_DECISION ─┬─► GRANTED          (grant_rate)
                                                         └─► refused ─┬─► WAITING_APPEAL
                                                                      │   (lodge_share)
                                                                      └─► exit route
    WAITING_APPEAL ─► IN_APPEAL ─┬─► GRANTED        (allow_rate)
                                 └─► exit route
    exit route: REFUSED (returns agreement) | LIMBO (none); INADMISSIBLE likewise
    REFUSED | LIMBO | INADMISSIBLE ─┬─► DEPARTED  (voluntary return clock)
                                    ├─► ABSCONDED (abscond clock)
                                    ├─► DETAINED ─► DEPARTED (removal; removable nationalities)
                                    └─► IN_HUB ─► DEPARTED (end of stay: removed onward / left /
                                                            stayed in the host country)

Inadmissible claimants whose country takes returns, or whom some configured hub may take, are
INADMISSIBLE; the others are in LIMBO (as refused people who cannot be removed). Reported stocks
map the states onto :data:`~corridor.scenario.schema.STOCKS` (WAITING_/IN_DECISION →
``awaiting_decision``, WAITING_/IN_APPEAL → ``awaiting_appeal``, the others one to one).
NOT_CLAIMED and WITHDRAWN are outside the asylum stocks; so, with ``initial`` the people
awaiting a decision on day 0, every day::

    initial + Σ new_arrivals = Σ n_* + Σ (new_arrivals − new_claims) + Σ new_withdrawals

(conservation: each person is in exactly one state; ``audit=True`` recounts the table daily).

Step order (one day ``d``; times inside the day are continuous, ``[d, d + 1)``)
--------------------------------------------------------------------------------
1. **policies** (:class:`Policies`): today's values of every dated parameter (schedules and
   Policy overrides, precomputed in :mod:`corridor.asylum.params`); caseworker and judge pools
   grow or shrink (a removed server finishes its case first); hub seat budgets of hubs not
   operating today are cleared.
2. **spawn** (:class:`Arrivals`): on day 0 the initial backlog (cases spread over the previous
   365 days, queued first). Then ``Poisson(expected people × deterrence / h)`` cases per
   nationality (stream ``arrivals``, one generator per day), arrival times ``d + U`` in order.
   Deterrence multiplies by ``1 − elasticity × p_removal`` where ``p_removal`` is the share of the
   nationality's recorded outcomes in ``[d − lag − window, d − lag)`` that were removals or hub
   transfers (:func:`~corridor.asylum.params.p_removal`).
3. **claim** (:class:`Claims`): a share ``claim_share`` claims (stream ``claim``); while an
   inadmissibility policy is in force a share of claimants is screened out at arrival (stream
   ``inadmissible``: baulking) onto the exit route; the others join the decision queue of their
   priority class with a withdrawal clock.
4. **decide** (:class:`Decisions`): ``round(caseworkers)`` servers; a case needs Exp(1) work
   (``service: fixed``: 1) done at the day's productivity (decisions per caseworker-day), so a
   change of productivity applies to cases in service; FIFO by arrival time or priority classes
   first (:func:`~corridor.asylum.queue_kernels.serve_day_rate`: continuous-time M/M/c(+M)
   within and across days). Decision at the end of service: grant with
   ``grant_rate(nationality, d)`` (stream ``grant``); a refused case appeals with
   ``lodge_share`` (stream ``appeal``) — lodged ``lodging_days`` later — or goes onto the exit
   route. Then every waiting case whose
   withdrawal time fell today withdraws (stream ``withdraw``).
5. **appeal** (:class:`Appeals`): the tribunal queue, ``round(judges)`` servers at
   ``hearings_per_judge_month`` each, FIFO by refusal order (lodging time); allowed with
   ``allow_rate`` (stream ``allow``) → GRANTED, dismissed → exit route.
6. **exit** (:class:`Exits`): clocks due today fire (voluntary return, abscond, removal of
   people listed ``removal_days`` ago, end of a hub stay with outcome shares, stream
   ``hub_outcome``). Then, at the end of the day: removal listing of the longest-waiting
   removable cases (REFUSED or INADMISSIBLE of nationalities whose returns agreement is in force
   today) while the daily removal capacity lasts and detention has places — detained at the end
   of this day and the next ``removal_days − 1``, removed on day ``d + removal_days`` (at once
   when 0); then, for each hub *operating* today, transfers of the longest-waiting eligible
   cases while the day's seats (flights/week × seats/7) last and beds are free. The stay ends at
   the hazard ``1/stay_days`` of each day (stream ``hub_stay``; Exponential(stay_days) when the
   stay does not change).
7. **record** (:class:`Recorder`): stocks by nationality, queue lengths, hub occupancy, the
   deterrence sums; with ``audit`` a full recount from the table.

Assumptions (documented choices)
--------------------------------
* Hazards (withdrawal, voluntary return, abscond) are continuous clocks: each case draws one
  Exp(1) threshold per clock when it enters the state and fires when the integrated
  (piecewise-constant, policy-dated) hazard reaches it — exact, and no daily draws.
* Draws that belong to a case (claim, screening, service times, decision, appeal, allow, clocks,
  hub stay and outcome) are keyed (stream, day 0, agent, draw): the same case gets the same draws
  whatever the policy (common random numbers). Arrival counts are keyed on the day.
* Capacity budgets (removals, seats) accrue per day; a household larger than the remaining
  budget still goes and the debt is repaid the next day; unused budget is lost (only the
  fractional part carries). A household that does not fit in the free places waits (FIFO: no
  overtaking).
* Removal is for removable nationalities first, at the end of the day; hubs take from the
  remaining eligible cases (removable or not) after. Removal listing is limited by
  ``removal_capacity`` (people per month) and ``detention_places``; removal follows
  ``removal_days`` later (``removal_days`` nights in detention).
* Returns agreements may be dated (``nationalities.csv``: ``returns_agreement_from``): on the day
  one starts or ends, the people of that nationality waiting on the exit route change state
  (LIMBO ↔ REFUSED / INADMISSIBLE) and keep their place in the queue.
* The initial backlog's cases get nationalities in proportion to
  :attr:`~corridor.asylum.params.AsylumParams.initial_cases` (people ÷ household size), so its
  people follow the backlog's mix.
* People in a hub whose agreement is suspended or ended stay until their stay ends; they count
  as ``in_hub``, then ``departed``. ``departed`` = voluntary returns + removals + ended hub stays.
* Initial grants are ``new_grants``; appeals allowed are ``new_appeals_allowed``; both add to
  ``n_granted``. ``new_appeals_lodged`` is counted on the lodging day.
* With ``agents_per_person`` f < 1 one agent stands for 1/f cases: expected arrivals and every
  capacity (servers, removals, detention, seats, beds) are multiplied by f and all counts divided
  by f. Server counts are rounded, so small f distorts small pools.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from corridor.asylum import queue_kernels as qk
from corridor.asylum.params import (
    DETERRENCE_DENOMINATOR,
    DETERRENCE_NUMERATOR,
    FLOW_INDEX,
    STOCK_INDEX,
    AsylumParams,
    cumulative_hazard,
    deterrence_factor,
    p_removal,
)
from corridor.engine.agents import AgentTable
from corridor.engine.loop import Simulation
from corridor.engine.rng import generator, stream_key
from corridor.scenario.schema import FLOWS, STOCKS

log = logging.getLogger(__name__)

COLUMNS: dict[str, type[np.generic]] = {
    "nationality": np.uint8,
    "state": np.uint8,
    "people": np.uint8,
    "priority": np.uint8,
    "hub": np.int8,
    "t_arrive": np.float32,
    "t_state": np.float32,
    "t_next": np.float32,
    "qnext": np.int32,
}
FILL: dict[str, int | float] = {"hub": -1, "qnext": -1, "t_next": np.inf}

STREAMS: tuple[str, ...] = (
    "claim",
    "inadmissible",
    "withdraw",
    "service",
    "grant",
    "appeal",
    "allow",
    "depart",
    "abscond",
    "hub_stay",
    "hub_outcome",
)
SERVICE_DRAW_DECISION = 0
SERVICE_DRAW_APPEAL = 1
REFUSED_KIND = 0  # exit-queue kinds
INADMISSIBLE_KIND = 1

# (N_STATES, len(STOCKS)) 0/1 matrix: people by state -> reported stocks.
STATE_TO_STOCK = np.zeros((qk.N_STATES, len(STOCKS)), dtype=np.int64)
for _code, _stock in enumerate(qk.STATE_STOCK):
    if _stock is not None:
        STATE_TO_STOCK[_code, STOCK_INDEX[_stock]] = 1
_EXIT_WAITING = np.zeros(qk.N_STATES, dtype=bool)
_EXIT_WAITING[[qk.REFUSED, qk.LIMBO, qk.INADMISSIBLE]] = True

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]
_NO_T = np.zeros(0, np.float64)
_NO_A = np.zeros(0, np.int64)
_NO_K = np.zeros(0, np.int8)


@dataclass(frozen=True)
class Options:
    """How to run (not what to model)."""

    use_numba: bool = True  # False: the Python/NumPy twins (slow; for tests)
    audit: bool = False  # recount every stock from the agent table each day
    record_episodes: bool = False  # keep one row per service episode (Ciw's data record)


class Timers:
    """A growable min-heap of (time, agent, kind); see :mod:`corridor.asylum.queue_kernels`."""

    def __init__(self, kern: SimpleNamespace, capacity: int = 1024) -> None:
        self.kern = kern
        self.t = np.empty(capacity, np.float64)
        self.a = np.empty(capacity, np.int64)
        self.k = np.empty(capacity, np.int8)
        self.size = 0

    def _room(self, more: int) -> None:
        need = self.size + more
        if need > self.t.shape[0]:
            cap = max(need, 2 * self.t.shape[0])
            for name in ("t", "a", "k"):
                old = getattr(self, name)
                new = np.empty(cap, old.dtype)
                new[: self.size] = old[: self.size]
                setattr(self, name, new)

    def push(self, t: F64, a: I64, kind: int | NDArray[np.int8], horizon: float) -> None:
        keep = t < horizon
        if not keep.any():
            return
        t, a = t[keep], a[keep]
        k = np.broadcast_to(np.asarray(kind, np.int8), keep.shape)[keep].astype(np.int8)
        self._room(t.size)
        self.size = self.kern.push_timers(self.t, self.a, self.k, self.size, t, a, k)

    def pop_due(self, until: float) -> tuple[F64, I64, NDArray[np.int8]]:
        if self.size == 0 or self.t[0] >= until:  # the minimum is first (heap or sorted)
            return _NO_T, _NO_A, _NO_K
        n_max = self.size
        out_t = np.empty(n_max, np.float64)
        out_a = np.empty(n_max, np.int64)
        out_k = np.empty(n_max, np.int8)
        n, self.size = self.kern.pop_due(
            self.t, self.a, self.k, self.size, until, out_t, out_a, out_k
        )
        return out_t[:n], out_a[:n], out_k[:n]


class Servers:
    """A pool of servers (caseworkers or judges): free time and case in hand, per server."""

    def __init__(self) -> None:
        self.free_at = np.zeros(0, np.float64)
        self.serving = np.zeros(0, np.int64)
        self.active = 0

    def set_count(self, n: int, day: int) -> None:
        """``n`` servers from the start of ``day`` (new servers are free from then)."""
        if n > self.free_at.shape[0]:
            extra = n - self.free_at.shape[0]
            self.free_at = np.concatenate([self.free_at, np.full(extra, float(day))])
            self.serving = np.concatenate([self.serving, np.full(extra, -1, np.int64)])
        self.active = n

    def any_busy(self) -> bool:
        return bool(self.serving.size) and bool(self.serving.max() >= 0)


@dataclass
class AsylumState:
    """Everything that changes during a run, shared by the modules (one instance per run)."""

    p: AsylumParams
    seed: int
    options: Options
    agents: AgentTable
    kern: SimpleNamespace = field(init=False)
    keys: dict[str, np.uint64] = field(init=False)

    def __post_init__(self) -> None:
        p = self.p
        n_nat, days, n_h = p.n_nat, p.days, p.n_hubs
        self.kern = qk.NUMBA if self.options.use_numba else qk.TWINS
        self.keys = {s: stream_key(self.seed, s) for s in STREAMS}
        self.stock = np.zeros((n_nat, qk.N_STATES), np.int64)  # people by state, now
        self.flows = np.zeros((days, n_nat, len(FLOWS)), np.int64)
        self.cases = np.zeros((days, 2), np.int64)  # decisions, appeals determined (cases)
        # queues: decision classes, the tribunal, then exit queues by (nationality, kind)
        self.q_appeal = p.n_classes
        self.q_exit0 = p.n_classes + 1
        n_q = self.q_exit0 + 2 * n_nat
        self.qhead = np.full(n_q, -1, np.int64)
        self.qtail = np.full(n_q, -1, np.int64)
        self.classes = np.arange(p.n_classes, dtype=np.int64)
        self.waiting_cases = [0, 0]  # decision, appeal queues (upper bounds for buffers)
        self.caseworkers = Servers()
        self.judges = Servers()
        self.decide_timers = Timers(self.kern)
        self.exit_timers = Timers(self.kern)
        self.removal_budget = 0.0
        self.hub_budget = np.zeros(n_h)
        self.hub_occ = np.zeros(n_h, np.int64)
        # records
        self.stocks_days = np.zeros((days, n_nat, len(STOCKS)), np.int64)
        self.queue_days = np.zeros((days, n_nat, 2), np.int64)
        self.hub_occ_days = np.zeros((days, n_h), np.int64)
        self.hub_transfers_days = np.zeros((days, n_h), np.int64)
        self.p_removal_days = np.zeros((days, n_nat))
        self.factor_days = np.ones((days, n_nat))
        self.num_cum = np.zeros((days + 1, n_nat))
        self.den_cum = np.zeros((days + 1, n_nat))
        self.num_idx = [FLOW_INDEX[f] for f in DETERRENCE_NUMERATOR]
        self.den_idx = [FLOW_INDEX[f] for f in DETERRENCE_DENOMINATOR]
        self.h_withdraw = cumulative_hazard(p.withdrawal_hazard)
        self.h_voluntary = cumulative_hazard(p.voluntary_hazard)
        self.h_abscond = cumulative_hazard(p.abscond_hazard)
        self.rate_dec = np.ascontiguousarray(p.decisions_per_caseworker_day, dtype=np.float64)
        self.rate_app = np.ascontiguousarray(p.hearings_per_judge_day, dtype=np.float64)
        self.rate_dec_cum = cumulative_hazard(self.rate_dec)
        self.rate_app_cum = cumulative_hazard(self.rate_app)
        self.hub_hazard = [np.ascontiguousarray(p.hub_exit_hazard[:, h]) for h in range(n_h)]
        self.h_hub = [cumulative_hazard(hz) for hz in self.hub_hazard]
        self.removable = np.zeros(0, np.int64)
        self.removal_queues = np.zeros(0, np.int64)
        self.set_removable(0)
        self.hub_queues = [
            np.asarray(
                [
                    self.q_exit0 + 2 * n + k
                    for n, k in zip(*np.nonzero(p.hub_eligible[h]), strict=True)
                ],
                dtype=np.int64,
            )
            for h in range(n_h)
        ]
        self.new_lo = self.new_hi = 0
        self.initial_people = 0
        self.episodes: list[tuple[I64, NDArray[np.int8], F64, F64, F64]] = []

    def set_removable(self, day: int) -> None:
        """Nationalities removable on ``day`` and their exit queues (both kinds)."""
        self.removable = np.flatnonzero(self.p.removable[day])
        self.removal_queues = np.asarray(
            [self.q_exit0 + 2 * n + k for n in self.removable for k in (0, 1)], dtype=np.int64
        )

    def restate(self, day: int, nats: I64) -> None:
        """A returns agreement of nationalities ``nats`` starts or ends on ``day``: people of
        theirs waiting on the exit route become REFUSED / INADMISSIBLE (removable, or held) or
        LIMBO, keeping their place in the queue."""
        p = self.p
        state = self.col("state")
        for n in nats:
            for kind in (REFUSED_KIND, INADMISSIBLE_KIND):
                q = self.q_exit0 + 2 * int(n) + kind
                out = np.empty(self.agents.n, np.int64)
                m = self.kern.queue_members(
                    q, self.qhead, self.col("qnext"), state, _EXIT_WAITING, out
                )
                ids = out[:m]
                if kind == REFUSED_KIND:
                    new = qk.REFUSED if p.removable[day, n] else qk.LIMBO
                else:
                    new = qk.INADMISSIBLE if p.inad_held[day, n] else qk.LIMBO
                self.move(ids[state[ids] != new], new)

    # -- bookkeeping --------------------------------------------------------------------------
    def col(self, name: str) -> NDArray[Any]:
        return self.agents.raw(name)

    def move(self, ids: I64, new: int | NDArray[np.integer]) -> None:
        """Change the state of cases ``ids`` and keep the people-by-state counts in step."""
        if ids.size == 0:
            return
        if isinstance(new, int | np.integer):
            to = np.full(ids.size, new, dtype=np.uint8)
        else:
            to = np.ascontiguousarray(new, dtype=np.uint8)
        self.kern.move_states(
            ids,
            to,
            self.col("nationality"),
            self.col("people"),
            self.col("state"),
            self.stock,
        )

    def flow(self, day: int | I64, ids: I64, name: str) -> None:
        """Add the people of cases ``ids`` to flow ``name`` on ``day`` (one or per case)."""
        if ids.size == 0:
            return
        if isinstance(day, int | np.integer):
            days = np.full(ids.size, day, dtype=np.int64)
        else:
            days = np.ascontiguousarray(day, dtype=np.int64)
        self.kern.add_flows(
            days,
            ids,
            self.col("nationality"),
            self.col("people"),
            self.flows,
            FLOW_INDEX[name],
        )

    def draw(self, stream: str, ids: I64, draw: int = 0) -> F64:
        """The case's own U[0,1) of ``stream`` (keyed day 0, agent, draw)."""
        return self.kern.draw_uniform(self.keys[stream], ids, draw)  # type: ignore[no-any-return]

    def chance(self, stream: str, ids: I64, prob: F64 | float) -> NDArray[np.bool_]:
        """Which cases ``ids`` see an event of probability ``prob`` (per case or one value).

        The case's own draw is skipped when the answer is certain (every prob 0 or 1): draws are
        keyed by case, so skipping changes no other draw."""
        pr = np.asarray(prob, dtype=np.float64)
        if ids.size == 0 or np.all(pr >= 1.0):
            return np.ones(ids.size, dtype=bool)
        if np.all(pr <= 0.0):
            return np.zeros(ids.size, dtype=bool)
        return self.draw(stream, ids) < pr

    def clock(self, stream: str, ids: I64) -> F64:
        """An Exp(1) threshold per case."""
        return -np.log1p(-self.draw(stream, ids))

    # -- shared transitions -------------------------------------------------------------------
    def enqueue_decision(self, ids: I64, day: int) -> None:
        """Cases join the decision queue of their priority class, with a withdrawal clock."""
        if ids.size == 0:
            return
        p = self.p
        nat = self.col("nationality")[ids]
        t0 = self.col("t_arrive")[ids].astype(np.float64)
        self.move(ids, qk.WAITING_DECISION)
        prio = p.priority_class[day, nat]
        self.col("priority")[ids] = prio
        if self.h_withdraw[-1] > self.h_withdraw[max(day, 0)]:  # any withdrawal hazard left
            tw = self.kern.event_times(
                self.h_withdraw, p.withdrawal_hazard, t0, self.clock("withdraw", ids)
            )
            tw32 = tw.astype(np.float32)
            self.col("t_next")[ids] = tw32
            self.decide_timers.push(tw32.astype(np.float64), ids, qk.T_WITHDRAW, p.days)
        else:
            self.col("t_next")[ids] = np.float32(np.inf)
        self.kern.append(self.qhead, self.qtail, self.col("qnext"), prio.astype(np.int64), ids)
        self.waiting_cases[0] += ids.size

    def exit_route(self, day: int, ids: I64, t: F64, kind: int) -> None:
        """Refused (kind 0) or inadmissible (kind 1) cases at times ``t`` of ``day``: REFUSED /
        INADMISSIBLE if they can be removed that day (or, inadmissible, taken by a hub), else
        LIMBO; start their voluntary-return and abscond clocks; join the exit queue of
        (nationality, kind)."""
        if ids.size == 0:
            return
        p = self.p
        nat = self.col("nationality")[ids]
        if kind == REFUSED_KIND:
            new = np.where(p.removable[day, nat], qk.REFUSED, qk.LIMBO)
        else:
            new = np.where(p.inad_held[day, nat], qk.INADMISSIBLE, qk.LIMBO)
        self.move(ids, new.astype(np.uint8))
        self.col("t_state")[ids] = t.astype(np.float32)
        t = np.ascontiguousarray(t, dtype=np.float64)
        t1 = self.kern.event_times(
            self.h_voluntary, p.voluntary_hazard, t, self.clock("depart", ids)
        )
        t2 = self.kern.event_times(self.h_abscond, p.abscond_hazard, t, self.clock("abscond", ids))
        tt = np.minimum(t1, t2).astype(np.float32)
        kinds = np.where(t1 <= t2, qk.T_VOLUNTARY, qk.T_ABSCOND).astype(np.int8)
        self.col("t_next")[ids] = tt
        self.exit_timers.push(tt.astype(np.float64), ids, kinds, p.days)
        queues = self.q_exit0 + 2 * nat.astype(np.int64) + kind
        self.kern.append(self.qhead, self.qtail, self.col("qnext"), queues, ids)

    def serve(
        self, day: int, servers: Servers, classes: I64, appeal: bool
    ) -> tuple[I64, F64, I64, F64, I64, F64]:
        """One day of the decision or tribunal queue; returns started (ids, times), completed
        (ids, times), withdrawn (ids, times); applies the waiting → in-service moves."""
        stage = 1 if appeal else 0
        if self.waiting_cases[stage] == 0 and not servers.any_busy():
            return _NO_A, _NO_T, _NO_A, _NO_T, _NO_A, _NO_T
        rate_day = self.rate_app if appeal else self.rate_dec
        rate_cum = self.rate_app_cum if appeal else self.rate_dec_cum
        n_servers = servers.active if rate_day[day] > 0 else 0
        bound = self.waiting_cases[stage] + servers.free_at.shape[0] + 1
        bufs_i = [np.empty(bound, np.int64) for _ in range(3)]
        bufs_t = [np.empty(bound, np.float64) for _ in range(4)]
        n_s, n_d, n_w = self.kern.serve_day_rate(
            day,
            classes,
            self.qhead,
            self.qtail,
            self.col("qnext"),
            self.col("state"),
            self.col("t_arrive"),
            self.col("t_next"),
            appeal,
            qk.WAITING_APPEAL if appeal else qk.WAITING_DECISION,
            n_servers,
            servers.free_at,
            servers.serving,
            rate_cum,
            rate_day,
            self.p.service == "exponential",
            self.keys["service"],
            SERVICE_DRAW_APPEAL if appeal else SERVICE_DRAW_DECISION,
            bufs_i[0],
            bufs_t[0],
            bufs_t[1],
            bufs_i[1],
            bufs_t[2],
            bufs_i[2],
            bufs_t[3],
        )
        started, t_start = bufs_i[0][:n_s], bufs_t[0][:n_s]
        self.move(started, qk.IN_APPEAL if appeal else qk.IN_DECISION)
        self.col("t_state")[started] = t_start.astype(np.float32)
        self.waiting_cases[stage] -= n_s + n_w
        if self.options.record_episodes and n_s:
            self.episodes.append(
                (
                    started.copy(),
                    np.full(n_s, stage, np.int8),
                    bufs_t[1][:n_s].copy(),
                    t_start.copy(),
                    self.col("t_next")[started].astype(np.float64),
                )
            )
        return (
            started,
            t_start,
            bufs_i[1][:n_d],
            bufs_t[2][:n_d],
            bufs_i[2][:n_w],
            bufs_t[3][:n_w],
        )


# ---------------------------------------------------------------------------------------------
# The modules (engine.loop.Module protocol)


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
        s.caseworkers.set_count(int(np.rint(p.caseworkers[day] * p.sample)), day)
        s.judges.set_count(int(np.rint(p.judges[day] * p.sample)), day)
        if day > 0:
            changed = np.flatnonzero(
                (p.removable[day] != p.removable[day - 1])
                | (p.inad_held[day] != p.inad_held[day - 1])
            )
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
    """Spawns cases: the initial backlog on day 0, then the day's arrivals.

    Adds agents (state NEW, or WAITING_DECISION for the backlog). Reports ``new_arrivals``;
    records the deterrence share and factor used (``events``).
    """

    name = "asylum.arrivals"
    phases = ("spawn",)

    def step(self, sim: Simulation, day: int, phase: str) -> None:
        s, p = self.s, self.s.p
        if day == 0 and p.initial_backlog > 0:
            self._initial(sim)
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

    def _initial(self, sim: Simulation) -> None:
        s, p = self.s, self.s.p
        g = generator(sim.seed, "initial")
        cases = float(p.initial_cases.sum())
        n = int(np.rint(cases * p.sample))
        nat = g.choice(p.n_nat, size=n, p=p.initial_cases / cases).astype(np.uint8)
        people = np.minimum(1 + g.poisson(p.household[nat] - 1.0), 255).astype(np.uint8)
        t = np.sort(-365.0 * g.random(n)).astype(np.float32)
        ids = sim.agents.add(n, nationality=nat, people=people, t_arrive=t, t_state=t, state=qk.NEW)
        s.stock[:, qk.NEW] += np.bincount(nat, weights=people, minlength=p.n_nat).astype(np.int64)
        s.initial_people = int(people.sum())
        s.enqueue_decision(ids, 0)


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
        claim = s.chance("claim", ids, p.claim_share[day])
        s.move(ids[~claim], qk.NOT_CLAIMED)
        c = ids[claim]
        s.flow(day, c, "claims")
        nat = s.col("nationality")[c]
        inad = s.chance("inadmissible", c, p.inadmissible_share[day, nat])
        ia = c[inad]
        s.flow(day, ia, "inadmissible")
        s.exit_route(day, ia, s.col("t_arrive")[ia].astype(np.float64), INADMISSIBLE_KIND)
        s.enqueue_decision(c[~inad], day)


class Decisions(_Part):
    """The initial-decision queue (caseworkers): service, decisions, withdrawals.

    Reports ``new_decisions``, ``new_grants``, ``new_refusals``, ``new_appeals_lodged`` (on the
    lodging day), ``new_withdrawals``; case counts for costs.
    """

    name = "asylum.decisions"
    phases = ("decide",)

    def step(self, sim: Simulation, day: int, phase: str) -> None:
        s, p = self.s, self.s.p
        _, _, done, t_done, wd, _ = s.serve(day, s.caseworkers, s.classes, False)
        s.move(wd, qk.WITHDRAWN)
        s.flow(day, wd, "withdrawals")
        if done.size:
            s.flow(day, done, "decisions")
            s.cases[day, 0] += done.size
            nat = s.col("nationality")[done]
            grant = s.chance("grant", done, p.grant_rate[day, nat])
            s.move(done[grant], qk.GRANTED)
            s.flow(day, done[grant], "grants")
            ref, t_ref = done[~grant], t_done[~grant]
            s.flow(day, ref, "refusals")
            lodge = s.chance("appeal", ref, p.lodge_share[day])
            app, t_app = ref[lodge], t_ref[lodge] + float(p.lodging_days[day])
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
        allow = s.chance("allow", done, p.allow_rate[day])
        s.move(done[allow], qk.GRANTED)
        s.flow(day, done[allow], "appeals_allowed")
        s.exit_route(day, done[~allow], t_done[~allow], REFUSED_KIND)


class Exits(_Part):
    """Departures, absconding, removals and hub transfers.

    Reports ``new_voluntary_returns``, ``new_absconds``, ``new_removals``, ``new_hub_transfers``,
    ``new_hub_removals``, ``new_hub_left``.
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
        waiting = live & _EXIT_WAITING[state]
        vol = a[waiting & (k == qk.T_VOLUNTARY)]
        s.move(vol, qk.DEPARTED)
        s.flow(day, vol, "voluntary_returns")
        ab = a[waiting & (k == qk.T_ABSCOND)]
        s.move(ab, qk.ABSCONDED)
        s.flow(day, ab, "absconds")
        rem = a[live & (state == qk.DETAINED) & (k == qk.T_REMOVE)]
        s.move(rem, qk.DEPARTED)
        s.flow(day, rem, "removals")
        out = a[live & (state == qk.IN_HUB) & (k == qk.T_HUB_EXIT)]
        if out.size:
            hub = s.col("hub")[out].astype(np.int64)
            np.subtract.at(s.hub_occ, hub, s.col("people")[out].astype(np.int64))
            s.move(out, qk.DEPARTED)
            shares = p.hub_shares[day, hub]
            u = s.draw("hub_outcome", out)
            onward = u < shares[:, 0]
            left = ~onward & (u < shares[:, 0] + shares[:, 1])
            s.flow(day, out[onward], "hub_removals")
            s.flow(day, out[left], "hub_left")

    def _take(self, queues: I64, budget: float, room: float) -> tuple[I64, float]:
        s = self.s
        out = np.empty(max(int(budget), 0) + 2, np.int64)
        n, budget, _ = s.kern.take_fifo(
            queues,
            s.qhead,
            s.qtail,
            s.col("qnext"),
            s.col("state"),
            _EXIT_WAITING,
            s.col("t_state"),
            s.col("people"),
            budget,
            room,
            out,
        )
        return out[:n], float(budget)

    def _removals(self, day: int) -> None:
        s, p = self.s, self.s.p
        s.removal_budget = min(s.removal_budget, 0.0) + p.removal_capacity_day[day] * p.sample
        if s.removal_budget <= 0 or not s.stock[s.removable][:, _EXIT_WAITING].any():
            return
        room = p.detention_places[day] * p.sample - float(s.stock[:, qk.DETAINED].sum())
        ids, s.removal_budget = self._take(s.removal_queues, s.removal_budget, room)
        if ids.size == 0:
            return
        if p.removal_days[day] <= 0:  # removed the same day
            s.move(ids, qk.DEPARTED)
            s.flow(day, ids, "removals")
            return
        s.move(ids, qk.DETAINED)
        s.col("t_state")[ids] = np.float32(day + 1)
        # detained at the end of days day .. day + removal_days - 1, removed on the last day
        t = np.full(ids.size, float(day + p.removal_days[day]))
        s.col("t_next")[ids] = t.astype(np.float32)
        s.exit_timers.push(t, ids, qk.T_REMOVE, p.days)

    def _transfers(self, day: int, h: int) -> None:
        s, p = self.s, self.s.p
        s.hub_budget[h] = min(s.hub_budget[h], 0.0) + p.hub_seats_day[day, h] * p.sample
        queues = s.hub_queues[h]
        if queues.size == 0 or s.hub_budget[h] <= 0 or not s.stock[:, _EXIT_WAITING].any():
            return
        room = p.hub_beds[day, h] * p.sample - float(s.hub_occ[h])
        ids, s.hub_budget[h] = self._take(queues, float(s.hub_budget[h]), room)
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
        f = s.flows[day]
        s.num_cum[day + 1] = s.num_cum[day] + f[:, s.num_idx].sum(axis=1)
        s.den_cum[day + 1] = s.den_cum[day] + f[:, s.den_idx].sum(axis=1)
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


def new_table(p: AsylumParams) -> AgentTable:
    """An agent table with :data:`COLUMNS`, sized for the expected number of cases."""
    expected = float((p.arrivals.sum(axis=0) / p.household).sum()) * p.sample
    expected += p.initial_backlog * p.sample
    return AgentTable(COLUMNS, capacity=int(expected * 1.1) + 1024, fill=FILL)
