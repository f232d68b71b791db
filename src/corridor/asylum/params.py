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
  the exit route) while the day's capacity lasts.
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
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from corridor.errors import InputError
from corridor.scenario.loaded import LoadedScenario
from corridor.scenario.schema import FLOWS, STOCKS, Hub, Scenario, Schedule, Step

log = logging.getLogger(__name__)

DAYS_PER_YEAR = 365.0
DAYS_PER_MONTH = DAYS_PER_YEAR / 12.0
DAYS_PER_WEEK = 7.0
MAX_NATIONALITIES = 255  # nationality is a uint8 agent column
MAX_HUBS = 127  # hub is an int8 agent column (-1 = none)

HUB_STATUSES: tuple[str, ...] = ("proposed", "agreed", "operating", "suspended", "ended")
HOST_POSITIONS: tuple[str, ...] = (
    "refused",
    "unknown",
    "not_asked",
    "in_talks",
    "conditional",
    "agreed",
)
_PAYING = ("agreed", "operating", "suspended")

# Unit-cost items: fields of schema.Costs (and the ``item`` values costs.csv may use).
UNIT_COST_ITEMS: tuple[str, ...] = (
    "hotel_night",
    "dispersal_night",
    "large_site_night",
    "detention_night",
    "decision",
    "appeal",
    "removal",
    "hub_transfer",
)
# Output cost items (the ``item`` column of ScenarioResult.costs), both engines.
COST_ITEMS: tuple[str, ...] = (
    "accommodation_hotel",
    "accommodation_large_site",
    "accommodation_dispersal",
    "detention",
    "decisions",
    "appeals",
    "removals",
    "hub_transfers",
    "hub_nights",
    "hub_per_person",
    "hub_fixed",
    "hub_setup",
)

# Deterrence: outcomes counted in p_removal (numerator ⊂ denominator), as FLOWS names.
DETERRENCE_NUMERATOR: tuple[str, ...] = ("removals", "hub_transfers")
DETERRENCE_DENOMINATOR: tuple[str, ...] = (
    "decisions",
    "voluntary_returns",
    "removals",
    "hub_transfers",
    "absconds",
)

STOCK_INDEX = {s: i for i, s in enumerate(STOCKS)}
FLOW_INDEX = {f: i for i, f in enumerate(FLOWS)}

# Parameters a Policy may set (numeric unless noted), and hub fields ``hubs.<id>.<field>``.
POLICY_PATHS: tuple[str, ...] = (
    "arrivals.claim_share",
    "arrivals.scale",
    "deterrence.enabled",  # bool
    "deterrence.elasticity",
    "asylum.caseworkers",
    "asylum.productivity",
    "asylum.withdrawal_rate",
    "asylum.appeals.lodge_share",
    "asylum.appeals.judges",
    "asylum.appeals.hearings_per_judge_month",
    "asylum.appeals.allow_rate",
    "asylum.appeals.lodging_days",
    "returns.voluntary_rate",
    "returns.abscond_rate",
    "returns.removal_capacity",
    "returns.detention_places",
    "returns.removal_days",
    "accommodation.supported_share",
    "accommodation.hotel",
    "accommodation.large_site",
    *(f"costs.{item}" for item in UNIT_COST_ITEMS),
)
HUB_POLICY_FIELDS: tuple[str, ...] = (
    "status",  # str, one of HUB_STATUSES
    "hypothetical",  # bool
    "beds",
    "flights_per_week",
    "seats_per_flight",
    "stay_days",
    "removed_onward",
    "left",
    "stayed",
    "fixed_payment_gbp",
    "payment_per_person_gbp",
    "cost_per_night_gbp",
)
_BOOL_PATHS = {"deterrence.enabled"}
_SHARE_PATHS = {
    "arrivals.claim_share",
    "deterrence.elasticity",
    "asylum.appeals.lodge_share",
    "asylum.appeals.allow_rate",
    "accommodation.supported_share",
    "accommodation.hotel",
    "accommodation.large_site",
}

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
B = NDArray[np.bool_]


def hazard_per_day(rate_per_year: F64 | float) -> F64:
    """Hazard per day of a rate per year: ``r / 365``."""
    return np.asarray(rate_per_year, dtype=np.float64) / DAYS_PER_YEAR


def prob_per_day(rate_per_year: F64 | float) -> F64:
    """Probability that an Exponential clock of ``r`` per year fires within a day:
    ``1 − exp(−r/365)``."""
    return -np.expm1(-hazard_per_day(rate_per_year))


