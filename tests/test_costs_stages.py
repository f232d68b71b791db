"""Every person in the system is in a priced stage (issue 13, item 1).

Each cost item of a run equals the people in its stage (or its flow, or its cases) times the
stage's unit cost, in both engines; a person in limbo costs at least the support a refused person
keeps; unit costs of other price years are brought to the scenario's with its deflators; the
cost per additional removal pairs each variant's replicate with the status quo's.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from asylum_builders import hub, make_loaded
from corridor.asylum.cohort.driver import run_aggregate
from corridor.asylum.params import (
    COST_ITEMS,
    DAYS_PER_YEAR,
    STOCK_INDEX,
    build_params,
    daily_costs,
)
from corridor.asylum.params.tables import price_factors
from corridor.asylum.result import ScenarioResult
from corridor.asylum.run import run_scenario
from corridor.errors import InputError
from corridor.flagship.summaries import comparison_table, differences
from corridor.forecast.record import COST_PARTS, GREEN_BOOK_RATE, METRICS, to_yearly
from corridor.scenario.loaded import LoadedScenario
from corridor.scenario.loader import load_scenario
from corridor.scenario.schema import FLOWS, STOCKS

START = date(2024, 1, 1)
UNIT = {
    "hotel_night": 150.0,
    "large_site_night": 70.0,
    "dispersal_night": 20.0,
    "subsistence_night": 7.0,
    "detention_night": 100.0,
    "decision": 5000.0,
    "appeal": 3500.0,
    "legal_aid_appeal": 1200.0,
    "removal": 2600.0,
    "voluntary_assisted_return": 2500.0,
    "voluntary_return": 300.0,
    "hub_transfer": 20000.0,
    "limbo_other_year": 3500.0,
    "france_payment_year": 1.5e8,
}


# a supported person-night at the scenario's mix (hotel 0.3, large site 0.05, cash 0.05)
SUPPORT_NIGHT = 0.3 * 150.0 + 0.05 * 70.0 + 0.6 * 20.0 + 0.05 * 7.0


def stages_scenario() -> LoadedScenario:
    """Every stage occupied: claimants, appellants, refused, detained, limbo (B has no returns
    agreement), inadmissible, a hub, voluntary and enforced returns."""
    return make_loaded(
        start=START,
        days=400,
        nationalities=("A", "B"),
        arrivals_per_month={"A": 400.0, "B": 200.0},
        household={"A": 1.3, "B": 2.0},
        returns_agreement={"A": True, "B": False},
        grant_rate={"A": 0.3, "B": 0.4},
        asylum={
            "caseworkers": 50.0,
            "productivity": 8.0,
            "initial_backlog": 1000.0,
            "appeals": {"judges": 10.0, "hearings_per_judge_month": 10.0, "lodge_share": 0.7},
        },
        returns={
            "removal_capacity": 100.0,
            "detention_places": 80.0,
            "voluntary_rate": 0.4,
            "removal_days": 20,
            "voluntary_assisted_share": 0.25,
        },
        accommodation={
            "supported_share": 0.8,
            "appellant_supported_share": 0.6,
            "refused_supported_share": 0.1,
            "hotel": 0.3,
            "large_site": 0.05,
            "subsistence_only": 0.05,
        },
        inadmissibility=[{"from_date": date(2024, 3, 1), "share": 0.2, "nationalities": ["A"]}],
        hubs=[
            hub(
                beds=100.0,
                flights_per_week=1.0,
                seats_per_flight=10.0,
                cost_per_night_gbp=80.0,
                eligible_inadmissible=True,
            )
        ],
        costs=[(item, START, gbp) for item, gbp in UNIT.items()],
    )


def _expected(loaded: LoadedScenario, res: ScenarioResult) -> dict[str, np.ndarray]:
    """Each item recomputed from the run's own tables: people in the stage × unit cost."""
    p = build_params(loaded)
    st = res.stocks.groupby("date").sum(numeric_only=True)
    fl = res.flows.groupby("date").sum(numeric_only=True)
    uc = p.unit_costs
    supported = (
        st["n_awaiting_decision"] * 0.8 + st["n_awaiting_appeal"] * 0.6 + st["n_refused"] * 0.1
    ).to_numpy()

    def cases(flow: str) -> np.ndarray:
        by_nat = res.flows.pivot_table(index="date", columns="nationality", values=flow)
        return (by_nat[list(p.nationalities)].to_numpy() / p.household).sum(axis=1)

    vol = fl["new_voluntary_returns"].to_numpy()
    return {
        "support_hotel": supported * 0.3 * uc["hotel_night"],
        "support_large_site": supported * 0.05 * uc["large_site_night"],
        "support_dispersal": supported * 0.6 * uc["dispersal_night"],
        "support_subsistence": supported * 0.05 * uc["subsistence_night"],
        "decisions": cases("new_decisions") * uc["decision"],
        "appeals_tribunal": cases("new_appeals_determined") * uc["appeal"],
        "appeals_legal_aid": cases("new_appeals_determined") * uc["legal_aid_appeal"],
        "detention": st["n_detained"].to_numpy() * uc["detention_night"],
        "removals_enforced": fl["new_removals"].to_numpy() * uc["removal"],
        "removals_voluntary_assisted": vol * 0.25 * uc["voluntary_assisted_return"],
        "removals_voluntary": vol * 0.75 * uc["voluntary_return"],
        "hub_transfers": fl["new_hub_transfers"].to_numpy() * uc["hub_transfer"],
        "hub_nights": st["n_in_hub"].to_numpy() * 80.0,
        "limbo": (st["n_limbo"] + st["n_inadmissible"]).to_numpy()
        * (SUPPORT_NIGHT + 3500.0 / DAYS_PER_YEAR),
        "france_payments": np.full(p.days, 1.5e8 / DAYS_PER_YEAR),
    }


