"""Likelihoods of an observed series given a simulated one: the pluggable part of calibration.

A likelihood scores one series (one metric at one resolution): observed values ``y_i`` and the
simulated values ``μ_i`` at the same periods. :meth:`Likelihood.loglik` returns
``Σ_i log p(y_i | μ_i, θ)``; a nuisance parameter ``θ`` (a dispersion, a standard deviation) is
either fixed or *profiled*: set to the value that maximises the series' likelihood given ``μ``
(so each trial of a calibration is scored at its best nuisance value, and the fitted value is
reported beside the fit).

Formulas (``lgamma`` is ``log Γ``; ``μ`` is floored at :data:`MU_FLOOR` so that a simulated zero
against an observed count costs a large but finite penalty):

* **poisson** — ``log p = y log μ − μ − lgamma(y + 1)``. For a non-integer ``y`` (a modelled
  expected count) this is the usual continuous extension; for integers it equals
  ``scipy.stats.poisson.logpmf``.
* **negbin** — mean ``μ``, dispersion ``k`` (size; variance ``μ + μ²/k``, Poisson as
  ``k → ∞``)::

      log p = lgamma(y + k) − lgamma(k) − lgamma(y + 1) + k log(k / (k + μ)) + y log(μ / (k + μ))

  equal to ``scipy.stats.nbinom.logpmf(y, n=k, p=k/(k+μ))``. ``dispersion=None`` (default)
  profiles ``k`` over ``[1e-3, 1e8]`` (bounded search on ``log k``); a number fixes it.
* **normal** — ``log p = −½ log(2π σ²) − (y − μ)² / (2σ²)`` with ``σ``:
  ``sd=s`` fixed; ``cv=c`` proportional, ``σ_i = c · max(|μ_i|, 1)``; or neither (default)
  profiled, ``σ̂² = mean((y − μ)²)``, floored at ``(1e-3 · mean|y|)²`` (and ``1e-12``) so that a
  perfect fit scores a large finite value.

Likelihoods are registered by name (:data:`LIKELIHOODS`, :func:`register_likelihood`) and built
from a short spec by :func:`make_likelihood`: ``"poisson"``, ``"negbin"``,
``"negbin:dispersion=20"``, ``"normal:cv=0.1"``, ``"normal:sd=50"``.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import gammaln

from corridor.errors import InputError

__all__ = [
    "LIKELIHOODS",
    "MU_FLOOR",
    "Likelihood",
    "NegativeBinomial",
    "Normal",
    "Poisson",
    "make_likelihood",
    "register_likelihood",
]

F64 = NDArray[np.float64]
MU_FLOOR = 1e-6  # smallest simulated mean scored (people); a zero would give log 0
_K_BOUNDS = (1e-3, 1e8)  # profiled negative-binomial dispersion: from very wide to Poisson
_SD_REL_FLOOR = 1e-3  # profiled normal sd: at least this share of the mean observed level


class Likelihood(ABC):
    """Log-likelihood of observed values given simulated ones (one series at a time)."""

    name: ClassVar[str] = ""

    @abstractmethod
    def pointwise(self, observed: ArrayLike, simulated: ArrayLike) -> tuple[F64, dict[str, float]]:
        """Log-densities of each point and the nuisance values used (fitted or fixed)."""

    def loglik(self, observed: ArrayLike, simulated: ArrayLike) -> float:
        """``Σ_i log p(y_i | μ_i)`` of the series (nuisance fixed or profiled)."""
        logp, _ = self.pointwise(observed, simulated)
        return float(logp.sum())

    def nuisance(self, observed: ArrayLike, simulated: ArrayLike) -> dict[str, float]:
        """The nuisance values the series is scored with (e.g. ``{"dispersion": 12.3}``)."""
        return self.pointwise(observed, simulated)[1]

    @property
    def spec(self) -> str:
        """The spec that rebuilds this likelihood with :func:`make_likelihood`."""
        opts = ",".join(f"{k}={v:g}" for k, v in self.options().items())
        return f"{self.name}:{opts}" if opts else self.name

    def options(self) -> dict[str, float]:
        """The fixed options of this likelihood (none: everything is profiled)."""
        return {}

    def __repr__(self) -> str:
        return f"<likelihood {self.spec}>"


def _arrays(observed: ArrayLike, simulated: ArrayLike) -> tuple[F64, F64]:
    y = np.asarray(observed, dtype=np.float64)
    mu = np.asarray(simulated, dtype=np.float64)
    if y.shape != mu.shape:
        raise ValueError(f"observed {y.shape} and simulated {mu.shape} differ in shape")
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(mu))):
        raise ValueError("observed and simulated values must be finite")
    return y, mu


LIKELIHOODS: dict[str, type[Likelihood]] = {}
_L = TypeVar("_L", bound=type[Likelihood])


def register_likelihood(name: str) -> Callable[[_L], _L]:
    """Class decorator: make a :class:`Likelihood` subclass available as ``name``."""

    def deco(cls: _L) -> _L:
        cls.name = name
        LIKELIHOODS[name] = cls
        return cls

    return deco


@register_likelihood("poisson")
class Poisson(Likelihood):
    """``y ~ Poisson(μ)``: variance equal to the mean; no nuisance parameter."""

    def pointwise(self, observed: ArrayLike, simulated: ArrayLike) -> tuple[F64, dict[str, float]]:
        y, mu = _arrays(observed, simulated)
        mu = np.maximum(mu, MU_FLOOR)
        logp: F64 = y * np.log(mu) - mu - gammaln(y + 1.0)
        return logp, {}


def _nb_logpmf(y: F64, mu: F64, k: float) -> F64:
    logp: F64 = (
        gammaln(y + k)
        - gammaln(k)
        - gammaln(y + 1.0)
        + k * (math.log(k) - np.log(k + mu))
        + y * (np.log(mu) - np.log(k + mu))
    )
    return logp


@register_likelihood("negbin")
class NegativeBinomial(Likelihood):
    """``y ~ NegBin(mean μ, dispersion k)``, variance ``μ + μ²/k``.

    ``dispersion=None`` profiles ``k`` per series (the maximum of the series' likelihood over
    ``k`` in ``[1e-3, 1e8]``); a positive number fixes it.
    """

    def __init__(self, dispersion: float | None = None) -> None:
        if dispersion is not None and not (dispersion > 0 and math.isfinite(dispersion)):
            raise InputError(
                f"negbin dispersion must be a positive number (is {dispersion})",
                field="likelihood",
                expected="negbin or negbin:dispersion=K with K > 0",
            )
        self.dispersion = dispersion

    def options(self) -> dict[str, float]:
        return {} if self.dispersion is None else {"dispersion": self.dispersion}

    def pointwise(self, observed: ArrayLike, simulated: ArrayLike) -> tuple[F64, dict[str, float]]:
        y, mu = _arrays(observed, simulated)
        mu = np.maximum(mu, MU_FLOOR)
        k = self.dispersion if self.dispersion is not None else self._profile(y, mu)
        return _nb_logpmf(y, mu, k), {"dispersion": k}

    @staticmethod
    def _profile(y: F64, mu: F64) -> float:
        """The dispersion that maximises the series' log-likelihood (bounded, on ``log k``)."""
        from scipy.optimize import minimize_scalar

        if y.size == 0:
            return _K_BOUNDS[1]
        lo, hi = math.log(_K_BOUNDS[0]), math.log(_K_BOUNDS[1])

        def neg(logk: float) -> float:
            return -float(_nb_logpmf(y, mu, math.exp(logk)).sum())

        res = minimize_scalar(neg, bounds=(lo, hi), method="bounded", options={"xatol": 1e-4})
        best = float(res.x)
        # The bounded search never evaluates the ends; the Poisson end is the usual optimum for
        # data with no extra variation, so compare with it explicitly.
        if neg(hi) <= neg(best):
            best = hi
        return math.exp(best)


