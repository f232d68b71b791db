"""The aggregate (expected-value) engine: contract, conservation, queue and hub properties.

Runs use the made-up ``mini`` fixture (two nationalities, priority classes, a policy, two hubs
of which one hypothetical, deterrence on) and the shipped packs. Speed is not asserted here.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from corridor.asylum import costs as cost_mod
from corridor.asylum.aggregate import run_aggregate, simulate
from corridor.asylum.params import (
    COST_ITEMS,
    DETERRENCE_DENOMINATOR,
    DETERRENCE_NUMERATOR,
    build_params,
    p_removal,
)
from corridor.asylum.result import FLOW_COLUMNS, STOCK_COLUMNS, ScenarioResult
from corridor.scenario.loaded import LoadedScenario
from corridor.scenario.loader import load_scenario
from scenario_fixtures import MINI

NO_DETERRENCE = {"deterrence.enabled": False}


@pytest.fixture(scope="module")
def mini() -> LoadedScenario:
    return load_scenario(MINI)


@pytest.fixture(scope="module")
def mini_run(mini: LoadedScenario) -> ScenarioResult:
    return run_aggregate(mini)


@pytest.fixture(scope="module")
def balkans() -> LoadedScenario:
    return load_scenario("uk-balkans")


@pytest.fixture(scope="module")
def balkans_run(balkans: LoadedScenario) -> ScenarioResult:
    return run_aggregate(balkans)


def _by_day(frame: pd.DataFrame, column: str) -> np.ndarray[Any, Any]:
    return frame.groupby("date")[column].sum().to_numpy()


def _check_conservation(loaded: LoadedScenario, res: ScenarioResult) -> None:
    """initial share + Σ claims = Σ n_* + Σ withdrawals, per nationality and day; no stock < 0."""
    p = build_params(loaded)
    st = res.stocks.set_index(["date", "nationality"])
    fl = res.flows.set_index(["date", "nationality"])
    for k, nat in enumerate(p.nationalities):
        s = st.xs(nat, level="nationality")
        f = fl.xs(nat, level="nationality")
        inside = s[list(STOCK_COLUMNS)].sum(axis=1).to_numpy()
        entered = p.initial_backlog * p.initial_mix[k] + p.initial_refused[k]
        entered = entered + f["new_claims"].cumsum().to_numpy()
        left = f["new_withdrawals"].cumsum().to_numpy()
        scale = max(1.0, float(entered.max()))
        np.testing.assert_allclose(inside + left, entered, rtol=0, atol=1e-9 * scale)
        assert (s[list(STOCK_COLUMNS)].to_numpy() >= -1e-9 * scale).all(), nat


def test_contract_columns_filled(mini: LoadedScenario, mini_run: ScenarioResult) -> None:
    p = build_params(mini)
    res = mini_run
    assert list(res.stocks.columns) == ["date", "nationality", *STOCK_COLUMNS]
    assert list(res.flows.columns) == ["date", "nationality", *FLOW_COLUMNS]
    assert list(res.costs.columns) == ["date", "item", "gbp"]
    assert set(res.costs["item"]) == set(COST_ITEMS)
    assert len(res.stocks) == len(res.flows) == p.days * p.n_nat
    assert set(res.stocks["nationality"]) == set(p.nationalities)
    for frame in (res.stocks, res.flows):
        assert not frame.isna().any().any()
    assert res.meta["engine"] == "aggregate"
    assert res.events is not None
    # every stage is reached in this fixture (appeals, removals, limbo, hubs, exits)
    totals = res.flows[list(FLOW_COLUMNS)].sum()
    for col in ("new_grants", "new_refusals", "new_appeals_determined", "new_removals"):
        assert totals[col] > 0, col
    assert totals["new_hub_transfers"] > 0
    assert res.stocks["n_limbo"].max() > 0


def test_conservation_mini(mini: LoadedScenario, mini_run: ScenarioResult) -> None:
    _check_conservation(mini, mini_run)


def test_conservation_packs(balkans: LoadedScenario, balkans_run: ScenarioResult) -> None:
    _check_conservation(balkans, balkans_run)
    ia = load_scenario("ia-2023")
    _check_conservation(ia, run_aggregate(ia))


def test_compiled_kernel_matches_python(mini: LoadedScenario) -> None:
    p = build_params(mini)
    fast = simulate(p)
    slow = simulate(p, compiled=False)
    for name in ("stocks", "flows", "p_removal", "factor", "hub_people", "hub_transfers"):
        np.testing.assert_allclose(getattr(fast, name), getattr(slow, name), rtol=1e-12, atol=1e-9)


def test_deterrence_uses_the_shared_rule(mini: LoadedScenario, mini_run: ScenarioResult) -> None:
    """p_removal seen each day equals params.p_removal over the run's own expected flows."""
    p = build_params(mini)
    assert p.deterrence_on.any()
    flows = mini_run.flows
    cols = {name: f"new_{name}" for name in (*DETERRENCE_NUMERATOR, *DETERRENCE_DENOMINATOR)}
    per_nat = [flows[flows["nationality"] == nat].sort_values("date") for nat in p.nationalities]
    num = np.stack(
        [f[[cols[c] for c in DETERRENCE_NUMERATOR]].sum(axis=1).to_numpy() for f in per_nat], 1
    )
    den = np.stack(
        [f[[cols[c] for c in DETERRENCE_DENOMINATOR]].sum(axis=1).to_numpy() for f in per_nat], 1
    )
    num_cum = np.vstack([np.zeros(p.n_nat), np.cumsum(num, axis=0)])
    den_cum = np.vstack([np.zeros(p.n_nat), np.cumsum(den, axis=0)])
    assert mini_run.events is not None
    ev = mini_run.events
    seen = np.stack(
        [
            ev[ev["nationality"] == nat].sort_values("date")["p_removal"].to_numpy()
            for nat in p.nationalities
        ],
        1,
    )
    for d in range(p.days):
        want = p_removal(num_cum, den_cum, d, p.deterrence_lag_days, p.deterrence_window_days)
        np.testing.assert_allclose(seen[d], want, atol=1e-12)
    assert seen.max() > 0  # removals and transfers do happen, so deterrence bites
    off = run_aggregate(mini, NO_DETERRENCE)
    assert off.flows["new_arrivals"].sum() > mini_run.flows["new_arrivals"].sum()


