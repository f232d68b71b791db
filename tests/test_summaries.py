"""Ensemble summaries on runs with known values: series, bands, exceedance, paired comparisons,
and the fan chart."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from corridor.analysis import summaries as S
from corridor.asylum.result import FLOW_COLUMNS, STOCK_COLUMNS, ScenarioResult
from corridor.errors import InputError
from corridor.report.fan import plot_fan
from corridor.results.store import Store

DAYS = 70  # 2024-01-01 .. 2024-03-10 (2024 is a leap year: February has 29 days)
LEVELS = (1, 2, 3, 4, 5)


def synthetic(level: float) -> ScenarioResult:
    """Two nationalities; on day i (0-based) each holds ``level * (i + 1)`` people in hubs and
    sees ``level`` arrivals; costs ``level`` (hotel) and ``2 level`` (hub) a day; p_removal
    ``0.1 level`` (A) and ``0.3 level`` (B)."""
    dates = pd.date_range("2024-01-01", periods=DAYS, freq="D")
    idx = pd.MultiIndex.from_product([dates, ["A", "B"]], names=["date", "nationality"])
    base = idx.to_frame(index=False)
    day = np.repeat(np.arange(DAYS), 2)
    stocks = base.assign(**{c: 0.0 for c in STOCK_COLUMNS})
    stocks["n_in_hub"] = level * (day + 1.0)
    flows = base.assign(**{c: 0.0 for c in FLOW_COLUMNS})
    flows["new_arrivals"] = float(level)
    costs = pd.DataFrame(
        {
            "date": list(dates) * 2,
            "item": ["hotel"] * DAYS + ["hub"] * DAYS,
            "gbp": [float(level)] * DAYS + [2.0 * level] * DAYS,
        }
    )
    events = base.assign(
        p_removal=np.tile([0.1 * level, 0.3 * level], DAYS), queue_decision=float(level)
    )
    return ScenarioResult(stocks=stocks, flows=flows, costs=costs, meta={}, events=events)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    st = Store.open(tmp_path_factory.mktemp("summaries"))
    stamp = pd.Timestamp("2025-01-01")
    for k, level in enumerate(LEVELS):
        for pol, shift in (("a", 0), ("b", 1)):
            st.write_run(
                synthetic(level + shift),
                {
                    "run_id": f"e1-{pol}-{k}",
                    "ensemble_id": "e1",
                    "policy": pol,
                    "replicate": k,
                    "finished_at": (stamp + pd.Timedelta(minutes=k)).isoformat(),
                },
            )
    # an older ensemble, which defaults must not pick up
    st.write_run(
        synthetic(100),
        {
            "run_id": "e0-a-0",
            "ensemble_id": "e0",
            "policy": "a",
            "replicate": 0,
            "finished_at": "2020-01-01T00:00:00",
        },
    )
    return st


RUNS_A = [f"e1-a-{k}" for k in range(len(LEVELS))]


def test_series_resolutions(store: Store) -> None:
    day = S.series(store, "n_in_hub", RUNS_A)
    assert list(day.columns) == RUNS_A
    assert len(day) == DAYS
    assert day.loc["2024-01-10", "e1-a-2"] == 2 * 3 * 10  # 2 nationalities x level 3 x day 10
    month = S.series(store, "n_in_hub", RUNS_A, "month")
    assert list(month.index.strftime("%Y-%m-%d")) == ["2024-01-01", "2024-02-01", "2024-03-01"]
    # a stock is read on the period's last day: 31 Jan, 29 Feb, 10 Mar
    np.testing.assert_allclose(month["e1-a-0"], [62, 120, 140])
    flows = S.series(store, "new_arrivals", RUNS_A, "month")
    np.testing.assert_allclose(flows["e1-a-1"], [2 * 2 * 31, 2 * 2 * 29, 2 * 2 * 10])
    cum = S.series(store, "cum_arrivals", RUNS_A, "month")
    np.testing.assert_allclose(cum["e1-a-0"], [62, 120, 140])
    year = S.series(store, "cost_total", RUNS_A, "year")
    np.testing.assert_allclose(year.loc["2024-01-01"], [3 * lv * DAYS for lv in LEVELS])
    hub = S.series(store, "cost_hub", RUNS_A, "year")
    np.testing.assert_allclose(hub.iloc[0], [2 * lv * DAYS for lv in LEVELS])
    rate = S.series(store, "p_removal", RUNS_A, "month")
    np.testing.assert_allclose(rate["e1-a-4"], [0.2 * 5] * 3)
    one_nat = S.series(store, "new_arrivals", RUNS_A, "day", nationality="A")
    assert (one_nat["e1-a-3"] == 4).all()
    queue = S.series(store, "queue_decision", RUNS_A, "month")
    np.testing.assert_allclose(queue["e1-a-0"], [2, 2, 2])


def test_quantile_bands(store: Store) -> None:
    fan = S.quantile_bands(store, "n_in_hub", policy="a", resolution="month")
    assert list(fan.columns) == ["p5", "p10", "p25", "p50", "p75", "p90", "p95", "mean", "n"]
    jan = np.array([62.0 * lv for lv in LEVELS])
    expected = np.quantile(jan, S.FAN_QUANTILES)
    np.testing.assert_allclose(fan.iloc[0, :7].to_numpy(dtype=float), expected)
    assert fan["p50"].iloc[0] == 186.0
    assert fan["n"].iloc[0] == 5
    assert (fan["p5"] <= fan["p50"]).all()
    assert (fan["p50"] <= fan["p95"]).all()
    # default: the most recent ensemble, every policy (levels 1..5 and 2..6)
    both = S.quantile_bands(store, "n_in_hub", resolution="month")
    assert both["n"].iloc[0] == 10
    old = S.quantile_bands(store, "n_in_hub", ensemble_id="e0", resolution="year")
    assert old["p50"].iloc[0] == 2 * 100 * DAYS
    with pytest.raises(InputError, match="no ensemble in the store with policies zzz"):
        S.quantile_bands(store, "n_in_hub", policy="zzz")
    with pytest.raises(InputError, match="no stored runs"):
        S.quantile_bands(store, "n_in_hub", ensemble_id="e0", policy="b")


def test_exceedance(store: Store) -> None:
    # n_in_hub on 31 Jan is 62 x level: above 150 for levels 3, 4, 5
    assert S.exceedance(store, "n_in_hub", 150, "2024-01-31", policy="a") == pytest.approx(0.6)
    assert S.exceedance(
        store, "n_in_hub", 150, "2024-01-15", policy="a", resolution="month"
    ) == pytest.approx(0.6)
    assert S.exceedance(store, "n_in_hub", 1e9, "2024-01-31", policy="a") == 0.0
    curve = S.exceedance_series(store, "n_in_hub", 150, policy="a")
    # level 1 ends at 2 x 70 = 140, below the threshold
    assert curve.is_monotonic_increasing
    assert curve.iloc[0] == 0.0
    assert curve.iloc[-1] == 0.8
    with pytest.raises(InputError, match="outside the runs"):
        S.exceedance(store, "n_in_hub", 1, "2030-01-01", policy="a")


def test_paired_comparison(store: Store) -> None:
    c = S.compare(store, "a", "b", "new_arrivals")
    # b is a's replicate with one more arrival per nationality and day: 2 x 70 more, always
    assert c.n == 5
    assert c.mean_diff == pytest.approx(140.0)
    assert c.sd_diff == pytest.approx(0.0)
    assert c.ratio == pytest.approx(0.0)
    assert c.spread == pytest.approx(np.std([140.0 * lv for lv in LEVELS], ddof=1))
    assert c.quantiles == {"p10": 140.0, "p50": 140.0, "p90": 140.0}
    assert set(c.quantiles_a) == set(c.quantiles_b) == {"p10", "p50", "p90"}
    assert c.quantiles_b["p50"] - c.quantiles_a["p50"] == pytest.approx(140.0)
    assert list(c.diffs.index) == [0, 1, 2, 3, 4]
    at = S.compare(store, "a", "b", "n_in_hub", at="2024-01-02")
    assert at.mean_diff == pytest.approx(4.0)  # one more person per nationality per day so far
    # by hand: d = [1, 2, 3] → mean 2, sd 1; spread sqrt((1 + 4) / 2)
    hand = S.paired(pd.Series([1.0, 2.0, 3.0]), pd.Series([2.0, 4.0, 6.0]))
    assert hand.mean_diff == 2.0
    assert hand.sd_diff == pytest.approx(1.0)
    assert hand.ratio == pytest.approx(1.0 / np.sqrt(2.5))
    table = S.replicate_table(store, ["new_arrivals", "n_in_hub"], ensemble_id="e1")
    assert list(table["policy"]) == ["a", "a", "b", "b"]
    row = table[(table.policy == "a") & (table.metric == "new_arrivals")].iloc[0]
    assert row["p50"] == 2 * 3 * DAYS
    assert row["n"] == 5


def test_metric_names() -> None:
    assert S.parse_metric("cum_hub_transfers").column == "new_hub_transfers"
    assert S.parse_metric("cost_total").item is None
    assert S.parse_metric("cost_hotel").item == "hotel"
    for bad in ("n_nothing", "cum_nothing", "DROP TABLE", "gbp"):
        with pytest.raises(InputError, match="unknown metric"):
            S.parse_metric(bad)
    assert [S.quantile_label(q) for q in (0.05, 0.5, 0.025)] == ["p5", "p50", "p2.5"]


def test_fan_chart_png(store: Store, tmp_path: Path) -> None:
    a = S.quantile_bands(store, "n_in_hub", policy="a", resolution="day")
    b = S.quantile_bands(store, "n_in_hub", policy="b", resolution="day")
    dest = plot_fan({"a": a, "b": b}, tmp_path / "fan.png", title="in hubs", ylabel="people")
    assert dest.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fan.png"]  # no temp file left
    single = plot_fan(a, tmp_path / "one.png")
    assert single.stat().st_size > 1000


# ---------------------------------------------------------------------------------------------
# The main job's runs (monthly tables; its variants are the policies of one ensemble)
# ---------------------------------------------------------------------------------------------
from forecast_support import MainJob, main_job  # noqa: E402

__all__ = ["main_job"]  # a fixture, imported for pytest


def test_compare_main_job_ensemble(main_job: MainJob) -> None:
    from typer.testing import CliRunner

    from corridor.cli import app

    yearly = pd.read_parquet(main_job.out / "replicates.parquet")
    end = yearly[yearly["year"] == 2030].sort_values("replicate")
    sq = end[end["variant"] == "status_quo"]["backlog_end"].to_numpy(dtype=float)
    more = end[end["variant"] == "more_caseworkers"]["backlog_end"].to_numpy(dtype=float)
    c = S.compare(main_job.store, "status_quo", "more_caseworkers", "n_awaiting_decision")
    assert c.ensemble_id == main_job.ensemble_id
    assert c.n == len(sq) == 2
    assert set(c.quantiles) == {"p10", "p50", "p90"}
    for label, q in (("p10", 0.1), ("p50", 0.5), ("p90", 0.9)):
        assert c.quantiles_a[label] == pytest.approx(np.quantile(sq, q), rel=1e-9)
        assert c.quantiles_b[label] == pytest.approx(np.quantile(more, q), rel=1e-9)
        assert c.quantiles[label] == pytest.approx(np.quantile(more - sq, q), rel=1e-9)
    assert c.mean_diff < 0
    # A date on monthly tables picks its month; the summary run stands for its ensemble.
    at = S.compare(
        main_job.store,
        "status_quo",
        "more_caseworkers",
        "n_awaiting_decision",
        at="2030-12-31",
        ensemble_id=main_job.summary_run,
    )
    assert at.quantiles == pytest.approx(c.quantiles)
    cost = S.compare(main_job.store, "status_quo", "more_caseworkers", "cost_total")
    assert cost.n == 2
    # The terminal shows p10/p50/p90 of each policy and of the paired differences.
    res = CliRunner().invoke(
        app,
        [
            "compare", "status_quo", "more_caseworkers", "--metric", "n_awaiting_decision",
            "--at", "2030-12-31", "--results", str(main_job.root),
        ],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    for word in ("p10", "p50", "p90", "status_quo", "more_caseworkers", main_job.ensemble_id):
        assert word in res.output
    assert "p95" not in res.output
