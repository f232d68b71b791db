"""Likelihoods of calibration against scipy.stats, and their registry."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from corridor.analysis.likelihoods import (
    LIKELIHOODS,
    Likelihood,
    NegativeBinomial,
    Normal,
    Poisson,
    make_likelihood,
    register_likelihood,
)
from corridor.errors import InputError

# Integer counts and positive means of the sizes calibration sees (tens to thousands a month).
Y = np.array([0, 1, 3, 12, 40, 95, 260, 1400], dtype=np.float64)
MU = np.array([0.4, 2.5, 3.0, 10.2, 47.0, 88.0, 301.0, 1333.0])


def test_poisson_matches_scipy() -> None:
    logp, nuisance = Poisson().pointwise(Y, MU)
    np.testing.assert_allclose(logp, stats.poisson.logpmf(Y, MU), rtol=1e-12, atol=1e-10)
    assert nuisance == {}
    assert Poisson().loglik(Y, MU) == pytest.approx(stats.poisson.logpmf(Y, MU).sum(), rel=1e-12)


@pytest.mark.parametrize("k", [0.5, 3.0, 25.0, 1e4])
def test_negbin_fixed_dispersion_matches_scipy(k: float) -> None:
    lik = NegativeBinomial(dispersion=k)
    logp, nuisance = lik.pointwise(Y, MU)
    expected = stats.nbinom.logpmf(Y, k, k / (k + MU))
    np.testing.assert_allclose(logp, expected, rtol=1e-10, atol=1e-9)
    assert nuisance == {"dispersion": k}


def test_negbin_profiled_dispersion_is_the_maximum() -> None:
    # Overdispersed counts: the profiled k maximises scipy's log-likelihood over a fine grid.
    rng = np.random.default_rng(3)
    mu = rng.uniform(20, 400, size=60)
    k_true = 8.0
    y = rng.negative_binomial(k_true, k_true / (k_true + mu)).astype(np.float64)
    lik = NegativeBinomial()
    k_hat = lik.nuisance(y, mu)["dispersion"]
    grid = np.exp(np.linspace(math.log(0.5), math.log(200), 2000))
    curve = np.array([stats.nbinom.logpmf(y, k, k / (k + mu)).sum() for k in grid])
    assert k_hat == pytest.approx(grid[curve.argmax()], rel=0.01)
    assert lik.loglik(y, mu) == pytest.approx(curve.max(), abs=1e-3)
    assert 4.0 < k_hat < 16.0  # and it is near the dispersion that made the data


def test_negbin_profile_without_extra_variation_is_poisson() -> None:
    lik = NegativeBinomial()
    k_hat = lik.nuisance(MU, MU)["dispersion"]
    assert k_hat >= 1e7
    assert lik.loglik(np.round(MU), MU) == pytest.approx(
        Poisson().loglik(np.round(MU), MU), abs=1e-3
    )


def test_normal_fixed_sd_matches_scipy() -> None:
    logp, nu = Normal(sd=7.5).pointwise(Y, MU)
    np.testing.assert_allclose(logp, stats.norm.logpdf(Y, MU, 7.5), rtol=1e-12)
    assert nu == {"sd": 7.5}


def test_normal_proportional_sd_matches_scipy() -> None:
    logp, _ = Normal(cv=0.2).pointwise(Y, MU)
    sigma = 0.2 * np.maximum(np.abs(MU), 1.0)  # floored at one person
    np.testing.assert_allclose(logp, stats.norm.logpdf(Y, MU, sigma), rtol=1e-12)


def test_normal_profiled_sd_is_the_maximum_likelihood_sd() -> None:
    lik = Normal()
    s_hat = lik.nuisance(Y, MU)["sd"]
    assert s_hat == pytest.approx(math.sqrt(np.mean((Y - MU) ** 2)), rel=1e-12)
    assert lik.loglik(Y, MU) == pytest.approx(stats.norm.logpdf(Y, MU, s_hat).sum(), rel=1e-12)
    for s in (0.9 * s_hat, 1.1 * s_hat):
        assert stats.norm.logpdf(Y, MU, s).sum() < lik.loglik(Y, MU)
    # a perfect fit scores a large finite value, not +inf
    assert math.isfinite(lik.loglik(MU, MU))


def test_zero_simulated_mean_is_finite_and_bad() -> None:
    lp = Poisson().loglik([5.0], [0.0])
    assert math.isfinite(lp)
    assert lp < Poisson().loglik([5.0], [5.0]) - 50


@pytest.mark.parametrize(
    ("spec", "cls", "options"),
    [
        ("poisson", Poisson, {}),
        ("negbin", NegativeBinomial, {}),
        ("negbin:dispersion=20", NegativeBinomial, {"dispersion": 20.0}),
        ("Normal: cv=0.1", Normal, {"cv": 0.1}),
        ("normal:sd=50", Normal, {"sd": 50.0}),
    ],
)
def test_make_likelihood_specs(spec: str, cls: type, options: dict[str, float]) -> None:
    lik = make_likelihood(spec)
    assert isinstance(lik, cls)
    assert lik.options() == options
    assert make_likelihood(lik.spec).options() == options  # the spec round-trips


@pytest.mark.parametrize(
    "spec",
    ["gaussian", "negbin:dispersion=-1", "normal:sd=1,cv=0.1", "poisson:k=2", "negbin:k"],
)
def test_bad_specs_are_input_errors(spec: str) -> None:
    with pytest.raises(InputError) as err:
        make_likelihood(spec)
    assert err.value.field == "likelihood"


def test_registry_takes_a_new_likelihood() -> None:
    @register_likelihood("test_laplace")
    class Laplace(Likelihood):
        def pointwise(self, observed, simulated):  # type: ignore[no-untyped-def]
            y, mu = np.asarray(observed, float), np.asarray(simulated, float)
            return -np.abs(y - mu) - math.log(2.0), {}

    try:
        lik = make_likelihood("test_laplace")
        assert lik.loglik(Y, MU) == pytest.approx(stats.laplace.logpdf(Y, MU).sum())
    finally:
        LIKELIHOODS.pop("test_laplace")
