"""The flagship's route calibration (corridor.flagship.routes_fit) and its use in the levers."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from corridor.flagship.routes_fit import ROUTES, fit_channel, interception
from corridor.forecast.config import load_flagship
from corridor.forecast.fitted import load_series_fits
from corridor.forecast.model import build_context, prepare_replicate
from corridor.scenario.loader import resolve_scenario

PACK = resolve_scenario("uk-balkans")


def _synthetic(
    a: dict[str, float], base: float, noise: float, seed: int = 0
) -> dict[str, pd.Series]:
    idx = pd.period_range("2018-12", "2023-12", freq="M").astype(str)
    rng = np.random.default_rng(seed)
    t = np.arange(len(idx))
    flows = {
        "wb_detections": 3000 + 2500 * np.sin(t / 7.0) ** 2 + 40 * t,
        "em_detections": 4000 + 3000 * np.cos(t / 5.0) ** 2,
        "cm_detections": 8000 + 6000 * np.sin(t / 4.0 + 1) ** 2 - 30 * t,
    }
    out = {k: pd.Series(v, index=idx) for k, v in flows.items()}
    mean = base + sum(a[k] * np.roll(flows[k], 1) for k in ROUTES)  # a month's lag
    sb = mean * np.exp(rng.normal(0, noise, len(idx)))
    out["small_boat_arrivals"] = pd.Series(sb, index=idx)
    return out


def test_route_preferences_are_recovered_with_honest_intervals() -> None:
    truth = {"wb_detections": 0.2, "em_detections": 0.0, "cm_detections": 0.1}
    obs = _synthetic(truth, base=300.0, noise=0.05)
    fit = fit_channel(obs, "2023-12")
    assert fit.n_obs == 60
    assert fit.per_detection["wb_detections"] == pytest.approx(0.2, rel=0.15)
    assert fit.per_detection["cm_detections"] == pytest.approx(0.1, rel=0.15)
    for route, value in truth.items():
        lo, hi = fit.interval_95[route]
        assert lo <= value <= hi
    assert fit.interval_95["em_detections"][0] == 0.0  # a route with no pull: not told from 0
    assert fit.mape < 10
    quick = fit_channel(obs, "2023-12", intervals=False)
    assert quick.interval_95 == {}
    assert quick.per_detection == pytest.approx(fit.per_detection)


def test_route_fit_rejects_uncovered_months() -> None:
    obs = _synthetic({r: 0.1 for r in ROUTES}, 100.0, 0.05)
    with pytest.raises(ValueError, match="do not cover"):
        fit_channel(obs, "2024-06")


def test_give_up_share_is_not_identified_by_prevention_counts() -> None:
    out = interception({2023: 0.469}, give_up=(0.05, 0.4))
    ratios = list(out["prevented_per_crossing"]["2023"].values())
    assert ratios[0] == pytest.approx(ratios[1])
    assert ratios[0] == pytest.approx(0.469 / (1 - 0.469))
    assert out["identified"] == {"prevention_share": True, "give_up": False}


def test_stored_route_fit_covers_both_cutoffs() -> None:
    data = json.loads((PACK / "fitted" / "routes.json").read_text())
    cfg = load_flagship(PACK)
    for cut in (cfg.backtest_cutoff, cfg.cutoff):
        entry = data["by_cutoff"][cut.isoformat()]
        rp = entry["route_preferences"]
        assert rp["through"] == cut.strftime("%Y-%m")
        assert set(rp["per_detection"]) == set(ROUTES)
        for name, (lo, hi) in rp["interval_95"].items():
            value = rp["base"] if name == "base" else rp["per_detection"][name]
            assert lo <= value <= (float("inf") if hi is None else hi)
        assert entry["deterrence"]["identified"] is False
        assert entry["deterrence"]["largest_arrivals_change_from_deterrence"] < 0.2
        # the model's enforced removals of people who claimed asylum sit near the published
        # ones each year (the capacity is an input); voluntary returns are a reported check
        years = entry["returns"]
        assert set(years) == {str(y) for y in range(2018, cut.year + 1)}
        for year in ("2023", str(cut.year)):
            assert abs(years[year]["enforced"]["difference_pct"]) < 15, year
            assert years[year]["voluntary"]["published"] > 0


def test_levers_use_the_fitted_route_preferences() -> None:
    cfg = load_flagship(PACK)
    ctx = build_context(PACK, fits=load_series_fits(PACK, cfg.cutoff.isoformat()))
    assert ctx.route_preferences["cm_detections"] > 0
    none = dataclasses.replace(ctx, route_preferences={r: 0.0 for r in ROUTES})
    eu = cfg.variant("eu_return_hubs")
    sq = cfg.variant("status_quo")
    _l, p_sq, draws = prepare_replicate(ctx, sq, 5)
    _l, p_eu, _d = prepare_replicate(ctx, eu, 5)
    _l, p_eu0, _d = prepare_replicate(none, eu, 5)
    if draws["eu.displacement"] * draws["deterrence.elasticity"] > 0:
        extra = p_eu["small_boat_arrivals"] - p_sq["small_boat_arrivals"]
        assert extra.max() > 0  # displaced people reach the UK at the fitted rates
        np.testing.assert_allclose(p_eu0["small_boat_arrivals"], p_sq["small_boat_arrivals"])
    rail = cfg.variant("hub_montenegro_rail")
    _l, p_rail, _d = prepare_replicate(ctx, rail, 5)
    d_wb = p_rail["wb_detections"] - p_sq["wb_detections"]
    d_sb = p_rail["small_boat_arrivals"] - p_sq["small_boat_arrivals"]
    np.testing.assert_allclose(d_sb, ctx.route_preferences["wb_detections"] * d_wb, atol=1e-6)
