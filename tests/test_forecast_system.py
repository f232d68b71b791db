"""The asylum system after the cut-off, drawn per replicate (corridor.forecast.system)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from corridor.forecast.config import load_flagship
from corridor.forecast.context import Context, build_context
from corridor.forecast.fitted import load_series_fits
from corridor.forecast.model import run_replicate
from corridor.forecast.system import (
    PRODUCTIVITY_RULES,
    future_grant_rates,
    future_productivity,
    level_spread,
    rule_scores,
)
from corridor.scenario.loader import resolve_scenario

PACK = resolve_scenario("uk-balkans")


@pytest.fixture(scope="module")
def ctx() -> Context:
    cfg = load_flagship(PACK)
    return build_context(PACK, fits=load_series_fits(PACK, cfg.cutoff.isoformat()))


def test_level_spread_is_robust_and_scaled() -> None:
    rng = np.random.default_rng(0)
    levels = pd.Series(rng.normal(0.0, 0.5, 20_000))
    assert level_spread(levels.diff()) == pytest.approx(0.5, rel=0.05)
    with_jump = pd.Series([0.0, 0.1, -0.1, 0.05, 5.0, 0.0, 0.1])  # one collapse
    assert level_spread(with_jump.diff()) < 1.0


def test_productivity_carries_on_by_the_best_scored_rule_and_moves_by_year(ctx: Context) -> None:
    loaded, draws = future_productivity(ctx.loaded, ctx.cutoff, ctx.end, seed=5)
    sched = loaded.scenario.asylum.productivity
    assert isinstance(sched, list)
    past = [s for s in sched if s.date <= ctx.cutoff.date()]
    future = [s for s in sched if s.date > ctx.cutoff.date()]
    scores = rule_scores([s.model_dump() for s in past])
    assert set(scores) == set(PRODUCTIVITY_RULES)
    rule = PRODUCTIVITY_RULES[int(draws["asylum.productivity_rule"])]
    assert scores[rule] == min(scores.values())
    assert rule == "mean_last_4"  # through 2024: 0.30 against 0.34 (ramp), 0.38 (last quarter)
    mean4 = float(np.mean([s.value for s in past[-4:]]))
    f25 = draws["asylum.productivity_factor.2025"]
    assert future[0].value == pytest.approx(mean4 * f25)
    assert future[11].value == pytest.approx(mean4 * f25)
    years = [draws[f"asylum.productivity_factor.{y}"] for y in range(2025, 2031)]
    assert len(set(years)) == 6  # one factor per year
    assert draws["asylum.productivity_spread"] > 0
    again, _ = future_productivity(ctx.loaded, ctx.cutoff, ctx.end, seed=5)
    assert again.scenario.asylum.productivity == sched  # same seed, same path
    before = ctx.loaded.scenario.asylum.productivity
    assert isinstance(before, list)
    assert past == [s for s in before if s.date <= ctx.cutoff.date()]  # the past is the past


def test_rule_scores_are_out_of_sample() -> None:
    """A level that doubles every year: 'last quarter' is right more often than the mean."""
    from datetime import date

    past = [
        {"date": date(2018 + y, 1 + 3 * q, 1), "value": 2.0 ** (y + q / 4)}
        for y in range(5)
        for q in range(4)
    ]
    scores = rule_scores(past)
    assert scores["last_quarter"] < scores["ramp"] < scores["mean_last_4"]


def test_grant_rates_start_at_the_last_quarter_and_move_by_year(ctx: Context) -> None:
    loaded, draws = future_grant_rates(ctx.loaded, ctx.cutoff, ctx.end, seed=5)
    t, old = loaded.tables["grant_rates"], ctx.loaded.tables["grant_rates"]
    pd.testing.assert_frame_equal(t.iloc[: len(old)], old)  # history untouched
    new = t.iloc[len(old) :]
    nats = set(old["nationality"])
    assert set(new["nationality"]) == nats
    assert len(new) == len(nats) * 6  # one row per nationality and year 2025-2030
    assert ((new["grant_rate"] > 0) & (new["grant_rate"] < 1)).all()
    assert draws["grant_rate.spread"] > 0.1
    afghan = new[new["nationality"] == "Afghanistan"]["grant_rate"]
    assert afghan.nunique() == 6


def test_decisions_and_grant_rates_differ_by_year_and_replicate(ctx: Context) -> None:
    cfg = ctx.config
    runs = [run_replicate(ctx, cfg.variant("status_quo"), r, 40 + r).yearly() for r in range(3)]
    for y in runs:
        dec = y.loc[2025:2027, "initial_decisions"]
        assert dec.nunique() == 3, dec
    rates = pd.DataFrame({r: y["initial_grant_rate"] for r, y in enumerate(runs)})
    assert rates.loc[2024].nunique() == 1  # the fitted past is shared
    assert rates.loc[2025].max() - rates.loc[2025].min() > 1.0  # a band wider than a point


PUBLISHED_AWAITING_END_2024 = 124_802  # people awaiting an initial decision, 31 Dec 2024 (Asy_D03)


def test_the_forecast_starts_where_the_fitted_past_ends(ctx: Context) -> None:
    """One state: the stored fitted state (made by calibration's configuration) and the state a
    forecast replicate runs through on 31 Dec 2024 are the same, and within 3% of the
    published figure."""
    state = pd.read_csv(PACK / "fitted" / "state-2025-01-01.csv")
    fitted = float(state["n_awaiting_decision"].sum())
    assert fitted == pytest.approx(PUBLISHED_AWAITING_END_2024, rel=0.03)
    y = run_replicate(ctx, ctx.config.variant("status_quo"), 0, 3).yearly()
    assert y.loc[2024, "backlog_end"] == pytest.approx(fitted, rel=0.005)


def test_a_cut_off_inside_a_year_leaves_the_rest_of_it_to_the_draws() -> None:
    """The cohort check cuts the inputs on 30 June 2024: July-December 2024 get drawn values."""
    from datetime import date

    cut = build_context(PACK, cutoff=date(2024, 6, 30))
    _, draws = future_productivity(cut.loaded, cut.cutoff, cut.end, seed=1)
    assert "asylum.productivity_factor.2024" in draws
    loaded, _ = future_grant_rates(cut.loaded, cut.cutoff, cut.end, seed=1)
    new = loaded.tables["grant_rates"].iloc[len(cut.loaded.tables["grant_rates"]) :]
    assert new["from_date"].min() == pd.Timestamp("2024-07-01")


def test_spreads_are_the_past_errors_at_each_horizon() -> None:
    """Empirical prediction intervals: the RMS of "no change" errors h years apart, never
    narrower than the horizon before, held where the past has too few errors."""
    from corridor.forecast.system import MIN_ERRORS, change_errors, horizon_spreads

    x = np.array([0.0, 1.0, 0.0, 1.0, 0.0])  # swings: one year apart errors ±1, two apart 0
    errors = change_errors(x, 4)
    assert errors[1] == [1.0, -1.0, 1.0, -1.0]
    assert errors[2] == [0.0, 0.0, 0.0]
    s = horizon_spreads(errors, 6)
    assert s[0] == pytest.approx(1.0)
    assert s[1] == pytest.approx(1.0)  # not narrower than one year ahead
    assert len(errors[4]) < MIN_ERRORS
    assert s[5] == s[2]  # held beyond what the past can score
    walk = np.cumsum(np.random.default_rng(1).normal(0.0, 0.3, 20_000))
    w = horizon_spreads(change_errors(walk, 4), 4)
    assert w[3] / w[0] == pytest.approx(2.0, rel=0.15)  # a random walk's errors grow as sqrt(h)


def test_path_draws_have_the_horizon_spreads_and_link_years() -> None:
    from corridor.forecast.system import path_draw

    z = np.random.default_rng(2).standard_normal((3, 200_000))
    d = path_draw(z, np.array([0.5, 1.0, 2.0]))
    assert d.std(axis=1) == pytest.approx([0.5, 1.0, 2.0], rel=0.01)
    assert np.corrcoef(d[0], d[1])[0, 1] == pytest.approx(1 / np.sqrt(2), abs=0.01)


def test_productivity_errors_by_horizon_are_out_of_sample() -> None:
    """From the end of 2019 the rule forecasts 2020 (h=1) and 2021 (h=2) from 2018-2019 only."""
    from datetime import date

    from corridor.forecast.system import rule_errors

    levels = {2018: 1.0, 2019: 1.0, 2020: 2.0, 2021: 4.0}
    past = [
        {"date": date(y, 1 + 3 * q, 1), "value": v} for y, v in levels.items() for q in range(4)
    ]
    e = rule_errors(past, "last_quarter")
    assert e[1] == pytest.approx([0.0, np.log(1 / 2), np.log(2 / 4)])
    assert e[2] == pytest.approx([np.log(1 / 2), np.log(1 / 4)])
    assert e[3] == pytest.approx([np.log(1 / 4)])


def test_only_years_that_end_by_the_cut_off_set_a_spread() -> None:
    from corridor.forecast.system import whole_years

    s = pd.Series([1.0, 2.0, 3.0], index=[2022, 2023, 2024])
    assert list(whole_years(s, pd.Timestamp("2024-12-31")).index) == [2022, 2023, 2024]
    assert list(whole_years(s, pd.Timestamp("2024-06-30")).index) == [2022, 2023]


def test_grant_rates_share_a_national_move(ctx: Context) -> None:
    """All nationalities move together by the shift drawn on the national rate's history."""
    from corridor.forecast.system import published_history

    national = published_history(PACK).grant
    assert national is not None
    assert national.loc[2024] == pytest.approx(0.47, abs=0.01)
    shifts = []
    for seed in range(40):
        _, draws = future_grant_rates(ctx.loaded, ctx.cutoff, ctx.end, seed, national)
        shifts.append([draws[f"grant_rate.common_shift.{y}"] for y in (2025, 2027)])
    a = np.array(shifts)
    assert draws["grant_rate.common_spread"] == pytest.approx(0.65, abs=0.02)
    assert 0.3 < a[:, 0].std() < 1.1
    assert a[:, 1].std() > a[:, 0].std() * 0.9
    _, none = future_grant_rates(ctx.loaded, ctx.cutoff, ctx.end, 0)
    assert none["grant_rate.common_spread"] == 0.0


def test_a_lever_on_a_capacity_is_not_drawn_over(ctx: Context) -> None:
    """`--set returns.removal_capacity=500` is a policy from the forecast's start: the yearly
    draws must not put steps after it that would undo it."""
    from corridor.forecast.levers import apply_levers
    from corridor.forecast.system import future_returns

    start = (ctx.cutoff + pd.Timedelta(days=1)).date()
    levered = apply_levers(ctx.loaded, {"returns.removal_capacity": 500}, start)
    kept, draws = future_returns(levered, ctx.cutoff, ctx.end, seed=1)
    assert draws == {}
    assert kept.scenario.returns.removal_capacity == levered.scenario.returns.removal_capacity
    _, drawn = future_returns(ctx.loaded, ctx.cutoff, ctx.end, seed=1)
    assert "returns.removal_capacity_factor.2026" in drawn
