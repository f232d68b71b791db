"""Initial decisions and appeal lodging: who is granted, who appeals, and when.

Rule (``grant_rates.csv``, ``asylum.appeals``): a decided case is granted with probability
``grant_rate`` of its nationality that day; a refused case lodges an appeal with probability
``lodge_share`` (it joins the tribunal's queue ``lodging_days`` after the refusal; people being
lodged await an appeal); every other refused case goes to the exit route as refused.

* :func:`decide` — one case's outcome from its own two draws (agent engine).
* :func:`decide_expected` — the expected people in each outcome (aggregate engine).
* :func:`lodging_time` (:func:`lodging_times` for several cases) — when an appeal against a
  refusal at time ``t`` is lodged.

Reads: numbers and arrays. Produces: outcome codes, amounts, days. Invariants: pure;
:data:`GRANTED` + :data:`APPEALS` + :data:`REFUSED` = decisions in both forms; the mean of
:func:`decide` over many cases is :func:`decide_expected` (tested).
"""

from __future__ import annotations

import numba as nb
import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]

GRANTED = 0  # outcomes of :func:`decide`
APPEALS = 1
REFUSED = 2  # refused, no appeal: to the exit route


@nb.njit(cache=True)
def decide(u_grant: F64, u_lodge: F64, grant_rate: F64, lodge_share: float) -> NDArray[np.uint8]:
    """Per case (own draws; ``grant_rate`` per case): :data:`GRANTED`, :data:`APPEALS` or
    :data:`REFUSED`."""
    out = np.empty(u_grant.shape[0], dtype=np.uint8)
    for k in range(u_grant.shape[0]):
        if u_grant[k] < grant_rate[k]:
            out[k] = GRANTED
        elif u_lodge[k] < lodge_share:
            out[k] = APPEALS
        else:
            out[k] = REFUSED
    return out


@nb.njit(cache=True, inline="always")
def decide_expected(
    decisions: float, grant_rate: float, lodge_share: float
) -> tuple[float, float, float]:
    """Expected (grants, appeals lodged, refused to the exit route) of ``decisions``."""
    grants = decisions * grant_rate
    refused = decisions - grants
    lodged = refused * lodge_share
    return grants, lodged, refused - lodged


@nb.njit(cache=True, inline="always")
def lodging_time(t: float, lodging_days: int) -> float:
    """When an appeal against a refusal at time ``t`` (days) is lodged; it counts on the day
    ``floor`` of that time."""
    return t + lodging_days


@nb.njit(cache=True)
def lodging_times(t: F64, lodging_days: int) -> F64:
    """:func:`lodging_time` for several cases."""
    out = np.empty(t.shape[0])
    for k in range(t.shape[0]):
        out[k] = lodging_time(t[k], lodging_days)
    return out
