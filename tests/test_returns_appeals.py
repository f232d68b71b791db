"""Returns and appeals as published (issue 13 items 3 and 5): the scenario's removal capacity,
tribunal capacity, allowed share and removability against the pack's observed tables
(tools/returns_and_appeals.py), the draws after the cut-off, and the ``removals`` metric."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from corridor.forecast.config import load_flagship
from corridor.forecast.context import Context, build_context, truncate_inputs
from corridor.forecast.fitted import load_series_fits
from corridor.forecast.model import run_replicate
from corridor.forecast.system import future_appeals, future_returns, published_history
from corridor.scenario.loader import load_scenario, resolve_scenario

PACK = resolve_scenario("uk-balkans")
OBS = PACK / "observed"


@pytest.fixture(scope="module")
def ctx() -> Context:
    cfg = load_flagship(PACK)
    return build_context(PACK, fits=load_series_fits(PACK, cfg.cutoff.isoformat()))


def _steps(sched: object) -> dict[date, float]:
    assert isinstance(sched, list)
    return {s.date: float(s.value) for s in sched}


def test_removal_capacity_is_the_published_asylum_related_enforced_returns() -> None:
    ret = pd.read_csv(OBS / "returns_annual.csv").set_index("year")
    # Ret_05 as published (YE Dec 2023 release): asylum-related enforced returns, not all
    assert ret.loc[2019, "enforced_asylum"] == 1364
    assert ret.loc[2023, "enforced_asylum"] == 1862
    assert (ret["enforced_asylum"] < ret["enforced_all"]).all()
    # 2024: the national enforced total x the 2023 asylum share
    assert ret.loc[2024, "enforced_all"] == 8169
    assert ret.loc[2024, "enforced_asylum"] == round(8169 * 1862 / 6393)
    cap = _steps(load_scenario("uk-balkans").scenario.returns.removal_capacity)
    for y in range(2018, 2025):
        year = cap[date(y, 1, 1)] * 12
        assert year == pytest.approx(ret.loc[y, "enforced_asylum"], abs=1.0), y
        assert year < 0.5 * ret.loc[y, "enforced_all"]  # not all enforced returns


def test_allow_rates_by_year_are_the_published_shares() -> None:
    app = pd.read_csv(OBS / "appeals_quarterly.csv")
    app = app.assign(year=app["period"].str[:4].astype(int))
    by = app.groupby("year")[["determined_allowed", "appeals_determined"]].sum()
    sc = load_scenario("uk-balkans").scenario
    dated = {
        p.date.year: float(p.set["asylum.appeals.allow_rate"])
        for p in sc.policies
        if "asylum.appeals.allow_rate" in p.set
    }
    for y in range(2018, 2024):
        share = by.loc[y, "determined_allowed"] / by.loc[y, "appeals_determined"]
        assert dated[y] == pytest.approx(share, abs=0.0006), y
    assert dated[2019] != dated[2022]  # not one rate for every year
    assert 0.4 < dated[2024] < 0.55  # MoJ tribunal statistics 2024 (46-49%)


def test_tribunal_capacity_follows_published_determinations() -> None:
    """Judges (effective) x 10 hearings x 1.31 people a case = the published determinations a
    month to 2023 Q1; 2024 from the stock-flow balance closing on the MoJ's 41,987."""
    app = pd.read_csv(OBS / "appeals_quarterly.csv").set_index("period")
    sc = load_scenario("uk-balkans").scenario
    judges = _steps(sc.asylum.appeals.judges)
    people_a_month = 10 * sc.asylum.household_size
    for period, d in (("2018 Q1", date(2018, 1, 1)), ("2020 Q2", date(2020, 4, 1))):
        determined = app.loc[period, "appeals_determined"]
        assert judges[d] * people_a_month * 3 == pytest.approx(determined, rel=0.01)
    assert 1.5 * judges[date(2023, 1, 1)] < judges[date(2024, 1, 1)]  # the tribunal grew
    assert not any(date(2023, 1, 1) < d < date(2024, 1, 1) for d in judges)  # no unpublished step


def test_lodge_shares_by_year_are_the_published_ones() -> None:
    app = pd.read_csv(OBS / "appeals_quarterly.csv")
    sc = load_scenario("uk-balkans").scenario
    dated = {
        p.date: float(p.set["asylum.appeals.lodge_share"])
        for p in sc.policies
        if "asylum.appeals.lodge_share" in p.set
    }
    lodged_2018 = app[app["period"].str.startswith("2018")]["appeals_lodged"].sum()
    assert dated[date(2018, 1, 1)] == pytest.approx(lodged_2018 / 18_872, abs=0.0006)
    assert dated[date(2023, 4, 1)] == pytest.approx(29_172 / 41_967, abs=0.0006)  # MoJ FY23/24


