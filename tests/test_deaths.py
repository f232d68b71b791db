"""Deaths in the Channel per attempt, with a damped trend (corridor.forecast.deaths)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from corridor.forecast.deaths import (
    TREND_DAMPING,
    channel_risk,
    death_trend,
    deaths,
    risk_by_month,
)
from corridor.scenario.loader import resolve_scenario

PACK = resolve_scenario("uk-balkans")


def test_the_trend_is_fitted_on_attempts_through_the_cut_off() -> None:
    trend = death_trend(str(PACK), "2024-12-31")
    assert trend.years == (2021, 2022, 2023, 2024)  # the years with a prevention share
    assert trend.year0 == 2024
    # about 84 dead in 2024 for 67,552 attempts (36,816 / (1 - 0.455)): the fitted level is
    # of that order, not per arrival
    assert 2e-4 < np.exp(trend.log_risk) < 3e-3
    assert trend.slope_se > 0
    with pytest.raises(ValueError, match="too few years"):
        death_trend(str(PACK), "2022-12-31")  # two years only
    months = pd.date_range("2022-01-01", periods=3, freq="MS")
    constant = channel_risk(PACK, pd.Timestamp("2022-12-31"), 0.0012, months, seed=1)
    np.testing.assert_array_equal(constant, 0.0012)  # the scenario's risk where no fit is


def test_risk_by_month_draws_a_damped_slope_per_replicate() -> None:
    trend = death_trend(str(PACK), "2024-12-31")
    months = pd.date_range("2021-01-01", "2030-12-01", freq="MS")
    a, b = risk_by_month(trend, months, 1), risk_by_month(trend, months, 2)
    np.testing.assert_array_equal(a, risk_by_month(trend, months, 1))  # same seed, same risk
    past = months.year <= 2024
    np.testing.assert_array_equal(a[past], b[past])  # the fitted years do not depend on it
    assert not np.array_equal(a[~past], b[~past])
    # damped: with a slope drawn within 4 standard errors, the 2030 risk stays within
    # exp(|slope|·φ/(1-φ)) of 2024's, where an undamped trend would reach exp(6·|slope|)
    phi = TREND_DAMPING
    steepest = abs(trend.slope) + 4 * trend.slope_se
    for seed in range(20):
        risk = risk_by_month(trend, months, seed)
        ratio = risk[months.year == 2030][0] / np.exp(trend.log_risk)
        assert abs(np.log(ratio)) <= steepest * phi / (1 - phi)


def test_deaths_count_attempts_stopped_at_the_coast_too() -> None:
    crossed, p, risk = np.array([1000.0]), np.array([0.5]), np.array([0.001])
    # 1,000 crossed with half of all attempts stopped: 2,000 attempts
    assert deaths(crossed, p, risk)[0] == pytest.approx(2.0)
    assert deaths(crossed, np.array([0.0]), risk)[0] == pytest.approx(1.0)
