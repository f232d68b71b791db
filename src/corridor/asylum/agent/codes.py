"""Codes of the agent engine's state machine (agent column ``state``) and of its timer kinds.

Reads: nothing. Produces: the integer codes every kernel and module compares against,
:data:`STATE_NAMES` (code → name) and :data:`STATE_STOCK` (code → reported stock of
:data:`corridor.scenario.schema.STOCKS`, ``None`` outside the asylum stocks). Reports: nothing.

Invariants: codes are ``0 .. N_STATES − 1`` and fit the ``uint8`` column; ``STATE_NAMES`` and
``STATE_STOCK`` have ``N_STATES`` entries in code order; timer kinds fit the ``int8`` heap column.
The state machine itself (which transitions exist) is described in :mod:`corridor.asylum.agents`.
"""

from __future__ import annotations

# --------------------------------------------------------------------------------------------
# The state machine (codes of the agent column ``state``)

NEW = 0  # spawned today, before the claim phase (never seen at the end of a day)
WAITING_DECISION = 1  # in the caseworker queue
IN_DECISION = 2  # with a caseworker
WAITING_APPEAL = 3  # refused; appeal being lodged or waiting for a judge
IN_APPEAL = 4  # being heard
GRANTED = 5  # protection granted (initially or on appeal); terminal
REFUSED = 6  # appeal rights exhausted, removable: awaiting removal, departure or a hub
DETAINED = 7  # listed for removal, in detention until removed
LIMBO = 8  # refused or inadmissible, not removable: awaiting departure or a hub
INADMISSIBLE = 9  # screened out; awaiting removal, a hub or departure
IN_HUB = 10  # in a third-country hub
DEPARTED = 11  # left: voluntary return, removal, or end of a hub stay; terminal
ABSCONDED = 12  # lost contact; terminal
NOT_CLAIMED = 13  # arrived but did not claim asylum; terminal, outside the asylum stocks
WITHDRAWN = 14  # withdrew the claim while waiting; terminal, outside the asylum stocks
N_STATES = 15
STATE_NAMES: tuple[str, ...] = (
    "new",
    "waiting_decision",
    "in_decision",
    "waiting_appeal",
    "in_appeal",
    "granted",
    "refused",
    "detained",
    "limbo",
    "inadmissible",
    "in_hub",
    "departed",
    "absconded",
    "not_claimed",
    "withdrawn",
)
# Reported stock (name in schema.STOCKS) of each state; None: not an asylum stock.
STATE_STOCK: tuple[str | None, ...] = (
    None,
    "awaiting_decision",
    "awaiting_decision",
    "awaiting_appeal",
    "awaiting_appeal",
    "granted",
    "refused",
    "detained",
    "limbo",
    "inadmissible",
    "in_hub",
    "departed",
    "absconded",
    None,
    None,
)

# Timer kinds (heap entries).
T_WITHDRAW = 0
T_VOLUNTARY = 1
T_ABSCOND = 2
T_REMOVE = 3
T_HUB_EXIT = 4
