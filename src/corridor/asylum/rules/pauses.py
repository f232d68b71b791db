"""Pauses in deciding a nationality: its cases are not decided while the pause lasts.

Rule (``decision_pauses.csv``, :attr:`~corridor.asylum.params.AsylumParams.paused`): on a day
when a nationality's initial decisions are paused, no caseworker *starts* a case of that
nationality; its cases keep waiting in their place (their withdrawal clocks run as usual), and
the caseworkers take the next cases of other nationalities. The day the pause is lifted its
cases are served again in the order they had. A case already in service when a pause starts is
finished (service is not pre-empted). Appeals are not paused (the tribunal is independent of
the Home Office).

* :func:`decidable` — whether cases of nationality ``i`` may be started on day ``d``.
* :func:`pause_starts`, :func:`pause_lifted` — the days a pause begins and ends (the agent
  engine sets a paused nationality's waiting cases aside and merges them back in their order;
  the aggregate engine re-opens its older cohorts to the queue when a pause is lifted).
* :func:`paused_withdrawals_expected` — the expected withdrawals in a day of cases set aside
  (aggregate engine; the agent engine draws each case's own clock).

Reads: the ``(days, nat)`` pause mask and numbers. Produces: booleans, amounts. Invariants:
pure; without a pause (mask all False) both engines do exactly what they did without the rule.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np
from numpy.typing import NDArray

B2 = NDArray[np.bool_]


@nb.njit(cache=True, inline="always")
def decidable(paused: B2, d: int, i: int) -> bool:
    """Cases of nationality ``i`` may be started on day ``d`` (no pause in force)."""
    return not paused[d, i]


@nb.njit(cache=True, inline="always")
def pause_starts(paused: B2, d: int, i: int) -> bool:
    """A pause of nationality ``i`` begins on day ``d`` (paused today, not yesterday)."""
    return paused[d, i] and (d == 0 or not paused[d - 1, i])


@nb.njit(cache=True, inline="always")
def pause_lifted(paused: B2, d: int, i: int) -> bool:
    """A pause of nationality ``i`` ended yesterday: its cases are decided again from day ``d``."""
    return d > 0 and paused[d - 1, i] and not paused[d, i]


@nb.njit(cache=True, inline="always")
def paused_withdrawals_expected(waiting: float, joined: float, w: float) -> float:
    """Expected withdrawals in a day among ``waiting`` cases set aside all day and ``joined``
    cases that join them spread evenly over the day, at the withdrawal hazard ``w`` a day (the
    fluid queue's form: ``dq/dt = joined − w·q``)."""
    if w <= 0.0:
        return 0.0
    out = waiting * (1.0 - math.exp(-w))
    return out + joined * (1.0 - (1.0 - math.exp(-w)) / w)