@pytest.fixture(scope="module")
def aggregate_run() -> tuple[LoadedScenario, ScenarioResult]:
    loaded = stages_scenario()
    return loaded, run_aggregate(loaded)


def test_every_stage_is_occupied(aggregate_run: tuple[LoadedScenario, ScenarioResult]) -> None:
    _, res = aggregate_run
    tot = res.totals()
    for stock in ("n_awaiting_decision", "n_awaiting_appeal", "n_refused", "n_detained",
                  "n_limbo", "n_inadmissible", "n_in_hub"):  # fmt: skip
        assert tot[stock].max() > 1.0, stock
    for flow in ("new_removals", "new_voluntary_returns", "new_hub_transfers"):
        assert tot[flow].sum() > 1.0, flow


@pytest.mark.parametrize("engine", ["aggregate", "agents"])
def test_each_stage_costs_its_people_times_its_unit_cost(
    engine: str, aggregate_run: tuple[LoadedScenario, ScenarioResult]
) -> None:
    loaded = aggregate_run[0]
    res = aggregate_run[1] if engine == "aggregate" else run_scenario(loaded, seed=3, engine=engine)
    spent = res.costs.pivot_table(index="date", columns="item", values="gbp", aggfunc="sum")
    assert set(spent.columns) == set(COST_ITEMS)
    case_items = {"decisions": "decision", "appeals_tribunal": "appeal",
                  "appeals_legal_aid": "legal_aid_appeal"}  # fmt: skip
    for item, expected in _expected(loaded, res).items():
        assert spent[item].sum() > 0, item
        if engine == "agents" and item in case_items:
            # the agent engine counts whole cases (main applicants): pounds ÷ unit cost is a
            # whole number of cases each day, and the people decided are that many households
            n_cases = spent[item].to_numpy() / UNIT[case_items[item]]
            np.testing.assert_allclose(n_cases, np.round(n_cases), atol=1e-9)
            continue
        np.testing.assert_allclose(spent[item].to_numpy(), expected, rtol=1e-9, atol=1e-6)
    # nothing unpriced: the items add up to the total
    assert spent.sum(axis=1).sum() == pytest.approx(res.costs["gbp"].sum())


