"""The exit route: returns agreements, removal listing, hub transfers and hub stay outcomes.

Rules (scenario ``nationalities.csv`` returns agreements, ``removals:``, ``hubs:``):

* **Held or limbo** (:func:`exit_held`): a refused person waiting on the exit route is
  *refused* (can be removed) while their nationality is removable, else in *limbo*; an
  inadmissible person is *inadmissible* (held) while ``inad_held`` (removable, or some hub may
  take them), else in limbo.
* **Agreement changes** (:func:`agreement_changed`): on a day either mask changes for a
  nationality, its people waiting on the exit route are re-classified (agent engine) and the
  older cohorts re-open to removal listing (aggregate engine). ``inad_held`` is ``removable |
  (some hub takes inadmissible people)`` with a hub part fixed over the run, so a change of
  ``inad_held`` is always also a change of ``removable``; both are tested, as the rule says.
* **Daily capacity** (:func:`day_budget`): removals and hub seats are daily capacities, scaled to
  the sample; a household that did not fit in what was left is taken whole and its excess is
  owed by the next day's capacity (agent engine; the aggregate engine takes fractions and owes
  nothing, ``owed = 0``).
* **Free places** (:func:`free_room`): detention places or hub beds, scaled, less the people
  there; the aggregate engine takes no more than ``max(room, 0)``.
* **Removal delay** (:func:`removal_day`): people listed on day ``d`` are removed on day ``d +
  removal_days`` (detained until then); ``removal_days ≤ 0``: the same day.
* **Hub stay outcomes** (:func:`hub_outcome` for one person's draw ``u``, :func:`hub_split` for
  expected people): onward removal with share ``onward``, left with share ``leave``, returned
  to the UK with share ``back`` (brought back, as Italy brought people back from Gjader when
  its courts did not validate their detention), the rest stayed in the host country.
* **Returned to the UK** (:func:`returned_kind`): people brought back from a hub re-enter the
  UK asylum system on the exit route the day they are back, as the kind the hub took for their
  nationality (refused if it takes refused people, else inadmissible); there they are refused
  (removable) or in limbo by :func:`exit_held`, with the same clocks, removal listing, hub
  transfers and costs as anyone else waiting there.

Reads: masks and numbers by (day, nationality) or hub. Produces: states, masks, amounts.
Invariants: pure; the shares of :func:`hub_split` add up to the people leaving the hub.
"""

from __future__ import annotations

import numba as nb
import numpy as np
from numpy.typing import NDArray

B = NDArray[np.bool_]
I64 = NDArray[np.int64]
F64 = NDArray[np.float64]

REFUSED_KIND = 0  # kinds of exit-route people: refused (decision or appeal), inadmissible
INADMISSIBLE_KIND = 1

HUB_ONWARD = 0  # outcomes of a hub stay (:func:`hub_outcome`)
HUB_LEFT = 1
HUB_STAYED = 2
HUB_RETURNED = 3  # brought back to the UK


@nb.njit(cache=True, inline="always")
def exit_held(kind: int, removable: bool, inad_held: bool) -> bool:
    """Whether a person of ``kind`` waiting on the exit route is held (refused /
    inadmissible) rather than in limbo, for their nationality's masks that day."""
    return removable if kind == REFUSED_KIND else inad_held


@nb.njit(cache=True)
def exit_held_cases(kind: int, removable_day: B, inad_held_day: B, nat: NDArray[np.uint8]) -> B:
    """:func:`exit_held` for cases of nationalities ``nat`` on one day."""
    out = np.empty(nat.shape[0], dtype=np.bool_)
    for c in range(nat.shape[0]):
        out[c] = exit_held(kind, removable_day[nat[c]], inad_held_day[nat[c]])
    return out


@nb.njit(cache=True, inline="always")
def agreement_changed(removable: B, inad_held: B, day: int, i: int) -> bool:
    """Whether nationality ``i``'s returns agreement (either mask) changes on ``day`` (> 0)."""
    return day > 0 and (
        removable[day, i] != removable[day - 1, i] or inad_held[day, i] != inad_held[day - 1, i]
    )


@nb.njit(cache=True)
def agreements_changed(removable: B, inad_held: B, day: int) -> I64:
    """Nationalities whose returns agreement changes on ``day``, in order."""
    n = removable.shape[1]
    out = np.empty(n, dtype=np.int64)
    m = 0
    for i in range(n):
        if agreement_changed(removable, inad_held, day, i):
            out[m] = i
            m += 1
    return out[:m]


@nb.njit(cache=True, inline="always")
def day_budget(owed: float, capacity: float, scale: float) -> float:
    """Capacity for the day: ``capacity × scale`` less what the previous day overshot (``owed``
    is the previous budget if negative; a positive rest is not carried over)."""
    return min(owed, 0.0) + capacity * scale


@nb.njit(cache=True, inline="always")
def free_room(places: float, scale: float, there: float) -> float:
    """Free places: ``places × scale − there`` (may be negative)."""
    return places * scale - there


@nb.njit(cache=True, inline="always")
def removal_day(day: int, removal_days: int) -> int:
    """Day on which people listed for removal on ``day`` are removed."""
    return day + max(removal_days, 0)


@nb.njit(cache=True, inline="always")
def hub_outcome(u: float, onward: float, leave: float, back: float) -> int:
    """Outcome of one hub stay for a person's U[0,1) draw ``u`` (intervals in the order
    onward, left, returned to the UK, stayed)."""
    if u < onward:
        return HUB_ONWARD
    if u < onward + leave:
        return HUB_LEFT
    if u < onward + leave + back:
        return HUB_RETURNED
    return HUB_STAYED


@nb.njit(cache=True)
def hub_outcomes(u: F64, onward: F64, leave: F64, back: F64) -> NDArray[np.int8]:
    """:func:`hub_outcome` of each person leaving a hub."""
    out = np.empty(u.shape[0], dtype=np.int8)
    for c in range(u.shape[0]):
        out[c] = hub_outcome(u[c], onward[c], leave[c], back[c])
    return out


@nb.njit(cache=True, inline="always")
def hub_split(
    people: float, onward: float, leave: float, back: float
) -> tuple[float, float, float, float]:
    """Expected people removed onward, left, returned to the UK and stayed among ``people``
    leaving a hub."""
    return people * onward, people * leave, people * back, people * (1.0 - onward - leave - back)


@nb.njit(cache=True, inline="always")
def returned_kind(takes_refused: bool) -> int:
    """Exit-route kind of people brought back to the UK from a hub that takes refused people
    of their nationality (``takes_refused``) or not (it took them inadmissible)."""
    return REFUSED_KIND if takes_refused else INADMISSIBLE_KIND
