"""Deaths in the Channel per attempt, with a trend.

Rule: deaths = attempts × risk per attempt, where attempts are the people who crossed plus the
attempts stopped at the French coast (``intercepted``: ``p / (1 − p)`` per crossing, retries
included), and the risk per attempt in year *y* is ``exp(a + b·(y − y0))``. IOM's count of dead
and missing (``observed/channel_annual.csv``, the Missing Migrants Project's keyword-filtered
series: indicative, data.md pitfall 14) is set against attempts, not arrivals: attempts in a
year are the small-boat arrivals ÷ (1 − the prevention share) for the years a prevention share
is published (2021–2024). ``a`` and ``b`` are fitted by a negative binomial regression with the
log of attempts as offset (:func:`death_trend`; the counts are over-dispersed: 44 dead in 2021,
13 in 2022); each replicate draws its own slope from the fit's uncertainty (stream
``death_trend``), so the band carries how little four years say about a trend, and the trend
is damped after the last year (:data:`TREND_DAMPING`). A policy that
moves attempts (French prevention stops attempts; hubs that deter crossings remove them) moves
deaths for that stated reason.

Reads: the pack's observed Channel table, a cut-off (nothing after it), months and seeds.
Produces: :class:`DeathTrend`, risk per attempt by month (:func:`risk_by_month`), deaths
(:func:`deaths`). Invariants: the same seed draws the same slope (common random numbers across
variants); no year after the cut-off is read.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from corridor.engine.rng import generator
from corridor.forecast.flows import intercepted


@dataclass(frozen=True)
class DeathTrend:
    """Risk per attempt ``exp(log_risk + slope·(year − year0))`` and the slope's uncertainty."""

    year0: int
    log_risk: float
    slope: float
    slope_se: float
    years: tuple[int, ...]  # the years fitted


@functools.lru_cache(maxsize=8)
def death_trend(pack: str, cutoff: str) -> DeathTrend:
    """Fit the trend on the pack's observed Channel table through ``cutoff``'s year."""
    import statsmodels.api as sm

    t = pd.read_csv(Path(pack) / "observed" / "channel_annual.csv")
    wide = t.pivot_table(index="year", columns="metric", values="value", aggfunc="first")
    wide = wide[wide.index <= pd.Timestamp(cutoff).year]
    need = ["deaths", "small_boat_arrivals", "prevention_share"]
    wide = wide.dropna(subset=[c for c in need if c in wide.columns])
    if not set(need) <= set(wide.columns) or len(wide) < 3:
        raise ValueError("too few years with deaths, arrivals and a prevention share to fit")
    years = wide.index.to_numpy(dtype=int)
    attempts = wide["small_boat_arrivals"].to_numpy(float) / (1.0 - wide["prevention_share"])
    year0 = int(years.max())
    x = sm.add_constant((years - year0).astype(float))
    offset = np.log(attempts.to_numpy(dtype=float))
    deaths_seen = wide["deaths"].to_numpy(dtype=float)
    try:
        fit = sm.NegativeBinomial(deaths_seen, x, offset=offset).fit(disp=0, maxiter=200)
        params, se = fit.params[:2], fit.bse[:2]
        if not np.all(np.isfinite(se)):
            raise ValueError("no standard errors")
    except Exception:
        fit = sm.GLM(deaths_seen, x, family=sm.families.Poisson(), offset=offset).fit()
        params, se = fit.params, fit.bse
    return DeathTrend(
        year0=year0,
        log_risk=float(params[0]),
        slope=float(params[1]),
        slope_se=float(se[1]),
        years=tuple(int(y) for y in years),
    )


# After the last fitted year the trend is damped: year k ahead adds slope·φ^k on the log scale
# (φ = 0.5 a year per two years: the half-life of 24 months the flow series' form was chosen
# with, flagship/flow_selection.py). Assumption (range: no damping, 12-48 months): an undamped
# trend fitted on four years multiplies the risk by e^(6·slope) by 2030.
TREND_DAMPING = 0.5 ** (12 / 24)


def risk_by_month(trend: DeathTrend, months: Any, seed: int) -> np.ndarray[Any, Any]:
    """Risk per attempt for each of ``months`` (anything pandas reads as dates): the fitted
    trend through its last year; after it the replicate's slope (stream ``death_trend``),
    damped by :data:`TREND_DAMPING` each year."""
    years = pd.to_datetime(np.asarray(months)).year.to_numpy(dtype=float)
    drawn = trend.slope + trend.slope_se * float(generator(int(seed), "death_trend").normal())
    ahead = np.maximum(years - trend.year0, 0.0)
    phi = TREND_DAMPING
    damped = drawn * phi * (1.0 - phi**ahead) / (1.0 - phi)  # Σ_{j=1..k} φ^j
    log_risk = np.where(
        ahead > 0, trend.log_risk + damped, trend.log_risk + trend.slope * (years - trend.year0)
    )
    return np.exp(log_risk)  # type: ignore[no-any-return]


def channel_risk(pack: Path, cutoff: pd.Timestamp, fallback: float, months: Any, seed: int) -> Any:
    """Risk per attempt by month from the pack's trend, or ``fallback`` (the Channel's
    ``death_risk``) where the observed table cannot carry a fit."""
    try:
        trend = death_trend(str(pack), str(cutoff.date()))
    except (ValueError, OSError, KeyError):
        return np.full(len(np.asarray(months)), fallback)
    return risk_by_month(trend, months, seed)


def deaths(crossed: Any, prevention: Any, risk: Any) -> Any:
    """Dead and missing: ``risk`` per attempt, attempts = crossed + stopped at the coast."""
    return (crossed + intercepted(crossed, prevention)) * risk