def test_limbo_costs_at_least_the_support_of_a_refused_person() -> None:
    """uk-balkans: a person-year in limbo costs more than £5,000 and at least the support a
    refused person keeps, on every day (one person in limbo, one supported refused person)."""
    p = build_params(load_scenario("uk-balkans"))
    one = np.ones(p.days)
    stocks = np.zeros((p.days, len(STOCKS)))
    stocks[:, STOCK_INDEX["limbo"]] = one
    stocks[:, STOCK_INDEX["refused"]] = one / p.refused_supported_share  # one supported
    no_hubs = np.zeros((p.days, p.n_hubs))
    costs = daily_costs(p, stocks=stocks, flows=np.zeros((p.days, len(FLOWS))),
                        hub_people=no_hubs, decision_cases=0 * one, appeal_cases=0 * one,
                        hub_transfers=no_hubs)  # fmt: skip
    support = sum(v for k, v in costs.items() if k.startswith("support_"))
    limbo = costs["limbo"]
    assert np.all(limbo * DAYS_PER_YEAR > 5000.0)
    assert np.all(limbo > support)  # health, local authority and enforcement on top
    assert np.all(costs["france_payments"] > 0)


def test_limbo_cost_per_person_year_in_a_run(
    aggregate_run: tuple[LoadedScenario, ScenarioResult],
) -> None:
    _, res = aggregate_run
    tot = res.totals()
    person_years = (tot["n_limbo"] + tot["n_inadmissible"]).sum() / DAYS_PER_YEAR
    limbo = res.costs.loc[res.costs["item"] == "limbo", "gbp"].sum()
    assert limbo / person_years == pytest.approx(DAYS_PER_YEAR * SUPPORT_NIGHT + 3500.0)
    assert limbo / person_years > 5000.0


def test_costs_of_other_price_years_are_deflated() -> None:
    loaded = load_scenario("uk-balkans")
    assert loaded.scenario.costs.price_year == "2024-25"
    d = loaded.tables["deflators"].set_index("financial_year")["deflator"]
    p = build_params(loaded)
    day = p.day_of(date(2023, 6, 1))  # the FY2023/24 hotel row (177.76 in 2023-24 pounds)
    assert p.unit_costs["hotel_night"][day] == pytest.approx(177.76 * d["2024-25"] / d["2023-24"])
    assert p.unit_costs["hotel_night"][day] > 177.76  # prices rose
    day = p.day_of(date(2024, 6, 1))  # a 2024-25 row is used as published
    assert p.unit_costs["hotel_night"][day] == pytest.approx(167.66)
    # every deflator row says where it comes from and whether it is the published figure
    assert loaded.tables["deflators"]["source"].str.contains("gov.uk").all()
    assert loaded.tables["deflators"]["status"].notna().all()


def test_price_factors() -> None:
    table = pd.DataFrame({"financial_year": ["2022-23", "2024-25"], "deflator": [90.0, 100.0]})
    np.testing.assert_allclose(
        price_factors(table, ["2022-23", None, "2024-25"], "2024-25"), [100 / 90, 1.0, 1.0]
    )
    np.testing.assert_allclose(price_factors(table, ["2022-23"], None), [1.0])
    with pytest.raises(InputError, match="2019-20"):
        price_factors(table, ["2019-20"], "2024-25")


# ---------------------------------------------------------------------------------------------
# summary.json parts, present value and the paired cost per additional removal
# ---------------------------------------------------------------------------------------------
def test_summary_has_every_cost_part() -> None:
    assert "cost_limbo_gbp" in METRICS
    assert "cost_pv_gbp" in METRICS
    assert set(COST_PARTS) == {f"cost_{i}_gbp" for i in COST_ITEMS}
    assert set(COST_PARTS) <= set(METRICS)
    assert GREEN_BOOK_RATE == 0.035


def _yearly(rows: list[tuple[str, int, float, float, float]]) -> pd.DataFrame:
    """variant, replicate, cost, enforced removals, all returns → a yearly frame (one year)."""
    out = pd.DataFrame(rows, columns=["variant", "replicate", "cost_gbp", "enforced_removals",
                                      "removals"])  # fmt: skip
    out["year"] = 2025
    for m in METRICS:
        if m not in out.columns:
            out[m] = 0.0
    return out


