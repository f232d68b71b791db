"""Latent monthly flows: structural time-series fits and their simulated futures.

Each flow series (Frontex detections on the Western Balkans, Eastern and Central Mediterranean
routes; UK small-boat arrivals; asylum claims by people who did not come by small boat) is
modelled on the log scale as Harvey's *basic structural model* without slope::

    y_t = log(max(x_t, 1)) = level_t + seasonal_t + β·covid_t + Σ_k γ_k·d_kt + ε_t
    level_{t+1} = level_t + η_t,       ε_t ~ N(0, σ_ε²),  η_t ~ N(0, σ_η²)

with a fixed (deterministic) monthly seasonal pattern, a dummy for the COVID-19 lockdown
months (April–May 2020), an exogenous shock, and *interventions* ``d_k`` found in the data.

**Forms** (:data:`FORMS`): the level above is a random walk (``random_walk``), or it reverts
to the series' own mean (``mean_reverting_<h>``)::

    level_t = μ + a_t,   a_{t+1} = φ·a_t + η_t,   φ = 0.5 ** (1 / h)

with the half-life ``h`` (48, 24, 12 or 6 months) fixed by the form — fitted freely, φ goes to
1 on these short, trending series, so the candidates fix it and the choice among them is made
on out-of-sample scores (:mod:`corridor.flagship.flow_selection`: rolling origins end-2020 to
end-2023, data through 2024) and stored with the pack (``fitted/flow_model_selection.json``).
A random walk's bands widen without bound (small-boat arrivals' 90th percentile near 800,000
a year by 2030); a mean-reverting level's stop widening after a few half-lives.

The variances, seasonal pattern and coefficients are fitted by maximum likelihood with
``statsmodels``' Kalman filter (:class:`UnobservedComponents`) on the months from the series'
``start`` to the fit's cut-off, and nothing after it.

**Breaks and outliers** (Harvey & Koopman 1992, "Diagnostic checking of unobserved-components
time series models", J. Bus. Econ. Stat. 10(4); Commandeur & Koopman 2007, ch. 8). A few months
of these series are not everyday noise: Western Balkans detections fell from 17,125 in October
2023 to 1,206 in November and stayed low. A Gaussian random walk fitted through such a month
makes every month's level shock large, and every forecast band too wide. So the fit looks at
the *auxiliary residuals* (the smoothed level and irregular disturbances, standardised): while
the largest exceeds :data:`BREAK_THRESHOLD` (3, fixed in advance, not tuned), a level shift
(a step dummy from the month after the shock) or an outlier (a one-month pulse) is added there
and the model refitted. The detected breaks are stored with the fit.

A forecast path for ``h`` months after the cut-off is drawn from the model's predictive
distribution: the filtered level at the cut-off (mean and variance), a random walk of level
shocks, independent monthly noise, and **future breaks** — a break hits in a month with the
series' own historical frequency (breaks found ÷ months fitted after the first year) and its
size is drawn from N(0, s²), s the root mean square of the breaks found — added to the model's
mean forecast (which carries the seasonal pattern and the found level shifts)::

    y_{T+h} = ŷ_{T+h} + u_0 + Σ_{k≤h} (η_k + J_k·ξ_k) + ε_{T+h},  u_0 ~ N(0, P_T)

(the seasonal states' own estimation error is left out: it is small next to the level's).
In a mean-reverting form the deviation at the cut-off ``a_T`` and the mean's error are drawn
jointly from their filtered covariance, and the deviation decays::

    y_{T+h} = ŷ_{T+h} + δμ + a_{T+h} + Σ_{k≤h} J_k·ξ_k + ε_{T+h},  a_{T+k} = φ·a_{T+k-1} + η_k

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

__all__ = [
    "BREAK_THRESHOLD",
    "COVID_MONTHS",
    "FORMS",
    "RANDOM_WALK",
    "Break",
    "SeriesFit",
    "fit_series",
    "simulate_paths",
]

F64 = NDArray[np.float64]
COVID_MONTHS: tuple[str, ...] = ("2020-04", "2020-05")
# |auxiliary residual| above which a month is taken as a break or an outlier (Harvey & Koopman
# 1992 flag residuals beyond about 2-3 standard deviations; 3 is the conservative end: about
# one month in 370 by chance under the Gaussian model).
BREAK_THRESHOLD = 3.0
_MAX_BREAKS = 6  # per series: a guard, never reached on the pack's series
_BURN = 13  # the diffuse start: no break is looked for (or error scored) in the first 13 months
RANDOM_WALK = "random_walk"
# The candidate forms of the level, fixed before any score was computed: the random walk, and
# a level that reverts to the series' own mean with a half-life of 48, 24, 12 or 6 months
# (AR(1) coefficient 0.5 ** (1 / half-life) a month). Which one the forecasts use is chosen by
# the rolling-origin score (corridor.flagship.flow_selection), never by eye.
FORMS: dict[str, int | None] = {
    RANDOM_WALK: None,
    "mean_reverting_48": 48,
    "mean_reverting_24": 24,
    "mean_reverting_12": 12,
    "mean_reverting_6": 6,
}


@dataclass(frozen=True)
class Break:
    """An intervention found in a series: a level shift from ``month`` on, or a one-month
    outlier at ``month``; ``size`` on the log scale."""

    month: str  # YYYY-MM
    kind: str  # "level_shift" | "outlier"
    size: float

    def as_dict(self) -> dict[str, Any]:
        return {"month": self.month, "kind": self.kind, "size": self.size}


@dataclass(frozen=True)
class SeriesFit:
    """A fitted series: what a forecast needs, in plain numbers (storable as JSON)."""

    name: str
    start: str  # first month fitted, YYYY-MM
    end: str  # last month fitted (the cut-off), YYYY-MM
    sigma_level: float  # σ_η, log scale, per month (mean-reverting forms: the deviation's shock)
    sigma_irregular: float  # σ_ε
    covid_effect: float  # β
    level_var_end: float  # P_T: variance of the filtered level at the cut-off
    mean_forecast: tuple[float, ...]  # ŷ_{T+1..T+H}, log scale (seasonal pattern included)
    loglik: float
    n_obs: int
    in_sample_mape: float  # one-step-ahead errors, per cent
    breaks: tuple[Break, ...] = ()
    break_rate: float = 0.0  # future level shifts per month
    break_sd: float = 0.0  # their size's standard deviation, log scale
    one_step: tuple[float, ...] = ()  # one-step-ahead predictions of the fitted months (counts)
    form: str = RANDOM_WALK  # a key of FORMS
    phi: float = 1.0  # AR(1) coefficient of the level's deviation (1: random walk)
    # mean-reverting forms: covariance of (mean, deviation) at the cut-off: var, cov, var
    state_cov_end: tuple[float, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if self.form != RANDOM_WALK:
            extra = {"form": self.form, "phi": self.phi, "state_cov_end": list(self.state_cov_end)}
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
            "breaks": [b.as_dict() for b in self.breaks],
            "break_rate": self.break_rate,
            "break_sd": self.break_sd,
            "one_step": list(self.one_step),
            **extra,
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
            breaks=tuple(
                Break(str(b["month"]), str(b["kind"]), float(b["size"]))
                for b in d.get("breaks", ())
            ),
            break_rate=float(d.get("break_rate", 0.0)),
            break_sd=float(d.get("break_sd", 0.0)),
            one_step=tuple(float(x) for x in d.get("one_step", ())),
            form=str(d.get("form", RANDOM_WALK)),
            phi=float(d.get("phi", 1.0)),
            state_cov_end=tuple(float(x) for x in d.get("state_cov_end", ())),
        )


def _stochastic_variance(params: Mapping[str, float]) -> float:
    """The variance of the one stochastic state's shock: the random-walk level's, or the
    mean-reverting deviation's."""
    key = "sigma2.level" if "sigma2.level" in params else "sigma2.ar"
    return float(params.get(key, 0.0))


