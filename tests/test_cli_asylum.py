"""The ``corridor breakeven`` command: the Home Office break-even deterrence share.

Expected figures (Home Office, Illegal Migration Bill economic impact assessment, 26 June
2023): gross cost per person relocated £169,000, avoided cost per person deterred £106,000,
break-even deterrence 37% of arrivals.
https://hansard.parliament.uk/Lords/2023-06-27/debates/C8ED1DB5-DDC2-47C9-B55B-46B134D0CF33/IllegalMigrationBillEconomicImpactAssessment
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from corridor.cli import app

IA = ["breakeven", "ia-2023-baseline", "--policy", "ia-2023"]


def test_breakeven_json_reproduces_the_impact_assessment() -> None:
    res = CliRunner().invoke(app, [*IA, "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["engine"] == "aggregate"
    assert out["share"] == pytest.approx(0.37, abs=0.01)
    assert out["gross_cost_per_relocated_gbp"] == pytest.approx(169_000, rel=0.01)
    assert out["saving_per_deterred_gbp"] == pytest.approx(106_000, rel=0.01)
    assert out["net_cost_per_relocated_gbp"] == pytest.approx(
        out["gross_cost_per_relocated_gbp"] - out["saving_per_deterred_gbp"]
    )
    assert out["policy_relocated"] > 0
    assert out["base_arrivals"] > 0
    assert (out["base_name"], out["policy_name"]) == ("ia-2023-baseline", "ia-2023")


def test_breakeven_table_shows_the_share_and_its_inputs() -> None:
    res = CliRunner().invoke(app, IA)
    assert res.exit_code == 0, res.output
    for text in ("37.3%", "£169,000", "£105,996", "G: cost per person relocated", "S: saving"):
        assert text in res.stdout, text


def test_breakeven_with_the_agent_engine() -> None:
    """Sampled agent runs (2% of the cases) give the same share within their noise."""
    res = CliRunner().invoke(
        app, [*IA, "--engine", "agents", "--agents-per-person", "0.02", "--seed", "1", "--json"]
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["engine"] == "agents"
    assert out["share"] == pytest.approx(0.37, abs=0.02)
    assert out["gross_cost_per_relocated_gbp"] == pytest.approx(169_000, rel=0.02)


def test_swapped_order_is_a_clear_user_error() -> None:
    res = CliRunner().invoke(app, ["breakeven", "ia-2023", "--policy", "ia-2023-baseline"])
    assert res.exit_code == 2
    assert "relocates nobody" in res.stderr
    assert "corridor breakeven ia-2023-baseline --policy ia-2023" in res.stderr


def test_unknown_scenario_exits_2_without_traceback() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "corridor", "breakeven", "no-such-scenario", "--policy", "ia-2023"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "no-such-scenario" in proc.stderr
    assert "ia-2023-baseline" in proc.stderr  # the shipped scenarios are listed


def test_breakeven_of_a_forecast_variant_over_replicates() -> None:
    """On uk-balkans, --policy takes a variant id: d* per replicate against the status quo from
    the same flows, with its p10/p50/p90; the same result as pricing the two prepared replicate
    scenarios directly."""
    from corridor.analysis.ensemble import replicate_seeds
    from corridor.asylum.breakeven import breakeven
    from corridor.errors import InputError
    from corridor.forecast.config import load_flagship
    from corridor.forecast.fitted import load_series_fits
    from corridor.forecast.model import build_context, prepare_replicate
    from corridor.scenario.loader import resolve_scenario

    res = CliRunner().invoke(
        app, ["breakeven", "uk-balkans", "--policy", "hub_kosovo", "--replicates", "3", "--json"]
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["variant"] == "hub_kosovo"
    shares = [r["share"] for r in out["by_replicate"]]
    assert out["share"]["p10"] <= out["share"]["p50"] <= out["share"]["p90"]
    # replicates in which the drawn hub never opens have no d* (corridor.forecast.hub_process)
    assert 1 <= len(shares) <= 3

    pack = resolve_scenario("uk-balkans")
    cfg = load_flagship(pack)
    ctx = build_context(pack, fits=load_series_fits(pack, cfg.cutoff.isoformat()))
    found = []
    for seed in replicate_seeds(cfg.seed, 3):
        base, _, _ = prepare_replicate(ctx, cfg.variant("status_quo"), seed)
        pol, _, _ = prepare_replicate(ctx, cfg.variant("hub_kosovo"), seed)
        try:
            found.append(breakeven(base, pol).share)
        except InputError:
            continue
    assert found == pytest.approx(shares, rel=1e-12)

    bad = CliRunner().invoke(app, ["breakeven", "uk-balkans", "--policy", "hub_nowhere"])
    assert bad.exit_code == 2
    assert "unknown variant 'hub_nowhere'" in bad.stderr
