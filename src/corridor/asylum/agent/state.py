"""The agent engine's data: the agent table's columns and :class:`AsylumState`, shared by modules.

Reads: :class:`~corridor.asylum.params.AsylumParams`, the run's seed and :class:`Options`.
Adds: the agent table's columns (:data:`COLUMNS`, filled by :data:`FILL`; :func:`new_table`);
per run, the people-by-(nationality, state) counts, the flows by (day, nationality, flow), the
queues (decision classes, the tribunal, exit queues by nationality and kind), the server pools,
the timer heaps, capacity budgets and the daily records. Provides the transitions the modules
share: :meth:`AsylumState.move`, :meth:`~AsylumState.flow`, :meth:`~AsylumState.chance`,
:meth:`~AsylumState.clock`, :meth:`~AsylumState.enqueue_decision`,
:meth:`~AsylumState.exit_route`, :meth:`~AsylumState.serve`, :meth:`~AsylumState.restate`,
:meth:`~AsylumState.apply_pauses`.
Reports: the arrays :func:`corridor.asylum.run.run_agents` turns into the result (stocks by day,
flows, case counts, queue lengths, hub occupancy and transfers, deterrence share and factor).

Invariants: every state change goes through :meth:`~AsylumState.move`, so ``stock`` equals the
table's people by (nationality, state); a case's draws are keyed (stream, day 0, agent, draw +
times returned to the UK from a hub) (common random numbers across policies); a case is in at
most one queue; the exit queue of (nationality, kind) is ``q_exit0 + 2 × nationality + kind``;
the decision cases of class ``k`` and a paused nationality ``i`` wait aside in queue
``q_aside0 + k × n_nat + i`` (:meth:`~AsylumState.apply_pauses`,
:mod:`corridor.asylum.rules.pauses`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from corridor.asylum.agent import codes as qk
from corridor.asylum.agent.kernel_sets import NUMBA, TWINS
from corridor.asylum.agent.structures import NO_A, NO_T, Servers, Timers
from corridor.asylum.params import (
    FLOW_INDEX,
    STOCK_INDEX,
    AsylumParams,
    cumulative_hazard,
)
from corridor.asylum.rules.exits import (
    INADMISSIBLE_KIND as INADMISSIBLE_KIND,
)
from corridor.asylum.rules.exits import (
    REFUSED_KIND as REFUSED_KIND,
)
from corridor.asylum.rules.exits import (
    exit_held,
    exit_held_cases,
)
from corridor.asylum.rules.pauses import pause_lifted, pause_starts
from corridor.asylum.rules.queues import servers_at_work
from corridor.asylum.rules.reentry import ARRIVES, GONE, reentry_days, reentry_outcome
from corridor.engine.agents import AgentTable
from corridor.engine.rng import stream_key
from corridor.scenario.schema import FLOWS, STOCKS

COLUMNS: dict[str, type[np.generic]] = {
    "nationality": np.uint8,
    "state": np.uint8,
    "people": np.uint8,
    "priority": np.uint8,
    "hub": np.int8,
    "returned": np.uint8,  # times brought back to the UK from a hub (a new round of draws)
    "t_arrive": np.float32,
    "t_state": np.float32,
    "t_next": np.float32,
    "qnext": np.int32,
    "exit_key": np.float32,  # own uniform: the order within a day when the newest go first
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
    "reentry",
    "reentry_arrive",
    "exit_order",
)
SERVICE_DRAW_DECISION = 0
SERVICE_DRAW_APPEAL = 1
# exit-queue kinds REFUSED_KIND, INADMISSIBLE_KIND (corridor.asylum.rules.exits): held state
HELD_STATE = (qk.REFUSED, qk.INADMISSIBLE)

# (N_STATES, len(STOCKS)) 0/1 matrix: people by state -> reported stocks.
STATE_TO_STOCK = np.zeros((qk.N_STATES, len(STOCKS)), dtype=np.int64)
for _code, _stock in enumerate(qk.STATE_STOCK):
    if _stock is not None:
        STATE_TO_STOCK[_code, STOCK_INDEX[_stock]] = 1
EXIT_WAITING = np.zeros(qk.N_STATES, dtype=bool)
EXIT_WAITING[[qk.REFUSED, qk.LIMBO, qk.INADMISSIBLE]] = True

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]


@dataclass(frozen=True)
class Options:
    """How to run (not what to model)."""

    use_numba: bool = True  # False: the Python/NumPy twins (slow; for tests)
    audit: bool = False  # recount every stock from the agent table each day
    record_episodes: bool = False  # keep one row per service episode (Ciw's data record)


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
        self.kern = NUMBA if self.options.use_numba else TWINS
        self.keys = {s: stream_key(self.seed, s) for s in STREAMS}
        self.stock = np.zeros((n_nat, qk.N_STATES), np.int64)  # people by state, now
        self.flows = np.zeros((days, n_nat, len(FLOWS)), np.int64)
        self.cases = np.zeros((days, 2), np.int64)  # decisions, appeals determined (cases)
        # queues: decision classes, the tribunal, exit queues by (nationality, kind), then the
        # decision cases set aside while their nationality is paused, by (class, nationality)
        self.q_appeal = p.n_classes
        self.q_exit0 = p.n_classes + 1
        self.q_aside0 = self.q_exit0 + 2 * n_nat
        n_q = self.q_aside0 + p.n_classes * n_nat
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
        # newest first: what each taker's (listing, hub h) shares of a day left over, by queue
        self.exit_credit = np.zeros((1 + n_h, n_q))
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
        # people who left a hub, due back on the routes: day -> [(cases, arrive in the UK)]
        self.back: dict[int, list[tuple[I64, NDArray[np.bool_]]]] = {}
        self.initial_people = 0
        self.initial_refused_people = 0
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
                    q, self.qhead, self.col("qnext"), state, EXIT_WAITING, out
                )
                ids = out[:m]
                held = exit_held(kind, p.removable[day, n], p.inad_held[day, n])
                new = HELD_STATE[kind] if held else qk.LIMBO
                self.move(ids[state[ids] != new], new)

    def schedule_back(self, day: int, ids: I64, hub: I64) -> None:
        """Cases ``ids`` left hubs ``hub`` on ``day``: by the re-entry rule
        (:mod:`corridor.asylum.rules.reentry`, each case's own draw), those back on the routes
        are kept for the day they are back, with whether they arrive in the UK."""
        p = self.p
        share = p.hub_reentry[day, hub]
        if ids.size == 0 or not share.any():
            return
        outcome = reentry_outcome(
            self.draw("reentry", ids), np.ascontiguousarray(share), p.hub_reach_uk[day, hub]
        )
        due = reentry_days(day, np.ascontiguousarray(p.hub_reentry_days[day, hub]))
        back = (outcome != GONE) & (due < p.days)
        for at in np.unique(due[back]):
            m = back & (due == at)
            self.back.setdefault(int(at), []).append((ids[m], outcome[m] == ARRIVES))

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
        """The case's own U[0,1) of ``stream`` (keyed day 0, agent, draw + the times the case
        was brought back to the UK from a hub: after a return its clocks and hub outcome are
        drawn afresh, not repeated)."""
        key = self.keys[stream]
        rounds = self.col("returned")[ids]
        if ids.size == 0 or not rounds.any():
            return self.kern.draw_uniform(key, ids, draw)  # type: ignore[no-any-return]
        out = np.empty(ids.size, dtype=np.float64)
        for r in np.unique(rounds):
            m = rounds == r
            out[m] = self.kern.draw_uniform(key, ids[m], draw + int(r))
        return out

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
        queues = prio.astype(np.int64)
        # a nationality paused since before today: its cases wait aside (rules.pauses); on the
        # day a pause starts they join their class and are set aside with the others, in order
        aside = p.paused[day, nat] & (p.paused[day - 1, nat] if day > 0 else False)
        if aside.any():
            queues = np.where(aside, self.q_aside0 + queues * p.n_nat + nat, queues)
        if self.h_withdraw[-1] > self.h_withdraw[max(day, 0)]:  # any withdrawal hazard left
            tw = self.kern.event_times(
                self.h_withdraw, p.withdrawal_hazard, t0, self.clock("withdraw", ids)
            )
            tw32 = tw.astype(np.float32)
            self.col("t_next")[ids] = tw32
            self.decide_timers.push(tw32.astype(np.float64), ids, qk.T_WITHDRAW, p.days)
        else:
            self.col("t_next")[ids] = np.float32(np.inf)
        self.kern.append(self.qhead, self.qtail, self.col("qnext"), queues, ids)
        self.waiting_cases[0] += ids.size

    def apply_pauses(self, day: int) -> None:
        """Before the day's decisions (:mod:`corridor.asylum.rules.pauses`): the waiting cases of
        a nationality whose pause starts today are set aside, by class, in their order; those of
        a nationality whose pause was lifted are merged back into their class in their order
        (queue order is the order cases joined: increasing agent id)."""
        p = self.p
        if not p.paused[day].any() and (day == 0 or not p.paused[day - 1].any()):
            return
        starts = np.array([pause_starts(p.paused, day, i) for i in range(p.n_nat)])
        if starts.any():
            for k in range(p.n_classes):
                aside0 = self.q_aside0 + k * p.n_nat
                self.kern.set_aside(
                    k, aside0, self.qhead, self.qtail, self.col("qnext"),
                    self.col("nationality"), starts,
                )  # fmt: skip
        for i in range(p.n_nat):
            if pause_lifted(p.paused, day, i):
                for k in range(p.n_classes):
                    src = self.q_aside0 + k * p.n_nat + i
                    self.kern.merge_back(src, k, self.qhead, self.qtail, self.col("qnext"))

    def exit_route(self, day: int, ids: I64, t: F64, kind: int) -> None:
        """Refused (kind 0) or inadmissible (kind 1) cases at times ``t`` of ``day``: REFUSED /
        INADMISSIBLE if they can be removed that day (or, inadmissible, taken by a hub), else
        LIMBO; start their voluntary-return and abscond clocks; join the exit queue of
        (nationality, kind) (in its place when the newest are taken first)."""
        if ids.size == 0:
            return
        p = self.p
        nat = self.col("nationality")[ids]
        held = exit_held_cases(kind, p.removable[day], p.inad_held[day], nat)
        new = np.where(held, HELD_STATE[kind], qk.LIMBO)
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
        if p.exit_newest_first:  # kept newest first: by day, then in random order within it
            key = self.col("exit_key")
            key[ids] = self.draw("exit_order", ids).astype(np.float32)
            self.kern.insert_newest(
                self.qhead, self.qtail, self.col("qnext"), queues, ids, self.col("t_state"), key
            )
        else:
            self.kern.append(self.qhead, self.qtail, self.col("qnext"), queues, ids)

    def serve(
        self, day: int, servers: Servers, classes: I64, appeal: bool
    ) -> tuple[I64, F64, I64, F64, I64, F64]:
        """One day of the decision or tribunal queue; returns started (ids, times), completed
        (ids, times), withdrawn (ids, times); applies the waiting → in-service moves."""
        stage = 1 if appeal else 0
        if self.waiting_cases[stage] == 0 and not servers.any_busy():
            return NO_A, NO_T, NO_A, NO_T, NO_A, NO_T
        rate_day = self.rate_app if appeal else self.rate_dec
        rate_cum = self.rate_app_cum if appeal else self.rate_dec_cum
        n_servers = int(servers_at_work(float(servers.active), float(rate_day[day])))
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


def new_table(p: AsylumParams) -> AgentTable:
    """An agent table with :data:`COLUMNS`, sized for the expected number of cases."""
    expected = float((p.arrivals.sum(axis=0) / p.household).sum()) * p.sample
    expected += (p.initial_backlog + float((p.initial_refused / p.household).sum())) * p.sample
    return AgentTable(COLUMNS, capacity=int(expected * 1.1) + 1024, fill=FILL)
