"""The flagship (uk-balkans): variants, replicates, summary.json, back-test, CLI."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from corridor.flagship.job import run_flagship
from corridor.flagship.summaries import summarise
from corridor.forecast.config import load_flagship
from corridor.forecast.fitted import load_series_fits
from corridor.forecast.model import METRICS, build_context, run_replicate, truncate_inputs
from corridor.forecast.series import fit_series, simulate_paths
from corridor.scenario.loader import resolve_scenario

PACK = resolve_scenario("uk-balkans")
SUMMARY_METRICS = (
    "small_boat_arrivals", "wb_detections", "asylum_claims", "initial_grant_rate",
    "backlog_end", "removals", "hub_transfers", "limbo_end", "deaths", "cost_gbp",
)  # fmt: skip


@pytest.fixture(scope="module")
def ctx():  # type: ignore[no-untyped-def]
    cfg = load_flagship(PACK)
    return build_context(PACK, fits=load_series_fits(PACK, cfg.cutoff.isoformat()))


def test_config_lists_the_named_variants() -> None:
    cfg = load_flagship(PACK)
    ids = {v.id for v in cfg.variants}
    for vid in ("status_quo", "hub_albania", "hub_albania_if_agreed", "hub_bosnia",
                "hub_kosovo", "hub_montenegro_rail", "hub_north_macedonia", "hub_serbia",
                "eu_return_hubs", "italy_albania_model", "rwanda_style", "more_caseworkers",
                "stronger_french_interception"):  # fmt: skip
        assert vid in ids
    for v in cfg.variants:
        assert v.assumes.strip()
        assert v.sources
        if v.kind == "hypothetical":
            assert v.hypothetical
            assert "HYPOTHETICAL" in v.assumes
        if v.kind == "hub_refused":
            assert v.why_no_effect


def test_inputs_after_the_cutoff_are_dropped(ctx) -> None:  # type: ignore[no-untyped-def]
    sc = ctx.loaded.scenario
    dates = [s.date for s in sc.asylum.caseworkers]
    assert max(dates) <= ctx.cutoff.date()  # the Sep 2025 written answer is not used
    prod = sc.asylum.productivity
    assert prod[-1].date == (ctx.cutoff + pd.Timedelta(days=1)).date()
    assert prod[-1].value == pytest.approx(np.mean([s.value for s in prod[-5:-1]]))
    assert ctx.loaded.tables["arrivals"]["month"].max() <= ctx.cutoff
    back = truncate_inputs(ctx.loaded, pd.Timestamp("2023-12-31"))
    assert max(s.date for s in back.scenario.asylum.caseworkers).year <= 2023


def test_replicate_is_reproducible_and_history_is_shared(ctx) -> None:  # type: ignore[no-untyped-def]
    sq = ctx.config.variant("status_quo")
    a = run_replicate(ctx, sq, 0, 7).monthly
    b = run_replicate(ctx, sq, 0, 7).monthly
    pd.testing.assert_frame_equal(a, b)
    c = run_replicate(ctx, sq, 1, 8).monthly
    hist = a.index <= ctx.cutoff.to_period("M")
    pd.testing.assert_frame_equal(a[hist], c[hist])  # the past is the past
    assert not np.allclose(a.loc[~hist, "small_boat_arrivals"], c.loc[~hist, "small_boat_arrivals"])


def test_levers_move_the_right_things(ctx) -> None:  # type: ignore[no-untyped-def]
    cfg = ctx.config
    runs = {v: run_replicate(ctx, cfg.variant(v), 0, 11).yearly() for v in (
        "status_quo", "hub_albania", "hub_albania_if_agreed", "stronger_french_interception",
        "more_caseworkers", "rwanda_style")}  # fmt: skip
    sq = runs["status_quo"]
    # Albania refused: no hub, identical to the status quo
    pd.testing.assert_frame_equal(runs["hub_albania"], sq)
    assert runs["hub_albania_if_agreed"].loc[2027, "hub_transfers"] > 0
    assert (
        runs["stronger_french_interception"].loc[2026, "small_boat_arrivals"]
        < sq.loc[2026, "small_boat_arrivals"]
    )
    assert (
        runs["more_caseworkers"].loc[2026, "initial_decisions"] > sq.loc[2026, "initial_decisions"]
    )
    assert runs["rwanda_style"].loc[2027, "limbo_end"] > sq.loc[2027, "limbo_end"]
    # WB detections in the past are the observed ones
    assert sq.loc[2024, "wb_detections"] == pytest.approx(21525)
    assert sq.loc[2024, "small_boat_arrivals"] == pytest.approx(36816, rel=0.02)


def test_summary_json_shape_and_worker_independence(tmp_path: Path) -> None:
    vs = ["status_quo", "hub_kosovo"]
    one = run_flagship(PACK, tmp_path / "a", replicates=3, workers=1, variants=vs, report=False)
    run_flagship(PACK, tmp_path / "b", replicates=3, workers=2, variants=vs, report=False)
    a = json.loads((tmp_path / "a" / "summary.json").read_text())
    b = json.loads((tmp_path / "b" / "summary.json").read_text())
    assert a == b
    assert set(a) == set(vs)
    years = sorted(a["status_quo"])
    assert years[0] == "2025"
    assert years[-1] == "2030"
    for m in SUMMARY_METRICS:
        q = a["status_quo"]["2025"][m]
        assert set(q) == {"p10", "p50", "p90"}
        assert q["p10"] <= q["p50"] <= q["p90"]
    assert one.table.loc["hub_kosovo", "hub_transfers"] > 0


def test_summarise_quantiles() -> None:
    rows = [{"variant": "v", "replicate": r, "year": 2025, **{m: float(r) for m in METRICS}}
            for r in range(11)]  # fmt: skip
    s = summarise(pd.DataFrame(rows), 2025)
    assert s["v"]["2025"]["deaths"] == {"p10": 1.0, "p50": 5.0, "p90": 9.0}


def test_series_fit_and_paths_are_seeded() -> None:
    idx = pd.period_range("2018-01", "2023-12", freq="M")
    rng = np.random.default_rng(0)
    season = 1 + 0.5 * np.sin(2 * np.pi * np.arange(len(idx)) / 12)
    y = pd.Series(1000 * season * np.exp(rng.normal(0, 0.1, len(idx))), index=idx.astype(str))
    fit = fit_series("x", y, "2018-01", "2023-12", 12)
    assert fit.n_obs == 72
    assert fit.sigma_irregular > 0
    p1 = simulate_paths(fit, [1, 2], 12)
    p2 = simulate_paths(fit, [2], 12)
    np.testing.assert_array_equal(p1[1], p2[0])
    assert 300 < np.median(p1) < 3000


def test_series_fit_finds_a_level_shift_and_an_outlier() -> None:
    idx = pd.period_range("2018-01", "2023-12", freq="M")
    rng = np.random.default_rng(3)
    y = np.log(1000.0) + np.cumsum(rng.normal(0, 0.05, len(idx))) + rng.normal(0, 0.05, len(idx))
    y[60:] -= 1.5  # level falls by three quarters from 2023-01
    y[40] += 1.2  # one odd month: 2021-05
    series = pd.Series(np.exp(y), index=idx.astype(str))
    fit = fit_series("x", series, "2018-01", "2023-12", 12)
    kinds = {(b.month, b.kind) for b in fit.breaks}
    assert ("2023-01", "level_shift") in kinds
    assert ("2021-05", "outlier") in kinds
    shift = next(b for b in fit.breaks if b.kind == "level_shift")
    assert shift.size == pytest.approx(-1.5, abs=0.3)
    plain = fit_series("x", series, "2018-01", "2023-12", 12, threshold=None)
    assert plain.breaks == ()
    # the shift no longer inflates the everyday level shocks, and the forecast starts at the
    # new level
    assert fit.sigma_level < plain.sigma_level
    assert np.exp(fit.mean_forecast[0]) == pytest.approx(np.exp(y[-12:]).mean(), rel=0.5)
    assert fit.break_rate == pytest.approx(1 / (72 - 13))
    assert fit.break_sd == pytest.approx(abs(shift.size))
    # future breaks widen the bands, and the paths stay seeded
    calm = dataclasses.replace(fit, break_rate=0.0)
    wide = simulate_paths(fit, list(range(400)), 12)
    narrow = simulate_paths(calm, list(range(400)), 12)
    assert np.std(np.log(wide[:, -1])) > np.std(np.log(narrow[:, -1]))
    np.testing.assert_array_equal(simulate_paths(fit, [7], 12)[0], wide[7])


def test_stored_fits_round_trip() -> None:
    cfg = load_flagship(PACK)
    fits = load_series_fits(PACK, cfg.backtest_cutoff.isoformat())
    assert fits is not None
    wb = fits["wb_detections"]
    assert any(b.kind == "level_shift" and b.month == "2023-11" for b in wb.breaks)
    assert type(wb).from_dict(wb.as_dict()) == wb


@pytest.mark.slow
def test_backtest_reproduces_the_stored_one(tmp_path: Path) -> None:
    """The stored fitted/backtest.json is what the code gives (the full rolling back-test:
    minutes); the aims themselves are reported, met or not (tests/test_backtest_rolling.py
    checks the structure)."""
    from corridor.flagship.backtest import backtest

    backtest(PACK, tmp_path, workers=2)
    data = json.loads((tmp_path / "backtest.json").read_text())
    stored = json.loads((PACK / "fitted" / "backtest.json").read_text())
    for h, per_metric in stored["rolling"]["horizons"].items():
        for metric, scores in per_metric.items():
            assert data["rolling"]["horizons"][h][metric] == pytest.approx(scores), (h, metric)
    assert data["rolling"]["pooled"] == stored["rolling"]["pooled"]
    assert data["cohorts"]["by_claim_year"] == stored["cohorts"]["by_claim_year"]
    assert data["cohort_2023q1"]["shares"] == pytest.approx(stored["cohort_2023q1"]["shares"])
    assert data["series"]["backlog_end"]["n"] == 4
    assert data["pooled"]["n"] == 28


def test_cli_backtest_and_run(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from corridor.cli import app

    r = CliRunner().invoke(app, ["run", "uk-balkans", "--out", str(tmp_path / "run"),
                                 "--replicates", "2", "--workers", "1",
                                 "--variant", "status_quo", "--variant", "hub_bosnia"])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "wall time" in r.output
    assert (tmp_path / "run" / "summary.json").is_file()
    html = (tmp_path / "run" / "report.html").read_text()
    assert "no intention or desire" in html
    assert "model-card" in html
    assert "Change against the status quo" in html
    assert "people through Montenegro" in html
    assert "what the data identify" in html
    assert (tmp_path / "run" / "differences.json").is_file()
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    charted = re.findall(r"data-variants='([^']*)'", html)
    assert charted, "no chart in the report"
    assert all(set(c.split()) == set(summary) for c in charted)  # every variant, every chart
    assert "Observed in 2024" in html
    assert (tmp_path / "run" / "figures" / "small_boat_arrivals.png").is_file()
    r = CliRunner().invoke(
        app, ["run", "uk-balkans", "--variant", "nope", "--out", str(tmp_path / "x")]
    )
    assert r.exit_code != 0
    assert "nope" in (r.output + str(r.exception))


def test_main_job_is_stored_and_queryable(tmp_path: Path) -> None:
    from corridor.results.store import Store

    store = Store.open(tmp_path / "results")
    run = run_flagship(
        PACK, tmp_path / "out", replicates=2, workers=1, variants=["status_quo"], report=False,
        store=store,
    )  # fmt: skip
    assert run.run_id is not None
    cat = store.runs({"engine": "flagship"})
    assert list(cat["run_id"]) == [run.run_id]
    got = store.query(
        "SELECT p50 FROM flagship_summary WHERE variant = 'status_quo' AND year = 2025"
        " AND metric = 'backlog_end'"
    )
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert got["p50"].iloc[0] == pytest.approx(summary["status_quo"]["2025"]["backlog_end"]["p50"])
    n = store.query("SELECT count(*) AS n FROM flagship_yearly")["n"].iloc[0]
    assert n == 2 * len(run.yearly["year"].unique())
    # one variant only: no differences, but the table is there and empty
    d = store.query("SELECT count(*) AS n FROM flagship_differences")["n"].iloc[0]
    assert d == 0


def test_forecasts_start_from_the_stored_fitted_state(ctx) -> None:  # type: ignore[no-untyped-def]
    import dataclasses

    from corridor.asylum.run import apply_overrides
    from corridor.errors import InputError
    from corridor.forecast.state import check_fitted_state

    assert check_fitted_state(ctx) <= 1.0
    edited = dataclasses.replace(
        ctx, loaded=apply_overrides(ctx.loaded, {"arrivals.claim_share": 0.5})
    )
    with pytest.raises(InputError, match="refit"):
        check_fitted_state(edited)


def test_main_job_refuses_a_pack_whose_fitted_state_is_stale(tmp_path: Path) -> None:
    """The check runs on the job's worker processes, before any replicate: a stored state that
    the pack's inputs no longer give stops the job with the refit message, nothing stored."""
    import shutil

    from corridor.errors import InputError
    from corridor.results.store import Store

    pack = tmp_path / "pack"
    shutil.copytree(resolve_scenario(PACK), pack)
    (state,) = (pack / "fitted").glob("state-*.csv")
    frame = pd.read_csv(state)
    frame.loc[0, "n_awaiting_decision"] += 5000.0
    frame.to_csv(state, index=False)
    store = Store.open(tmp_path / "store")
    with pytest.raises(InputError, match="refit"):
        run_flagship(
            pack, tmp_path / "out", replicates=1, workers=2, variants=["status_quo"],
            report=False, store=store,
        )  # fmt: skip
    assert len(store.runs({})) == 0
    assert not (tmp_path / "out" / "summary.json").exists()


