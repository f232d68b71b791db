"""A prior's values at given probabilities: its quantile function (inverse CDF).

Reads: a :class:`~corridor.scenario.schema.Prior` (uniform, loguniform, normal truncated to
``[low, high]``, triangular) and probabilities ``u`` in ``[0, 1]``. Produces: the values, with the
formulas of :mod:`corridor.analysis.priors`' docstring. Invariants: monotone in ``u``; values stay
within the prior's bounds. Both the ensemble's prior sampling and the forecast's per-replicate
assumption draws use this one function.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
from numpy.typing import NDArray

from corridor.scenario.schema import Prior

__all__ = ["inverse_cdf"]

_EPS = 1e-12
_STD = NormalDist()


def inverse_cdf(prior: Prior, u: NDArray[np.float64]) -> NDArray[np.float64]:
    """Values of ``prior`` at probabilities ``u`` (the quantile function)."""
    u = np.clip(np.asarray(u, dtype=np.float64), 0.0, 1.0)
    if prior.dist == "uniform":
        lo, hi = float(prior.low or 0.0), float(prior.high or 0.0)
        return lo + u * (hi - lo)
    if prior.dist == "loguniform":
        lo, hi = math.log(float(prior.low or 0.0)), math.log(float(prior.high or 0.0))
        return np.exp(lo + u * (hi - lo))
    if prior.dist == "normal":
        mean, sd = float(prior.mean or 0.0), float(prior.sd or 1.0)
        a = 0.0 if prior.low is None else _STD.cdf((prior.low - mean) / sd)
        b = 1.0 if prior.high is None else _STD.cdf((prior.high - mean) / sd)
        p = np.clip(a + u * (b - a), _EPS, 1.0 - _EPS)
        out = np.array([mean + sd * _STD.inv_cdf(float(x)) for x in p.ravel()]).reshape(p.shape)
        lo = -np.inf if prior.low is None else prior.low
        hi = np.inf if prior.high is None else prior.high
        clipped: NDArray[np.float64] = np.clip(out, lo, hi)
        return clipped
    # triangular
    lo, mode, hi = float(prior.low or 0.0), float(prior.mode or 0.0), float(prior.high or 0.0)
    c = (mode - lo) / (hi - lo)
    left = lo + np.sqrt(u * (hi - lo) * (mode - lo))
    right = hi - np.sqrt((1.0 - u) * (hi - lo) * (hi - mode))
    return np.where(u < c, left, right)
