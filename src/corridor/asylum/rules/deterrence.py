"""Deterrence: arrivals fall with the share of recent outcomes that were removals or transfers.

Rule (scenario ``deterrence:``): on day ``d`` the share ``p_removal`` of a nationality's
recorded outcomes over days ``[d − lag − window, d − lag)`` (only days already simulated) that
were removals or hub transfers (:data:`~corridor.asylum.params.DETERRENCE_NUMERATOR` over
:data:`~corridor.asylum.params.DETERRENCE_DENOMINATOR`) multiplies arrivals by ``max(0, 1 −
elasticity × p_removal)``.

Reads: the running sums ``num_cum`` / ``den_cum`` (``(days + 1, nat)``: people in the numerator
/ denominator flows over days ``< k``), the day's flows. Produces: the share (:func:`removal_share`,
0 where nothing was recorded, in ``[0, 1]``), the factor (:func:`arrivals_factor`, in
``[0, 1]``), the next row of the sums (:func:`add_outcomes`, in the order of the flow lists so
that both engines add the same numbers in the same order).
"""

from __future__ import annotations

import numba as nb
import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


@nb.njit(cache=True, inline="always")
def deterrence_window(day: int, lag: int, window: int) -> tuple[int, int]:
    """``(lo, hi)``: the days ``[lo, hi)`` whose outcomes deterrence sees on ``day``."""
    hi = min(max(day - lag, 0), day)
    lo = max(hi - window, 0)
    return lo, hi


@nb.njit(cache=True, inline="always")
def removal_share(num_cum: F64, den_cum: F64, lo: int, hi: int, i: int) -> float:
    """Share of nationality ``i``'s outcomes over days ``[lo, hi)`` that were removals or
    transfers; 0 where none was recorded."""
    den = den_cum[hi, i] - den_cum[lo, i]
    if den > 0.0:
        return float(min(max((num_cum[hi, i] - num_cum[lo, i]) / den, 0.0), 1.0))
    return 0.0


@nb.njit(cache=True, inline="always")
def arrivals_factor(elasticity: float, share: float) -> float:
    """Arrivals multiplier ``max(0, 1 − elasticity × share)`` (at most 1)."""
    return min(max(1.0 - elasticity * share, 0.0), 1.0)


@nb.njit(cache=True)
def removal_shares(num_cum: F64, den_cum: F64, day: int, lag: int, window: int, out: F64) -> None:
    """:func:`removal_share` of every nationality on ``day``, into ``out``."""
    lo, hi = deterrence_window(day, lag, window)
    for i in range(out.shape[0]):
        out[i] = removal_share(num_cum, den_cum, lo, hi, i)


@nb.njit(cache=True)
def arrivals_factors(elasticity: float, shares: F64, out: F64) -> None:
    """:func:`arrivals_factor` of every nationality, into ``out``."""
    for i in range(out.shape[0]):
        out[i] = arrivals_factor(elasticity, shares[i])


@nb.njit(cache=True, inline="always")
def add_outcomes(prev: float, flows_nat: F64, idx: I64) -> float:
    """``prev`` plus the flows ``flows_nat[idx]`` of one nationality, added in ``idx`` order."""
    out = prev
    for k in idx:
        out += flows_nat[k]
    return out


@nb.njit(cache=True)
def record_outcomes(
    num_cum: F64, den_cum: F64, day: int, flows_day: F64, num_idx: I64, den_idx: I64
) -> None:
    """Row ``day + 1`` of the running sums from the day's flows ``flows_day`` (nationality,
    flow)."""
    for i in range(flows_day.shape[0]):
        num_cum[day + 1, i] = add_outcomes(num_cum[day, i], flows_day[i], num_idx)
        den_cum[day + 1, i] = add_outcomes(den_cum[day, i], flows_day[i], den_idx)
