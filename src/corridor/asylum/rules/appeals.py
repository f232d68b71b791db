"""Appeals determined: allowed (granted) or dismissed (to the exit route as refused).

Rule (``asylum.appeals.allow_rate``): a determined appeal is allowed with probability
``allow_rate`` that day.

* :func:`allowed` — per case, from its own draw (agent engine).
* :func:`allowed_expected` — the expected people allowed (aggregate engine).

Reads: numbers and arrays. Produces: masks, amounts. Invariants: pure; the mean of
:func:`allowed` over many cases is :func:`allowed_expected` (tested).
"""

from __future__ import annotations

import numba as nb
import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]


@nb.njit(cache=True)
def allowed(u_allow: F64, allow_rate: float) -> NDArray[np.bool_]:
    """Per case (own draw): whether the appeal is allowed."""
    return u_allow < allow_rate


@nb.njit(cache=True, inline="always")
def allowed_expected(determined: float, allow_rate: float) -> float:
    """Expected people allowed of ``determined``."""
    return determined * allow_rate
