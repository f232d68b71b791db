"""Directional tests, same seed (common random numbers): more interception never raises
crossings on a link; a faster link never loses traffic to a slower parallel one; a crackdown
never raises crossings; a host condition met changes only what follows its date."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import pairwise
from typing import Any

import pandas as pd
import pytest

from corridor.routes.run import RoutesResult, demo_network, run_network
from corridor.routes.schema import Network

START = date(2024, 6, 1)


def make(places: list[tuple[str, str, str]], links: list[dict[str, Any]], **kw: Any) -> Network:
    rows = [
        {"place": n, "country": c, "lon": float(i), "lat": 45.0, "kind": k}
        for i, (n, c, k) in enumerate(places)
    ]
    return Network.model_validate({"places": rows, "links": links, **kw})


def crossings(r: RoutesResult, link: str) -> int:
    e = r.events
    return int(e.loc[(e["crossing"] == link) & (e["kind"] == "crossing"), "count"].sum())


def entries(r: RoutesResult, link: str) -> int:
    return int(r.link_flows.loc[r.link_flows["link"] == link, "people"].sum())


def two_coasts(p1: float, **first: Any) -> Network:
    """Two coasts, each with a crossing to D; the first's interception is ``p1``."""
    return make(
        [("O", "FR", "origin"), ("C1", "FR", "coast"), ("C2", "BE", "coast"),
         ("D", "UK", "destination")],
        [{"from": "O", "to": "C1", "km": 100}, {"from": "O", "to": "C2", "km": 130},
         {"from": "C1", "to": "D", "km": 50, "mode": "small_boat", "bidirectional": False},
         {"from": "C2", "to": "D", "km": 60, "mode": "small_boat", "bidirectional": False}],
        crossings=[
            {"link": "C1-D", "interception": p1, "pushback_share": 0.5, "price_eur": 1500,
             **first},
            {"link": "C2-D", "interception": 0.3, "pushback_share": 0.5, "price_eur": 1500},
        ],
        origins=[{"origin": "O", "destination": "D", "people_per_month": 1500,
                  "budget_eur_median": 3000, "budget_sigma": 0.3}],
    )  # fmt: skip


@pytest.mark.parametrize("seed", [1, 2])
def test_more_interception_never_raises_crossings_on_the_link(seed: int) -> None:
    runs = [run_network(two_coasts(p), 60, seed, START) for p in (0.0, 0.2, 0.4, 0.6, 0.8)]
    on_first = [crossings(r, "C1-D") for r in runs]
    on_second = [crossings(r, "C2-D") for r in runs]
    assert all(a >= b for a, b in pairwise(on_first)), on_first
    assert on_first[0] > 2 * on_first[-1]
    assert all(a <= b for a, b in pairwise(on_second)), on_second


def parallel(rail_kmday: float) -> Network:
    """O → X by road (150 km/day) or by a parallel railway, then X → D."""
    return make(
        [("O", "A", "origin"), ("X", "A", "transit"), ("D", "B", "destination")],
        [{"id": "road", "from": "O", "to": "X", "km": 150},
         {"id": "rail", "from": "O", "to": "X", "km": 150, "mode": "rail",
          "speed_kmday": rail_kmday},
         {"from": "X", "to": "D", "km": 200}],
        origins=[{"origin": "O", "destination": "D", "people_per_month": 3000}],
        choice={"logit_scale": 3.0},
    )  # fmt: skip


@pytest.mark.parametrize("seed", [3, 4])
def test_a_faster_link_never_loses_traffic_to_a_slower_parallel_one(seed: int) -> None:
    speeds = (75.0, 150.0, 300.0, 600.0, 1200.0)
    runs = [run_network(parallel(v), 30, seed, START) for v in speeds]
    rail = [entries(r, "rail") for r in runs]
    road = [entries(r, "road") for r in runs]
    assert all(a <= b for a, b in pairwise(rail)), rail
    assert all(a >= b for a, b in pairwise(road)), road
    for v, a, b in zip(speeds, rail, road, strict=True):
        if v > 150.0:
            assert a > b
    assert sum(rail) + sum(road) == 5 * 3000  # everyone takes one of the two


def test_a_smuggler_crackdown_never_raises_crossings() -> None:
    """From day 20: capacity down to 20 a day and the price up 50% on the first coast."""
    day = START + timedelta(days=20)
    crackdown = {"crossings.C1-D.capacity_per_day": 20.0, "crossings.C1-D.price_eur": 2250.0}
    base = two_coasts(0.3)
    hit = Network.model_validate(
        {**base.model_dump(by_alias=True), "policies": [{"date": day, "set": crackdown}]}
    )
    a, b = run_network(base, 60, 5, START), run_network(hit, 60, 5, START)
    assert crossings(b, "C1-D") < crossings(a, "C1-D")
    # before the crackdown the two worlds are the same
    early = pd.Timestamp(day)
    assert a.events[a.events["date"] < early].equals(b.events[b.events["date"] < early])
    per_day = b.events[(b.events["crossing"] == "C1-D") & (b.events["date"] >= early)]
    assert per_day.loc[per_day["kind"] == "attempt", "count"].max() <= 20


def test_montenegro_railway_condition_changes_the_routes_only_after_its_date() -> None:
    """The demo network in two variants: Montenegro's railway condition unmet or met (from
    2027-01-01). Before that date the runs are identical; after it, more people cross into
    Albania towards Montenegro and fewer into North Macedonia."""
    start = date(2026, 12, 1)
    off = run_network(demo_network(montenegro_rail=False), 90, 1, start)
    on = run_network(demo_network(montenegro_rail=True), 90, 1, start)
    cut = pd.Timestamp(2027, 1, 1)
    for name in ("link_flows", "events", "arrivals"):
        x, y = getattr(off, name), getattr(on, name)
        assert (
            x[x["date"] < cut]
            .reset_index(drop=True)
            .equals(y[y["date"] < cut].reset_index(drop=True))
        ), name
    assert entries(on, "me_rail_2") > 0
    assert entries(off, "me_rail_2") == 0
    assert crossings(on, "Thessaloniki-Tirana") > 1.5 * crossings(off, "Thessaloniki-Tirana")
    assert crossings(on, "Thessaloniki-Skopje") < crossings(off, "Thessaloniki-Skopje")