@dataclass(frozen=True, eq=False)
class AsylumParams:
    """Everything a run needs, as arrays indexed by day ``d`` (0 = period start).

    Shapes: ``(days,)`` scalars by day; ``(days, nat)`` by day and nationality (index into
    :attr:`nationalities`); ``(days, hubs)`` by day and hub (index into :attr:`hub_ids`).
    Units are in the names: ``*_day`` per day, ``*_hazard`` per day (continuous),
    ``*_p`` probability per day, shares in [0, 1], people are people (not cases).
    """

    scenario: Scenario
    start: date
    days: int
    dates: pd.DatetimeIndex
    sample: float  # agents per person (agent engine only)

    # -- nationalities --------------------------------------------------------------------
    nationalities: tuple[str, ...]
    household: F64  # (nat,) mean people per case
    returns_agreement: B  # (nat,) the UK can remove people of this nationality on some day
    removable: B  # (days, nat) a returns agreement is in force (nationalities.csv, dated)

    # -- arrivals and claims --------------------------------------------------------------
    arrivals: F64  # (days, nat) expected arriving people per day, incl. arrivals.scale
    claim_share: F64  # (days,)
    inadmissible_share: F64  # (days, nat) share of claimants screened out (0 when no policy)
    inad_held: B  # (days, nat) inadmissible people are held (removable or a hub may take them)
    deterrence_on: B  # (days,)
    elasticity: F64  # (days,)
    deterrence_lag_days: int
    deterrence_window_days: int

    # -- initial decisions ----------------------------------------------------------------
    caseworkers: F64  # (days,) FTE = servers
    decisions_per_caseworker_day: F64  # (days,) service rate of one caseworker
    service: str  # "exponential" | "fixed"
    priority_class: NDArray[np.uint8]  # (days, nat) 0 = served first; FIFO: all 0
    n_classes: int
    grant_rate: F64  # (days, nat)
    withdrawal_hazard: F64  # (days,) per waiting case per day
    withdrawal_p: F64  # (days,)
    initial_backlog: float  # people awaiting a decision on day 0
    initial_mix: F64  # (nat,) nationality shares of the initial backlog (people)
    initial_cases: F64  # (nat,) cases awaiting a decision on day 0: backlog × mix / household
    default_household: float

    # -- appeals --------------------------------------------------------------------------
    lodge_share: F64  # (days,)
    lodging_days: I64  # (days,)
    judges: F64  # (days,) FTE = tribunal servers
    hearings_per_judge_day: F64  # (days,)
    allow_rate: F64  # (days,)

    # -- returns --------------------------------------------------------------------------
    voluntary_hazard: F64  # (days,)
    voluntary_p: F64
    abscond_hazard: F64
    abscond_p: F64
    depart_p: F64  # (days,) P(voluntary or abscond clock fires within a whole day)
    depart_p_entry: F64  # (days,) the same for people entering uniformly during the day
    voluntary_share: F64  # (days,) share of those departures that are voluntary returns
    removal_capacity_day: F64  # (days,) people listed for removal per day
    detention_places: F64  # (days,) people
    removal_days: I64  # (days,) days from listing (detention) to removal

    # -- hubs -----------------------------------------------------------------------------
    hub_ids: tuple[str, ...]
    hub_hypothetical: B  # (days, hubs)
    hub_agreement: NDArray[np.uint8]  # (days, hubs) index into HUB_STATUSES
    host_position: NDArray[np.uint8]  # (days, hubs) index into HOST_POSITIONS
    hub_operating: B  # (days, hubs) transfers possible
    hub_paying: B  # (days, hubs) fixed payments accrue
    hub_first_operating: I64  # (hubs,) first operating day, -1 if never
    hub_eligible: NDArray[np.bool_]  # (hubs, nat, 2) [.., 0] refused, [.., 1] inadmissible
    hub_beds: F64  # (days, hubs) people
    hub_seats_day: F64  # (days, hubs) flights/week × seats/flight / 7
    hub_stay_days: F64  # (days, hubs) mean stay
    hub_exit_hazard: F64  # (days, hubs) 1 / stay_days: a stay ends at this hazard per day
    hub_exit_p: F64  # (days, hubs) P(a stay ends within a whole day)
    hub_shares: F64  # (days, hubs, 3) removed_onward, left, stayed
    hub_fixed_day: F64  # (days, hubs) fixed payment per year / 365
    hub_per_person: F64  # (days, hubs) GBP per person transferred
    hub_night: F64  # (days, hubs) GBP per person-night
    hub_setup: F64  # (hubs,) GBP, paid on the first operating day

    # -- accommodation and costs ----------------------------------------------------------
    supported_share: F64  # (days,)
    hotel_share: F64  # (days,) of supported people
    large_site_share: F64  # (days,)
    dispersal_share: F64  # (days,) 1 − hotel − large_site
    unit_costs: Mapping[str, F64]  # UNIT_COST_ITEMS -> (days,) GBP

    @property
    def n_nat(self) -> int:
        return len(self.nationalities)

    @property
    def n_hubs(self) -> int:
        return len(self.hub_ids)

    def day_of(self, when: date) -> int:
        """Day index of a date (may be negative or ≥ days)."""
        return (when - self.start).days


