"""Constants of the asylum parameters: time units, limits, vocabularies and policy paths.

Reads: :data:`corridor.scenario.schema.STOCKS` and ``FLOWS``. Produces: the time units of every
conversion (:data:`DAYS_PER_YEAR`, :data:`DAYS_PER_MONTH`, :data:`DAYS_PER_WEEK`), the limits
that agent columns impose (:data:`MAX_NATIONALITIES`, :data:`MAX_HUBS`), the hub and host
vocabularies (:data:`HUB_STATUSES`, :data:`HOST_POSITIONS`; arrays store their indices), the cost
items (:data:`UNIT_COST_ITEMS` in, :data:`COST_ITEMS` out), the deterrence outcome lists, the
stock and flow indices, and the parameters a policy may set (:data:`POLICY_PATHS`,
:data:`HUB_POLICY_FIELDS`). Reports: nothing.

Invariants: :data:`DETERRENCE_NUMERATOR` ⊂ :data:`DETERRENCE_DENOMINATOR` ⊂ ``FLOWS``; the order
of every tuple is part of the contract (indices are stored in arrays and results).
"""

from __future__ import annotations

from corridor.scenario.schema import FLOWS, STOCKS

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
