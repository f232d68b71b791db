"""Latent monthly flows: structural time-series fits and their simulated futures.

Each flow series (Frontex detections on the Western Balkans, Eastern and Central Mediterranean
routes; UK small-boat arrivals; asylum claims by people who did not come by small boat) is
modelled on the log scale as Harvey's *basic structural model* without slope::

    y_t = log(max(x_t, 1)) = level_t + seasonal_t + β·covid_t + ε_t,   ε_t ~ N(0, σ_ε²)
    level_{t+1} = level_t + η_t,                                    η_t ~ N(0, σ_η²)

with a fixed (deterministic) monthly seasonal pattern and a dummy for the COVID-19 lockdown
months (April–May 2020), an exogenous shock. The variances, seasonal pattern and β are fitted by
maximum likelihood with ``statsmodels``' Kalman filter (:class:`UnobservedComponents`) on the
months from the series' ``start`` to the fit's cut-off, and nothing after it.

A forecast path for ``h`` months after the cut-off is drawn from the model's predictive
distribution: the filtered level at the cut-off (mean and variance), a random walk of level
shocks and independent monthly noise, added to the model's mean forecast (which carries the
seasonal pattern)::

    y_{T+h} = ŷ_{T+h} + u_0 + Σ_{k≤h} η_k + ε_{T+h},   u_0 ~ N(0, P_T)

(the seasonal states' own estimation error is left out: it is small next to the level's).
Draws come from the named stream ``flows/<series>`` of each replicate's seed, so a replicate's
path does not depend on how many replicates run or where.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from corridor.engine.rng import generator

__all__ = ["COVID_MONTHS", "SeriesFit", "fit_series", "simulate_paths"]

F64 = NDArray[np.float64]
COVID_MONTHS: tuple[str, ...] = ("2020-04", "2020-05")


@dataclass(frozen=True)
class SeriesFit:
    """A fitted series: what a forecast needs, in plain numbers (storable as JSON)."""

    name: str
    start: str  # first month fitted, YYYY-MM
    end: str  # last month fitted (the cut-off), YYYY-MM
    sigma_level: float  # σ_η, log scale, per month
    sigma_irregular: float  # σ_ε
    covid_effect: float  # β
    level_var_end: float  # P_T: variance of the filtered level at the cut-off
    mean_forecast: tuple[float, ...]  # ŷ_{T+1..T+H}, log scale (seasonal pattern included)
    loglik: float
    n_obs: int
    in_sample_mape: float  # one-step-ahead errors, per cent

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "start": self.start,
            "end": self.end,
            "sigma_level": self.sigma_level,
            "sigma_irregular": self.sigma_irregular,
            "covid_effect": self.covid_effect,
            "level_var_end": self.level_var_end,
            "mean_forecast": list(self.mean_forecast),
            "loglik": self.loglik,
            "n_obs": self.n_obs,
            "in_sample_mape": self.in_sample_mape,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SeriesFit:
        return cls(
            name=str(d["name"]),
            start=str(d["start"]),
            end=str(d["end"]),
            sigma_level=float(d["sigma_level"]),
            sigma_irregular=float(d["sigma_irregular"]),
            covid_effect=float(d["covid_effect"]),
            level_var_end=float(d["level_var_end"]),
            mean_forecast=tuple(float(x) for x in d["mean_forecast"]),
            loglik=float(d["loglik"]),
            n_obs=int(d["n_obs"]),
            in_sample_mape=float(d["in_sample_mape"]),
        )


def fit_series(name: str, monthly: pd.Series, start: str, end: str, horizon: int) -> SeriesFit:
    """Fit the model to ``monthly`` (index ``YYYY-MM`` strings or a monthly PeriodIndex, values
    counts) over ``start``..``end`` inclusive and keep a mean forecast ``horizon`` months on."""
    from statsmodels.tsa.statespace.structural import UnobservedComponents

    s = monthly.copy()
    s.index = pd.PeriodIndex([str(i)[:7] for i in s.index], freq="M")
    s = s.sort_index().loc[pd.Period(start, "M") : pd.Period(end, "M")]
    if s.isna().any():
        missing = ", ".join(str(i) for i in s.index[s.isna()][:5])
        raise ValueError(f"series {name!r} has missing months: {missing}")
    expected = pd.period_range(start, end, freq="M")
    if len(s) != len(expected):
        raise ValueError(f"series {name!r} does not cover {start}..{end} month by month")
    y = np.log(np.maximum(s.to_numpy(dtype=np.float64), 1.0))
    covid = np.array([[1.0 if str(p) in COVID_MONTHS else 0.0] for p in s.index])
    has_covid = bool(covid.any())
    model = UnobservedComponents(
        y,
        level="local level",
        seasonal=12,
        stochastic_seasonal=False,
        exog=covid if has_covid else None,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = model.fit(disp=False, maxiter=1000)
        fc = res.get_forecast(horizon, exog=np.zeros((horizon, 1)) if has_covid else None)
    names = list(model.param_names)
    params = dict(zip(names, np.asarray(res.params, dtype=float), strict=True))
    pred = np.asarray(res.fittedvalues, dtype=float)
    burn = 13  # the diffuse start: skip the first year and a month of one-step errors
    obs = np.exp(y[burn:])
    ape = np.abs(np.exp(pred[burn:]) - obs) / np.maximum(obs, 1.0)
    level_var = float(np.asarray(res.filtered_state_cov)[0, 0, -1])
    return SeriesFit(
        name=name,
        start=str(s.index[0]),
        end=str(s.index[-1]),
        sigma_level=float(np.sqrt(max(params.get("sigma2.level", 0.0), 0.0))),
        sigma_irregular=float(np.sqrt(max(params.get("sigma2.irregular", 0.0), 0.0))),
        covid_effect=float(params.get("beta.x1", 0.0)),
        level_var_end=max(level_var, 0.0),
        mean_forecast=tuple(float(v) for v in np.asarray(fc.predicted_mean, dtype=float)),
        loglik=float(res.llf),
        n_obs=len(y),
        in_sample_mape=float(100.0 * ape.mean()),
    )


def simulate_paths(fit: SeriesFit, seeds: Sequence[int], months: int) -> F64:
    """Draw ``len(seeds)`` forecast paths of ``months`` months (counts, not logs): one row per
    seed, each from the stream ``flows/<name>`` of that seed."""
    if months > len(fit.mean_forecast):
        raise ValueError(
            f"series {fit.name!r} was fitted with a {len(fit.mean_forecast)}-month horizon;"
            f" {months} asked"
        )
    mean = np.asarray(fit.mean_forecast[:months], dtype=np.float64)
    out = np.empty((len(seeds), months), dtype=np.float64)
    for i, seed in enumerate(seeds):
        g = generator(int(seed), f"flows/{fit.name}")
        u0 = g.normal(0.0, np.sqrt(fit.level_var_end))
        eta = g.normal(0.0, fit.sigma_level, size=months)
        eps = g.normal(0.0, fit.sigma_irregular, size=months)
        out[i] = np.exp(mean + u0 + np.cumsum(eta) + eps)
    return out
