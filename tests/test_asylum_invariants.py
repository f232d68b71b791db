"""Invariants of the agent engine: conservation of people, reproducibility, kernels == twins,
and the parameter rules of :mod:`corridor.asylum.params`."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pytest

from asylum_builders import hub, make_loaded
from corridor.asylum import queue_kernels as qk
from corridor.asylum.agents import COLUMNS, Options
from corridor.asylum.params import (
    DAYS_PER_MONTH,
    build_params,
    cumulative_hazard,
    event_time,
    prob_per_day,
)
from corridor.asylum.result import STOCK_COLUMNS
from corridor.asylum.run import run_agents, run_scenario
from corridor.errors import InputError
from corridor.scenario.loaded import LoadedScenario

START = date(2024, 1, 1)


def busy_scenario(
    days: int = 540, per_month: float = 400.0, removal_order: str = "oldest_first"
) -> LoadedScenario:
    """Every mechanism at once: priority classes, withdrawals, appeals, removals with a small
    detention estate, limbo, an inadmissibility policy, a hub that is suspended, households,
    an initial backlog, people refused before day 0 and dated policies."""
    return make_loaded(
        start=START,
        days=days,
        nationalities=("A", "B", "C"),
        arrivals_per_month={"A": per_month, "B": per_month / 2, "C": per_month / 4},
        household={"A": 1.2, "B": 2.0, "C": 1.5},
        returns_agreement={"A": True, "B": False, "C": True},
        grant_rate={"A": 0.2, "B": 0.6, "C": 0.4},
        asylum={
            "caseworkers": [
                {"date": START, "value": 40.0},
                {"date": date(2024, 6, 1), "value": 60.0},
            ],
            "productivity": 8.0,
            "withdrawal_rate": 0.5,
            "initial_backlog": 900.0,
            "discipline": "priority",
            "priority_classes": [{"name": "fast", "nationalities": ["C"]}],
            "appeals": {"judges": 12.0, "hearings_per_judge_month": 10.0, "lodging_days": 10},
        },
        returns={
            "removal_capacity": 120.0,
            "detention_places": 60.0,
            "voluntary_rate": 0.5,
            "abscond_rate": 0.3,
            "removal_days": 20,
            "initial_refused": 300.0,
            "removal_order": removal_order,
        },
        inadmissibility=[{"from_date": date(2024, 3, 1), "share": 0.3, "nationalities": ["B"]}],
        hubs=[
            hub(
                beds=150.0,
                flights_per_week=2.0,
                seats_per_flight=10.0,
                eligible_inadmissible=True,
                agreement=[
                    {"date": START, "status": "agreed"},
                    {"date": date(2024, 2, 1), "status": "operating"},
                    {"date": date(2024, 8, 1), "status": "suspended"},
                    {"date": date(2024, 10, 1), "status": "operating"},
                ],
                fixed_payment_gbp=3.65e6,
                cost_per_night_gbp=100.0,
                payment_per_person_gbp=1000.0,
                setup_gbp=5e5,
            )
        ],
        policies=[
            {"date": date(2024, 9, 1), "set": {"returns.removal_capacity": 200.0}},
            {"date": date(2024, 4, 1), "set": {"hubs.hub_a.beds": 200.0}},
        ],
        deterrence={"enabled": True, "elasticity": 0.3, "lag_days": 30, "window_days": 90},
    )


@pytest.fixture(scope="module")
def busy() -> tuple[LoadedScenario, Any, Any]:
    loaded = busy_scenario()
    res, state = run_agents(loaded, seed=7, options=Options(audit=True))
    return loaded, res, state


def test_every_person_is_in_exactly_one_state(busy: tuple[LoadedScenario, Any, Any]) -> None:
    """The daily audit recounted the table (it raises on a mismatch); here the reported
    identity: initial + cumulative arrivals = stocks + not claimed + withdrawn, by nationality."""
    _, res, state = busy
    st = res.stocks.set_index(["date", "nationality"])
    fl = res.flows.set_index(["date", "nationality"])
    cum = fl.groupby("nationality").cumsum()
    initial = (
        pd.Series(
            np.bincount(
                state.agents["nationality"][state.agents["t_arrive"] < 0],
                weights=state.agents["people"][state.agents["t_arrive"] < 0],
                minlength=3,
            ),
            index=["A", "B", "C"],
        )
        .reindex(st.index.get_level_values("nationality"))
        .to_numpy()
    )
    lhs = initial + cum["new_arrivals"].to_numpy()
    rhs = (
        st[list(STOCK_COLUMNS)].sum(axis=1).to_numpy()
        + (cum["new_arrivals"] - cum["new_claims"]).to_numpy()
        + cum["new_withdrawals"].to_numpy()
    )
    np.testing.assert_array_equal(lhs, rhs)
    meta = res.meta
    assert (
        meta["initial_people"] + meta["initial_refused_people"] == initial.reshape(-1, 3)[0].sum()
    )
    assert meta["initial_people"] > 0
    assert meta["initial_refused_people"] > 0
    assert (st[list(STOCK_COLUMNS)] >= 0).all().all()
    for cumulative in ("n_granted", "n_departed", "n_absconded"):
        assert (st[cumulative].groupby("nationality").diff().fillna(0) >= 0).all()


def test_every_mechanism_is_exercised(busy: tuple[LoadedScenario, Any, Any]) -> None:
    _, res, _ = busy
    tot = res.totals()
    for flow in (
        "new_withdrawals",
        "new_appeals_allowed",
        "new_inadmissible",
        "new_voluntary_returns",
        "new_removals",
        "new_hub_transfers",
        "new_hub_removals",
        "new_hub_left",
        "new_absconds",
    ):
        assert tot[flow].sum() > 0, flow
    for stock in ("n_limbo", "n_detained", "n_in_hub", "n_inadmissible", "n_awaiting_appeal"):
        assert tot[stock].max() > 0, stock
    assert tot["n_detained"].max() <= 60.0
    assert res.events["p_removal"].max() > 0


def test_households_have_the_mean_size(busy: tuple[LoadedScenario, Any, Any]) -> None:
    _, _, state = busy
    nat, ppl = state.agents["nationality"], state.agents["people"].astype(float)
    for i, h in enumerate((1.2, 2.0, 1.5)):
        assert ppl[nat == i].mean() == pytest.approx(h, rel=0.03)


def test_costs_follow_the_rules(busy: tuple[LoadedScenario, Any, Any]) -> None:
    loaded, res, state = busy
    p = build_params(loaded)
    by_item = res.costs.pivot_table(index="date", columns="item", values="gbp", aggfunc="sum")
    assert by_item["hub_setup"].sum() == 5e5
    assert by_item["hub_setup"].to_numpy()[p.hub_first_operating[0]] == 5e5
    paying = p.hub_paying[:, 0]
    np.testing.assert_allclose(by_item["hub_fixed"].to_numpy(), np.where(paying, 1e4, 0.0))
    assert by_item["decisions"].sum() == state.cases[:, 0].sum() * 2000.0
    tot = res.totals()
    np.testing.assert_allclose(by_item["hub_nights"].to_numpy(), tot["n_in_hub"].to_numpy() * 100.0)
    waiting = (tot["n_awaiting_decision"] + tot["n_awaiting_appeal"]).to_numpy()
    np.testing.assert_allclose(by_item["support_hotel"].to_numpy(), waiting * 0.9 * 0.3 * 145)


@pytest.mark.parametrize("order", ["oldest_first", "newest_first"])
def test_kernels_and_twins_give_identical_runs(order: str) -> None:
    loaded = busy_scenario(days=200, per_month=150.0, removal_order=order)
    a, sa = run_agents(loaded, seed=3, options=Options(use_numba=True))
    b, sb = run_agents(loaded, seed=3, options=Options(use_numba=False))
    assert (a.meta["kernels"], b.meta["kernels"]) == ("numba", "numpy")
    pd.testing.assert_frame_equal(a.stocks, b.stocks)
    pd.testing.assert_frame_equal(a.flows, b.flows)
    pd.testing.assert_frame_equal(a.costs, b.costs)
    pd.testing.assert_frame_equal(a.events, b.events)
    for col in COLUMNS:
        np.testing.assert_array_equal(sa.agents[col], sb.agents[col], err_msg=col)


def test_same_seed_identical_and_different_seeds_differ() -> None:
    loaded = busy_scenario(days=200, per_month=150.0)
    a = run_scenario(loaded, seed=5)
    b = run_scenario(loaded, seed=5)
    c = run_scenario(loaded, seed=6)
    pd.testing.assert_frame_equal(a.stocks, b.stocks)
    pd.testing.assert_frame_equal(a.flows, b.flows)
    pd.testing.assert_frame_equal(a.costs, b.costs)
    assert not a.flows["new_arrivals"].equals(c.flows["new_arrivals"])
    assert not a.stocks["n_granted"].equals(c.stocks["n_granted"])


def test_sampling_scales_counts_back_to_people() -> None:
    """agents_per_person = 0.25: a quarter of the agents, the same people within noise."""
    loaded = make_loaded(
        start=START,
        days=365,
        arrivals_per_month=2000.0,
        asylum={"caseworkers": 250.0, "productivity": 10.0},
    )
    full = run_scenario(loaded, seed=1).totals()
    sampled_loaded = make_loaded(
        start=START,
        days=365,
        arrivals_per_month=2000.0,
        asylum={"caseworkers": 250.0, "productivity": 10.0},
        agents_per_person=0.25,
    )
    res, state = run_agents(sampled_loaded, seed=1)
    part = res.totals()
    assert state.agents.n == pytest.approx(24000 * 0.25, rel=0.05)
    assert part["new_arrivals"].sum() == pytest.approx(full["new_arrivals"].sum(), rel=0.03)
    assert part["n_granted"].iloc[-1] == pytest.approx(full["n_granted"].iloc[-1], rel=0.05)


# ---------------------------------------------------------------------------------------------
# Parameters


def test_event_time_solves_the_integrated_hazard() -> None:
    hz = np.array([0.0, 0.5, 0.5, 0.0, 2.0, 1.0])
    h = cumulative_hazard(hz)
    t0 = np.array([0.2, 1.5, 0.0, 3.5, 5.9])
    e = np.array([0.25, 0.1, 1.2, 1.0, 5.0])
    t = event_time(h, hz, t0, e)
    # 0.2 → no hazard on day 0; day 1 at 0.5/day: 0.25 takes half a day → 1.5
    np.testing.assert_allclose(t[:4], [1.5, 1.7, 4.1, 4.5])  # 1.2: 1.0 by day 3, 0.2 at 2/day
    assert np.isinf(t[4])  # not before the end of the period
    assert prob_per_day(36.5)[()] == pytest.approx(1 - np.exp(-0.1))


def test_schedules_policies_and_units() -> None:
    loaded = make_loaded(
        start=START,
        days=100,
        asylum={
            "caseworkers": [
                {"date": date(2024, 1, 11), "value": 50.0},
                {"date": date(2024, 2, 1), "value": 70.0},
            ],
            "productivity": 365.0 / 12.0,
        },
        policies=[
            {"date": date(2024, 3, 1), "set": {"asylum.caseworkers": 90.0}},
            {"date": date(2024, 2, 15), "set": {"returns.voluntary_rate": 3.65}},
        ],
    )
    p = build_params(loaded)
    assert p.caseworkers[0] == 50.0  # the first step applies before its date
    assert p.caseworkers[31] == 70.0
    assert p.caseworkers[(date(2024, 3, 1) - START).days] == 90.0
    assert p.decisions_per_caseworker_day[0] == pytest.approx(1.0)
    assert p.voluntary_hazard[(date(2024, 2, 15) - START).days] == pytest.approx(0.01)
    assert p.voluntary_hazard[0] == pytest.approx(0.1 / 365)
    assert pytest.approx(365 / 12) == DAYS_PER_MONTH
    # January: 100 people over 31 days
    assert p.arrivals[0, 0] == pytest.approx(100 / 31)


def test_dated_unit_costs_override_the_model_from_their_date() -> None:
    loaded = make_loaded(
        start=START,
        days=60,
        costs=[("hotel_night", date(2024, 2, 1), 200.0), ("hotel_night", date(2024, 2, 20), 210.0)],
        policies=[{"date": date(2024, 2, 25), "set": {"costs.hotel_night": 220.0}}],
    )
    uc = build_params(loaded).unit_costs
    assert uc["hotel_night"][[0, 30, 31, 50, 55]].tolist() == [145.0, 145.0, 200.0, 210.0, 220.0]
    assert uc["decision"][0] == 2000.0


def test_unknown_policy_parameter_is_an_input_error() -> None:
    loaded = make_loaded(policies=[{"date": START, "set": {"asylum.caseworker": 3.0}}])
    with pytest.raises(InputError, match="caseworker"):
        build_params(loaded)


def test_arrivals_after_the_table_follow_the_rule() -> None:
    """The table covers 2024 (March: 310 people); the run covers 2024-2025."""
    base = make_loaded(start=START, days=366 + 365, arrivals_per_month=10.0)
    t = base.tables["arrivals"]
    t = t[t["month"] < pd.Timestamp("2025-01-01")].copy()
    t.loc[t["month"] == pd.Timestamp("2024-03-01"), "people"] = 310.0
    jan25 = (date(2025, 1, 1) - START).days
    mar25 = (date(2025, 3, 1) - START).days
    apr25 = (date(2025, 4, 1) - START).days
    got = {}
    for rule in ("repeat_last_year", "zero", "hold_last_month"):
        sc = base.scenario.model_copy(
            update={"arrivals": base.scenario.arrivals.model_copy(update={"after_table": rule})}
        )
        tables = dict(base.tables, arrivals=t)
        got[rule] = build_params(
            LoadedScenario(scenario=sc, tables=tables, folder=base.folder, content_hash="x")
        ).arrivals[:, 0]
    assert got["repeat_last_year"][mar25] == pytest.approx(10.0)  # 310 people / 31 days
    assert got["repeat_last_year"][apr25] == pytest.approx(10.0 / 30)
    assert got["zero"][jan25:].sum() == 0
    assert got["hold_last_month"][apr25] == pytest.approx(10.0 / 30)  # December's 10, April
    assert got["zero"][:jan25].sum() == pytest.approx(11 * 10.0 + 310.0)


def test_hub_operating_rules() -> None:
    loaded = make_loaded(
        start=START,
        days=60,
        hubs=[hub("h1"), hub("h2", host="Elsewhere", hypothetical=True)],
        hosts=[("Hostland", date(2024, 1, 21), "refused"), ("Elsewhere", START, "refused")],
        policies=[{"date": date(2024, 2, 10), "set": {"hubs.h2.status": "suspended"}}],
    )
    p = build_params(loaded)
    assert p.hub_operating[:20, 0].all()
    assert not p.hub_operating[20:, 0].any()
    assert p.hub_operating[:40, 1].all()  # hypothetical: the refusal is ignored
    assert not p.hub_operating[40:, 1].any()
    assert p.hub_paying[40:, 1].all()  # suspended agreements still pay
    assert list(p.hub_first_operating) == [0, 0]


def test_state_codes_cover_the_stocks() -> None:
    reported = {s for s in qk.STATE_STOCK if s is not None}
    assert reported == {c.removeprefix("n_") for c in STOCK_COLUMNS}
    assert len(qk.STATE_NAMES) == len(qk.STATE_STOCK) == qk.N_STATES