@pytest.mark.parametrize("loaded_name", ["mini", "balkans"])
def test_more_caseworkers_never_grow_the_backlog(
    loaded_name: str, request: pytest.FixtureRequest
) -> None:
    loaded: LoadedScenario = request.getfixturevalue(loaded_name)
    base = loaded.scenario.asylum.caseworkers
    previous: np.ndarray[Any, Any] | None = None
    ends = []
    for factor in (0.5, 1.0, 1.5, 3.0):
        if isinstance(base, float | int):
            value: Any = base * factor
        else:
            value = [{"date": s.date, "value": s.value * factor} for s in base]
        res = run_aggregate(loaded, {**NO_DETERRENCE, "asylum.caseworkers": value})
        backlog = _by_day(res.stocks, "n_awaiting_decision")
        if previous is not None:
            assert (backlog <= previous + 1e-6 * max(1.0, previous.max())).all(), factor
        previous = backlog
        ends.append(float(backlog.sum()))
    assert ends[-1] < ends[0]  # and the effect is real


def test_full_hub_transfers_nobody(mini: LoadedScenario) -> None:
    open_ = run_aggregate(mini)
    assert open_.flows["new_hub_transfers"].sum() > 0
    full = run_aggregate(mini, {"hubs.hub_keldany.beds": 0, "hubs.hub_marovia.beds": 0})
    assert full.flows["new_hub_transfers"].sum() == 0
    assert full.stocks["n_in_hub"].max() == 0
    spent = full.costs.groupby("item")["gbp"].sum()
    assert spent["hub_transfers"] == 0
    assert spent["hub_per_person"] == 0


def test_suspended_agreement_transfers_nobody(mini: LoadedScenario) -> None:
    agreement = [
        {"date": "2024-03-01", "status": "agreed"},
        {"date": "2024-04-01", "status": "suspended"},
    ]
    res = run_aggregate(
        mini,
        {"hubs.hub_keldany.agreement": agreement, "hubs.hub_marovia.agreement": agreement},
    )
    assert res.flows["new_hub_transfers"].sum() == 0
    spent = res.costs.groupby("item")["gbp"].sum()
    # Keldany's host agreed: its fixed payment accrues while the agreement is in force
    assert spent["hub_fixed"] > 0
    assert spent["hub_setup"] == 0


