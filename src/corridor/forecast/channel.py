"""The Channel's route preferences: small-boat arrivals per person detected on each EU route.

Monthly small-boat arrivals are fitted, on the log scale, to the three Frontex routes'
detections a month earlier (``LAG_MONTHS``) plus a base no route explains::

    log A_t = log( a_WB·WB_{t−1} + a_EM·EM_{t−1} + a_CM·CM_{t−1} + b ) + e_t,   e_t ~ N(0, s²)

Reads: the observed monthly series (index ``YYYY-MM``). Produces: :class:`ChannelFit` (``a_r``
with 95% profile-likelihood intervals, the base, the fit error). The forecast uses ``a_r`` as the
rule by which people on a route reach the Channel (EU hubs' displacement, the railway, hub
leavers re-entering); :mod:`corridor.flagship.routes_fit` stores the fit with its checks and
plots (``fitted/routes.json``), the full derivation is in its docstring.

Invariants: ``a_r ≥ 0``; the fit uses months through ``through`` only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

__all__ = ["F64", "LAG_MONTHS", "ROUTES", "ChannelFit", "design", "fit_channel"]

F64 = NDArray[np.float64]
ROUTES: tuple[str, ...] = ("wb_detections", "em_detections", "cm_detections")
LAG_MONTHS = 1
_CHI2_95 = 3.841458820694124  # 95% point of chi-square with one degree of freedom
_LOG_MIN, _LOG_MAX = -14.0, 3.0  # bounds of the log coefficients (e^-14 ≈ 0)


@dataclass(frozen=True)
class ChannelFit:
    """Route preferences fitted through ``through`` (see the module docstring)."""

    start: str
    through: str
    lag_months: int
    per_detection: dict[str, float]  # a_r
    interval_95: dict[str, tuple[float, float]]  # profile-likelihood intervals of a_r and base
    base: float  # b, arrivals a month
    sigma_log: float
    mape: float  # per cent, monthly
    n_obs: int
    months: tuple[str, ...]
    observed: tuple[float, ...]
    fitted: tuple[float, ...]
    components: dict[str, tuple[float, ...]]  # a_r·D_r(t−lag) and the base, by month

    def as_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        # an unbounded side (no data against any larger value) is null in JSON
        d["interval_95"] = {
            k: [x if np.isfinite(x) else None for x in v] for k, v in self.interval_95.items()
        }
        return d


def design(observed: Mapping[str, pd.Series], start: str, through: str) -> tuple[
    list[str], F64, F64
]:  # fmt: skip
    months = [str(p) for p in pd.period_range(start, through, freq="M")]
    lagged = [str(p) for p in pd.period_range(start, through, freq="M") - LAG_MONTHS]
    x = np.column_stack(
        [observed[r].reindex(lagged).to_numpy(dtype=np.float64) for r in ROUTES]
        + [np.ones(len(months))]
    )
    y = observed["small_boat_arrivals"].reindex(months).to_numpy(dtype=np.float64)
    if np.isnan(x).any() or np.isnan(y).any():
        raise ValueError(f"the route series do not cover {start}..{through} (and a month before)")
    return months, x, y


def _solve(x: F64, y: F64, fixed: dict[int, float] | None = None) -> tuple[F64, float]:
    """Least squares on the log scale; returns (coefficients, RSS). ``fixed``: column → value."""
    from scipy.optimize import least_squares

    fixed = fixed or {}
    free = [j for j in range(x.shape[1]) if j not in fixed]
    logy = np.log(y)

    def coefs(theta: F64) -> F64:
        c = np.empty(x.shape[1])
        c[free] = np.exp(theta)
        for j, v in fixed.items():
            c[j] = v
        return c

    def resid(theta: F64) -> F64:
        out: F64 = logy - np.log(np.maximum(x @ coefs(theta), 1e-9))
        return out

    base = x.shape[1] - 1  # the last column: the base (arrivals a month)
    upper = np.array([np.log(float(y.max())) + 1.0 if j == base else _LOG_MAX for j in free])
    best: tuple[F64, float] | None = None
    # a few starts: the problem is small and not convex
    for start in (-2.0, -5.0, -9.0):
        theta0 = np.full(len(free), start)
        if base in free:  # the base starts near the smallest month
            theta0[free.index(base)] = np.log(max(float(y.min()), 1.0))
        res = least_squares(resid, theta0, bounds=(_LOG_MIN, upper), method="trf")
        rss = float(np.sum(res.fun**2))
        if best is None or rss < best[1]:
            best = (coefs(res.x), rss)
    assert best is not None
    return best


def _profile_interval(x: F64, y: F64, j: int, best: float, dev0: float) -> tuple[float, float]:
    """95% profile-likelihood interval of coefficient ``j`` (root-finding on the deviance)."""
    from scipy.optimize import brentq

    n = len(y)

    def excess(v: float) -> float:
        return float(n * np.log(_solve(x, y, {j: v})[1] / n) - dev0 - _CHI2_95)

    lo = 0.0
    if excess(0.0) > 0:
        lo = float(brentq(excess, 0.0, best, xtol=1e-6 * max(best, 1e-9), rtol=1e-4))
    step = best if best > 1e-6 else float(np.median(y) / np.median(x[:, j])) * 1e-3
    hi = best + step
    while excess(hi) <= 0:
        hi = best + (hi - best) * 2.0
        if hi > 1e6 * max(best, step):
            return lo, float("inf")
    hi = float(brentq(excess, max(best, 1e-12), hi, rtol=1e-4))
    return lo, hi


def fit_channel(
    observed: Mapping[str, pd.Series],
    through: str,
    *,
    start: str = "2019-01",
    intervals: bool = True,
) -> ChannelFit:
    """Fit the route preferences on ``start``..``through`` (months ``YYYY-MM``);
    ``intervals=False`` skips the profile-likelihood intervals (left empty)."""
    months, x, y = design(observed, start, through)
    n = len(y)
    coef, rss = _solve(x, y)
    dev0 = n * np.log(rss / n)
    names = [*ROUTES, "base"]
    bounds: dict[str, tuple[float, float]] = {}
    for j, name in enumerate(names if intervals else []):
        bounds[name] = _profile_interval(x, y, j, float(coef[j]), dev0)
    fitted = x @ coef
    comp = {name: tuple(float(v) for v in x[:, j] * coef[j]) for j, name in enumerate(names)}
    return ChannelFit(
        start=start,
        through=through,
        lag_months=LAG_MONTHS,
        per_detection={r: float(coef[j]) for j, r in enumerate(ROUTES)},
        interval_95=bounds,
        base=float(coef[-1]),
        sigma_log=float(np.sqrt(rss / n)),
        mape=float(100 * np.mean(np.abs(fitted - y) / y)),
        n_obs=n,
        months=tuple(months),
        observed=tuple(float(v) for v in y),
        fitted=tuple(float(v) for v in fitted),
        components=comp,
    )
