"""The calibration objective: priors, the search space and the log posterior of a trial.

Reads: a loaded scenario's ``uncertain:`` priors (:class:`~corridor.scenario.schema.Prior`), the
prepared observations (:func:`~corridor.analysis.calibration.observed.prepare_observed`) and a
likelihood (:mod:`corridor.analysis.likelihoods`).

Produces: :func:`search_space`, the searched parameters (:class:`SearchParam`: bounds, scale,
Optuna distribution); :func:`prior_logpdf`; :func:`score_run`, the log-likelihood of one
trial's simulated daily totals against the observations (per metric, with the fitted nuisance
parameters and the simulated value aligned with every observation); :class:`Objective`, which
turns a trial's parameters and runs into its score, the log posterior up to a constant::

    log posterior = Σ_series log L(observed | simulated)  +  Σ_params log prior(value)

Invariants: only observations with ``fit`` true enter the likelihood; a trial's simulated series
is the mean of its replicate runs; a value outside a prior's support scores ``-inf``; every
searched range was checked at both ends against the scenario's own bounds. Pure functions of
their inputs: nothing here runs the model, stores anything or draws random numbers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from corridor.analysis.calibration.observed import metric_is_stock, period_values
from corridor.analysis.likelihoods import Likelihood
from corridor.analysis.priors import numeric_parameter
from corridor.errors import CorridorError, InputError
from corridor.scenario.schema import Prior

if TYPE_CHECKING:
    from corridor.scenario.loaded import LoadedScenario

__all__ = [
    "Objective",
    "Score",
    "SearchParam",
    "mean_frames",
    "prior_logpdf",
    "score_run",
    "search_space",
]

_STD = NormalDist()


# ---------------------------------------------------------------------------------------------
# Priors and the search space
# ---------------------------------------------------------------------------------------------
def prior_logpdf(prior: Prior, x: float) -> float:
    """Log-density of ``prior`` at ``x`` (``-inf`` outside its support).

    uniform ``−log(high − low)``; loguniform ``−log x − log log(high/low)``; normal truncated
    to [low, high] ``log φ(z) − log sd − log(Φ(b) − Φ(a))``; triangular the usual piecewise-linear
    density ``2(x − low)/((high − low)(mode − low))`` rising, ``2(high − x)/((high − low)(high −
    mode))`` falling.
    """
    lo = -math.inf if prior.low is None else float(prior.low)
    hi = math.inf if prior.high is None else float(prior.high)
    if not lo <= x <= hi:
        return -math.inf
    if prior.dist == "uniform":
        return -math.log(hi - lo)
    if prior.dist == "loguniform":
        return -math.log(x) - math.log(math.log(hi / lo))
    if prior.dist == "normal":
        mean, sd = float(prior.mean or 0.0), float(prior.sd or 1.0)
        a = 0.0 if prior.low is None else _STD.cdf((lo - mean) / sd)
        b = 1.0 if prior.high is None else _STD.cdf((hi - mean) / sd)
        z = (x - mean) / sd
        return -0.5 * z * z - 0.5 * math.log(2 * math.pi) - math.log(sd) - math.log(b - a)
    mode = float(prior.mode if prior.mode is not None else lo)
    if x < mode:
        dens = 2 * (x - lo) / ((hi - lo) * (mode - lo))
    elif x > mode:
        dens = 2 * (hi - x) / ((hi - lo) * (hi - mode))
    else:
        dens = 2 / (hi - lo)
    return math.log(dens) if dens > 0 else -math.inf


@dataclass(frozen=True)
class SearchParam:
    """One searched parameter: its path, prior, search bounds and scale."""

    path: str
    prior: Prior
    low: float
    high: float
    log: bool
    integer: bool

    def distribution(self) -> Any:
        """The Optuna distribution searched."""
        from optuna.distributions import FloatDistribution, IntDistribution

        if self.integer:
            return IntDistribution(int(self.low), int(self.high), log=self.log)
        return FloatDistribution(self.low, self.high, log=self.log)

    def value(self, x: float) -> float | int:
        """A searched value as the scenario takes it (rounded for an integer parameter)."""
        return round(x) if self.integer else float(x)


def search_space(loaded: LoadedScenario, params: Sequence[str] | None = None) -> list[SearchParam]:
    """The searched parameters (default: every ``uncertain:`` path, sorted), each checked at both
    ends of its search range against the scenario's bounds."""
    from corridor.asylum.run import apply_overrides

    sc = loaded.scenario
    paths = sorted(sc.uncertain) if params is None else list(dict.fromkeys(params))
    if not paths:
        raise InputError(
            "no parameter to fit: the scenario has no uncertain: priors",
            field="uncertain",
            expected="priors under uncertain: in scenario.yaml, e.g. arrivals.scale: "
            "{dist: uniform, low: 0.5, high: 2}",
        )
    data = sc.model_dump(mode="python")
    space: list[SearchParam] = []
    for path in paths:
        prior = sc.uncertain.get(path)
        if prior is None:
            raise InputError(
                f"parameter {path!r} has no prior",
                field="params",
                expected="one of the uncertain: paths "
                f"({', '.join(sorted(sc.uncertain)) or 'none'}), or add a prior for it",
            )
        current = numeric_parameter(data, path)
        if prior.dist == "normal":
            mean, sd = float(prior.mean or 0.0), float(prior.sd or 1.0)
            lo = mean - 4 * sd if prior.low is None else max(prior.low, mean - 4 * sd)
            hi = mean + 4 * sd if prior.high is None else min(prior.high, mean + 4 * sd)
        else:
            lo, hi = float(prior.low or 0.0), float(prior.high or 0.0)
        integer = isinstance(current, int)
        log_scale = prior.dist == "loguniform"
        if integer:
            lo, hi = float(math.ceil(lo)), float(math.floor(hi))
        if not lo < hi:
            raise InputError(
                f"the prior of {path!r} leaves nothing to search ({lo:g}..{hi:g})",
                field=f"uncertain.{path}",
                expected="a range wider than one value",
            )
        for x in (lo, hi):
            try:
                apply_overrides(loaded, {path: round(x) if integer else x})
            except InputError as exc:
                raise InputError(
                    f"the prior of {path!r} reaches {x:g}, which the scenario refuses: "
                    f"{exc.message}",
                    field=f"uncertain.{path}",
                    expected="a prior within the parameter's bounds",
                ) from None
        space.append(SearchParam(path, prior, float(lo), float(hi), log_scale, integer))
    return space


