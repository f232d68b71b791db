"""The route network in every replicate (step 0 of the forecast: corridor.forecast.network)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from corridor.forecast.context import Context
from corridor.forecast.model import run_replicate, with_network
from corridor.forecast.network import draw_risks, terms_of
from corridor.forecast.replicate import prepare_forecast
from corridor.scenario.loader import resolve_scenario

PACK = resolve_scenario("uk-balkans")


@pytest.fixture(scope="module")
def ctx() -> Context:
    return prepare_forecast(PACK)


def test_the_forecast_resolves_the_network_at_the_tables_probabilities(ctx: Context) -> None:
    """Without draws, the context holds the pack's network resolved in expectation, the same
    terms `corridor refit` stores beside the agents' run."""
    import json

    assert ctx.network is not None
    stored = json.loads((PACK / "fitted" / "route_effects.json").read_text())
    assert ctx.rail_wb_factor == pytest.approx(stored["wb_detection_factor"], rel=1e-12)
    kosovo = ctx.reentry_routes["Kosovo"]
    for key, value in stored["reentry_from_hubs"]["Kosovo"].items():
        if key != "place":
            assert kosovo[key] == pytest.approx(value, rel=1e-12)


def test_each_replicate_draws_its_crossings_and_every_variant_shares_them(ctx: Context) -> None:
    prior = ctx.config.network_risks
    assert prior is not None
    assert ctx.network is not None
    base = ctx.network.risks()
    a, da = draw_risks(ctx.network, prior, seed=11)
    b, _ = draw_risks(ctx.network, prior, seed=11)
    c, _ = draw_risks(ctx.network, prior, seed=12)
    np.testing.assert_array_equal(a.interception, b.interception)  # same seed, same draw
    assert not np.array_equal(a.interception, c.interception)
    keys = ctx.network.cross_key
    fixed = [i for i, k in enumerate(keys) if k in prior.fixed]
    assert fixed, "Calais-Dover is kept as published"
    for i in fixed:
        assert a.interception[i] == base.interception[i]
        assert a.pushback[i] == base.pushback[i]
    drawn = [i for i in range(len(keys)) if i not in fixed]
    assert (a.interception[drawn] != base.interception[drawn]).all()
    assert ((a.interception > 0) & (a.interception < 1)).all()
    assert (a.detain + a.pushback <= 1.0 + 1e-12).all()  # shares of the intercepted
    np.testing.assert_array_equal(a.detain, base.detain)
    assert 0.5 <= da["network.interception_odds"] <= 2.0


def test_the_railway_factor_and_reentry_terms_move_by_replicate(ctx: Context) -> None:
    factors, reach = set(), set()
    for seed in range(6):
        r_ctx, drawn = with_network(ctx, seed)
        assert r_ctx.rail_wb_factor == drawn["network.rail_wb_factor"]
        factors.add(round(r_ctx.rail_wb_factor, 9))
        reach.add(round(r_ctx.reentry_routes["Albania"]["wb_detections_per_person"], 9))
        assert r_ctx.route_shares["with_rail"]["share_via_montenegro"] > 0.5
        assert r_ctx.route_shares["without"]["share_via_montenegro"] == 0.0
    assert len(factors) == 6
    assert len(reach) == 6
    # more interception on the Western Balkans exits means more detections per person
    prior = ctx.config.network_risks
    assert prior is not None
    assert ctx.network is not None
    base = ctx.network.risks()
    more = dataclasses.replace(base, interception=np.minimum(base.interception * 1.5, 0.95))
    hi = terms_of(ctx.network.evaluate(more)).route_shares["without"]
    lo = terms_of(ctx.network.evaluate(base)).route_shares["without"]
    assert hi["wb_detections_per_person"] > lo["wb_detections_per_person"]


def test_without_network_risks_every_replicate_uses_the_tables(ctx: Context) -> None:
    plain = dataclasses.replace(ctx, config=ctx.config.model_copy(update={"network_risks": None}))
    same, drawn = with_network(plain, 5)
    assert same is plain
    assert drawn == {}


def test_the_railway_variant_records_its_replicates_factor(ctx: Context) -> None:
    variant = ctx.config.variant("hub_montenegro_rail")
    res = run_replicate(ctx, variant, 0, 123)
    again = with_network(ctx, 123)[1]["network.rail_wb_factor"]
    assert res.meta["draws"]["network.rail_wb_factor"] == again
    assert res.meta["route_shares"]["with_rail"]["share_via_montenegro"] > 0.5


def test_the_network_benchmark_runs_and_reports_its_ratio(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """benchmarks/network_expected.py on a short run: it prints its figures as JSON (the
    timings themselves are the benchmark's business, not a test's)."""
    import importlib.util
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "network_expected.py"
    spec = importlib.util.spec_from_file_location("network_expected_bench", path)
    assert spec is not None
    assert spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert bench.main(["--days", "30", "--draws", "3", "--repeats", "1"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["speedup_target"] == 100
    assert out["expected_ms"] > 0
    assert out["wb_detections_per_person"]["expected"] > 1.0
