"""The parameters a dated policy may set: the vocabulary shared by the scenario's checks and the
engines that apply policies.

Reads: nothing. Produces: :data:`UNIT_COST_ITEMS` (fields of
:class:`~corridor.scenario.schema.Costs`, and the ``item`` values ``costs.csv`` may use),
:data:`POLICY_PATHS` (dotted parameters a :class:`~corridor.scenario.schema.Policy` may set) and
:data:`HUB_POLICY_FIELDS` (the fields of ``hubs.<id>.<field>``). Reports: nothing.

Invariants: the order of every tuple is part of the contract (messages list them in order);
:mod:`corridor.asylum.params` re-exports them and applies policies with them.
"""

from __future__ import annotations

__all__ = ["HUB_POLICY_FIELDS", "POLICY_PATHS", "UNIT_COST_ITEMS"]

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
    "subsistence_night",
    "legal_aid_appeal",
    "voluntary_assisted_return",
    "voluntary_return",
    "limbo_other_year",
    "france_payment_year",
)

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
    "status",  # str, one of schema.HubStatus
    "hypothetical",  # bool
    "beds",
    "flights_per_week",
    "seats_per_flight",
    "stay_days",
    "removed_onward",
    "left",
    "stayed",
    "returned_uk",
    "reentry",
    "reentry_reach_uk",
    "reentry_days",
    "fixed_payment_gbp",
    "payment_per_person_gbp",
    "cost_per_night_gbp",
)