# ---------------------------------------------------------------------------------------------
# Building


def build_params(loaded: LoadedScenario) -> AsylumParams:
    """Turn a loaded scenario into :class:`AsylumParams` (pure; raises :class:`InputError`)."""
    sc = loaded.scenario
    start, end = sc.period.start, sc.period.end
    days = (end - start).days + 1
    dates = pd.date_range(pd.Timestamp(start), periods=days, freq="D")
    pol = _Policies(sc, start, days)
    nats, household, returns, removable = _nationalities(loaded, sc.asylum.household_size, dates)
    nidx = {n: i for i, n in enumerate(nats)}

    scale = pol.series("arrivals.scale", sc.arrivals.scale)
    arrivals = _daily_arrivals(loaded, nidx, dates) * scale[:, None]
    a = sc.asylum
    ap = a.appeals
    r = sc.returns
    withdrawal = pol.series("asylum.withdrawal_rate", a.withdrawal_rate)
    voluntary = pol.series("returns.voluntary_rate", r.voluntary_rate)
    abscond = pol.series("returns.abscond_rate", r.abscond_rate)
    hubs = _hub_arrays(loaded, pol, nidx, dates)
    hotel = pol.series("accommodation.hotel", sc.accommodation.hotel)
    large = pol.series("accommodation.large_site", sc.accommodation.large_site)
    if np.any(hotel + large > 1.0 + 1e-9):
        raise InputError(
            "accommodation.hotel + accommodation.large_site exceeds 1 on some day",
            field="accommodation",
            expected="shares of supported people summing to at most 1",
        )
    first_year = arrivals[: min(days, 365)].sum(axis=0)
    mix = (
        first_year / first_year.sum() if first_year.sum() > 0 else np.full(len(nats), 1 / len(nats))
    )
    n_classes, pclass = _priority(sc, nidx, dates)
    inad_held = removable | hubs["hub_eligible"][:, :, 1].any(axis=0)[None, :]
    hv, ha = hazard_per_day(voluntary), hazard_per_day(abscond)
    depart_p, depart_p_entry, voluntary_share = competing_exits(hv, ha)

    return AsylumParams(
        scenario=sc,
        start=start,
        days=days,
        dates=dates,
        sample=float(sc.agents_per_person),
        nationalities=nats,
        household=household,
        returns_agreement=returns,
        removable=removable,
        arrivals=arrivals,
        claim_share=pol.series("arrivals.claim_share", sc.arrivals.claim_share),
        inadmissible_share=_inadmissible(sc, nidx, dates),
        inad_held=inad_held,
        deterrence_on=pol.series("deterrence.enabled", float(sc.deterrence.enabled)) > 0.5,
        elasticity=pol.series("deterrence.elasticity", sc.deterrence.elasticity),
        deterrence_lag_days=sc.deterrence.lag_days,
        deterrence_window_days=sc.deterrence.window_days,
        caseworkers=pol.series("asylum.caseworkers", a.caseworkers),
        decisions_per_caseworker_day=pol.series("asylum.productivity", a.productivity)
        / DAYS_PER_MONTH,
        service=a.service,
        priority_class=pclass,
        n_classes=n_classes,
        grant_rate=_grant_rates(loaded, nidx, dates),
        withdrawal_hazard=hazard_per_day(withdrawal),
        withdrawal_p=prob_per_day(withdrawal),
        initial_backlog=float(a.initial_backlog),
        initial_mix=mix,
        initial_cases=float(a.initial_backlog) * mix / household,
        default_household=float(a.household_size),
        lodge_share=pol.series("asylum.appeals.lodge_share", ap.lodge_share),
        lodging_days=np.rint(pol.series("asylum.appeals.lodging_days", ap.lodging_days)).astype(
            np.int64
        ),
        judges=pol.series("asylum.appeals.judges", ap.judges),
        hearings_per_judge_day=pol.series(
            "asylum.appeals.hearings_per_judge_month", ap.hearings_per_judge_month
        )
        / DAYS_PER_MONTH,
        allow_rate=pol.series("asylum.appeals.allow_rate", ap.allow_rate),
        voluntary_hazard=hazard_per_day(voluntary),
        voluntary_p=prob_per_day(voluntary),
        abscond_hazard=hazard_per_day(abscond),
        abscond_p=prob_per_day(abscond),
        depart_p=depart_p,
        depart_p_entry=depart_p_entry,
        voluntary_share=voluntary_share,
        removal_capacity_day=pol.series("returns.removal_capacity", r.removal_capacity)
        / DAYS_PER_MONTH,
        detention_places=pol.series("returns.detention_places", r.detention_places),
        removal_days=np.rint(pol.series("returns.removal_days", r.removal_days)).astype(np.int64),
        supported_share=pol.series(
            "accommodation.supported_share", sc.accommodation.supported_share
        ),
        hotel_share=hotel,
        large_site_share=large,
        dispersal_share=np.clip(1.0 - hotel - large, 0.0, 1.0),
        unit_costs=_unit_costs(loaded, pol, dates),
        **hubs,
    )