def test_differences_are_paired_against_the_status_quo(tmp_path: Path) -> None:
    vs = ["status_quo", "hub_albania", "hub_kosovo"]
    run = run_flagship(PACK, tmp_path, replicates=4, workers=1, variants=vs, report=False)
    diffs = json.loads((tmp_path / "differences.json").read_text())
    assert set(diffs) == {"hub_albania", "hub_kosovo"}
    # Albania refused: no hub, so no difference at all, in any replicate, and no additional
    # removal to price
    albania = dict(diffs["hub_albania"])
    ratio = albania.pop("cost_per_additional_removal_gbp")
    assert ratio["p50"] is None
    assert ratio["replicates"] == 0
    for q in albania.values():
        assert q["p10"] == q["p50"] == q["p90"] == 0.0
        assert q["share_lower"] == 0.0
    k = diffs["hub_kosovo"]
    # the hub's life is drawn per replicate (corridor.forecast.hub_process): in some it never
    # opens inside the horizon, so only the replicates where it opens transfer anyone
    assert k["hub_transfers"]["p90"] > 0
    # where it opens, the Kosovo hub removes more people and costs more: a positive price per
    # extra removal
    assert 1 <= k["cost_per_additional_removal_gbp"]["replicates"] <= 4
    assert k["cost_per_additional_removal_gbp"]["p10"] > 0
    assert k["cost_per_transfer_gbp"]["p10"] > 0
    assert 0.0 < k["breakeven_deterrence"]["p50"] < 1.0
    assert 0.0 <= k["backlog_end"]["share_lower"] <= 1.0
    # common random numbers: the paired difference spreads far less than the levels do
    levels = run.table.loc["hub_kosovo"]
    spread_levels = levels["small_boat_arrivals_p90"] - levels["small_boat_arrivals_p10"]
    d = k["small_boat_arrivals"]
    assert d["p90"] - d["p10"] < 0.5 * spread_levels


