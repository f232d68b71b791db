"""Pauses in deciding a nationality after the cut-off (corridor.forecast.pauses): the prior
derived from the published quarters, the draws per replicate (common random numbers), the
Syrian pause in force at the cut-off, and a forecast without pauses."""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from corridor.forecast.config import load_flagship
from corridor.forecast.context import Context, build_context
from corridor.forecast.fitted import load_series_fits
from corridor.forecast.model import run_replicate
from corridor.forecast.pauses import find_pauses, future_pauses, pause_prior
from corridor.scenario.loader import resolve_scenario

PACK = resolve_scenario("uk-balkans")
ROWS = PACK / "observed" / "decision_pauses.csv"
ROOT = Path(__file__).resolve().parents[1]
RESEARCH = ROOT.parent / "shared" / "research"


@pytest.fixture(scope="module")
def ctx() -> Context:
    cfg = load_flagship(PACK)
    return build_context(PACK, fits=load_series_fits(PACK, cfg.cutoff.isoformat()))


def test_the_prior_through_2024_is_derived_from_the_published_quarters() -> None:
    rows = pd.read_csv(ROWS)
    assert rows["source"].str.contains("Asy_D02").all()
    found = rows[rows["state"] != "at_risk"]
    assert sorted(zip(found["period"], found["nationality"], found["state"], strict=True)) == [
        ("2016 Q2", "Eritrea", "pause_start"),
        ("2024 Q1", "Eritrea", "pause_start"),
        ("2024 Q1", "Sudan", "pause_start"),
        ("2024 Q1", "Syria", "pause_start"),
        ("2024 Q2", "Eritrea", "paused"),
        ("2024 Q2", "Syria", "paused"),
    ]
    # e.g. Syria 2024 Q1: 201 decisions against a mean of 1,305.5 while 3,338 waited
    syr = found[(found["nationality"] == "Syria") & (found["period"] == "2024 Q1")].iloc[0]
    assert (syr["decided"], syr["baseline"], syr["awaiting_before"]) == (201, 1305.5, 3338)
    assert syr["relative"] < 0.25
    prior = pause_prior(rows, pd.Timestamp("2024-12-31"))
    assert prior.starts == 4
    assert prior.years_at_risk == 85.75
    assert sorted(prior.lengths) == [1, 1, 2, 2]
    assert prior.chance == pytest.approx(4.5 / 86.75)
    # the back-test's prior (cut-off end 2023) knows only Eritrea 2016
    old = pause_prior(rows, pd.Timestamp("2023-12-31"))
    assert (old.starts, old.lengths) == (1, (1,))
    assert old.years_at_risk < prior.years_at_risk


@pytest.mark.skipif(not RESEARCH.is_dir(), reason="research data not present")
def test_the_stored_rows_are_what_the_tool_derives() -> None:
    spec = importlib.util.spec_from_file_location("dp_tool", ROOT / "tools" / "decision_pauses.py")
    assert spec is not None
    assert spec.loader is not None
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    rows = find_pauses(*tool.load(RESEARCH))
    stored = pd.read_csv(ROWS)
    assert list(rows["state"]) == list(stored["state"])
    assert list(rows["nationality"]) == list(stored["nationality"])
    np.testing.assert_allclose(rows["relative"], stored["relative"], atol=1e-4)


def test_the_rule_finds_a_collapse_only_while_people_wait_and_not_a_national_fall() -> None:
    periods = [f"{y} Q{q}" for y in (2010, 2011, 2012) for q in (1, 2, 3, 4)]
    d = pd.DataFrame(1000.0, index=periods, columns=["A", "B", "C", "Rest"])
    d.loc["2011 Q3", "A"] = 100.0  # A collapses for two quarters while people wait
    d.loc["2011 Q4", "A"] = 150.0
    d.loc["2011 Q3", "B"] = 100.0  # B collapses with nobody waiting
    d.loc["2012 Q2"] = 300.0  # everyone falls together: no pause of one nationality
    w = pd.DataFrame(5000.0, index=periods, columns=["A", "B", "C"])
    w.loc["2011 Q2", "B"] = 10.0
    rows = find_pauses(d, w)
    found = rows[rows["state"] != "at_risk"]
    assert list(zip(found["period"], found["nationality"], found["state"], strict=True)) == [
        ("2011 Q3", "A", "pause_start"),
        ("2011 Q4", "A", "paused"),
    ]
    assert "Rest" not in set(rows["nationality"])  # no awaiting figure: never at risk
    assert pause_prior(rows, pd.Timestamp("2012-12-31")).lengths == (2,)


