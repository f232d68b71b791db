"""The rolling-origin back-test, the flow form's selection and the cohort outcomes (issue 13)."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from corridor.flagship.cohorts import PARTS, observed_cohorts
from corridor.flagship.flow_selection import choose_form, crps_samples
from corridor.flagship.rolling import (
    METRICS,
    baselines,
    observed_annual,
    origin_policies,
    score_rolling,
)
from corridor.forecast.series import FORMS, RANDOM_WALK, fit_series, simulate_paths
from corridor.scenario.loader import resolve_scenario

PACK = resolve_scenario("uk-balkans")


def _frame(rows: list[tuple[int, int, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["year", "quarter", "value"])


def _known_periods() -> dict[str, pd.DataFrame]:
    """A small made-up record: monthly flows, quarterly UK series, annual removals."""
    monthly = [(2020, (m - 1) // 3 + 1, float(m)) for m in range(1, 13)]  # 1..12
    monthly += [(2021, (m - 1) // 3 + 1, 1000.0) for m in range(1, 13)]  # after the origin
    quarterly = [(2020, q, 10.0 * q) for q in (1, 2, 3, 4)] + [(2021, 1, 999.0)]
    return {
        "small_boat_arrivals": _frame(monthly),
        "wb_detections": _frame(monthly),
        "asylum_claims": _frame(quarterly),
        "initial_decisions": _frame(quarterly),
        "grants": _frame([(2020, q, 5.0 * q if q < 4 else 30.0) for q in (1, 2, 3, 4)]),
        "backlog_end": _frame([(2020, q, 100.0 * q) for q in (1, 2, 3, 4)] + [(2021, 4, 7.0)]),
        "removals": _frame([(2019, 0, 50.0), (2020, 0, 60.0), (2021, 0, 1.0)]),
    }


def test_baselines_on_a_known_answer() -> None:
    b = baselines(_known_periods(), 2020)
    nc, sn = b["no_change"], b["seasonal_naive"]
    # monthly flow: Oct-Dec = 10 + 11 + 12 = 33, x 4; the year: 1 + ... + 12 = 78
    assert nc["small_boat_arrivals"] == 132.0
    assert sn["small_boat_arrivals"] == 78.0
    # quarterly flow: Q4 = 40, x 4; the year 10 + 20 + 30 + 40
    assert nc["asylum_claims"] == 160.0
    assert sn["asylum_claims"] == 100.0
    # grant rate: Q4 30 / 40; the year (5 + 10 + 15 + 30) / 100
    assert nc["initial_grant_rate"] == pytest.approx(75.0)
    assert sn["initial_grant_rate"] == pytest.approx(60.0)
    # a stock: the year-end value for both; removals (annual only): the origin's year
    assert nc["backlog_end"] == sn["backlog_end"] == 400.0
    assert nc["removals"] == sn["removals"] == 60.0
    # nothing after the origin is used: changing 2021 changes nothing
    later = _known_periods()
    for df in later.values():
        df.loc[df["year"] > 2020, "value"] *= 7
    assert baselines(later, 2020) == b


def test_rolling_scores_on_a_known_answer() -> None:
    per = _known_periods()
    years = [2021, 2022]
    observed = pd.DataFrame({m: [100.0, 200.0] for m in METRICS}, index=years)
    # 5 replicates: 80, 90, 100, 110, 120 for 2021 (median 100: exact) and 2022 (median 100)
    arr = np.tile(np.array([80.0, 90.0, 100.0, 110.0, 120.0])[:, None, None], (1, 2, len(METRICS)))
    out = score_rolling({2020: arr}, observed, per, years)
    h1 = out["horizons"]["1"]["small_boat_arrivals"]
    assert h1["n"] == 1
    assert h1["mape"] == pytest.approx(0.0)
    assert h1["mape_no_change"] == pytest.approx(100 * abs(132 - 100) / 100)
    assert h1["mape_seasonal_naive"] == pytest.approx(100 * abs(78 - 100) / 100)
    assert h1["coverage80"] == 1.0
    h2 = out["horizons"]["2"]["small_boat_arrivals"]
    assert h2["mape"] == pytest.approx(50.0)  # median 100 against 200
    assert h2["coverage80"] == 0.0
    assert h2["coverage95"] == 0.0
    assert out["horizons"]["3"] == {}
    assert "3" not in out["pooled"]
    assert out["pooled"]["1"] == {"coverage80": 1.0, "coverage95": 1.0, "n": len(METRICS)}
    aims = out["aims"]["by_horizon"]["1"]
    assert aims["mean_mape"] == pytest.approx(0.0)
    assert aims["beats_no_change_on_average"]


def test_observed_annual_matches_the_published_totals() -> None:
    obs = observed_annual(PACK)
    assert obs.loc[2024, "small_boat_arrivals"] == 36816
    assert obs.loc[2024, "backlog_end"] == 124802
    assert obs.loc[2023, "removals"] == 1862  # Ret_05 asylum-related enforced returns
    assert obs.loc[2024, "initial_grant_rate"] == pytest.approx(47.0, abs=0.1)
    assert max(obs.index) == 2024  # nothing later is in the pack


def test_origin_policies_carry_each_origins_own_calibration() -> None:
    pol = origin_policies({2020: {"asylum.withdrawal_rate": 0.1}, 2023: {"x.y": 2.0}})
    assert pol["origin_2020"]["forecast.cutoff"] == "2020-12-31"
    assert pol["origin_2020"]["forecast.end"] == "2023-12-31"
    assert pol["origin_2023"]["forecast.end"] == "2024-12-31"  # never past the data
    assert pol["origin_2020"]["forecast.refit"] is True
    assert pol["origin_2020"]["forecast.fitted.asylum.withdrawal_rate"] == 0.1


def test_crps_and_the_selection_rule() -> None:
    assert crps_samples(np.full(10, 3.0), 5.0) == pytest.approx(2.0)
    # two equally likely values 0 and 1, outcome 0: E|X - 0| = 0.5, E|X - X'| = 0.5
    assert crps_samples(np.array([0.0, 1.0]), 0.0) == pytest.approx(0.25)
    forms = {"a": {"crps": 0.5}, "b": {"crps": 0.4}, "c": {"crps": 0.45}}
    assert choose_form(forms) == "b"


def test_stored_flow_form_is_the_rules_choice() -> None:
    sel = json.loads((PACK / "fitted" / "flow_model_selection.json").read_text())
    assert set(sel["forms"]) == set(FORMS)
    assert sel["origins"] == ["2020-12-31", "2021-12-31", "2022-12-31", "2023-12-31"]
    assert sel["last_year_scored"] == 2024
    assert sel["chosen"] == choose_form(sel["forms"])
    stored = json.loads((PACK / "fitted" / "series-2024-12-31.json").read_text())
    assert {f.get("form", RANDOM_WALK) for f in stored["fits"].values()} == {sel["chosen"]}


def test_mean_reverting_bands_stay_bounded() -> None:
    """The random walk's spread grows without bound; a mean-reverting level's does not."""
    months = pd.period_range("2018-01", "2023-12", freq="M")
    rng = np.random.default_rng(0)
    x = pd.Series(np.exp(7 + np.cumsum(rng.normal(0, 0.1, len(months)))), index=months)
    seeds = list(range(300))
    spread = {}
    for form in (RANDOM_WALK, "mean_reverting_12"):
        fit = fit_series("s", x, "2018-01", "2023-12", 72, form=form, threshold=None)
        assert type(fit).from_dict(fit.as_dict()) == fit
        sims = np.log(simulate_paths(fit, seeds, 72))
        spread[form] = (np.std(sims[:, 11]), np.std(sims[:, 71]))
    rw, mr = spread[RANDOM_WALK], spread["mean_reverting_12"]
    assert rw[1] > 1.5 * rw[0]
    assert mr[1] < 1.2 * mr[0] + 0.05
    assert mr[1] < rw[1]


def test_observed_cohort_shares_are_a_partition() -> None:
    obs = observed_cohorts(PACK)
    assert sorted(obs) == [str(y) for y in range(2018, 2024)]
    for shares in obs.values():
        assert sum(shares[k] for k in PARTS) == pytest.approx(1.0, abs=1e-5)
        assert 0 <= shares["granted_initial"] <= shares["granted_latest"] + 1e-9
    assert obs["2019"]["granted_initial"] == pytest.approx(0.444, abs=1e-3)
    for shares in obs.values():  # withdrawn (or an administrative outcome) is a part of "other"
        assert 0 <= shares["withdrawn"] <= shares["other"] + 1e-9


RESEARCH = Path(__file__).resolve().parents[1].parent / "shared" / "research"


def test_published_unresolved_claims_are_those_awaiting_an_initial_decision() -> None:
    """Why a claim refused and awaiting its appeal counts as refused, not unresolved: in the
    outcome analysis the final outcome is the latest known, so its "not yet known" claims are
    those still awaiting an initial decision (the two counts agree for every claim year)."""
    path = RESEARCH / "data_uk_cohort_outcomes_jun2024.csv"
    if not path.exists():
        pytest.skip(f"needs the shared research folder ({path} is missing)")
    d = pd.read_csv(path)
    a = d[(d["nationality"] == "All nationalities") & d["claim_year"].between(2018, 2023)]
    gap = (a["final_not_yet_known"] - a["initial_not_yet_known"]).abs()
    assert (gap <= 0.001 * a["claims_main_applicants"]).all()


def test_cohort_states_count_a_pending_appeal_as_refused() -> None:
    from corridor.asylum import queue_kernels as qk
    from corridor.flagship.cohorts import _states

    groups = _states()
    assert sorted(groups["unresolved"]) == sorted([qk.WAITING_DECISION, qk.IN_DECISION])
    assert qk.WAITING_APPEAL in groups["other"]
    assert qk.IN_APPEAL in groups["other"]
    every = [s for states in groups.values() for s in states]
    claimed = set(range(qk.N_STATES)) - {qk.NEW, qk.NOT_CLAIMED}
    assert len(every) == len(set(every))  # no state twice
    assert set(every) == claimed  # every claimed state once


# ---------------------------------------------------------------------------------------------
# Truncation: no datum after an origin reaches that origin's fit
# ---------------------------------------------------------------------------------------------
ORIGIN = date(2021, 12, 31)


def _perturbed_copy(dest: Path) -> Path:
    """The pack with every datum dated after ORIGIN changed (observed series, dated schedules,
    policies, the arrivals, grant-rate and cost tables)."""
    copy = dest / "pack"
    shutil.copytree(PACK, copy)
    cut = pd.Timestamp(ORIGIN)
    obs = copy / "observed"
    for name in ("flows_monthly.csv", "other_claims_monthly.csv", "uk_quarterly.csv",
                 "calibration_targets.csv"):  # fmt: skip
        df = pd.read_csv(obs / name, dtype={"date": str})
        later = pd.to_datetime(df["date"]) > cut
        df.loc[later, "value"] = df.loc[later, "value"] * 3 + 17
        df.to_csv(obs / name, index=False)
    ret = pd.read_csv(obs / "returns_asylum_annual.csv")
    ret.loc[ret["year"] > ORIGIN.year, "value"] *= 5
    ret.to_csv(obs / "returns_asylum_annual.csv", index=False)
    for name, col in (("arrivals.csv", "month"), ("grant_rates.csv", "from_date")):
        df = pd.read_csv(copy / name, dtype={col: str})
        later = pd.to_datetime(df[col]) > cut
        num = [c for c in df.columns if c in ("people", "grant_rate")]
        for c in num:
            df.loc[later, c] = df.loc[later, c] * (0.5 if c == "grant_rate" else 3)
        df.to_csv(copy / name, index=False)
    data = yaml.safe_load((copy / "scenario.yaml").read_text())

    def bump(node: dict[str, Any], key: str) -> None:
        for step in node.get(key) or []:
            if isinstance(step, dict) and pd.Timestamp(step["date"]) > cut:
                step["value"] = float(step["value"]) * 2

    bump(data["asylum"], "caseworkers")
    bump(data["asylum"], "productivity")
    bump(data["asylum"]["appeals"], "judges")
    bump(data["returns"], "removal_capacity")
    for step in data["forecast"]["channel"]["prevention"]:
        if pd.Timestamp(step["date"]) > cut:
            step["value"] = 0.1
    for p in data.get("policies") or []:
        if pd.Timestamp(p["date"]) > cut:
            p["set"] = {k: float(v) * 0.5 for k, v in p["set"].items()}
    (copy / "scenario.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return copy


def test_no_datum_after_the_origin_reaches_its_fit(tmp_path: Path) -> None:
    """The origin's context (flows, route preferences, truncated inputs) and a replicate's
    forecast are the same when every later datum is changed."""
    from corridor.forecast.model import run_replicate
    from corridor.forecast.replicate import prepare_forecast

    copy = _perturbed_copy(tmp_path)
    cal = {"arrivals.claim_share": 0.93, "asylum.withdrawal_rate": 0.09}
    end = date(2024, 12, 31)
    a = prepare_forecast(PACK, ORIGIN, end, refit=True, calibrated=cal)
    b = prepare_forecast(copy, ORIGIN, end, refit=True, calibrated=cal)
    # the perturbation reached the copy's data
    assert not a.observed["small_boat_arrivals"].equals(b.observed["small_boat_arrivals"])
    assert a.fits == b.fits
    assert a.route_preferences == b.route_preferences
    assert a.mix == b.mix
    assert a.loaded.scenario.asylum == b.loaded.scenario.asylum
    assert a.loaded.scenario.returns == b.loaded.scenario.returns
    for name in ("arrivals", "grant_rates"):
        pd.testing.assert_frame_equal(a.loaded.tables[name], b.loaded.tables[name])
    ra = run_replicate(a, a.config.variant("status_quo"), 0, 11)
    rb = run_replicate(b, b.config.variant("status_quo"), 0, 11)
    pd.testing.assert_frame_equal(ra.monthly, rb.monthly)
    assert set(ra.paths) == set(rb.paths)
    for key, path in ra.paths.items():
        np.testing.assert_array_equal(path, rb.paths[key], err_msg=key)


def test_origin_calibration_ignores_later_data(tmp_path: Path) -> None:
    """The origin's calibration (a few trials: about 10 s) finds the same values when every
    later datum is changed: it scores observations through the origin only, on a causal model."""
    from corridor.flagship.rolling import calibrate_origin

    copy = _perturbed_copy(tmp_path)
    assert calibrate_origin(PACK, ORIGIN.year, trials=6) == calibrate_origin(
        copy, ORIGIN.year, trials=6
    )


# ---------------------------------------------------------------------------------------------
# backtest.json on a small, fast configuration
# ---------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_backtest_json_structure(tmp_path: Path) -> None:
    from corridor.flagship.backtest import backtest

    backtest(PACK, tmp_path, replicates=4, workers=1, trials=4, agents_per_person=0.03)
    data = json.loads((tmp_path / "backtest.json").read_text())
    rolling = data["rolling"]
    assert rolling["origins"] == ["2020-12-31", "2021-12-31", "2022-12-31", "2023-12-31"]
    for h, n in (("1", 4), ("2", 3), ("3", 2)):
        assert set(rolling["horizons"][h]) == set(METRICS)
        for s in rolling["horizons"][h].values():
            assert set(s) == {"mape", "mape_no_change", "mape_seasonal_naive", "coverage80",
                              "coverage95", "n"}  # fmt: skip
            assert s["n"] == n
            assert 0 <= s["coverage80"] <= s["coverage95"] <= 1
        assert set(rolling["pooled"][h]) >= {"coverage80", "coverage95"}
    cohorts = data["cohorts"]["by_claim_year"]
    assert sorted(cohorts) == [str(y) for y in range(2018, 2024)]
    for c in cohorts.values():
        assert sum(c[k] for k in PARTS) == pytest.approx(1.0)
        assert 0 <= c["granted_initial"] <= c["granted_latest"] <= 1
    assert sum(data["cohort_2023q1"]["shares"].values()) == pytest.approx(1.0)
    assert data["series"]["backlog_end"]["n"] == 4


def test_no_flow_p90_above_three_times_its_record() -> None:
    """The Must-show for the flows: with the stored fits (through 2024, the chosen form), no
    year's 90th percentile of any flow series exceeds 3x the largest calendar year on record."""
    from corridor.forecast.config import load_flagship
    from corridor.forecast.context import observed_monthly
    from corridor.forecast.fitted import load_series_fits

    cfg = load_flagship(PACK)
    fits = load_series_fits(PACK, cfg.cutoff.isoformat())
    assert fits is not None
    observed = observed_monthly(PACK, cfg)
    seeds = list(range(1000))
    for name, fit in fits.items():
        s = observed[name]
        years = pd.Series(s.to_numpy(dtype=float), index=[str(i)[:4] for i in s.index])
        counts = years.groupby(level=0).size()
        record = years.groupby(level=0).sum()[counts == 12].max()
        sims = simulate_paths(fit, seeds, len(fit.mean_forecast))
        annual = sims[:, : 12 * (len(fit.mean_forecast) // 12)].reshape(len(seeds), -1, 12).sum(2)
        p90 = np.percentile(annual, 90, axis=0)
        assert p90.max() <= 3 * record, (name, p90.max(), record)


def test_stored_cohorts_count_grants_on_appeal() -> None:
    """Cases granted on appeal are granted by 30 June 2024 but not at their initial decision:
    the run without appeals allowed takes out the year-by-year allowed shares too (dated
    policies), so for the claim years whose appeals were mostly heard by then the model's
    granted_latest is above its granted_initial, as published (2018: 40% -> 58%)."""
    data = json.loads((Path(PACK) / "fitted" / "backtest.json").read_text())
    cohorts = data["cohorts"]["by_claim_year"]
    for year in ("2018", "2019", "2020"):
        c = cohorts[year]
        assert c["granted_latest"] > c["granted_initial"] + 0.02, year
        assert c["observed"]["granted_latest"] > c["observed"]["granted_initial"] + 0.02
