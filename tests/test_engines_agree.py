"""Two engines, one model: the mean of agent runs converges to the aggregate engine.

The aggregate engine (:mod:`corridor.asylum.aggregate`) is the large-population limit of the
agent engine (:mod:`corridor.asylum.agents`): the same rules from the same parameters. Here, on
a scenario that uses every mechanism, the mean over seeds of agent runs with many agents must
match the aggregate for every stock and cumulative flow (all nationalities together), on every
30th day:

    |mean − aggregate| < 4·SE + 1% of the level

where SE is the standard error of the mean over the seeds and the level is the largest value of
that series over the run (its scale). With 4× fewer agents the gap is about twice as large
(noise, and the discreteness of small capacities): the agreement comes from the agents growing,
not from a loose tolerance.

Agents grow by scaling the scenario (every number of people and every capacity × ``SCALE``)
and sampling it with ``agents_per_person`` (every capacity × f in the agent engine): f = 1/4
gives 4× the agents of f = 1/16. Server counts × f are whole numbers, so rounding plays no part.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pytest

from asylum_builders import hub, make_loaded
from corridor.asylum.aggregate import run_aggregate
from corridor.asylum.params import build_params
from corridor.asylum.result import FLOW_COLUMNS, STOCK_COLUMNS, ScenarioResult
from corridor.asylum.run import run_scenario
from corridor.scenario.loaded import LoadedScenario
from corridor.scenario.loader import load_scenario

START = date(2024, 1, 1)
DAYS = 300
SCALE = 16.0
MANY, FEW = 1 / 4, 1 / 16  # agents per person: 4x the agents of FEW
SEEDS = 8
CHECK_DAYS = np.arange(29, DAYS, 30)
C_REMOVABLE_FROM = date(2024, 5, 1)

Series = dict[str, np.ndarray[Any, np.dtype[np.float64]]]


def every_mechanism(
    scale: float = SCALE,
    agents_per_person: float = 1.0,
    deterrence: bool = False,
    newest_first: bool = False,
) -> LoadedScenario:
    """Arrivals of three nationalities (households of 1.2-2 people), claims, an inadmissibility
    policy, a caseworker schedule, priority classes, withdrawals, grants by nationality, appeals,
    voluntary returns, absconding, removals limited by capacity and detention, limbo (B has no
    returns agreement; C only from 1 May), a hub with seats, beds and stays that is suspended for
    two months, whose leavers come back (re-entry) and some of whose people are returned to the
    UK (back on the exit route), dated policies, an initial backlog;
    deterrence off or on; with ``newest_first``, the most recently refused are listed and
    transferred first and people refused before day 0 start in the exit route (behind them: with
    the oldest first they would be one cohort that two takers of different nationalities share,
    which the engines break differently, the agents by agent id, the aggregate in proportion)."""
    k = scale
    loaded = make_loaded(
        start=START,
        days=DAYS,
        nationalities=("A", "B", "C"),
        arrivals_per_month={"A": 400.0 * k, "B": 200.0 * k, "C": 100.0 * k},
        household={"A": 1.2, "B": 2.0, "C": 1.5},
        returns_agreement={"A": True, "B": False, "C": True},
        grant_rate={"A": 0.2, "B": 0.6, "C": 0.4},
        agents_per_person=agents_per_person,
        asylum={
            "caseworkers": [
                {"date": START, "value": 40.0 * k},
                {"date": date(2024, 6, 1), "value": 64.0 * k},
            ],
            "productivity": 8.0,
            "withdrawal_rate": 0.5,
            "initial_backlog": 900.0 * k,
            "discipline": "priority",
            "priority_classes": [{"name": "fast", "nationalities": ["C"]}],
            "appeals": {
                "judges": 12.0 * k,
                "hearings_per_judge_month": 10.0,
                "lodging_days": 10,
                "lodge_share": 0.5,
            },
        },
        returns={
            "removal_capacity": 120.0 * k,
            "detention_places": 64.0 * k,
            "voluntary_rate": 0.5,
            "abscond_rate": 0.3,
            "removal_days": 20,
            "removal_order": "newest_first" if newest_first else "oldest_first",
            "initial_refused": 500.0 * k if newest_first else 0.0,
        },
        inadmissibility=[{"from_date": date(2024, 3, 1), "share": 0.3, "nationalities": ["B"]}],
        hubs=[
            hub(
                beds=150.0 * k,
                flights_per_week=2.0,
                seats_per_flight=10.0 * k,
                stay_days=45.0,
                eligible_inadmissible=True,
                removed_onward=0.4,
                left=0.3,
                stayed=0.1,
                returned_uk=0.2,
                reentry=0.8,
                reentry_reach_uk=0.5,
                reentry_days=20,
                agreement=[
                    {"date": START, "status": "agreed"},
                    {"date": date(2024, 2, 1), "status": "operating"},
                    {"date": date(2024, 7, 1), "status": "suspended"},
                    {"date": date(2024, 9, 1), "status": "operating"},
                ],
            )
        ],
        policies=[
            {"date": date(2024, 8, 1), "set": {"returns.removal_capacity": 200.0 * k}},
            {"date": date(2024, 4, 1), "set": {"hubs.hub_a.beds": 200.0 * k}},
        ],
        deterrence={"enabled": deterrence, "elasticity": 0.3, "lag_days": 30, "window_days": 90},
    )
    nat = loaded.tables["nationalities"].copy()
    nat["returns_agreement_from"] = pd.to_datetime(pd.Series([None, None, str(C_REMOVABLE_FROM)]))
    return dataclasses.replace(loaded, tables={**loaded.tables, "nationalities": nat})


def series(res: ScenarioResult) -> Series:
    """Every stock, and every flow cumulated, by day (all nationalities together)."""
    t = res.totals()
    out: Series = {c: t[c].to_numpy(dtype=np.float64) for c in STOCK_COLUMNS}
    out.update({c: t[c].cumsum().to_numpy(dtype=np.float64) for c in FLOW_COLUMNS})
    return out


@dataclasses.dataclass
class Gap:
    """Agent mean against the aggregate, per series, on the check days."""

    name: str
    aggregate: np.ndarray[Any, np.dtype[np.float64]]
    mean: np.ndarray[Any, np.dtype[np.float64]]
    se: np.ndarray[Any, np.dtype[np.float64]]
    level: float

    @property
    def tolerance(self) -> np.ndarray[Any, np.dtype[np.float64]]:
        return 4.0 * self.se + 0.01 * self.level

    @property
    def excess(self) -> float:
        """Largest |mean − aggregate| / tolerance over the check days (≤ 1: within it)."""
        return float(np.max(np.abs(self.mean - self.aggregate) / self.tolerance))

    @property
    def relative(self) -> float:
        """Mean |mean − aggregate| / level over the check days."""
        return float(np.mean(np.abs(self.mean - self.aggregate)) / self.level)


def compare(loaded: LoadedScenario, seeds: int = SEEDS) -> list[Gap]:
    agg = series(run_aggregate(loaded))
    runs = [series(run_scenario(loaded, seed=seed, engine="agents")) for seed in range(seeds)]
    gaps = []
    for name, a in agg.items():
        level = float(np.max(np.abs(a)))
        if level == 0.0:
            assert all(np.all(r[name] == 0.0) for r in runs), name
            continue
        stack = np.stack([r[name][CHECK_DAYS] for r in runs])
        gaps.append(
            Gap(
                name=name,
                aggregate=a[CHECK_DAYS],
                mean=stack.mean(axis=0),
                se=stack.std(axis=0, ddof=1) / np.sqrt(seeds),
                level=level,
            )
        )
    return gaps


@pytest.fixture(scope="module")
def many_off() -> list[Gap]:
    return compare(every_mechanism(agents_per_person=MANY, deterrence=False))


def _report(gaps: list[Gap]) -> str:
    worst = sorted(gaps, key=lambda g: -g.excess)[:5]
    return "; ".join(f"{g.name}: {g.excess:.2f} x tolerance" for g in worst)


def test_every_mechanism_is_exercised(many_off: list[Gap]) -> None:
    """Each stock and flow is reached (nothing compared is trivially zero)."""
    names = {g.name for g in many_off}
    assert names == set(STOCK_COLUMNS) | set(FLOW_COLUMNS)


def test_agent_mean_matches_aggregate(many_off: list[Gap]) -> None:
    bad = [g for g in many_off if g.excess > 1.0]
    assert not bad, _report(many_off)


def test_agent_mean_matches_aggregate_with_deterrence() -> None:
    """... and with the newest refused taken first and people refused before day 0."""
    loaded = every_mechanism(agents_per_person=MANY, deterrence=True, newest_first=True)
    p = build_params(loaded)
    assert p.deterrence_on.all()
    assert p.exit_newest_first
    assert p.initial_refused.sum() > 0
    gaps = compare(loaded)
    bad = [g for g in gaps if g.excess > 1.0]
    assert not bad, _report(gaps)
    # deterrence bites in both engines: fewer arrivals than without it
    off = run_aggregate(
        every_mechanism(agents_per_person=MANY, deterrence=False, newest_first=True)
    )
    arrivals = next(g for g in gaps if g.name == "new_arrivals")
    assert arrivals.aggregate[-1] < 0.99 * off.flows["new_arrivals"].sum()


def test_gap_shrinks_as_agents_grow(many_off: list[Gap]) -> None:
    """4x the agents: the mean relative gap falls (by about half when noise dominates)."""
    few = compare(every_mechanism(agents_per_person=FEW, deterrence=False))
    gap_few = float(np.mean([g.relative for g in few]))
    gap_many = float(np.mean([g.relative for g in many_off]))
    assert gap_many < 0.75 * gap_few, (gap_few, gap_many)
    assert max(g.excess for g in many_off) <= 1.0


# ---------------------------------------------------------------------------------------------
# Dated returns agreements (nationalities.csv: returns_agreement_from)


def _by_nat(res: ScenarioResult, column: str, nat: str) -> np.ndarray[Any, np.dtype[np.float64]]:
    frame = res.stocks if column.startswith("n_") else res.flows
    return frame[frame["nationality"] == nat][column].to_numpy(dtype=np.float64)


@pytest.mark.parametrize("engine", ["aggregate", "agents"])
def test_returns_agreement_from_a_date(engine: str) -> None:
    """C is not removable before 1 May: its refused people wait in limbo and none is removed;
    from that day they are refused (removable), their limbo empties and removals follow."""
    loaded = every_mechanism(scale=2.0, deterrence=False)
    res = run_scenario(loaded, seed=1, engine=engine)  # type: ignore[arg-type]
    day = (C_REMOVABLE_FROM - START).days
    limbo, refused = _by_nat(res, "n_limbo", "C"), _by_nat(res, "n_refused", "C")
    removals = _by_nat(res, "new_removals", "C")
    assert limbo[day - 1] > 0
    assert refused[:day].max() == 0
    assert removals[:day].sum() == 0
    assert limbo[day:].max() == 0
    assert refused[day] >= limbo[day - 1] * 0.9
    assert removals[day:].sum() > 0
    p = build_params(loaded)
    assert not p.removable[:day, 2].any()
    assert p.removable[day:, 2].all()
    assert p.removable[:, 0].all()
    assert not p.removable[:, 1].any()


def test_uk_balkans_removability_follows_the_returns_data() -> None:
    """The pack's removable nationalities are those with enforced returns (Ret_D01, see
    tests/test_returns_appeals.py): Albania throughout (returns ran before the 13 Dec 2022
    communiqué too), Vietnam always, no agreement dates."""
    loaded = load_scenario("uk-balkans")
    nat = loaded.tables["nationalities"].set_index("nationality")
    assert nat["returns_agreement_from"].isna().all()
    p = build_params(loaded)
    alb = p.nationalities.index("Albania")
    assert p.removable[:, alb].all()
    res = run_aggregate(loaded)
    removed = _by_nat(res, "new_removals", "Albania")
    assert removed[: p.day_of(date(2022, 12, 13))].sum() > 0  # before the communiqué too


# ---------------------------------------------------------------------------------------------
# The agent engine's new kernels against their NumPy twins (whole runs: test_asylum_invariants)


def test_clock_and_work_kernels_match_twins() -> None:
    from corridor.asylum import queue_kernels as qk
    from corridor.asylum.params import cumulative_hazard, event_time

    rng = np.random.default_rng(3)
    hazard = rng.exponential(0.3, 60) * (rng.random(60) > 0.2)  # some days without any
    h_cum = cumulative_hazard(hazard)
    t0 = np.concatenate([rng.uniform(-5.0, 65.0, 500), [0.0, 59.999, 60.0, 75.0]])
    e = rng.exponential(1.0, t0.size)
    np.testing.assert_array_equal(
        qk.event_times(h_cum, hazard, t0, e), event_time(h_cum, hazard, t0, e)
    )
    for t, w in zip(t0, e, strict=True):
        assert qk.work_end(h_cum, hazard, t, w) == qk.work_end_py(h_cum, hazard, t, w)
    # constant rate: work w takes w / rate
    flat = np.full(10, 0.5)
    assert qk.work_end_py(cumulative_hazard(flat), flat, 2.25, 1.5) == pytest.approx(5.25)
