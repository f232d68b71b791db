"""Directional tests: a policy lever moves the outputs the right way, day by day, under common
random numbers (same seed, deterrence off, so the same cases arrive in every variant).
"""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from asylum_builders import hub, make_loaded
from corridor.asylum.result import ScenarioResult
from corridor.asylum.run import run_scenario
from corridor.scenario.loaded import LoadedScenario

START = date(2024, 1, 1)


def daily(res: ScenarioResult, column: str) -> NDArrayF:
    """A column summed over nationalities, by day."""
    frame = res.stocks if column.startswith("n_") else res.flows
    return frame.groupby("date")[column].sum().to_numpy()


NDArrayF = np.ndarray[Any, np.dtype[np.float64]]


def backlog_scenario(caseworkers: float | list[dict[str, Any]]) -> LoadedScenario:
    """Two nationalities, households of 1.5 on average, ~400 cases a month; appeals, returns.

    Withdrawals are off: with reneging a faster queue can briefly hold a case that a slower one
    lost, so the sample-path order below holds for FIFO queues without reneging only.
    """
    return make_loaded(
        start=START,
        days=730,
        nationalities=("A", "B"),
        arrivals_per_month={"A": 350.0, "B": 250.0},
        household=1.5,
        grant_rate={"A": 0.3, "B": 0.7},
        asylum={"caseworkers": caseworkers, "productivity": 10.0, "withdrawal_rate": 0.0},
    )


def test_more_caseworkers_never_grow_the_backlog() -> None:
    levels: list[float | list[dict[str, Any]]] = [
        30.0,
        36.0,
        [{"date": START, "value": 36.0}, {"date": date(2024, 9, 1), "value": 41.0}],
        44.0,
        60.0,
    ]
    runs = [run_scenario(backlog_scenario(c), seed=2) for c in levels]
    for fewer, more in itertools.pairwise(runs):
        a = fewer.stocks.set_index(["date", "nationality"])["n_awaiting_decision"]
        b = more.stocks.set_index(["date", "nationality"])["n_awaiting_decision"]
        assert (b <= a).all()  # every day, every nationality
        assert daily(more, "n_awaiting_decision")[-1] <= daily(fewer, "n_awaiting_decision")[-1]
    first, last = daily(runs[0], "n_awaiting_decision"), daily(runs[-1], "n_awaiting_decision")
    assert first[-1] > 5 * last[-1]  # the lever matters (30 caseworkers are too few)
    # same arrivals in every variant (common random numbers)
    for r in runs[1:]:
        pd.testing.assert_series_equal(r.flows["new_arrivals"], runs[0].flows["new_arrivals"])


def hub_scenario(hosts: list[tuple[str, date, str]] | None = None, **hub_kw: Any) -> LoadedScenario:
    """Nationality B cannot be removed: refused B cases wait in limbo for the hub."""
    return make_loaded(
        start=START,
        days=365,
        nationalities=("A", "B"),
        returns_agreement={"A": True, "B": False},
        arrivals_per_month=300.0,
        grant_rate=0.2,
        asylum={"caseworkers": 80.0, "productivity": 10.0},
        hubs=[hub(**hub_kw)],
        hosts=hosts,
    )


def test_a_full_hub_admits_no_one() -> None:
    open_hub = run_scenario(hub_scenario(beds=500.0), seed=1)
    full_hub = run_scenario(hub_scenario(beds=0.0), seed=1)
    assert daily(open_hub, "new_hub_transfers").sum() > 100  # the control transfers people
    assert daily(full_hub, "new_hub_transfers").sum() == 0
    assert daily(full_hub, "n_in_hub").max() == 0
    assert daily(full_hub, "n_limbo")[-1] > daily(open_hub, "n_limbo")[-1]


def test_beds_cap_the_hub_population() -> None:
    res = run_scenario(hub_scenario(beds=120.0, stay_days=400.0), seed=1)
    in_hub = daily(res, "n_in_hub")
    assert in_hub.max() <= 120.0
    assert in_hub.max() > 100.0


def test_no_transfers_while_the_agreement_is_suspended() -> None:
    suspended, resumed = date(2024, 4, 10), date(2024, 7, 19)
    res = run_scenario(
        hub_scenario(
            agreement=[
                {"date": START, "status": "operating"},
                {"date": suspended, "status": "suspended"},
                {"date": resumed, "status": "operating"},
            ]
        ),
        seed=4,
    )
    t = daily(res, "new_hub_transfers")
    lo, hi = (suspended - START).days, (resumed - START).days
    assert t[lo:hi].sum() == 0
    assert t[:lo].sum() > 0
    assert t[hi:].sum() > 0
    # people already in the hub stay and leave at the end of their stay
    assert daily(res, "n_in_hub")[lo] > 0


def test_a_refusing_host_never_operates_a_hub() -> None:
    refused_all = run_scenario(hub_scenario(hosts=[("Hostland", START, "refused")]), seed=1)
    assert daily(refused_all, "new_hub_transfers").sum() == 0
    assert refused_all.meta["hubs"]["hub_a"]["operating_days"] == 0
    assert refused_all.costs.query("item == 'hub_setup'")["gbp"].sum() == 0

    later = date(2024, 6, 1)
    refused_later = run_scenario(
        hub_scenario(hosts=[("Hostland", START, "agreed"), ("Hostland", later, "refused")]),
        seed=1,
    )
    t = daily(refused_later, "new_hub_transfers")
    assert t[: (later - START).days].sum() > 0
    assert t[(later - START).days :].sum() == 0


def test_a_hypothetical_hub_in_a_refusing_host_operates() -> None:
    res = run_scenario(
        hub_scenario(hosts=[("Hostland", START, "refused")], hypothetical=True, setup_gbp=1e6),
        seed=1,
    )
    assert daily(res, "new_hub_transfers").sum() > 100
    assert res.meta["hubs"]["hub_a"]["hypothetical"] is True
    assert res.costs.query("item == 'hub_setup'")["gbp"].sum() == 1e6


def test_deterrence_lowers_arrivals_only_after_outcomes_are_seen() -> None:
    """Same seed: arrivals are identical until removals have been recorded and the lag has
    passed; after that, deterrence lowers them."""
    kw: dict[str, Any] = {
        "start": START,
        "days": 365,
        "arrivals_per_month": 600.0,
        "grant_rate": 0.1,
        "asylum": {"caseworkers": 80.0, "productivity": 10.0},
        "returns": {"removal_capacity": 400.0},
    }
    off = run_scenario(make_loaded(**kw), seed=6)
    on = run_scenario(
        make_loaded(**kw, deterrence={"enabled": True, "elasticity": 0.8, "lag_days": 60}),
        seed=6,
    )
    first_removal = int(np.flatnonzero(daily(off, "new_removals") > 0)[0])
    same = first_removal + 60 + 1
    a_off, a_on = daily(off, "new_arrivals"), daily(on, "new_arrivals")
    assert np.array_equal(a_off[:same], a_on[:same])
    assert a_on[same:].sum() < 0.9 * a_off[same:].sum()
    p_rem = on.events.groupby("date")["p_removal"].sum().to_numpy()
    assert p_rem[:same].max() == 0
    assert p_rem[same:].min() > 0