class _Policies:
    """Dated overrides: ``series(path, base)`` is the base schedule with every policy applied."""

    def __init__(self, sc: Scenario, start: date, days: int) -> None:
        self.start, self.days, self.sc = start, days, sc
        hub_ids = {h.id for h in sc.hubs}
        self.by_path: dict[str, list[tuple[int, Any]]] = {}
        for i, p in enumerate(sorted(sc.policies, key=lambda p: p.date)):
            for path, value in p.set.items():
                _check_policy_value(path, value, hub_ids, i)
                day = max((p.date - start).days, 0)
                self.by_path.setdefault(path, []).append((day, value))

    def series(self, path: str, base: Schedule | float) -> F64:
        out = schedule_daily(base, self.start, self.days)
        for day, value in self.by_path.get(path, []):
            if day < self.days:
                out[day:] = float(value)
        return out

    def raw(self, path: str) -> list[tuple[int, Any]]:
        return self.by_path.get(path, [])


def _check_policy_value(path: str, value: object, hub_ids: set[str], i: int) -> None:
    field = f"policies[{i}].set"
    parts = path.split(".")
    if parts[0] == "hubs":
        if len(parts) != 3 or parts[1] not in hub_ids or parts[2] not in HUB_POLICY_FIELDS:
            raise InputError(
                f"policy sets unknown hub parameter {path!r}",
                field=field,
                expected="hubs.<id>.<field> with an existing hub id and field one of "
                + ", ".join(HUB_POLICY_FIELDS),
            )
        if parts[2] == "status":
            if value not in HUB_STATUSES:
                raise InputError(
                    f"{path} = {value!r}", field=field, expected=" | ".join(HUB_STATUSES)
                )
            return
        if parts[2] == "hypothetical":
            if not isinstance(value, bool):
                raise InputError(f"{path} = {value!r}", field=field, expected="true or false")
            return
    elif path not in POLICY_PATHS:
        raise InputError(
            f"policy sets unknown parameter {path!r}",
            field=field,
            expected="one of " + ", ".join(POLICY_PATHS) + " or hubs.<id>.<field>",
        )
    elif path in _BOOL_PATHS:
        if not isinstance(value, bool):
            raise InputError(f"{path} = {value!r}", field=field, expected="true or false")
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise InputError(f"{path} = {value!r}", field=field, expected="a number >= 0")
    if path in _SHARE_PATHS and value > 1:
        raise InputError(f"{path} = {value!r}", field=field, expected="a share in [0, 1]")


def schedule_daily(s: Schedule | float, start: date, days: int) -> F64:
    """A number or dated steps as a ``(days,)`` array (the first step also applies before it)."""
    if isinstance(s, int | float):
        return np.full(days, float(s))
    steps: Sequence[Step] = sorted(s, key=lambda st: st.date)
    if not steps:
        raise InputError("empty schedule", expected="a number or at least one dated step")
    out = np.full(days, float(steps[0].value))
    for st in steps:
        day = max((st.date - start).days, 0)
        if day < days:
            out[day:] = float(st.value)
    return out


def _dated_index(when: pd.Series, dates: pd.DatetimeIndex) -> I64:
    """For each day, the index of the last row dated on or before it (-1 before the first);
    ``when`` must be sorted."""
    w = pd.to_datetime(when).to_numpy(dtype="datetime64[ns]")
    return np.searchsorted(w, dates.to_numpy(dtype="datetime64[ns]"), side="right") - 1