def test_refused_host_keeps_hub_closed_unless_hypothetical() -> None:
    base = run_aggregate(load_scenario("uk-balkans-no-hubs"))
    assert base.flows["new_hub_transfers"].sum() == 0
    hypo = run_aggregate(load_scenario("uk-balkans-hub-albania-hypothetical"))
    assert hypo.meta["hubs"]["hub_albania"]["hypothetical"]
    assert hypo.flows["new_hub_transfers"].sum() > 0
    real = run_aggregate(
        load_scenario("uk-balkans-hub-albania-hypothetical"),
        {"hubs.hub_albania.hypothetical": False},
    )
    assert real.flows["new_hub_transfers"].sum() == 0  # Albania refused


def test_costs_are_priced_activity(mini: LoadedScenario, mini_run: ScenarioResult) -> None:
    """A few items recomputed from the outputs: decisions, removals, hub nights."""
    p = build_params(mini)
    spent = mini_run.costs.pivot_table(index="date", columns="item", values="gbp", aggfunc="sum")
    fl = mini_run.flows.groupby("date")[["new_removals"]].sum()
    np.testing.assert_allclose(
        spent["removals_enforced"].to_numpy(),
        fl["new_removals"].to_numpy() * p.unit_costs["removal"],
    )
    dec = mini_run.flows.pivot_table(index="date", columns="nationality", values="new_decisions")
    cases = (dec[list(p.nationalities)].to_numpy() / p.household).sum(axis=1)
    np.testing.assert_allclose(spent["decisions"].to_numpy(), cases * p.unit_costs["decision"])
    by_year = cost_mod.totals_by_year(mini_run.costs)
    assert by_year["total"].sum() == pytest.approx(mini_run.costs["gbp"].sum())


def test_steady_state_queue_holds_its_level() -> None:
    """ia-2023-baseline: capacity equals arrivals, so the 4-year backlog stays put."""
    res = run_aggregate(load_scenario("ia-2023-baseline"))
    backlog = _by_day(res.stocks, "n_awaiting_decision")
    assert backlog.min() == pytest.approx(146_000, rel=1e-3)
    assert backlog.max() == pytest.approx(146_000, rel=1e-3)


# ---------------------------------------------------------------------------------------------
# costs.py: the table and its summaries on hand-made numbers
# ---------------------------------------------------------------------------------------------
def _toy_costs() -> tuple[pd.DataFrame, pd.DataFrame]:
    dates = pd.date_range("2024-12-30", periods=4, freq="D")
    by_item = {
        "decisions": np.array([100.0, 100.0, 100.0, 100.0]),
        "hub_per_person": np.array([0.0, 1000.0, 0.0, 0.0]),
        "hub_fixed": np.array([10.0, 10.0, 10.0, 10.0]),
    }
    costs = cost_mod.costs_frame(dates, by_item)
    flows = pd.DataFrame(
        {
            "date": dates,
            "nationality": "X",
            "new_arrivals": [10.0, 10.0, 0.0, 0.0],
            "new_removals": [0.0, 1.0, 0.0, 1.0],
            "new_hub_removals": [0.0, 0.0, 0.0, 2.0],
            "new_hub_transfers": [0.0, 2.0, 0.0, 0.0],
        }
    )
    return costs, flows


def test_costs_frame_and_totals_by_year() -> None:
    costs, _ = _toy_costs()
    assert len(costs) == 4 * len(COST_ITEMS)
    assert costs["gbp"].sum() == pytest.approx(400 + 1000 + 40)
    by_year = cost_mod.totals_by_year(costs)
    assert list(by_year.index) == [2024, 2025]
    assert by_year.loc[2024, "total"] == pytest.approx(200 + 1000 + 20)
    assert by_year.loc[2025, "decisions"] == pytest.approx(200)
    assert list(by_year.columns) == [*COST_ITEMS, "total"]
    with pytest.raises(ValueError, match="unknown cost items"):
        cost_mod.costs_frame(pd.date_range("2024-01-01", periods=1), {"lunch": np.ones(1)})


def test_cost_per_person_summaries() -> None:
    costs, flows = _toy_costs()
    total = 1440.0
    assert cost_mod.cost_per_arrival(costs, flows) == pytest.approx(total / 20)
    assert cost_mod.cost_per_person_removed(costs, flows) == pytest.approx(total / 4)
    # third-country items only: per-person payment and fixed payments, over 2 people
    assert cost_mod.cost_per_person_relocated(costs, flows) == pytest.approx((1000 + 40) / 2)
    summary = cost_mod.summarise_costs(costs, flows)
    assert summary.relocated == 2
    assert summary.removed == 4
    assert summary.arrivals == 20
    nobody = flows.assign(new_hub_transfers=0.0)
    assert np.isnan(cost_mod.cost_per_person_relocated(costs, nobody))