def test_removability_is_backed_by_enforced_returns() -> None:
    by = pd.read_csv(OBS / "returns_by_nationality.csv").set_index("nationality")
    nat = load_scenario("uk-balkans").tables["nationalities"].set_index("nationality")
    for n, row in by.iterrows():
        assert bool(nat.loc[n, "returns_agreement"]) == bool(row["removable"]), n
    assert bool(by.loc["Albania", "removable"])
    assert bool(by.loc["Vietnam", "removable"])
    assert not by.loc[["Afghanistan", "Eritrea", "Sudan", "Syria"], "removable"].any()


def test_future_removal_and_appeal_capacity_vary_by_year_and_replicate(ctx: Context) -> None:
    returns, allow, _ = published_history(PACK)
    cut = ctx.cutoff.date()
    out = []
    for seed in (1, 2):
        loaded, d1 = future_returns(ctx.loaded, ctx.cutoff, ctx.end, seed, returns)
        loaded, d2 = future_appeals(loaded, ctx.cutoff, ctx.end, seed, allow)
        sc = loaded.scenario
        cap = {k: v for k, v in _steps(sc.returns.removal_capacity).items() if k > cut}
        jud = {k: v for k, v in _steps(sc.asylum.appeals.judges).items() if k > cut}
        allow_y = [d2[f"asylum.appeals.allow_rate.{y}"] for y in range(2025, 2031)]
        assert len(cap) == len(jud) == 6  # one step per forecast year
        assert len(set(cap.values())) == 6
        assert len(set(jud.values())) == 6
        assert len(set(allow_y)) == 6
        assert all(0 < a < 1 for a in allow_y)
        assert d1["returns.removal_capacity_spread"] > 0
        assert d2["asylum.appeals.capacity_spread"] > 0
        assert d2["asylum.appeals.allow_rate_spread"] > 0.02
        out.append((cap, jud, allow_y))
    assert out[0][0] != out[1][0]
    assert out[0][1] != out[1][1]
    assert out[0][2] != out[1][2]
    again, _ = future_returns(ctx.loaded, ctx.cutoff, ctx.end, 1, returns)
    first = _steps(again.scenario.returns.removal_capacity)
    assert {k: v for k, v in first.items() if k > cut} == out[0][0]  # same seed, same draws
    # the past is the past: steps up to the cut-off untouched
    before = _steps(ctx.loaded.scenario.returns.removal_capacity)
    assert {k: v for k, v in first.items() if k <= cut} == before


def test_draws_start_from_the_truncated_inputs_at_an_earlier_cutoff(ctx: Context) -> None:
    """At a back-test cut-off (end-2022) the draws start from what was published by then."""
    full = load_scenario("uk-balkans")
    cut = pd.Timestamp("2022-12-31")
    loaded = truncate_inputs(full, cut)
    returns, allow, _ = published_history(PACK)
    loaded, draws = future_returns(loaded, cut, ctx.end, 3, returns)
    loaded, more = future_appeals(loaded, cut, ctx.end, 3, allow)
    draws = {**draws, **more}
    cap = _steps(loaded.scenario.returns.removal_capacity)
    f23 = draws["returns.removal_capacity_factor.2023"]
    assert cap[date(2023, 1, 1)] == pytest.approx(48.8 * f23)  # from 2022's level, not 2023's
    jud = _steps(loaded.scenario.asylum.appeals.judges)
    f24 = draws["asylum.appeals.capacity_factor.2024"]
    assert jud[date(2024, 1, 1)] == pytest.approx(20.4 * f24)  # 2022 Q4's level, not 2024's
    assert "asylum.appeals.allow_rate.2023" in draws


def test_removals_are_enforced_only_and_voluntary_returns_separate(ctx: Context) -> None:
    y = run_replicate(ctx, ctx.config.variant("status_quo"), 0, 7).yearly()
    ret = pd.read_csv(OBS / "returns_annual.csv").set_index("year")
    # removal capacity binds: the model's enforced removals are the published ones
    for yr in (2019, 2023, 2024):
        assert y.loc[yr, "removals"] == pytest.approx(ret.loc[yr, "enforced_asylum"], rel=0.1)
    assert (y["voluntary_returns"] > 0).all()
    # voluntary departures are no longer in removals: with no hub, removals are the enforced ones
    pd.testing.assert_series_equal(y["removals"], y["enforced_removals"], check_names=False)
    assert (y.loc[2019:2024, "voluntary_returns"] > 0.3 * y.loc[2019:2024, "removals"]).all()
    assert np.isfinite(y["appeals_backlog_end"]).all()