def _nationalities(
    loaded: LoadedScenario, default_hh: float, dates: pd.DatetimeIndex
) -> tuple[tuple[str, ...], F64, B, B]:
    t = loaded.tables["nationalities"]
    if len(t) == 0:
        raise InputError("nationalities.csv has no rows", file="nationalities.csv")
    names = tuple(str(n) for n in t["nationality"])
    if len(set(names)) != len(names):
        raise InputError("a nationality is listed twice", file="nationalities.csv")
    if len(names) > MAX_NATIONALITIES:
        raise InputError(
            f"{len(names)} nationalities", file="nationalities.csv", expected="at most 255"
        )
    hh = pd.to_numeric(t["household_size"], errors="coerce").to_numpy(dtype=np.float64)
    hh = np.where(np.isfinite(hh), hh, default_hh)
    if np.any(hh < 1.0):
        raise InputError("household_size below 1", file="nationalities.csv", field="household_size")
    agreement = t["returns_agreement"].to_numpy().astype(bool)
    removable = np.broadcast_to(agreement, (len(dates), len(names))).copy()
    if "returns_agreement_from" in t.columns:
        since = pd.to_datetime(t["returns_agreement_from"]).to_numpy(dtype="datetime64[ns]")
        dated = ~np.isnat(since)
        if np.any(dated & ~agreement):
            bad = [n for n, d, a in zip(names, dated, agreement, strict=True) if d and not a]
            raise InputError(
                f"returns_agreement_from is set for nationalities without a returns agreement: "
                f"{bad}",
                file="nationalities.csv",
                field="returns_agreement_from",
                expected="empty where returns_agreement is false",
            )
        day = dates.to_numpy(dtype="datetime64[ns]")[:, None]
        removable &= ~dated[None, :] | (day >= since[None, :])
    ever: B = np.asarray(removable.any(axis=0), dtype=bool)
    return names, np.asarray(hh, dtype=np.float64), ever, removable


def _month_grid(dates: pd.DatetimeIndex) -> pd.DatetimeIndex:
    return pd.date_range(dates[0].to_period("M").to_timestamp(), dates[-1], freq="MS")


def _daily_arrivals(
    loaded: LoadedScenario, nidx: Mapping[str, int], dates: pd.DatetimeIndex
) -> F64:
    t = loaded.tables["arrivals"]
    sc = loaded.scenario
    n_nat = len(nidx)
    months = _month_grid(dates)
    out = np.zeros((len(dates), n_nat))
    if len(t) == 0:
        return out
    unknown = sorted(set(map(str, t["nationality"])) - set(nidx))
    if unknown:
        raise InputError(
            f"arrivals name nationalities missing from nationalities.csv: {unknown}",
            file=sc.arrivals.table,
            field="nationality",
        )
    tm = pd.to_datetime(t["month"]).dt.to_period("M").dt.to_timestamp()
    stamps = pd.DatetimeIndex(tm)
    first, last = stamps.min(), stamps.max()
    grid = pd.date_range(min(first, months[0]), max(last, months[-1]), freq="MS")
    # month positions by arithmetic on datetime64[M] (the grid is every month from its first):
    # no per-row or per-day Python loop
    m0 = grid[0].to_datetime64().astype("datetime64[M]")

    def month_pos(values: Any) -> NDArray[np.int64]:
        months_of = np.asarray(values, dtype="datetime64[ns]").astype("datetime64[M]")
        pos: NDArray[np.int64] = (months_of - m0).astype(np.int64)
        return pos

    table = np.zeros((len(grid), n_nat))
    np.add.at(
        table,
        (month_pos(tm.to_numpy()), t["nationality"].map(nidx).to_numpy(dtype=np.int64)),
        t["people"].to_numpy(dtype=np.float64),
    )
    k_last = int(month_pos(np.array([last.to_datetime64()]))[0])
    rule = sc.arrivals.after_table
    for k in range(k_last + 1, len(grid)):
        if rule == "zero":
            table[k] = 0.0
        elif rule == "hold_last_month":
            table[k] = table[k_last]
        else:  # repeat_last_year
            table[k] = table[k - 12] if k - 12 >= 0 else 0.0
    rows = month_pos(dates.to_numpy())
    out = table[rows] / dates.days_in_month.to_numpy(dtype=np.float64)[:, None]
    return out


def _grant_rates(loaded: LoadedScenario, nidx: Mapping[str, int], dates: pd.DatetimeIndex) -> F64:
    t = loaded.tables["grant_rates"].sort_values("from_date", kind="stable")
    out = np.full((len(dates), len(nidx)), np.nan)
    groups = {str(k): g for k, g in t.groupby("nationality", sort=False)}
    unknown = sorted(set(groups) - set(nidx) - {"*"})
    if unknown:
        log.warning("grant_rates.csv names nationalities not in nationalities.csv: %s", unknown)
    for name, i in nidx.items():
        g = groups.get(name, groups.get("*"))
        if g is None:
            raise InputError(
                f"no grant rate for nationality {name!r}",
                file="grant_rates.csv",
                expected="rows for it or a '*' default row",
            )
        k = _dated_index(g["from_date"], dates)
        vals = g["grant_rate"].to_numpy(dtype=np.float64)
        out[:, i] = vals[np.maximum(k, 0)]
    if np.any((out < 0) | (out > 1)):
        raise InputError("grant_rate outside [0, 1]", file="grant_rates.csv", field="grant_rate")
    return out


def _nat_mask(names: Sequence[str] | None, nidx: Mapping[str, int], what: str) -> B:
    mask = np.zeros(len(nidx), dtype=bool)
    if names is None:
        mask[:] = True
        return mask
    for n in names:
        if n in nidx:
            mask[nidx[n]] = True
        else:
            log.warning("%s names nationality %r, which is not in nationalities.csv", what, n)
    return mask