def test_cost_per_additional_removal_is_paired() -> None:
    yearly = _yearly([
        ("status_quo", 0, 100.0, 10.0, 50.0), ("status_quo", 1, 200.0, 20.0, 60.0),
        ("status_quo", 2, 300.0, 30.0, 70.0),
        ("hub", 0, 160.0, 12.0, 52.0), ("hub", 1, 230.0, 23.0, 63.0),
        ("hub", 2, 400.0, 34.0, 74.0),
        ("same", 0, 120.0, 10.0, 50.0), ("same", 1, 210.0, 20.0, 60.0),
        ("same", 2, 330.0, 30.0, 70.0),
    ])  # fmt: skip
    diffs = differences(yearly, 2025, ["status_quo", "hub", "same"])
    q = diffs["hub"]["cost_per_additional_removal_gbp"]
    ratios = np.array([60.0 / 2.0, 30.0 / 3.0, 100.0 / 4.0])
    assert q["p50"] == pytest.approx(np.percentile(ratios, 50))
    assert q["p10"] == pytest.approx(np.percentile(ratios, 10))
    assert q["p90"] == pytest.approx(np.percentile(ratios, 90))
    assert (q["replicates"], q["of"]) == (3, 3)
    # not total cost ÷ removals, nor the ratio of medians
    assert q["p50"] != pytest.approx(230.0 / 23.0)
    assert q["p50"] != pytest.approx(230.0 / 63.0)
    # no additional removal: nothing to price
    same = diffs["same"]["cost_per_additional_removal_gbp"]
    assert same["p50"] is None
    assert same["replicates"] == 0
    table = comparison_table(yearly, 2025, ["status_quo", "hub", "same"])
    assert table.loc["hub", "cost_per_additional_removal"] == pytest.approx(q["p50"])
    assert np.isnan(table.loc["status_quo", "cost_per_additional_removal"])


def test_yearly_cost_parts_add_up_and_discount() -> None:
    """Monthly parts summed into years keep adding up to the total; the present value of a
    year is its cost discounted at 3.5% a year to the first forecast year."""
    months = pd.period_range("2025-01", "2026-12", freq="M", name="date")
    monthly = pd.DataFrame(0.0, index=months, columns=[*METRICS, "grants"])
    monthly["cost_limbo_gbp"] = 10.0
    monthly["cost_decisions_gbp"] = 5.0
    monthly["cost_gbp"] = 15.0
    years_on = months.year.to_numpy() - 2025
    monthly["cost_pv_gbp"] = 15.0 * (1 + GREEN_BOOK_RATE) ** (-years_on.astype(float))
    y = to_yearly(monthly)
    assert (y[list(COST_PARTS)].sum(axis=1) == y["cost_gbp"]).all()
    assert y.loc[2026, "cost_pv_gbp"] == pytest.approx(180.0 / 1.035)
    assert y.loc[2025, "cost_pv_gbp"] == pytest.approx(180.0)


def test_the_deflators_are_the_tools_derivation() -> None:
    """deflators.csv is what tools/gdp_deflators.py derives from the ONS calendar-year series
    (a financial year = 0.75 x its first calendar year + 0.25 x its second, 2023-24 = 100),
    and it says which value is an assumption."""
    import csv
    import importlib.util
    import io
    from contextlib import redirect_stdout
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location("gdp_deflators", root / "tools/gdp_deflators.py")
    assert spec is not None
    assert spec.loader is not None
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    out = io.StringIO()
    with redirect_stdout(out):
        tool.main()
    stored = (root / "src/corridor/data/scenarios/uk-balkans/deflators.csv").read_text()
    assert out.getvalue() == stored
    rows = {r["financial_year"]: r for r in csv.DictReader(io.StringIO(stored))}
    assert float(rows["2023-24"]["deflator"]) == 100.0
    cal = tool.CALENDAR
    fy = (0.75 * cal[2019] + 0.25 * cal[2020]) / (0.75 * cal[2023] + 0.25 * cal[2024]) * 100
    assert float(rows["2019-20"]["deflator"]) == pytest.approx(fy, abs=0.005)
    assert [k for k, r in rows.items() if r["status"].startswith("ASSUMPTION")] == ["2024-25"]