def test_cli_refit_refuses_what_it_cannot_do(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from corridor.cli import app

    r = CliRunner().invoke(app, ["refit", "balkans-routes", "--pack-dir", str(tmp_path / "a")])
    assert r.exit_code != 0
    assert "has no forecast to refit" in r.output + str(r.exception)
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "x.txt").write_text("keep me")
    r = CliRunner().invoke(app, ["refit", "uk-balkans", "--pack-dir", str(busy)])
    assert r.exit_code != 0
    assert "not empty" in r.output + str(r.exception)
    assert (busy / "x.txt").read_text() == "keep me"


@pytest.mark.slow
def test_refit_reproduces_the_stored_fits(tmp_path: Path) -> None:
    """`corridor refit` on a copy of the pack gives back every stored fitted file (minutes)."""
    from typer.testing import CliRunner

    from corridor.cli import app

    copy = tmp_path / "pack"
    r = CliRunner().invoke(app, ["refit", "uk-balkans", "--pack-dir", str(copy)])
    assert r.exit_code == 0, r.output
    for name in ("fitted.yaml", "fitted-2024.yaml", "fit.csv", "series-2023-12-31.json",
                 "series-2024-12-31.json", "routes.json", "route_effects.json",
                 "state-2025-01-01.csv", "flow_model_selection.json"):  # fmt: skip
        assert (copy / "fitted" / name).read_text() == (PACK / "fitted" / name).read_text(), name
    new = json.loads((copy / "fitted" / "backtest.json").read_text())
    old = json.loads((PACK / "fitted" / "backtest.json").read_text())
    assert new["rolling"]["pooled"] == old["rolling"]["pooled"]