def _inadmissible(sc: Scenario, nidx: Mapping[str, int], dates: pd.DatetimeIndex) -> F64:
    out = np.zeros((len(dates), len(nidx)))
    d = dates.date
    for k, pol in enumerate(sc.inadmissibility):
        on = d >= pol.from_date
        if pol.to_date is not None:
            on &= d <= pol.to_date  # inclusive
        mask = _nat_mask(pol.nationalities, nidx, f"inadmissibility[{k}]")
        out[np.ix_(on, mask)] = pol.share  # later entries override earlier ones
    return out


def _priority(
    sc: Scenario, nidx: Mapping[str, int], dates: pd.DatetimeIndex
) -> tuple[int, NDArray[np.uint8]]:
    a = sc.asylum
    if a.discipline == "fifo" or not a.priority_classes:
        return 1, np.zeros((len(dates), len(nidx)), dtype=np.uint8)
    k_low = len(a.priority_classes)  # everyone else: the last class
    out = np.full((len(dates), len(nidx)), k_low, dtype=np.uint8)
    d = dates.date
    for k in range(len(a.priority_classes) - 1, -1, -1):  # first listed class wins
        pc = a.priority_classes[k]
        on = np.ones(len(dates), bool) if pc.from_date is None else d >= pc.from_date
        mask = _nat_mask(pc.nationalities, nidx, f"priority class {pc.name!r}")
        out[np.ix_(on, mask)] = k
    return k_low + 1, out


def _unit_costs(loaded: LoadedScenario, pol: _Policies, dates: pd.DatetimeIndex) -> dict[str, F64]:
    c = loaded.scenario.costs
    t = loaded.tables.get("costs")
    out: dict[str, F64] = {}
    rows = {} if t is None or len(t) == 0 else {str(k): g for k, g in t.groupby("item")}
    unknown = sorted(set(rows) - set(UNIT_COST_ITEMS))
    if unknown:
        log.warning("costs.csv items not used by the asylum model: %s", unknown)
    for item in UNIT_COST_ITEMS:
        base = np.full(len(dates), float(getattr(c, item)))
        if item in rows:
            g = rows[item].sort_values("from_date", kind="stable")
            k = _dated_index(g["from_date"], dates)
            base = np.where(k >= 0, g["gbp"].to_numpy(dtype=np.float64)[np.maximum(k, 0)], base)
        for day, value in pol.raw(f"costs.{item}"):
            if day < len(dates):
                base[day:] = float(value)
        out[item] = base
    return out


