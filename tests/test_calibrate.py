"""Calibration: recovery of known parameters, resuming a study, observed-file errors, priors.

The observed series are made by the model itself (aggregate engine, ``mini`` scenario) at known
parameter values, so a correct calibration must find those values again.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
import yaml
from scipy import stats
from typer.testing import CliRunner

from corridor.analysis.calibrate import (
    calibrate,
    period_values,
    prior_logpdf,
    read_observed,
    simulate_totals,
)
from corridor.errors import InputError
from corridor.scenario.schema import Prior

MINI = Path(__file__).resolve().parent / "data" / "scenarios" / "mini"

# Priors on three parameters that the observed series identify: arrivals.scale (new_arrivals),
# arrivals.claim_share (new_claims / new_arrivals) and asylum.productivity (through the time a
# case spends in service, n_awaiting_decision). Ranges are made up for the test.
UNCERTAIN = """
uncertain:
  arrivals.scale: {dist: uniform, low: 0.5, high: 2.0, source: test fixture}
  arrivals.claim_share: {dist: uniform, low: 0.5, high: 1.0, source: test fixture}
  asylum.productivity: {dist: loguniform, low: 2.0, high: 10.0, source: test fixture}
"""
TRUTH = {"arrivals.scale": 1.3, "arrivals.claim_share": 0.8, "asylum.productivity": 6.0}
METRICS = ("new_arrivals", "new_claims", "n_awaiting_decision")


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A copy of ``mini`` with priors, and monthly observed series made at :data:`TRUTH`."""
    root = tmp_path_factory.mktemp("calibrate")
    scenario = root / "mini"
    shutil.copytree(MINI, scenario)
    with (scenario / "scenario.yaml").open("a", encoding="utf-8") as fh:
        fh.write(UNCERTAIN)
    daily = simulate_totals(str(scenario), 0, dict(TRUTH), "aggregate", METRICS)
    rows = []
    for metric in METRICS:
        series = period_values(daily[metric], "month", metric.startswith("n_"))
        rows += [(d.strftime("%Y-%m"), metric, v, "model at TRUTH") for d, v in series.items()]
    observed = root / "observed.csv"
    pd.DataFrame(rows, columns=["date", "metric", "value", "source"]).to_csv(observed, index=False)
    return scenario, observed


