"""Benchmark: directed travel with crossings (routes) against Flee's plain movement kernel, on the
same graph, measured in the same run.

::

    python benchmarks/routes.py                        # 400,000 agents, 30 days
    python benchmarks/routes.py --agents 2000000 --days 60 --repeats 3

The graph is a corridor: ``--cols`` × ``--rows`` places on a grid, each linked to its east,
north and south neighbours (20-25% longer than straight, 150-400 km, seeded), so that crossing
the corridor takes most of the run at Flee's 360 km a day. Both models get the same places,
links and speed (every link is a road at 360 km a day for the routes model) and ``--agents``
people spawned on day 0 in the west column:

* Flee: the west column are conflict zones, the east column uncapped camps, the rest towns;
  people move by Flee's rules (:class:`~corridor.modules.flee.FleeMovement`).
* Routes: each west place sends its people to the east place of its row; the links that cross
  the middle column are border crossings (interception 0.3, half pushed back, price EUR 500,
  death risk 0.001, a capacity of 2% of the people a day); budgets are log-normal (median EUR
  3,000). People choose among the 3 cheapest routes (:class:`~corridor.routes.module.
  RoutesModule`).

Measured, both with the same code (each phase of each day timed; fastest of ``--repeats``,
the two models alternating):
``ns_per_agent_day`` = loop seconds / (agents × days); people who have arrived cost the routes
model almost nothing, so ``routes_ns_per_en_route_agent_day`` divides by the agent-days of people
still on their way (queues included) instead. The routes model also rebuilds its table
of routes when the network changes (here once, on day 0): a cost per network state, not per
agent-day, reported apart (``routes_table_seconds``) and left out of the per-agent-day figure;
the ratio with it included is printed too. Numba kernels are compiled or loaded by a warm-up
before anything is timed; both models run on ``--threads`` Numba threads (default 1: with one
thread both use their one-thread kernels, whatever the number of agents).
The target is a ratio of at most 1.3. The last line printed is a JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import numba as nb
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from corridor.engine.agents import AgentTable
from corridor.engine.loop import PHASES, Simulation
from corridor.modules.flee import FleeMovement, FleeWorld, build_world
from corridor.routes.module import RoutesModule
from corridor.routes.schema import Network
from corridor.scenario.flee_case import (
    ConflictTable,
    FleeCase,
    FleeLocation,
    FleeRoute,
    FleeSettings,
)

START = date(2024, 6, 1)  # June: 30 days, so people_per_month = 30 x the day-0 count
TARGET_RATIO = 1.3
SPEED = 360.0  # Flee's max_move_speed, km a day


def corridor(cols: int, rows: int, seed: int) -> tuple[list[str], list[tuple[int, int, float]]]:
    """Place names and links (a, b, km) of the grid (see the module docstring)."""
    rng = np.random.default_rng(seed)
    names = [f"P{c}_{r}" for c in range(cols) for r in range(rows)]

    def idx(c: int, r: int) -> int:
        return c * rows + r

    edges: list[tuple[int, int, float]] = []
    for c in range(cols):
        for r in range(rows):
            if c + 1 < cols:
                edges.append((idx(c, r), idx(c + 1, r), float(rng.uniform(150, 400))))
            if r + 1 < rows:
                edges.append((idx(c, r), idx(c, r + 1), float(rng.uniform(150, 400))))
    return names, edges


def flee_world(
    cols: int,
    rows: int,
    edges: list[tuple[int, int, float]],
    names: list[str],
    days: int,
    agents: int,
) -> FleeWorld:
    kinds = [
        "conflict_zone" if i < rows else "camp" if i >= (cols - 1) * rows else "town"
        for i in range(len(names))
    ]
    locations = tuple(
        FleeLocation(
            name=n,
            region="r",
            country="Arcadia",
            x=0.0,
            y=0.0,
            location_type=k,
            conflict_date=0 if k == "conflict_zone" else None,
            pop_cap=0 if k == "camp" else 10_000,
        )
        for n, k in zip(names, kinds, strict=True)
    )
    routes = tuple(FleeRoute(names[a], names[b], km) for a, b, km in edges)
    zones = tuple(n for n, k in zip(names, kinds, strict=True) if k == "conflict_zone")
    case = FleeCase(
        input_dir=Path("<synthetic>"),
        start_date=START,
        length=days,
        locations=locations,
        routes=routes,
        closures=(),
        conflicts=ConflictTable(zones, np.ones((days, len(zones)))),
        observed=None,
        settings=FleeSettings(max_move_speed=SPEED),
    )
    world = build_world(case)
    spawns = np.zeros(days, np.int64)
    spawns[0] = agents
    return replace(world, spawns=spawns)


def routes_network(
    cols: int, rows: int, edges: list[tuple[int, int, float]], names: list[str], agents: int
) -> Network:
    mid = cols // 2
    kinds = [
        "origin" if i < rows else "destination" if i >= (cols - 1) * rows else "transit"
        for i in range(len(names))
    ]
    places = [
        {
            "place": n,
            "country": "W" if i < mid * rows else "E",
            "lon": i // rows,
            "lat": i % rows,
            "kind": k,
        }
        for i, (n, k) in enumerate(zip(names, kinds, strict=True))
    ]
    links = [{"from": names[a], "to": names[b], "km": km} for a, b, km in edges]
    crossings = [
        {
            "link": f"{names[a]}-{names[b]}",
            "interception": 0.3,
            "pushback_share": 0.5,
            "price_eur": 500.0,
            "death_risk": 0.001,
            "capacity_per_day": max(1, agents // 50),
        }
        for a, b, _ in edges
        if a // rows == mid - 1 and b // rows == mid
    ]
    per_row = agents // rows
    origins = []
    for r in range(rows):
        row = {
            "origin": names[r],
            "destination": names[(cols - 1) * rows + r],
            "budget_eur_median": 3000.0,
            "budget_sigma": 0.5,
        }
        count = per_row + (1 if r < agents - per_row * rows else 0)
        origins += [
            {**row, "people_per_month": 30.0 * count},
            {**row, "people_per_month": 0.0, "from_date": date(2024, 6, 2)},
        ]
    return Network.model_validate({
        "places": places, "links": links, "crossings": crossings, "origins": origins,
        "speeds": {m: SPEED for m in ("foot", "road", "rail", "sea", "small_boat", "air")},
    })  # fmt: skip


def timed_run(module: Any, days: int, seed: int) -> tuple[dict[str, float], Simulation]:
    """Run like :meth:`Simulation.run`, timing each phase (the same code for both models)."""
    sim = Simulation([module], days=days, seed=seed, agents=AgentTable({}, capacity=1))
    sim.init()
    spent = {p: 0.0 for p in module.phases}
    for day in range(days):
        for phase in PHASES:
            if phase in module.phases:
                t = time.perf_counter()
                module.step(sim, day, phase)
                spent[phase] += time.perf_counter() - t
    return spent, sim


def best_of(makers: dict[str, Any], days: int, seed: int, repeats: int) -> dict[str, Any]:
    """Fastest of ``repeats`` runs of each model, alternating the models run by run (so that a
    change of the machine's load hits both alike)."""
    best: dict[str, Any] = {}
    for _ in range(repeats):
        for name, make in makers.items():
            module = make()
            spent, _sim = timed_run(module, days, seed)
            if name not in best or sum(spent.values()) < sum(best[name][0].values()):
                best[name] = (spent, module, _sim)
    return best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--agents", type=int, default=400_000)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--cols", type=int, default=24)
    ap.add_argument("--rows", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1, help="Numba threads (both models)")
    args = ap.parse_args(argv)
    if min(args.agents, args.days, args.repeats) < 1 or args.cols < 4 or args.rows < 1:
        ap.error("--agents, --days, --repeats must be positive; --cols at least 4")

    nb.set_num_threads(min(args.threads, nb.config.NUMBA_NUM_THREADS))
    names, edges = corridor(args.cols, args.rows, args.seed)
    world = flee_world(args.cols, args.rows, edges, names, args.days, args.agents)
    net = routes_network(args.cols, args.rows, edges, names, args.agents)

    # warm-up: compile or load every kernel on a small run of each model
    small_world = flee_world(args.cols, args.rows, edges, names, args.days, 2_000)
    timed_run(FleeMovement(small_world), args.days, args.seed)
    small_net = routes_network(args.cols, args.rows, edges, names, 2_000)
    timed_run(RoutesModule(small_net, START, args.days), args.days, args.seed)

    best = best_of(
        {
            "flee": lambda: FleeMovement(world),
            "routes": lambda: RoutesModule(net, START, args.days),
        },
        args.days,
        args.seed,
        args.repeats,
    )
    flee_t, _, flee_sim = best["flee"]
    routes_t, rmod, _ = best["routes"]
    agent_days = args.agents * args.days
    flee_loop = sum(flee_t.values())
    table = routes_t["policies"]  # the table of routes, rebuilt once (day 0)
    routes_loop = sum(routes_t.values())
    flee_ns = 1e9 * flee_loop / agent_days
    routes_ns = 1e9 * (routes_loop - table) / agent_days
    stocks = rmod.stocks
    # people still on their way (queues included) at the start of each day: day 0 all of them
    active = int(args.agents + stocks[:-1, 0].sum())
    on_links = float(np.mean(flee_sim.agents["link"] >= 0))
    ev = rmod.events.sum(axis=(0, 1))
    out = {
        "agents": args.agents,
        "days": args.days,
        "places": len(names),
        "links": len(edges),
        "crossings": len(net.crossings),
        "flee_ns_per_agent_day": round(flee_ns, 2),
        "routes_ns_per_agent_day": round(routes_ns, 2),
        "ratio": round(routes_ns / flee_ns, 3),
        "ratio_with_routes_table": round(1e9 * routes_loop / agent_days / flee_ns, 3),
        "routes_ns_per_en_route_agent_day": round(1e9 * (routes_loop - table) / active, 2),
        "routes_table_seconds": round(table, 4),
        "flee_phases_seconds": {k: round(v, 4) for k, v in flee_t.items()},
        "routes_phases_seconds": {k: round(v, 4) for k, v in routes_t.items()},
        "routes_en_route_share_by_day": [
            round(float(x), 3) for x in (stocks[:, 0] / args.agents)[:: max(1, args.days // 6)]
        ],
        "routes_arrived_end": int(stocks[-1, 2]),
        "routes_events": dict(
            zip(
                ("attempt", "interception", "pushback", "detention", "death", "crossing"),
                (int(x) for x in ev),
                strict=True,
            )
        ),
        "flee_share_on_links_end": round(on_links, 3),
        "numba_threads": nb.get_num_threads(),
        "cpu": platform.processor() or platform.machine(),
        "target_ratio": TARGET_RATIO,
    }
    print(f"Flee movement : {flee_ns:7.2f} ns per agent-day")
    print(f"Routes        : {routes_ns:7.2f} ns per agent-day  (+ {table:.3f} s routes table)")
    print(
        f"ratio routes/Flee = {routes_ns / flee_ns:.3f} (target <= {TARGET_RATIO}); "
        f"with the routes table: {out['ratio_with_routes_table']:.3f}"
    )
    en_route_ratio = out["routes_ns_per_en_route_agent_day"] / flee_ns
    out["ratio_en_route"] = round(en_route_ratio, 3)
    print(
        f"per agent-day of people still on their way: "
        f"{out['routes_ns_per_en_route_agent_day']:.2f} ns, ratio {en_route_ratio:.3f}"
    )
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