def _auxiliary_residuals(res: Any, names: list[str]) -> tuple[F64, F64]:
    """Standardised smoothed level and irregular disturbances (Harvey & Koopman 1992)."""
    params = dict(zip(names, np.asarray(res.params, dtype=float), strict=True))
    sr = res.smoother_results
    s2_level = max(_stochastic_variance(params), 0.0)
    s2_irr = max(params.get("sigma2.irregular", 0.0), 0.0)
    eta = np.asarray(sr.smoothed_state_disturbance, dtype=float)[0]
    v_eta = np.asarray(sr.smoothed_state_disturbance_cov, dtype=float)[0, 0]
    eps = np.asarray(sr.smoothed_measurement_disturbance, dtype=float)[0]
    v_eps = np.asarray(sr.smoothed_measurement_disturbance_cov, dtype=float)[0, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        aux_level = np.where(s2_level - v_eta > 1e-12, eta / np.sqrt(s2_level - v_eta), 0.0)
        aux_irr = np.where(s2_irr - v_eps > 1e-12, eps / np.sqrt(s2_irr - v_eps), 0.0)
    aux_level[:_BURN] = 0.0
    aux_level[-1] = 0.0  # the last shock moves a level after the cut-off: not identified
    aux_irr[:_BURN] = 0.0
    return aux_level, aux_irr


def fit_series(
    name: str,
    monthly: pd.Series,
    start: str,
    end: str,
    horizon: int,
    *,
    threshold: float | None = BREAK_THRESHOLD,
    form: str = RANDOM_WALK,
) -> SeriesFit:
    """Fit the model to ``monthly`` (index ``YYYY-MM`` strings or a monthly PeriodIndex, values
    counts) over ``start``..``end`` inclusive and keep a mean forecast ``horizon`` months on.
    ``threshold=None`` fits the plain model (no breaks looked for). ``form`` (a key of
    :data:`FORMS`): the random-walk level, or a level reverting to the series' mean (a constant
    plus an AR(1) deviation whose coefficient is fixed by the form's half-life)."""
    if form not in FORMS:
        raise ValueError(f"unknown form {form!r} (one of {', '.join(FORMS)})")
    half_life = FORMS[form]
    phi = 1.0 if half_life is None else float(0.5 ** (1.0 / half_life))
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
    n = len(y)
    months = [str(p) for p in s.index]
    found: list[tuple[str, int]] = []  # (kind, index of the first month it applies to)

    def design() -> pd.DataFrame | None:
        cols: dict[str, F64] = {}
        covid = np.array([1.0 if m in COVID_MONTHS else 0.0 for m in months])
        if covid.any():
            cols["covid"] = covid
        for kind, t in found:
            v = np.zeros(n)
            if kind == "level_shift":
                v[t:] = 1.0
            else:
                v[t] = 1.0
            cols[f"{kind}_{months[t]}"] = v
        return pd.DataFrame(cols) if cols else None

    while True:
        exog = design()
        if half_life is None:
            model = UnobservedComponents(
                y, level="local level", seasonal=12, stochastic_seasonal=False, exog=exog
            )
        else:
            model = UnobservedComponents(
                y,
                level="deterministic constant",
                autoregressive=1,
                seasonal=12,
                stochastic_seasonal=False,
                exog=exog,
            )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if half_life is None:
                res = model.fit(disp=False, maxiter=1000)
            else:
                res = model.fit_constrained({"ar.L1": phi}, disp=False, maxiter=1000)
        if threshold is None or len(found) >= _MAX_BREAKS:
            break
        names = list(model.param_names)
        aux_level, aux_irr = _auxiliary_residuals(res, names)
        i_l = int(np.argmax(np.abs(aux_level)))
        i_e = int(np.argmax(np.abs(aux_irr)))
        candidates = []
        # η_t moves the level of month t+1: the shift starts there.
        if abs(aux_level[i_l]) > threshold and ("level_shift", i_l + 1) not in found:
            candidates.append((abs(aux_level[i_l]), "level_shift", i_l + 1))
        if abs(aux_irr[i_e]) > threshold and ("outlier", i_e) not in found:
            candidates.append((abs(aux_irr[i_e]), "outlier", i_e))
        if not candidates:
            break
        _, kind, t = max(candidates)
        found.append((kind, t))

    names = list(model.param_names)
    params = dict(zip(names, np.asarray(res.params, dtype=float), strict=True))
    future = np.zeros((horizon, 0))
    if exog is not None:
        # COVID and outliers are off after the cut-off; level shifts stay on.
        future = np.array(
            [[1.0 if c.startswith("level_shift") else 0.0 for c in exog.columns]] * horizon
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fc = res.get_forecast(
            horizon,
            exog=pd.DataFrame(future, columns=exog.columns) if exog is not None else None,
        )
    pred = np.asarray(res.fittedvalues, dtype=float)
    obs = np.exp(y[_BURN:])
    ape = np.abs(np.exp(pred[_BURN:]) - obs) / np.maximum(obs, 1.0)
    cov_end = np.asarray(res.filtered_state_cov)[:, :, -1]
    level_var = float(cov_end[0, 0])
    state_cov: tuple[float, ...] = ()
    if half_life is not None:  # (mean, deviation): the level state and the last (AR) state
        state_cov = (float(cov_end[0, 0]), float(cov_end[0, -1]), float(cov_end[-1, -1]))
        level_var = state_cov[2]
    breaks = tuple(
        Break(months[t], kind, float(params[f"beta.{kind}_{months[t]}"]))
        for kind, t in sorted(found, key=lambda kt: kt[1])
    )
    shifts = [b.size for b in breaks if b.kind == "level_shift"]
    return SeriesFit(
        name=name,
        start=months[0],
        end=months[-1],
        sigma_level=float(np.sqrt(max(_stochastic_variance(params), 0.0))),
        sigma_irregular=float(np.sqrt(max(params.get("sigma2.irregular", 0.0), 0.0))),
        covid_effect=float(params.get("beta.covid", 0.0)),
        level_var_end=max(level_var, 0.0),
        mean_forecast=tuple(float(v) for v in np.asarray(fc.predicted_mean, dtype=float)),
        loglik=float(res.llf),
        n_obs=n,
        in_sample_mape=float(100.0 * ape.mean()),
        breaks=breaks,
        break_rate=len(shifts) / max(n - _BURN, 1),
        break_sd=float(np.sqrt(np.mean(np.square(shifts)))) if shifts else 0.0,
        one_step=tuple(float(v) for v in np.exp(pred)),
        form=form,
        phi=phi,
        state_cov_end=state_cov,
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
        hit = g.random(months) < fit.break_rate
        jump = np.where(hit, g.normal(0.0, 1.0, size=months) * fit.break_sd, 0.0)
        if fit.form == RANDOM_WALK:
            out[i] = np.exp(mean + u0 + np.cumsum(eta + jump) + eps)
            continue
        # mean-reverting: the mean's error (correlated with the deviation's, drawn jointly from
        # u0 and one more normal), the deviation decaying by phi a month, breaks permanent
        v_mu, c, v_a = fit.state_cov_end
        sd_a = np.sqrt(max(v_a, 0.0))
        z = u0 / sd_a if sd_a > 0 else 0.0
        resid = max(v_mu - (c * c / v_a if v_a > 0 else 0.0), 0.0)
        mu = (c / sd_a if sd_a > 0 else 0.0) * z + np.sqrt(resid) * g.normal()
        dev = np.empty(months)
        x = u0
        for h in range(months):
            x = fit.phi * x + eta[h]
            dev[h] = x
        out[i] = np.exp(mean + mu + dev + np.cumsum(jump) + eps)
    return out
