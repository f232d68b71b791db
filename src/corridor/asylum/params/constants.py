"""Constants of the asylum parameters: time units, limits, vocabularies and policy paths.

Reads: :data:`corridor.scenario.schema.STOCKS` and ``FLOWS``. Produces: the time units of every
conversion (:data:`DAYS_PER_YEAR`, :data:`DAYS_PER_MONTH`, :data:`DAYS_PER_WEEK`), the limits
that agent columns impose (:data:`MAX_NATIONALITIES`, :data:`MAX_HUBS`), the hub and host
vocabularies (:data:`HUB_STATUSES`, :data:`HOST_POSITIONS`; arrays store their indices), the
output cost items (:data:`COST_ITEMS`), the deterrence outcome lists and the stock and flow
indices. Reports: nothing. The input cost items and the parameters a policy may set
(``UNIT_COST_ITEMS``, ``POLICY_PATHS``, ``HUB_POLICY_FIELDS``) are the scenario's:
:mod:`corridor.scenario.policy_paths`.

Invariants: :data:`DETERRENCE_NUMERATOR` ⊂ :data:`DETERRENCE_DENOMINATOR` ⊂ ``FLOWS``; the order
of every tuple is part of the contract (indices are stored in arrays and results).
"""

from __future__ import annotations

import numpy as np

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

# Output cost items (the ``item`` column of ScenarioResult.costs), both engines: every stage a
# person can be in, priced (corridor.asylum.params.rules.daily_costs says how).
COST_ITEMS: tuple[str, ...] = (
    "support_hotel",  # supported claimants, appellants and refused: hotels and other contingency
    "support_large_site",
    "support_dispersal",
    "support_subsistence",  # cash support only
    "decisions",
    "appeals_tribunal",
    "appeals_legal_aid",
    "detention",
    "removals_enforced",
    "removals_voluntary_assisted",
    "removals_voluntary",
    "hub_transfers",
    "hub_nights",
    "hub_per_person",
    "hub_fixed",
    "hub_setup",
    "limbo",  # neither granted nor removable: support, health, local authority, enforcement
    "france_payments",  # UK payments to France for Channel prevention
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
# The deterrence flows as indices of FLOWS, in the lists' order (the order both engines add them).
DETERRENCE_NUMERATOR_INDEX = np.array([FLOW_INDEX[f] for f in DETERRENCE_NUMERATOR], np.int64)
DETERRENCE_DENOMINATOR_INDEX = np.array([FLOW_INDEX[f] for f in DETERRENCE_DENOMINATOR], np.int64)