def test_recovers_known_parameters(case: tuple[Path, Path], tmp_path: Path) -> None:
    scenario, observed = case
    out = tmp_path / "out"
    result = calibrate(
        scenario, [observed], n_trials=80, likelihood="poisson", seed=11, out_dir=out
    )
    for path, true in TRUTH.items():
        assert abs(result.params[path] - true) / true < 0.10, (path, result.params[path], true)
    assert result.n_trials == result.new_trials == 80
    for metric in METRICS:
        assert result.metrics[metric]["points"] == 12
        mape = result.metrics[metric]["mape_pct"]
        assert isinstance(mape, float)
        assert mape < 10.0

    doc = yaml.safe_load((out / "fitted.yaml").read_text())
    assert doc["overrides"] == pytest.approx(result.params)
    assert set(doc["overrides"]) == set(TRUTH)  # keyed by the uncertain: paths
    assert set(doc["metrics"]) == set(METRICS)
    assert {"log_likelihood", "rmse", "mape_pct"} <= set(doc["metrics"]["new_arrivals"])
    trials = pd.read_csv(out / "trials.csv")
    assert len(trials) == 80
    assert set(TRUTH) <= set(trials.columns)
    assert trials["log_posterior"].max() == pytest.approx(result.log_posterior)
    for metric in METRICS:
        assert (out / f"fit_{metric}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    fit = pd.read_csv(out / "fit.csv")
    assert len(fit) == 36
    assert {"observed", "simulated"} <= set(fit.columns)
    assert (out / "study.db").is_file()


def test_rerun_resumes_the_study(case: tuple[Path, Path], tmp_path: Path) -> None:
    scenario, observed = case
    db = tmp_path / "study.db"
    first = calibrate(scenario, [observed], n_trials=4, study_path=db, out_dir=tmp_path / "a")
    assert (first.n_trials, first.new_trials) == (4, 4)
    before = pd.read_csv(tmp_path / "a" / "trials.csv")

    # More trials on the same study, now on two processes: only the missing ones run.
    second = calibrate(
        scenario, [observed], n_trials=7, study_path=db, out_dir=tmp_path / "b", workers=2
    )
    assert second.study_name == first.study_name
    assert (second.n_trials, second.new_trials) == (7, 3)
    after = pd.read_csv(tmp_path / "b" / "trials.csv")
    assert list(after["trial"]) == list(range(7))
    pd.testing.assert_frame_equal(
        after.iloc[:4].drop(columns="seconds"), before.drop(columns="seconds")
    )
    assert second.log_posterior >= first.log_posterior

    third = calibrate(scenario, [observed], n_trials=7, study_path=db, out_dir=tmp_path / "c")
    assert (third.n_trials, third.new_trials) == (7, 0)
    assert third.params == second.params


def test_trial_left_running_is_rerun(case: tuple[Path, Path], tmp_path: Path) -> None:
    scenario, observed = case
    db = tmp_path / "study.db"
    first = calibrate(scenario, [observed], n_trials=2, study_path=db, out_dir=tmp_path)
    # An interrupted call leaves a trial running: the next call fails it and reruns its values.
    study = optuna.load_study(study_name=first.study_name, storage=f"sqlite:///{db}")
    stale = study.ask(
        {
            "arrivals.scale": optuna.distributions.FloatDistribution(0.5, 2.0),
            "arrivals.claim_share": optuna.distributions.FloatDistribution(0.5, 1.0),
            "asylum.productivity": optuna.distributions.FloatDistribution(2.0, 10.0, log=True),
        }
    )
    result = calibrate(scenario, [observed], n_trials=3, study_path=db, out_dir=tmp_path)
    assert result.new_trials == 1
    trials = optuna.load_study(study_name=first.study_name, storage=f"sqlite:///{db}").trials
    assert trials[stale.number].state == optuna.trial.TrialState.FAIL
    assert trials[-1].state == optuna.trial.TrialState.COMPLETE
    assert trials[-1].params == stale.params


def test_fit_through_and_a_subset_of_params(case: tuple[Path, Path], tmp_path: Path) -> None:
    scenario, observed = case
    result = calibrate(
        scenario,
        [observed],
        params=["arrivals.scale"],
        n_trials=2,
        fit_through="2024-08",
        likelihood="negbin",
        out_dir=tmp_path / "x",
    )
    assert list(result.params) == ["arrivals.scale"]
    for metric in METRICS:  # observations after August are held out
        assert result.metrics[metric]["points"] == 8
        assert result.metrics[metric]["holdout_points"] == 4
    assert result.fit["fit"].sum() == 24
    assert set(result.nuisance) == {f"{m}/month" for m in METRICS}  # profiled dispersions
    with pytest.raises(InputError, match="no prior"):
        calibrate(scenario, [observed], params=["deterrence.elasticity"], out_dir=tmp_path / "y")


# ---------------------------------------------------------------------------------------------
# Observed files
# ---------------------------------------------------------------------------------------------
GOOD = "date,metric,value,source\n2024-01,new_arrivals,160,x\n2024-02,new_arrivals,150,x\n"


@pytest.mark.parametrize(
    ("text", "line", "field"),
    [
        (GOOD + "2024-13,new_arrivals,5,x\n", 4, "date"),
        (GOOD + "March 2024,new_arrivals,5,x\n", 4, "date"),
        ("date,metric,value\n2024-01,new_arrival,3\n", 2, "metric"),
        ("date,metric,value\n2024-01,new_arrivals,lots\n", 2, "value"),
        ("date,metric,value\n2024-01,new_arrivals,-3\n", 2, "value"),
        ("date,metric,value,resolution\n2024-01,new_arrivals,3,week\n", 2, "resolution"),
        ("date,metric\n2024-01,new_arrivals\n", 1, "value"),
        (GOOD + "\n2024-02-15,new_arrivals,5,x\n", 5, "date"),  # same month as line 3
    ],
)
def test_bad_observed_file_is_located(tmp_path: Path, text: str, line: int, field: str) -> None:
    path = tmp_path / "obs.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_observed([path])
    assert err.value.file == str(path)
    assert err.value.line == line
    assert err.value.field == field
    assert f"obs.csv:{line}" in str(err.value)


def test_bad_observed_file_stops_calibrate(case: tuple[Path, Path], tmp_path: Path) -> None:
    scenario, _ = case
    path = tmp_path / "obs.csv"
    path.write_text(GOOD + "2024-03,new_arrivals,,x\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        calibrate(scenario, [path], n_trials=1, out_dir=tmp_path / "out")
    assert (err.value.file, err.value.line, err.value.field) == (str(path), 4, "value")
    with pytest.raises(InputError, match="not found"):
        calibrate(scenario, [tmp_path / "missing.csv"], n_trials=1, out_dir=tmp_path / "out")


def test_resolution_inferred_or_given(tmp_path: Path) -> None:
    path = tmp_path / "obs.csv"
    path.write_text(
        "date,metric,value,resolution\n"
        "2024-03-31,n_awaiting_decision,40,\n"  # quarter-end dates: quarters
        "2024-06-30,n_awaiting_decision,50,\n"
        "2024-09-30,n_awaiting_decision,60,\n"
        "2024-05,new_decisions,300,\n"  # YYYY-MM: a month
        "2024,new_claims,3000,\n"  # YYYY: a year
        "2024-07-14,new_arrivals,400,quarter\n",  # explicit
        encoding="utf-8",
    )
    obs = read_observed(path)
    assert list(obs["resolution"]) == ["quarter"] * 3 + ["month", "year", "quarter"]
    assert [str(d.date()) for d in obs["start"]] == [
        "2024-01-01",
        "2024-04-01",
        "2024-07-01",
        "2024-05-01",
        "2024-01-01",
        "2024-07-01",
    ]
    assert str(obs["end"].iloc[0].date()) == "2024-03-31"


def test_period_values_sum_flows_and_take_stocks_at_the_end() -> None:
    days = pd.date_range("2024-01-01", "2024-12-31")
    flow = pd.Series(1.0, index=days)
    stock = pd.Series(np.arange(len(days), dtype=float), index=days)
    q = period_values(flow, "quarter", stock=False)
    assert list(q) == [91.0, 91.0, 92.0, 92.0]  # days per quarter of 2024
    s = period_values(stock, "month", stock=True)
    assert s.iloc[0] == 30.0
    assert s.iloc[-1] == 365.0
    assert period_values(flow, "year", stock=False).iloc[0] == 366.0


# ---------------------------------------------------------------------------------------------
# Prior densities (added to the log-likelihood: the best trial is a posterior mode)
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("prior", "dist"),
    [
        (Prior(dist="uniform", low=0.5, high=2.0), stats.uniform(0.5, 1.5)),
        (Prior(dist="loguniform", low=2.0, high=10.0), stats.loguniform(2.0, 10.0)),
        (Prior(dist="normal", mean=0.3, sd=0.1), stats.norm(0.3, 0.1)),
        (
            Prior(dist="normal", mean=0.3, sd=0.1, low=0.2, high=0.6),
            stats.truncnorm(-1.0, 3.0, loc=0.3, scale=0.1),
        ),
        (Prior(dist="triangular", low=1.0, mode=2.0, high=5.0), stats.triang(0.25, 1.0, 4.0)),
    ],
)
def test_prior_logpdf_matches_scipy(prior: Prior, dist: stats.rv_continuous) -> None:
    lo, hi = dist.ppf(0.01), dist.ppf(0.99)
    for x in np.linspace(lo, hi, 9):
        assert prior_logpdf(prior, float(x)) == pytest.approx(dist.logpdf(x), rel=1e-9)
    if prior.high is not None:
        assert prior_logpdf(prior, prior.high + 1.0) == -math.inf


# ---------------------------------------------------------------------------------------------
# The command
# ---------------------------------------------------------------------------------------------
def test_cli_calibrate(case: tuple[Path, Path], tmp_path: Path) -> None:
    import typer

    from corridor.cli import analysis as cli_analysis

    app = typer.Typer()
    app.command()(cli_analysis.calibrate)
    app.command()(cli_analysis.sensitivity)
    out = tmp_path / "out"
    scenario, observed = case
    args = ["calibrate", str(scenario), "--observed", str(observed), "--trials", "2"]
    result = CliRunner().invoke(
        app,
        [*args, "--param", "arrivals.scale", "--likelihood", "normal:cv=0.1", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert "arrivals.scale" in result.output
    assert "new_claims" in result.output
    assert (out / "fitted.yaml").is_file()
    bad = CliRunner().invoke(app, [*args, "--likelihood", "gauss", "--out", str(out)])
    assert isinstance(bad.exception, InputError)