@pytest.mark.slow
def test_readme_flagship_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's Python example for the flagship runs as written (in a scratch folder; the
    rolling back-test recalibrates at four origins: minutes)."""
    import re

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    code = next(b for b in blocks if "run_flagship" in b)
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    exec(compile(code, "README.md", "exec"), namespace)
    assert (tmp_path / "out" / "flagship" / "differences.json").is_file()
    assert (tmp_path / "out" / "backtest" / "backtest.json").is_file()


def test_backtest_and_refit_keep_optuna_quiet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The calibrating commands say what they do themselves: Optuna's per-study INFO lines
    ("A new study created in RDB ...") are off while they calibrate."""
    import optuna
    from typer.testing import CliRunner

    import corridor.flagship.backtest as bt
    import corridor.flagship.fit as fit
    from corridor.cli import app

    seen: list[int] = []

    def stop(*_a: object, **_k: object) -> None:
        seen.append(optuna.logging.get_verbosity())
        raise RuntimeError("stopped by the test")

    monkeypatch.setattr(bt, "backtest", stop)
    monkeypatch.setattr(fit, "fit_pack", stop)
    optuna.logging.set_verbosity(optuna.logging.INFO)
    CliRunner().invoke(app, ["backtest", "uk-balkans", "--out", str(tmp_path / "b")])
    optuna.logging.set_verbosity(optuna.logging.INFO)
    CliRunner().invoke(app, ["refit", "uk-balkans", "--pack-dir", str(tmp_path / "p")])
    assert seen == [optuna.logging.WARNING, optuna.logging.WARNING]