@register_likelihood("normal")
class Normal(Likelihood):
    """``y ~ Normal(μ, σ²)`` with ``σ`` fixed (``sd``), proportional to ``μ`` (``cv``) or
    profiled (neither)."""

    def __init__(self, sd: float | None = None, cv: float | None = None) -> None:
        if sd is not None and cv is not None:
            raise InputError(
                "give the normal likelihood sd or cv, not both",
                field="likelihood",
                expected="normal, normal:sd=S or normal:cv=C",
            )
        for key, value in (("sd", sd), ("cv", cv)):
            if value is not None and not (value > 0 and math.isfinite(value)):
                raise InputError(
                    f"normal {key} must be a positive number (is {value})",
                    field="likelihood",
                    expected="normal, normal:sd=S or normal:cv=C with S, C > 0",
                )
        self.sd = sd
        self.cv = cv

    def options(self) -> dict[str, float]:
        if self.sd is not None:
            return {"sd": self.sd}
        if self.cv is not None:
            return {"cv": self.cv}
        return {}

    def pointwise(self, observed: ArrayLike, simulated: ArrayLike) -> tuple[F64, dict[str, float]]:
        y, mu = _arrays(observed, simulated)
        nuisance: dict[str, float]
        if self.sd is not None:
            sigma = np.full_like(y, self.sd)
            nuisance = {"sd": self.sd}
        elif self.cv is not None:
            sigma = self.cv * np.maximum(np.abs(mu), 1.0)
            nuisance = {"cv": self.cv}
        else:
            floor = max(_SD_REL_FLOOR * float(np.abs(y).mean()) if y.size else 0.0, 1e-12)
            s = math.sqrt(float(np.mean((y - mu) ** 2))) if y.size else floor
            s = max(s, floor)
            sigma = np.full_like(y, s)
            nuisance = {"sd": s}
        logp: F64 = -0.5 * np.log(2.0 * math.pi * sigma**2) - (y - mu) ** 2 / (2.0 * sigma**2)
        return logp, nuisance


def make_likelihood(spec: str | Likelihood, **options: Any) -> Likelihood:
    """A likelihood from ``spec``: a registered name, optionally with options after a colon
    (``"negbin:dispersion=20"``, ``"normal:cv=0.1"``), or a :class:`Likelihood` (returned as is).
    Keyword ``options`` are added to those of the spec."""
    if isinstance(spec, Likelihood):
        if options:
            raise ValueError("options cannot be applied to a likelihood object")
        return spec
    text = str(spec).strip()
    name, _, rest = text.partition(":")
    name = name.strip().lower()
    expected = (
        " | ".join(sorted(LIKELIHOODS)) + " (options: negbin:dispersion=K, normal:sd=S, "
        "normal:cv=C)"
    )
    if name not in LIKELIHOODS:
        raise InputError(f"unknown likelihood {name!r}", field="likelihood", expected=expected)
    opts: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, value = part.partition("=")
        try:
            if not eq:
                raise ValueError(part)
            opts[key.strip()] = float(value)
        except ValueError:
            raise InputError(
                f"bad likelihood option {part!r} in {text!r}", field="likelihood", expected=expected
            ) from None
    opts.update(options)
    try:
        return LIKELIHOODS[name](**opts)
    except TypeError:
        raise InputError(
            f"likelihood {name!r} takes no option(s) {', '.join(sorted(opts))}",
            field="likelihood",
            expected=expected,
        ) from None