def _hub_arrays(
    loaded: LoadedScenario, pol: _Policies, nidx: Mapping[str, int], dates: pd.DatetimeIndex
) -> dict[str, Any]:
    hubs: list[Hub] = list(loaded.scenario.hubs)
    if len(hubs) > MAX_HUBS:
        raise InputError(f"{len(hubs)} hubs", field="hubs", expected=f"at most {MAX_HUBS}")
    ids = tuple(h.id for h in hubs)
    if len(set(ids)) != len(ids):
        raise InputError("two hubs share an id", field="hubs[].id", expected="unique ids")
    n_days, n_h, n_nat = len(dates), len(hubs), len(nidx)
    hosts = loaded.tables.get("hosts")
    host_rows = (
        {} if hosts is None or len(hosts) == 0 else {str(k): g for k, g in hosts.groupby("host")}
    )
    agreement = np.zeros((n_days, n_h), dtype=np.uint8)
    position = np.full((n_days, n_h), HOST_POSITIONS.index("unknown"), dtype=np.uint8)
    hypo = np.zeros((n_days, n_h), dtype=bool)
    elig = np.zeros((n_h, n_nat, 2), dtype=bool)
    fields: dict[str, F64] = {}
    numeric = [f for f in HUB_POLICY_FIELDS if f not in ("status", "hypothetical")]
    for f in numeric:
        fields[f] = np.zeros((n_days, n_h))
    start = dates[0].date()
    for j, h in enumerate(hubs):
        steps = sorted(h.agreement, key=lambda s: s.date)
        st = np.zeros(n_days, dtype=np.uint8)  # "proposed" before the first step
        for s in steps:
            day = max((s.date - start).days, 0)
            if day < n_days:
                st[day:] = HUB_STATUSES.index(s.status)
        for day, value in pol.raw(f"hubs.{h.id}.status"):
            if day < n_days:
                st[day:] = HUB_STATUSES.index(str(value))
        agreement[:, j] = st
        hv = np.full(n_days, h.hypothetical)
        for day, value in pol.raw(f"hubs.{h.id}.hypothetical"):
            if day < n_days:
                hv[day:] = bool(value)
        hypo[:, j] = hv
        g = host_rows.get(h.host)
        if g is not None:
            g = g.sort_values("date", kind="stable")
            k = _dated_index(g["date"], dates)
            codes = np.asarray([HOST_POSITIONS.index(str(p)) for p in g["position"]], np.uint8)
            position[:, j] = np.where(k >= 0, codes[np.maximum(k, 0)], position[:, j])
        nat_ok = _nat_mask(h.nationalities, nidx, f"hub {h.id!r}")
        elig[j, :, 0] = nat_ok & h.eligible_refused
        elig[j, :, 1] = nat_ok & h.eligible_inadmissible
        for f in numeric:
            fields[f][:, j] = pol.series(f"hubs.{h.id}.{f}", float(getattr(h, f)))
    shares = np.stack([fields["removed_onward"], fields["left"], fields["stayed"]], axis=-1)
    tot = shares.sum(axis=-1, keepdims=True)
    if n_h and np.any(np.abs(tot - 1.0) > 1e-6):
        raise InputError(
            "hub removed_onward + left + stayed is not 1 on some day (check policies)",
            field="hubs",
            expected="shares summing to 1",
        )
    host_ok = (position != HOST_POSITIONS.index("refused")) | hypo
    operating = (agreement == HUB_STATUSES.index("operating")) & host_ok
    paying = np.isin(agreement, [HUB_STATUSES.index(s) for s in _PAYING]) & host_ok
    first = np.full(n_h, -1, dtype=np.int64)
    for j in range(n_h):
        on = np.flatnonzero(operating[:, j])
        if on.size:
            first[j] = on[0]
    return {
        "hub_ids": ids,
        "hub_hypothetical": hypo,
        "hub_agreement": agreement,
        "host_position": position,
        "hub_operating": operating,
        "hub_paying": paying,
        "hub_first_operating": first,
        "hub_eligible": elig,
        "hub_beds": fields["beds"],
        "hub_seats_day": fields["flights_per_week"] * fields["seats_per_flight"] / DAYS_PER_WEEK,
        "hub_stay_days": fields["stay_days"],
        "hub_exit_hazard": hub_exit_hazard(fields["stay_days"]),
        "hub_exit_p": -np.expm1(-hub_exit_hazard(fields["stay_days"])),
        "hub_shares": shares,
        "hub_fixed_day": fields["fixed_payment_gbp"] / DAYS_PER_YEAR,
        "hub_per_person": fields["payment_per_person_gbp"],
        "hub_night": fields["cost_per_night_gbp"],
        "hub_setup": np.asarray([h.setup_gbp for h in hubs], dtype=np.float64),
    }


# ---------------------------------------------------------------------------------------------
# Rules shared by both engines


MAX_HAZARD_PER_DAY = 1e6  # a stay of 0 days ends at once (the next day), without dividing by 0


def hub_exit_hazard(stay_days: F64) -> F64:
    """Hazard per day at which a hub stay of mean ``stay_days`` ends (capped for 0-day stays)."""
    out: F64 = np.minimum(1.0 / np.maximum(stay_days, 1.0 / MAX_HAZARD_PER_DAY), MAX_HAZARD_PER_DAY)
    return out


def competing_exits(hv: F64, ha: F64) -> tuple[F64, F64, F64]:
    """The exit clocks as daily probabilities: voluntary return (hazard ``hv`` per day) and
    absconding (``ha``) compete; returns ``(p, p_entry, voluntary_share)``.

    ``p = 1 − exp(−h)`` (``h = hv + ha``): someone waiting all day leaves; ``p_entry = 1 − (1 −
    exp(−h))/h``: someone entering at a uniform time of the day leaves before it ends;
    ``voluntary_share = hv / h`` (1 where ``h = 0``).
    """
    h = np.asarray(hv, dtype=np.float64) + np.asarray(ha, dtype=np.float64)
    p = -np.expm1(-h)
    safe = np.where(h > 0, h, 1.0)
    series = h / 2.0 - h * h / 6.0 + h**3 / 24.0
    p_entry = np.where(h < 1e-4, series, 1.0 - p / safe)
    share = np.where(h > 0, np.asarray(hv, dtype=np.float64) / safe, 1.0)
    return p, p_entry, share


def p_removal(num_cum: F64, den_cum: F64, day: int, lag: int, window: int) -> F64:
    """Share of recent outcomes that were removals or hub transfers, by nationality.

    ``num_cum[k]`` / ``den_cum[k]`` (shape ``(days + 1, nat)``) are the cumulative people in
    :data:`DETERRENCE_NUMERATOR` / :data:`DETERRENCE_DENOMINATOR` flows over days ``< k``. The
    share on day ``day`` uses days ``[day − lag − window, day − lag)`` (only days already
    simulated); 0 where no outcome was recorded.
    """
    hi = min(max(day - lag, 0), day)
    lo = max(hi - window, 0)
    den = den_cum[hi] - den_cum[lo]
    num = num_cum[hi] - num_cum[lo]
    safe = np.where(den > 0, den, 1.0)
    return np.where(den > 0, np.clip(num / safe, 0.0, 1.0), 0.0)


