"""``outputs.resolution``: both engines give monthly (or yearly) tables that keep the run's
totals and its stocks at the end, one row per period and nationality (or cost item)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest

from corridor.asylum.run import run_scenario
from corridor.scenario.loader import load_scenario

MINI = Path(__file__).parent / "data" / "scenarios" / "mini"


def _at(resolution: str):  # type: ignore[no-untyped-def]
    loaded = load_scenario(MINI)
    outputs = loaded.scenario.outputs.model_copy(update={"resolution": resolution})
    sc = loaded.scenario.model_copy(update={"outputs": outputs})
    return dataclasses.replace(loaded, scenario=sc)


@pytest.mark.parametrize("engine", ["aggregate", "agents"])
@pytest.mark.parametrize("resolution", ["month", "year"])
def test_periods_keep_totals_and_final_stocks(engine: str, resolution: str) -> None:
    daily = run_scenario(_at("day"), seed=4, engine=engine)  # type: ignore[arg-type]
    coarse = run_scenario(_at(resolution), seed=4, engine=engine)  # type: ignore[arg-type]
    assert coarse.meta["resolution"] == resolution
    freq = {"month": "M", "year": "Y"}[resolution]
    periods = pd.to_datetime(daily.flows["date"]).dt.to_period(freq).nunique()
    n_nat = daily.flows["nationality"].nunique()
    assert len(coarse.flows) == len(coarse.stocks) == periods * n_nat
    # every row is dated the first day of its period
    firsts = pd.to_datetime(coarse.flows["date"])
    assert (firsts == firsts.dt.to_period(freq).dt.to_timestamp()).all()
    for col in [c for c in daily.flows.columns if c.startswith("new_")]:
        assert coarse.flows[col].sum() == pytest.approx(daily.flows[col].sum(), rel=1e-12)
    assert coarse.costs["gbp"].sum() == pytest.approx(daily.costs["gbp"].sum(), rel=1e-12)
    end_daily = daily.stocks[daily.stocks["date"] == daily.stocks["date"].max()]
    end_coarse = coarse.stocks[coarse.stocks["date"] == coarse.stocks["date"].max()]
    for col in [c for c in daily.stocks.columns if c.startswith("n_")]:
        assert end_coarse[col].sum() == pytest.approx(end_daily[col].sum(), rel=1e-12)
