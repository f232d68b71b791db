"""A scenario as per-day arrays: every schedule, policy and unit conversion, done once, here.

Both engines (the agent-based modules of :mod:`corridor.asylum.agents` and the aggregate
stock-flow model of :mod:`corridor.asylum.aggregate`) read :class:`AsylumParams`, built by
:func:`build_params` from a :class:`~corridor.scenario.loaded.LoadedScenario`. Nothing downstream
converts a unit or looks up a date again: day ``d`` (0 = ``period.start``) of each array is the
value in force on that day.

Conventions
-----------
* **Time.** The engine steps daily. A year is :data:`DAYS_PER_YEAR` = 365 days and a month
  :data:`DAYS_PER_MONTH` = 365/12 days, for every conversion.
* **Hazards.** A rate ``r`` per year becomes a hazard ``r / 365`` per day (``*_hazard`` arrays,
  used by the agent engine to draw continuous event times) and a daily probability
  ``1 − exp(−r/365)`` (``*_p`` arrays, used by the aggregate engine). The two agree: an
  Exponential clock with hazard h fires within a day with probability ``1 − exp(−h)``.
* **Capacities.** Per-month numbers (productivity, hearings, removals) become per-day numbers by
  dividing by :data:`DAYS_PER_MONTH`; weekly flights by 7.
* **Schedules.** A :data:`~corridor.scenario.schema.Schedule` is a number or a list of dated
  steps; the first step's value also applies before its date (piecewise constant).
* **Policies.** A :class:`~corridor.scenario.schema.Policy` sets dotted parameters (see
  :data:`POLICY_PATHS`) from its date on, overriding the schedule; later policies win. A date
  before the period start applies from day 0. Unknown paths are an :class:`InputError`.
* **Arrivals.** ``arrivals.csv`` gives people per month and nationality; each day of a month gets
  ``people / days in that month``. Months before the table are 0; months after it follow
  ``arrivals.after_table`` (``repeat_last_year``: the same month a year earlier, recursively;
  ``hold_last_month``; ``zero``). Months inside the table's range with no row for a nationality
  are 0. ``arrivals.scale`` (and its policies) multiplies the result. Deterrence is *not* applied
  here: it depends on the run's own outcomes (:func:`p_removal`, :func:`deterrence_factor`).
* **Grant rates.** ``grant_rates.csv`` rows are dated steps per nationality; ``"*"`` is the
  default for nationalities without rows of their own.
* **Decision pauses.** ``decision_pauses.csv`` (optional) rows pause a nationality's initial
  decisions from ``from_date`` to ``to_date`` (both included): :attr:`AsylumParams.paused`, the
  ``(days, nat)`` mask both engines read through :mod:`corridor.asylum.rules.pauses`.
* **Hubs.** A hub's agreement status on a day is its last :class:`AgreementStep` on or before
  that day (``"proposed"`` before the first step; policies ``hubs.<id>.status`` override it).
  The host's position is the last ``hosts.csv`` row for that host on or before the day
  (``"unknown"`` before the first row or without rows). A hub *operates* on a day when its status
  is ``"operating"`` and the host's position is not ``"refused"`` — or the hub is
  ``hypothetical`` (then the host's refusal is ignored and outputs label it so). A hub is
  *paying* (fixed payments accrue) while its status is ``agreed``, ``operating`` or
  ``suspended``, under the same host condition. Set-up is paid on the first operating day.
* **Costs.** Unit costs are the :class:`~corridor.scenario.schema.Costs` fields, overridden
  from their ``from_date`` by dated ``costs.csv`` rows whose ``item`` names a field
  (``hotel_night``, ``decision``, ...), then by policies ``costs.<item>``.
  :func:`daily_costs` turns stocks and flows into pounds by item (:data:`COST_ITEMS`) — one
  rule for both engines.
* **Returns agreements.** ``nationalities.csv`` says whether people of a nationality can be
  removed (``returns_agreement``) and, optionally, from which date (``returns_agreement_from``;
  empty: the whole period): :attr:`AsylumParams.removable` is the ``(days, nat)`` mask. People
  refused while their nationality is not removable are in ``limbo``; on the day an agreement
  starts they become ``refused`` (removable) and join the removal queue in their original order;
  if it ends they return to ``limbo``. Inadmissible people are held (``inadmissible``) while
  removable or some configured hub may take them, otherwise in ``limbo``
  (:attr:`AsylumParams.inad_held`).
* **Queues** (both engines). Decisions and appeals are multi-server queues in continuous time:
  ``round(servers)`` (agent engine) or ``servers`` (aggregate) servers; a case in service is
  finished at the hazard of the day's service rate (productivity per day): service needs an
  Exp(1) amount of work (``service: fixed``: 1) done at the rate in force, so a change of
  productivity applies to cases already in service. A server removed by a schedule finishes its
  case first. Waiting cases are served by priority class (the class of the day they joined), then
  first come first served, and withdraw (renege) at the withdrawal hazard while waiting. Removal
  listing and hub transfers take the longest-waiting eligible people (by the time they entered
  the exit route) while the day's capacity lasts, or with ``returns.removal_order:
  newest_first`` the most recently entered: whole days, newest first, and a day not taken whole
  in proportion (:attr:`exit_newest_first`). People refused before day 0
  (``returns.initial_refused``, :attr:`initial_refused`) start on the exit route, entered before
  every other.
* **Exit clocks.** Voluntary return and absconding are competing hazards on people waiting on
  the exit route: within a whole day one of them fires with probability :attr:`depart_p`, the
  voluntary one with share :attr:`voluntary_share`; people who enter during the day (uniformly)
  are exposed for the rest of it (:attr:`depart_p_entry`). A stay in a hub ends at the hazard
  ``1 / stay_days`` of the day (:attr:`hub_exit_hazard`, :attr:`hub_exit_p`).
* **Delays.** People listed for removal at the end of day ``d`` are detained at the end of days
  ``d .. d + removal_days − 1`` and removed on day ``d + removal_days`` (the same day when 0).
  Appeals are lodged ``lodging_days`` after the refusal. Transfers to a hub happen at the end of
  the day; the stay starts then.
* **Sampling.** ``agents_per_person`` is carried as :attr:`AsylumParams.sample`; only the agent
  engine uses it (it scales its capacities and divides its counts).

Nothing here draws a random number or depends on a run's state: :func:`build_params` is pure.

Layout
------
This package is the stable import path; the parts live in submodules and are re-exported here:
:mod:`~corridor.asylum.params.constants` (units, vocabularies, policy paths),
:mod:`~corridor.asylum.params.arrays` (:class:`AsylumParams`),
:mod:`~corridor.asylum.params.schedules` (time grid, schedules, policies, rate conversions),
:mod:`~corridor.asylum.params.tables` (nationalities, arrivals, grant rates, priority, unit costs),
:mod:`~corridor.asylum.params.hubs` (hub arrays), :mod:`~corridor.asylum.params.rules` (rules
shared by both engines) and :mod:`~corridor.asylum.params.build` (:func:`build_params`).
"""