def deterrence_factor(p: AsylumParams, p_rem: F64, day: int) -> F64:
    """Arrivals multiplier ``max(0, 1 − elasticity × p_removal)`` (1 when deterrence is off)."""
    if not p.deterrence_on[day]:
        return np.ones_like(p_rem)
    out: F64 = np.clip(1.0 - p.elasticity[day] * p_rem, 0.0, 1.0)
    return out


def daily_costs(
    p: AsylumParams,
    *,
    awaiting_people: F64,
    detained_people: F64,
    hub_people: F64,
    decision_cases: F64,
    appeal_cases: F64,
    removals: F64,
    hub_transfers: F64,
) -> dict[str, F64]:
    """Pounds spent each day, by item of :data:`COST_ITEMS`.

    Inputs are ``(days,)`` arrays (``hub_*``: ``(days, hubs)``), all nationalities together:
    people awaiting a decision or an appeal at the end of the day, people detained, people in
    each hub, initial decisions and appeal determinations that day *in cases* (unit costs are per
    main applicant), people removed, people transferred to each hub.

    Rules: a share ``supported_share`` of people awaiting a decision or appeal is accommodated,
    split hotel / large site / dispersal by the accommodation shares, one night each per day;
    detention and hub nights likewise per person per day; decisions, appeals, removals and hub
    transfers at their unit costs; hub payments per person transferred; fixed payments per year
    spread evenly over every *paying* day; set-up on the first operating day.
    """
    uc = p.unit_costs
    supported = awaiting_people * p.supported_share
    setup = np.zeros(p.days)
    for j in range(p.n_hubs):
        if p.hub_first_operating[j] >= 0:
            setup[p.hub_first_operating[j]] += p.hub_setup[j]
    return {
        "accommodation_hotel": supported * p.hotel_share * uc["hotel_night"],
        "accommodation_large_site": supported * p.large_site_share * uc["large_site_night"],
        "accommodation_dispersal": supported * p.dispersal_share * uc["dispersal_night"],
        "detention": detained_people * uc["detention_night"],
        "decisions": decision_cases * uc["decision"],
        "appeals": appeal_cases * uc["appeal"],
        "removals": removals * uc["removal"],
        "hub_transfers": hub_transfers.sum(axis=1) * uc["hub_transfer"],
        "hub_nights": (hub_people * p.hub_night).sum(axis=1),
        "hub_per_person": (hub_transfers * p.hub_per_person).sum(axis=1),
        "hub_fixed": (p.hub_paying * p.hub_fixed_day).sum(axis=1),
        "hub_setup": setup,
    }


def cumulative_hazard(hazard_day: F64) -> F64:
    """``H[k] = Σ_{j<k} hazard[j]`` (length days + 1): the integrated hazard at the start of
    day k, for drawing event times of a piecewise-constant rate (:func:`event_time`)."""
    out = np.zeros(hazard_day.shape[0] + 1)
    np.cumsum(hazard_day, out=out[1:])
    return out


def event_time(h_cum: F64, hazard_day: F64, t0: F64, e: F64) -> F64:
    """Time at which a clock started at ``t0`` with Exp(1) threshold ``e`` fires, for the
    piecewise-constant daily hazard (``inf`` if not before the end of the period).

    Solves ``H(t) = H(t0) + e`` with ``H(t) = h_cum[d] + (t − d)·hazard[d]`` for ``t`` in day
    ``d``; exact for any schedule of rates, so the clock needs no daily draws.
    """
    days = hazard_day.shape[0]
    d0 = np.clip(np.floor(t0), 0, days - 1).astype(np.int64)
    start = np.maximum(t0, 0.0)
    target = h_cum[d0] + (start - d0) * hazard_day[d0] + e
    d = np.searchsorted(h_cum, target, side="right") - 1
    inside = d < days
    dd = np.minimum(d, days - 1)
    rate = hazard_day[dd]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = dd + (target - h_cum[dd]) / rate
    return np.where(inside & (rate > 0), np.maximum(t, start), np.inf)


def summary(p: AsylumParams) -> dict[str, Any]:
    """A few headline numbers, for logs and ``meta``."""
    return {
        "days": p.days,
        "nationalities": len(p.nationalities),
        "hubs": list(p.hub_ids),
        "arrivals_people": float(p.arrivals.sum()),
        "caseworkers_day0": float(p.caseworkers[0]) if p.days else math.nan,
    }
