"""Claims and screening: who of the day's arrivals claims, and who is screened out.

Rule (scenario ``arrivals.claim_share``, ``inadmissibility:``): an arrival claims asylum with
probability ``claim_share``; a claimant is declared inadmissible with probability
``inadmissible_share`` of their nationality that day (they go to the exit route as
inadmissible); every other claimant joins the decision queue.

* :func:`screen` — one case's outcome from its own two draws (agent engine).
* :func:`screen_expected` — the expected people in each outcome (aggregate engine).

Reads: numbers and arrays. Produces: outcome codes or amounts. Invariants: pure;
:data:`NOT_CLAIMED` + :data:`INADMISSIBLE` + :data:`QUEUED` = arrivals, in both forms; the mean
of :func:`screen` over many cases is :func:`screen_expected` (tested).
"""

from __future__ import annotations

import numba as nb
import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]

NOT_CLAIMED = 0  # outcomes of :func:`screen`
INADMISSIBLE = 1
QUEUED = 2


@nb.njit(cache=True)
def screen(u_claim: F64, u_inad: F64, claim_share: float, inad_share: F64) -> NDArray[np.uint8]:
    """Per case (own draws ``u_claim``, ``u_inad``; ``inad_share`` per case):
    :data:`NOT_CLAIMED`, :data:`INADMISSIBLE` or :data:`QUEUED`."""
    out = np.empty(u_claim.shape[0], dtype=np.uint8)
    for k in range(u_claim.shape[0]):
        if not u_claim[k] < claim_share:
            out[k] = NOT_CLAIMED
        elif u_inad[k] < inad_share[k]:
            out[k] = INADMISSIBLE
        else:
            out[k] = QUEUED
    return out


@nb.njit(cache=True, inline="always")
def screen_expected(
    arrivals: float, claim_share: float, inad_share: float
) -> tuple[float, float, float]:
    """Expected (claims, inadmissible, queued) people of ``arrivals``."""
    claims = arrivals * claim_share
    inadmissible = claims * inad_share
    return claims, inadmissible, claims - inadmissible
