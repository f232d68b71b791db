"""Route choice: Yen's k cheapest routes against brute force, the generalised cost formula, and
route shares before and after a new railway against the multinomial logit's prediction."""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from corridor.routes.network import (
    PathTable,
    build_graph,
    k_shortest_paths,
    link_costs,
    route_table,
    state_on,
)
from corridor.routes.run import run_network
from corridor.routes.schema import Network

START = date(2024, 6, 1)


def make(places: list[tuple[str, str]], links: list[dict[str, Any]], **kw: Any) -> Network:
    rows = [
        {"place": n, "country": "X", "lon": float(i), "lat": 45.0, "kind": k}
        for i, (n, k) in enumerate(places)
    ]
    return Network.model_validate({"places": rows, "links": links, **kw})


def simple_paths(out: dict[int, list[tuple[int, int]]], s: int, t: int) -> list[tuple[int, ...]]:
    """Every loopless route s → t (as link sequences), by depth-first search."""
    found: list[tuple[int, ...]] = []

    def walk(u: int, seen: set[int], links: tuple[int, ...]) -> None:
        if u == t:
            found.append(links)
            return
        for lk, v in out.get(u, []):
            if v not in seen:
                walk(v, seen | {v}, (*links, lk))

    walk(s, {s}, ())
    return found


def test_yen_on_parallel_links() -> None:
    net = make(
        [("A", "origin"), ("B", "transit"), ("C", "destination")],
        [
            {"from": "A", "to": "B", "km": 100},
            {"id": "rail", "from": "A", "to": "B", "km": 100, "mode": "rail"},
            {"from": "B", "to": "C", "km": 100},
            {"from": "A", "to": "C", "km": 250},
        ],
        speeds={"road": 100.0, "rail": 200.0},
    )
    g = build_graph(net)
    cost = link_costs(g, state_on(net, g, START), net.choice)
    got = k_shortest_paths(g, cost, 0, 2, 5)
    names = [[g.link_key[j] for j in p] for _, p in got]
    assert names == [["rail", "B-C"], ["A-B", "B-C"], ["A-C"]]
    np.testing.assert_allclose([c for c, _ in got], [1.5, 2.0, 2.5])


def test_yen_equals_brute_force_on_random_networks() -> None:
    rng = np.random.default_rng(20240601)
    for _ in range(15):
        n = int(rng.integers(4, 8))
        links = []
        for a in range(n):
            for b in range(n):
                if a != b and rng.random() < 0.35:
                    links.append(
                        {
                            "id": f"l{len(links)}",
                            "from": f"P{a}",
                            "to": f"P{b}",
                            "km": float(rng.integers(10, 300)),
                            "bidirectional": False,
                        }
                    )
        if not links:
            continue
        net = make([(f"P{i}", "transit") for i in range(n)], links)
        g = build_graph(net)
        cost = link_costs(g, state_on(net, g, START), net.choice)
        out: dict[int, list[tuple[int, int]]] = {}
        for j in range(g.n_links):
            out.setdefault(int(g.src[j]), []).append((j, int(g.dst[j])))
        for s in range(n):
            for t in range(n):
                if s == t:
                    continue
                every = sorted(sum(float(cost[j]) for j in p) for p in simple_paths(out, s, t))
                got = [c for c, _ in k_shortest_paths(g, cost, s, t, 4)]
                np.testing.assert_allclose(got, every[:4], rtol=1e-12)


def test_generalised_cost_of_a_crossing() -> None:
    """Cost = w_t·days + w_t·p/(1-p) + w_p·price + w_r·(death + detention chance)."""
    net = make(
        [("O", "origin"), ("C", "coast"), ("D", "destination")],
        [
            {"from": "O", "to": "C", "km": 300},
            {"from": "C", "to": "D", "km": 60, "mode": "small_boat"},
        ],
        crossings=[
            {
                "link": "C-D",
                "interception": 0.4,
                "detain_share": 0.25,
                "price_eur": 2000,
                "death_risk": 0.01,
            }
        ],
        origins=[{"origin": "O", "destination": "D", "people_per_month": 1}],
        choice={"weight_time": 1.5, "weight_price": 0.001, "weight_risk": 50.0},
    )
    g = build_graph(net)
    st = state_on(net, g, START)
    table = PathTable()
    r = route_table(g, st, net.choice, table)
    p, d = 0.4, 0.25
    detained = p * d / (p * d + 1 - p)
    expected = (
        1.5 * (300 / 150 + 60 / 60) + 1.5 * p / (1 - p) + 0.001 * 2000 + 50.0 * (0.01 + detained)
    )
    g0 = 0 * g.n_dest  # routes from O (place 0) to the only destination
    assert r.ptr[g0 + 1] - r.ptr[g0] == 1
    assert math.isclose(r.cost[0], expected, rel_tol=1e-12)
    assert r.price[0] == 2000.0


def test_route_shares_follow_the_logit_before_and_after_a_new_railway() -> None:
    """O → A → D (2 days by road), O → B → D (2.5 days); from day 30 a railway O → B (0.375
    days instead of 1). Shares of first links among the people leaving O each period match
    exp(-θ c_i) / Σ exp(-θ c_j) within 4 binomial standard errors."""
    theta = 1.2
    net = make(
        [("O", "origin"), ("A", "transit"), ("B", "transit"), ("D", "destination")],
        [
            {"from": "O", "to": "A", "km": 150, "bidirectional": False},
            {"from": "A", "to": "D", "km": 150, "bidirectional": False},
            {"from": "O", "to": "B", "km": 150, "bidirectional": False},
            {
                "id": "rail",
                "from": "O",
                "to": "B",
                "km": 150,
                "mode": "rail",
                "bidirectional": False,
                "from_date": START + timedelta(days=30),
            },
            {"from": "B", "to": "D", "km": 225, "bidirectional": False},
        ],
        origins=[{"origin": "O", "destination": "D", "people_per_month": 3000}],
        speeds={"road": 150.0, "rail": 400.0},
        choice={"k": 3, "logit_scale": theta},
    )
    r = run_network(net, days=60, seed=9, start=START)
    f = r.link_flows[r.link_flows["from"] == "O"]
    day = (f["date"] - pd.Timestamp(START)).dt.days
    costs = {"O-A": 2.0, "O-B": 1.0 + 1.5, "rail": 150 / 400 + 1.5}
    # everyone leaves O on the day they appear: 3,000 in June, 3,000 x 30/31 in July
    periods = ((day < 30, ("O-A", "O-B"), 3000), (day >= 30, ("O-A", "O-B", "rail"), 2903))
    for period, links, people in periods:
        counts = f[period].groupby("link")["people"].sum()
        n = int(counts.sum())
        assert n == people
        assert set(counts.index) <= set(links)
        w = {lk: math.exp(-theta * costs[lk]) for lk in links}
        for lk in links:
            share = w[lk] / sum(w.values())
            se = math.sqrt(share * (1 - share) / n)
            assert abs(int(counts.get(lk, 0)) / n - share) < 4 * se, (lk, counts.to_dict())
    # the railway takes people from both roads: the share by A falls
    before = f[day < 30].groupby("link")["people"].sum()
    after = f[day >= 30].groupby("link")["people"].sum()
    assert after["O-A"] < before["O-A"]
    assert after["O-B"] < before["O-B"]