# ---------------------------------------------------------------------------------------------
# Scoring
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Score:
    """One trial's fit: the log-likelihood (total and per metric), the likelihood's fitted
    nuisance parameters per ``metric/resolution`` series, and the simulated values."""

    log_likelihood: float  # over the fitted observations
    by_metric: dict[str, float]
    nuisance: dict[str, dict[str, float]]
    simulated: np.ndarray[Any, np.dtype[np.float64]]  # aligned with every observation


def _series_keys(obs: pd.DataFrame) -> list[tuple[str, str]]:
    """The (metric, resolution) series of ``obs``, sorted."""
    pairs = zip(obs["metric"].astype(str), obs["resolution"].astype(str), strict=True)
    return sorted(set(pairs))


def _align(obs: pd.DataFrame, daily: pd.DataFrame) -> np.ndarray[Any, np.dtype[np.float64]]:
    sim = np.full(len(obs), np.nan)
    for metric, res in _series_keys(obs):
        mask = ((obs["metric"] == metric) & (obs["resolution"] == res)).to_numpy(bool)
        series = period_values(daily[metric], res, metric_is_stock(metric))
        starts = pd.DatetimeIndex(obs.loc[mask, "start"]).as_unit("ns")
        sim[mask] = series.reindex(starts).to_numpy(dtype=np.float64)
    return sim


def score_run(obs: pd.DataFrame, daily: pd.DataFrame, lik: Likelihood) -> Score:
    """Score simulated daily totals ``daily`` against the prepared observations ``obs``."""
    sim = _align(obs, daily)
    if not np.all(np.isfinite(sim)):
        raise CorridorError("the run does not cover every observation (internal error)")
    by_metric: dict[str, float] = {}
    nuisance: dict[str, dict[str, float]] = {}
    fit = obs["fit"].to_numpy(dtype=bool)
    values = obs["value"].to_numpy(dtype=np.float64)
    for metric, res in _series_keys(obs[fit]):
        mask = fit & ((obs["metric"] == metric) & (obs["resolution"] == res)).to_numpy(bool)
        logp, nu = lik.pointwise(values[mask], sim[mask])
        by_metric[metric] = by_metric.get(metric, 0.0) + float(logp.sum())
        if nu:
            nuisance[f"{metric}/{res}"] = nu
    return Score(sum(by_metric.values()), by_metric, nuisance, sim)


def mean_frames(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """The mean of replicate runs' daily totals (a day or column missing from one counts 0)."""
    total = frames[0].copy()
    for f in frames[1:]:
        total = total.add(f, fill_value=0.0)
    return total / len(frames)


@dataclass(frozen=True)
class Objective:
    """What a trial is worth: the scenario overrides its parameters stand for, and the log
    posterior of its runs (likelihood of the observations plus the log prior)."""

    obs: pd.DataFrame  # prepared observations (stock and fit columns)
    lik: Likelihood
    by_path: Mapping[str, SearchParam]

    def overrides(self, trial_params: Mapping[str, Any]) -> dict[str, Any]:
        """A trial's searched values as scenario overrides (integers rounded)."""
        return {k: self.by_path[k].value(v) for k, v in trial_params.items()}

    def evaluate(
        self, trial_params: Mapping[str, Any], parts: Sequence[pd.DataFrame]
    ) -> tuple[float, dict[str, Any]]:
        """The log posterior of a trial whose replicate runs gave ``parts``, and the score to
        store with it (``log_likelihood``, ``log_prior``, ``by_metric``). Not finite when a
        value lies outside its prior's support."""
        score = score_run(self.obs, mean_frames(parts), self.lik)
        lp = sum(prior_logpdf(self.by_path[k].prior, float(v)) for k, v in trial_params.items())
        value = score.log_likelihood + lp
        attrs = {
            "log_likelihood": score.log_likelihood,
            "log_prior": lp,
            "by_metric": score.by_metric,
        }
        return value, attrs
