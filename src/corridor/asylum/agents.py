"""The asylum system as agent-based modules of the engine: one agent is one case.

A case is a main applicant with dependants; its ``people`` column is the household size, drawn
as ``1 + Poisson(h − 1)`` so that its mean is the nationality's ``household_size`` ``h``. Every
count reported is people (the sum of ``people``), never cases — except the case counts that
price decisions and appeals (unit costs are per main applicant).

Columns (declared once, in :data:`COLUMNS`)
-------------------------------------------
``nationality`` uint8, ``state`` uint8 (codes in :mod:`corridor.asylum.agent.codes`),
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
   ``hub_outcome``: removed onward, left, stayed — all DEPARTED — or returned to the UK, back on
   the exit route at that time as :func:`~corridor.asylum.rules.exits.returned_kind` says).
   Then, at the end of the day: removal listing of the longest-waiting (or, with
   ``removal_order: newest_first``, the most recently entered: ``take_newest``)
   removable cases (REFUSED or INADMISSIBLE of nationalities whose returns agreement is in force
   today) while the daily removal capacity lasts and detention has places — detained at the end
   of this day and the next ``removal_days − 1``, removed on day ``d + removal_days`` (at once
   when 0); then, for each hub *operating* today, transfers of the longest-waiting (or newest)
   eligible cases while the day's seats (flights/week × seats/7) last and beds are free. The
   stay ends at the hazard ``1/stay_days`` of each day (stream ``hub_stay``;
   Exponential(stay_days) when the stay does not change).
7. **record** (:class:`Recorder`): stocks by nationality, queue lengths, hub occupancy, the
   deterrence sums; with ``audit`` a full recount from the table.

Assumptions (documented choices)
--------------------------------
* Hazards (withdrawal, voluntary return, abscond) are continuous clocks: each case draws one
  Exp(1) threshold per clock when it enters the state and fires when the integrated
  (piecewise-constant, policy-dated) hazard reaches it — exact, and no daily draws.
* Draws that belong to a case (claim, screening, service times, decision, appeal, allow, clocks,
  hub stay and outcome) are keyed (stream, day 0, agent, draw): the same case gets the same draws
  whatever the policy (common random numbers). A case returned to the UK from a hub draws
  afresh (draw + times returned), so its next stay and clocks do not repeat the first.
  Arrival counts are keyed on the day.
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
  as ``in_hub``, then ``departed`` (or, returned to the UK, on the exit route again).
  ``departed`` = voluntary returns + removals + hub stays ended other than by a return to the UK.
* Initial grants are ``new_grants``; appeals allowed are ``new_appeals_allowed``; both add to
  ``n_granted``. ``new_appeals_lodged`` is counted on the lodging day.
* With ``agents_per_person`` f < 1 one agent stands for 1/f cases: expected arrivals and every
  capacity (servers, removals, detention, seats, beds) are multiplied by f and all counts divided
  by f. Server counts are rounded, so small f distorts small pools.

Layout
------
This module is the stable import path of the agent engine; the code lives in
:mod:`corridor.asylum.agent` and is re-exported here: :mod:`~corridor.asylum.agent.state`
(columns, :class:`Options`, :class:`AsylumState`, :func:`new_table`),
:mod:`~corridor.asylum.agent.structures` (:class:`Timers`, :class:`Servers`),
:mod:`~corridor.asylum.agent.modules` (the modules above, :func:`build_modules`) and the kernels
(:mod:`corridor.asylum.queue_kernels`).
"""

from __future__ import annotations

from corridor.asylum.agent.modules import (
    Appeals,
    Arrivals,
    Claims,
    Decisions,
    Exits,
    Policies,
    Recorder,
    build_modules,
)
from corridor.asylum.agent.state import (
    COLUMNS,
    FILL,
    INADMISSIBLE_KIND,
    REFUSED_KIND,
    SERVICE_DRAW_APPEAL,
    SERVICE_DRAW_DECISION,
    STATE_TO_STOCK,
    STREAMS,
    AsylumState,
    Options,
    new_table,
)
from corridor.asylum.agent.structures import Servers, Timers

__all__ = [
    "COLUMNS",
    "FILL",
    "INADMISSIBLE_KIND",
    "REFUSED_KIND",
    "SERVICE_DRAW_APPEAL",
    "SERVICE_DRAW_DECISION",
    "STATE_TO_STOCK",
    "STREAMS",
    "Appeals",
    "Arrivals",
    "AsylumState",
    "Claims",
    "Decisions",
    "Exits",
    "Options",
    "Policies",
    "Recorder",
    "Servers",
    "Timers",
    "build_modules",
    "new_table",
]