def test_pauses_are_drawn_after_the_cut_off_the_same_for_every_variant(ctx: Context) -> None:
    cfg = ctx.config.decision_pauses
    assert cfg is not None
    assert cfg.nationalities == [
        "Afghanistan", "Albania", "Eritrea", "Iran", "Iraq", "Sudan", "Syria", "Turkey", "Vietnam"
    ]  # fmt: skip
    tables, chances = [], []
    for seed in range(40):
        loaded, draws = future_pauses(ctx.loaded, ctx.cutoff, ctx.end, seed, cfg, PACK)
        t = loaded.tables["decision_pauses"]
        assert (t["from_date"] > ctx.cutoff).all()  # nothing before the cut-off
        assert (t["to_date"] >= t["from_date"]).all()
        assert (t["to_date"] <= ctx.end).all()
        syria = t[t["source"].str.startswith("in force")]
        # the Syrian pause of 9 Dec 2024 is in force on 1 Jan 2025, 1-2 quarters from its start
        assert list(syria["nationality"]) == ["Syria"]
        assert syria["from_date"].iloc[0] == pd.Timestamp("2025-01-01")
        days = (syria["to_date"].iloc[0] - pd.Timestamp("2024-12-09")).days + 1
        assert 45 <= days <= 230
        assert set(t["nationality"]) <= set(cfg.nationalities)
        tables.append(t)
        chances.append(draws["decision_pauses.chance"])
    drawn = pd.concat(tables)
    drawn = drawn[drawn["source"].str.startswith("drawn")]
    # about 0.05 a nationality-year: 9 nationalities x 6 years x 40 replicates -> ~110
    assert 40 <= len(drawn) <= 250
    assert 0.02 < float(np.mean(chances)) < 0.1
    assert len(set(chances)) == 40  # the chance itself is drawn per replicate
    again, _ = future_pauses(ctx.loaded, ctx.cutoff, ctx.end, 7, cfg, PACK)
    pd.testing.assert_frame_equal(again.tables["decision_pauses"], tables[7])


def test_common_random_numbers_and_a_paused_nationality_in_the_forecast(ctx: Context) -> None:
    sq, hub = ctx.config.variant("status_quo"), ctx.config.variant("hub_kosovo")
    a = run_replicate(ctx, sq, 0, 11, keep_asylum=True)
    b = run_replicate(ctx, hub, 0, 11, keep_asylum=True)
    keys = [k for k in a.meta["draws"] if k.startswith("decision_pauses.")]
    assert len(keys) == 3
    assert {k: a.meta["draws"][k] for k in keys} == {k: b.meta["draws"][k] for k in keys}
    assert a.asylum is not None
    f = a.asylum.flows
    # (monthly) the Syrian pause is in force all January 2025: only the cases in service finish
    syr = f[f["nationality"] == "Syria"].set_index("date")["new_decisions"]
    # without pauses the history is the same and the Syrian decisions go on
    off = dataclasses.replace(ctx, config=ctx.config.model_copy(update={"decision_pauses": None}))
    c = run_replicate(off, sq, 0, 11, keep_asylum=True)
    assert not any(k.startswith("decision_pauses.") for k in c.meta["draws"])
    assert c.asylum is not None
    g = c.asylum.flows
    pd.testing.assert_frame_equal(
        f[f["date"] <= ctx.cutoff].reset_index(drop=True),
        g[g["date"] <= ctx.cutoff].reset_index(drop=True),
    )
    syr_off = g[g["nationality"] == "Syria"].set_index("date")["new_decisions"]
    assert syr["2025-01-01"] < 0.6 * syr_off["2025-01-01"]
    wait, wait_off = (
        r.asylum.stocks.query("nationality == 'Syria'").set_index("date")["n_awaiting_decision"]
        for r in (a, c)
        if r.asylum is not None
    )
    assert wait["2025-01-01"] > wait_off["2025-01-01"]  # its cases keep waiting