def test_appeals_lodged_and_pending_match_the_published_figures() -> None:
    """The fitted past: appeals lodged by year within 5% of Asy_D06, and people with an appeal
    pending on 31 Dec 2024 within 15% of the MoJ's 41,987 outstanding (the model starts 2018
    with none pending, so it is short)."""
    from corridor.asylum.run import apply_overrides, run_scenario
    from corridor.forecast.context import load_fitted

    cfg = load_flagship(PACK)
    loaded = load_scenario(str(PACK))
    loaded = apply_overrides(loaded, load_fitted(PACK, cfg, pd.Timestamp(cfg.cutoff)))
    res = run_scenario(loaded, seed=1, engine="aggregate")
    fl = res.flows.assign(year=pd.to_datetime(res.flows["date"]).dt.year)
    lodged = fl.groupby("year")["new_appeals_lodged"].sum()
    app = pd.read_csv(OBS / "appeals_quarterly.csv")
    published = app.assign(year=app["period"].str[:4].astype(int)).groupby("year")["appeals_lodged"]
    for y in range(2019, 2023):
        assert lodged[y] == pytest.approx(published.sum()[y], rel=0.05), y
    st = res.stocks.groupby("date")["n_awaiting_appeal"].sum()
    assert st.loc[pd.Timestamp("2024-12-31")] == pytest.approx(41_987, rel=0.15)
    # people awaiting a decision by nationality (Asy_D03, every route): the total within 3%;
    # each nationality's small-boat claimants at most its all-route figure
    wip = pd.read_csv(OBS / "awaiting_by_nationality.csv").set_index("period_end")
    on = res.stocks[res.stocks["date"] == pd.Timestamp("2024-09-30")]
    by = on.set_index("nationality")["n_awaiting_decision"]
    assert by.sum() == pytest.approx(wip.loc["2024-09-30", "All nationalities"], rel=0.03)
    for n in ("Afghanistan", "Albania", "Eritrea", "Iran", "Iraq", "Sudan", "Syria", "Turkey"):
        assert by[n] <= 1.05 * wip.loc["2024-09-30", n], n


def test_without_policies_takes_out_one_path_of_the_dated_policies() -> None:
    """The cohort run without appeals allowed and the voluntary-rate tool take a path out of
    the dated policies: every other setting and policy stays, and the base value then rules."""
    from corridor.asylum.overrides import without_policies
    from corridor.scenario.loader import load_scenario, resolve_scenario

    loaded = load_scenario(resolve_scenario("uk-balkans"))
    path = "asylum.appeals.allow_rate"
    before = loaded.scenario.policies
    assert any(path in p.set for p in before)
    after = without_policies(loaded, path).scenario.policies
    assert not any(path in p.set for p in after)
    others = [(p.date, k, v) for p in before for k, v in p.set.items() if k != path]
    assert [(p.date, k, v) for p in after for k, v in p.set.items()] == others
    assert loaded.scenario.policies is before  # the input is unchanged


def _fitted_history() -> pd.DataFrame:
    from corridor.asylum.run import apply_overrides, run_scenario
    from corridor.forecast.context import load_fitted

    cfg = load_flagship(PACK)
    loaded = load_scenario(str(PACK))
    loaded = apply_overrides(loaded, load_fitted(PACK, cfg, pd.Timestamp(cfg.cutoff)))
    return run_scenario(loaded, seed=1, engine="aggregate")


def test_the_fitted_past_starts_with_the_refused_and_gives_the_published_departures() -> None:
    """The 43,747 people refused before 2018 (ASY_03, half-way between mid-2017 and mid-2018, x
    1.31 people a case) start on the exit route; with them, the voluntary rates by year give the
    published asylum-related voluntary returns of each year (tools/voluntary_rates.py), and the
    people refused and not removed on 30 Jun 2023 are of the order of the published cases
    subject to removal action (41,181 cases, ~54,000 people), above them (the model keeps
    people the Home Office has closed or lost track of: an upper side, not a fit)."""
    sc = load_scenario(str(PACK)).scenario
    cases = (32_037 + 34_752) / 2  # 1 Jan 2018: half-way between 30 Jun 2017 and 30 Jun 2018
    assert sc.returns.initial_refused == pytest.approx(cases * 1.31, abs=1.0)
    assert sc.returns.removal_order == "newest_first"
    res = _fitted_history()
    assert res.meta["initial_refused_people"] == pytest.approx(sc.returns.initial_refused)
    fl = res.flows.assign(year=pd.to_datetime(res.flows["date"]).dt.year)
    vol = fl.groupby("year")["new_voluntary_returns"].sum()
    published = pd.read_csv(OBS / "returns_annual.csv").set_index("year")["voluntary_asylum"]
    for y in range(2018, 2025):
        assert vol[y] == pytest.approx(published[y], rel=0.005), y  # rates to 4 figures
    st = res.stocks.groupby("date")[["n_refused", "n_limbo", "n_detained"]].sum()
    waiting = float(st.loc[pd.Timestamp("2023-06-30")].sum())
    assert 41_181 * 1.31 * 0.9 < waiting < 41_181 * 1.31 * 1.5
