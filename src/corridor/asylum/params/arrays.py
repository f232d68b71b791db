"""The parameters of a run: :class:`AsylumParams`, every input as arrays indexed by day.

Reads: nothing (a plain frozen dataclass). Produces the one object both engines read. Reports:
:attr:`~AsylumParams.n_nat`, :attr:`~AsylumParams.n_hubs`, :meth:`~AsylumParams.day_of`.

Invariants: day ``d`` (0 = ``start``) of each array is the value in force on that day; shapes
are ``(days,)``, ``(days, nat)``, ``(days, hubs)`` (or as noted per field); units are in the
names (``*_day`` per day, ``*_hazard`` per day, ``*_p`` probability per day); people are people,
``*_cases`` are cases (people ÷ household size). Built only by
:func:`corridor.asylum.params.build_params`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from corridor.scenario.schema import Scenario

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
B = NDArray[np.bool_]


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
    paused: B  # (days, nat) initial decisions of the nationality paused (decision_pauses.csv)
    withdrawal_hazard: F64  # (days,) per waiting case per day
    withdrawal_p: F64  # (days,)
    initial_backlog: float  # people awaiting a decision on day 0
    initial_mix: F64  # (nat,) nationality shares of the initial backlog (people)
    initial_cases: F64  # (nat,) cases awaiting a decision on day 0: backlog × mix / household
    initial_refused: F64  # (nat,) people refused and in the exit route on day 0: × the mix
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
    exit_newest_first: bool  # listing and hub transfers take the most recently refused first

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
    hub_shares: F64  # (days, hubs, 4) removed_onward, left, stayed, returned_uk
    hub_reentry: F64  # (days, hubs) share of leavers back on the routes to the UK
    hub_reach_uk: F64  # (days, hubs) share of those who arrive in the UK again
    hub_reentry_days: F64  # (days, hubs) days from leaving to being back on the routes
    hub_fixed_day: F64  # (days, hubs) fixed payment per year / 365
    hub_per_person: F64  # (days, hubs) GBP per person transferred
    hub_night: F64  # (days, hubs) GBP per person-night
    hub_setup: F64  # (hubs,) GBP, paid on the first operating day

    # -- accommodation and costs ----------------------------------------------------------
    supported_share: F64  # (days,)
    hotel_share: F64  # (days,) of supported people
    large_site_share: F64  # (days,)
    subsistence_share: F64  # (days,) of supported people, cash support only
    dispersal_share: F64  # (days,) 1 − hotel − large_site − subsistence
    appellant_supported_share: F64  # (days,) of people awaiting an appeal
    refused_supported_share: F64  # (days,) of refused people awaiting removal (Section 4)
    limbo_supported_share: float  # of people in limbo, priced with support
    voluntary_assisted_share: float  # of voluntary returns
    unit_costs: Mapping[str, F64]  # UNIT_COST_ITEMS -> (days,) GBP of the price year

    @property
    def n_nat(self) -> int:
        return len(self.nationalities)

    @property
    def n_hubs(self) -> int:
        return len(self.hub_ids)

    def day_of(self, when: date) -> int:
        """Day index of a date (may be negative or ≥ days)."""
        return (when - self.start).days