from __future__ import annotations

from corridor.asylum.params.arrays import AsylumParams
from corridor.asylum.params.build import build_params, summary
from corridor.asylum.params.constants import (
    COST_ITEMS,
    DAYS_PER_MONTH,
    DAYS_PER_WEEK,
    DAYS_PER_YEAR,
    DETERRENCE_DENOMINATOR,
    DETERRENCE_DENOMINATOR_INDEX,
    DETERRENCE_NUMERATOR,
    DETERRENCE_NUMERATOR_INDEX,
    FLOW_INDEX,
    HOST_POSITIONS,
    HUB_STATUSES,
    MAX_HUBS,
    MAX_NATIONALITIES,
    STOCK_INDEX,
)
from corridor.asylum.params.rules import (
    MAX_HAZARD_PER_DAY,
    competing_exits,
    cumulative_hazard,
    daily_costs,
    deterrence_factor,
    event_time,
    hub_exit_hazard,
    p_removal,
)
from corridor.asylum.params.schedules import hazard_per_day, prob_per_day, schedule_daily
from corridor.scenario.policy_paths import HUB_POLICY_FIELDS, POLICY_PATHS, UNIT_COST_ITEMS

__all__ = [
    "COST_ITEMS",
    "DAYS_PER_MONTH",
    "DAYS_PER_WEEK",
    "DAYS_PER_YEAR",
    "DETERRENCE_DENOMINATOR",
    "DETERRENCE_DENOMINATOR_INDEX",
    "DETERRENCE_NUMERATOR",
    "DETERRENCE_NUMERATOR_INDEX",
    "FLOW_INDEX",
    "HOST_POSITIONS",
    "HUB_POLICY_FIELDS",
    "HUB_STATUSES",
    "MAX_HAZARD_PER_DAY",
    "MAX_HUBS",
    "MAX_NATIONALITIES",
    "POLICY_PATHS",
    "STOCK_INDEX",
    "UNIT_COST_ITEMS",
    "AsylumParams",
    "build_params",
    "competing_exits",
    "cumulative_hazard",
    "daily_costs",
    "deterrence_factor",
    "event_time",
    "hazard_per_day",
    "hub_exit_hazard",
    "p_removal",
    "prob_per_day",
    "schedule_daily",
    "summary",
]
