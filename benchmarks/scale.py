"""Scale benchmark: Flee's movement rules for millions of agents on a large synthetic graph.

::

    python benchmarks/scale.py --agents 10000000 --days 365
    python benchmarks/scale.py --agents 100000 --days 30 --profile     # per-phase timings

The world is built in memory, seeded (``--seed``), with Flee's default settings
(:class:`~corridor.scenario.flee_case.FleeSettings`):

* ``--locations`` (2,000) locations in one country: 10% camps without a capacity limit
  (capacity 0), 20% conflict zones (conflict from day 0, population 1,000-100,000), the rest
  towns;
* a connected random graph of mean degree ``--degree`` (4): a random spanning tree plus random
  extra links, each 20-200 km long.

How the agents get in. Flee's spawn counts come from observed data (flee-model.md §1.5), which
this world does not have; so the benchmark builds the world with the public
:func:`~corridor.modules.flee.build_world` and then replaces its daily spawn counts with
``dataclasses.replace(world, spawns=...)``: N on day 0, none later. The
:class:`~corridor.modules.flee.FleeMovement` module then spawns them itself on day 0, exactly as
it spawns any day's people: one multinomial draw over the conflict zones with weights
population x intensity, inside the timed loop. No private state of the module is touched.

Measured:

* ``seconds``: the simulation loop only (:attr:`Simulation.loop_seconds`), fastest of
  ``--repeats``; ``agent_days_per_second`` = N x days / seconds.
* ``bytes_per_agent`` = (peak RSS at the end - RSS after imports, graph build and warm-up) / N.
  The RSS "before" is sampled before any agent column is allocated. It is the *current* RSS
  (``/proc/self/statm``), which makes the figure an upper bound; the same figure against
  ``ru_maxrss`` at that point is reported as ``bytes_per_agent_vs_peak_before``.
* ``copy_10m_seconds``: the fastest copy of a 10-million-element float64 array (80 MB), the
  machine's memory bandwidth baseline; measured last, so that it does not raise the peak RSS.

A warm-up (a small run of the same world, through both the one-thread and the parallel kernel)
loads or compiles the Numba kernels before anything is timed. Numba uses all cores unless
``--threads`` says otherwise. The last line printed is a JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
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
from corridor.modules import flee_kernels
from corridor.modules.flee import FleeMovement, FleeWorld, build_world
from corridor.scenario.flee_case import (
    ConflictTable,
    FleeCase,
    FleeLocation,
    FleeRoute,
    FleeSettings,
)

TARGET_SECONDS, AIM_SECONDS = 60.0, 30.0
TARGET_BYTES, AIM_BYTES = 64.0, 48.0
PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_now() -> int:
    """Current resident set size in bytes."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def rss_peak() -> int:
    """Peak resident set size in bytes (``ru_maxrss`` is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def synthetic_case(
    n_loc: int, days: int, degree: float, seed: int, settings: FleeSettings
) -> FleeCase:
    """A connected random world: 10% uncapped camps, 20% conflict zones, links 20-200 km."""
    rng = np.random.default_rng(seed)
    kinds = np.full(n_loc, "town", dtype=object)
    perm = rng.permutation(n_loc)
    n_camp, n_conf = n_loc // 10, n_loc // 5
    kinds[perm[:n_camp]] = "camp"
    kinds[perm[n_camp : n_camp + n_conf]] = "conflict_zone"
    pops = rng.integers(1_000, 100_000, size=n_loc)
    locations = tuple(
        FleeLocation(
            name=f"L{i}",
            region="r",
            country="Arcadia",
            x=0.0,
            y=0.0,
            location_type=str(kinds[i]),
            conflict_date=0 if kinds[i] == "conflict_zone" else None,
            pop_cap=0 if kinds[i] == "camp" else int(pops[i]),
        )
        for i in range(n_loc)
    )
    # Spanning tree (each new node joins a random earlier one), then random extra links.
    order = rng.permutation(n_loc)
    edges: set[tuple[int, int]] = set()
    for k in range(1, n_loc):
        a, b = int(order[k]), int(order[rng.integers(k)])
        edges.add((min(a, b), max(a, b)))
    want = round(n_loc * degree / 2)
    while len(edges) < want:
        a, b = (int(x) for x in rng.integers(n_loc, size=2))
        if a != b:
            edges.add((min(a, b), max(a, b)))
    pairs = sorted(edges)
    km = rng.uniform(20.0, 200.0, size=len(pairs))
    routes = tuple(
        FleeRoute(f"L{a}", f"L{b}", float(d)) for (a, b), d in zip(pairs, km, strict=True)
    )
    zones = tuple(loc.name for loc in locations if loc.location_type == "conflict_zone")
    conflicts = ConflictTable(zones, np.ones((max(days, 1), len(zones))))
    return FleeCase(
        input_dir=Path("<synthetic>"),
        start_date=date(2020, 1, 1),
        length=days,
        locations=locations,
        routes=routes,
        closures=(),
        conflicts=conflicts,
        observed=None,
        settings=settings,
    )


def with_day0_spawns(world: FleeWorld, n_agents: int) -> FleeWorld:
    """The same world with ``n_agents`` spawned on day 0 and nobody later."""
    spawns = np.zeros(world.days, np.int64)
    if world.days:
        spawns[0] = n_agents
    return replace(world, spawns=spawns)


def make_sim(world: FleeWorld, seed: int) -> tuple[Simulation, FleeMovement]:
    module = FleeMovement(world, use_numba=True)
    sim = Simulation([module], days=world.days, seed=seed, agents=AgentTable({}, capacity=1))
    return sim, module


def warm_up(world: FleeWorld, seed: int) -> float:
    """A small run through both kernels (one-thread and parallel); returns its seconds."""
    t0 = time.perf_counter()
    small = with_day0_spawns(replace(world, days=3), 20_000)
    saved = flee_kernels.PARALLEL_MIN_AGENTS
    try:
        for threshold in (saved, 0):  # 0: route this small run through the parallel kernel
            flee_kernels.PARALLEL_MIN_AGENTS = threshold
            sim, _ = make_sim(small, seed)
            sim.init()
            sim.run()
    finally:
        flee_kernels.PARALLEL_MIN_AGENTS = saved
    return time.perf_counter() - t0


def profile_run(sim: Simulation, module: FleeMovement) -> dict[str, float]:
    """Run like :meth:`Simulation.run`, timing each phase, and the weights part of ``move``."""
    spent = {p: 0.0 for p in module.phases}
    weights = 0.0
    move_by_day = np.zeros(sim.days)
    for day in range(sim.days):
        for phase in PHASES:
            if phase not in module.phases:
                continue
            if phase == "move":
                t = time.perf_counter()
                module.location_weights(day)  # the part of move before the kernel (timed apart)
                weights += time.perf_counter() - t
            t = time.perf_counter()
            module.step(sim, day, phase)
            dt = time.perf_counter() - t
            spent[phase] += dt
            if phase == "move":
                move_by_day[day] = dt
    out = {f"phase_{p}_seconds": round(s, 4) for p, s in spent.items()}
    out["move_weights_seconds_extra_call"] = round(weights, 4)
    out["move_first_10_days_seconds"] = round(float(move_by_day[:10].sum()), 4)
    out["move_median_day_seconds"] = round(float(np.median(move_by_day)), 5)
    return out


def copy_baseline(repeats: int = 5) -> float:
    """Fastest copy of a 10-million-element float64 array."""
    a = np.ones(10_000_000)
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        b = a.copy()
        best = min(best, time.perf_counter() - t)
        del b
    return best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--agents", type=int, default=10_000_000)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--locations", type=int, default=2_000)
    ap.add_argument("--degree", type=float, default=4.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--threads", type=int, default=nb.config.NUMBA_NUM_THREADS)
    ap.add_argument("--profile", action="store_true", help="time each phase (one extra run)")
    args = ap.parse_args(argv)
    if args.agents < 1 or args.days < 1 or args.repeats < 1:
        ap.error("--agents, --days and --repeats must be positive")
    nb.set_num_threads(args.threads)
    load_start = os.getloadavg()

    t0 = time.perf_counter()
    case = synthetic_case(args.locations, args.days, args.degree, args.seed, FleeSettings())
    world = with_day0_spawns(build_world(case), args.agents)
    build_seconds = time.perf_counter() - t0
    warmup_seconds = warm_up(world, args.seed)

    # RSS after imports, graph build and warm-up; no agent column exists yet.
    before_now, before_peak = rss_now(), rss_peak()

    loops: list[float] = []
    peak = 0
    state: dict[str, Any] = {}
    for r in range(args.repeats):
        sim, module = make_sim(world, args.seed)
        sim.init()
        sim.run()
        loops.append(sim.loop_seconds)
        peak = rss_peak()  # before anything else is allocated
        if r == args.repeats - 1:  # a summary of the final state (allocates: after the peak)
            loc, link = sim.agents["loc"], sim.agents["link"]
            state = {
                "agents_created": int(sim.agents.n),
                "agent_table_bytes": int(sim.agents.nbytes()),
                "share_in_camps": float(np.mean(module.camp[loc] & (link < 0))),
                "share_on_links": float(np.mean(link >= 0)),
            }
        del sim, module

    prof: dict[str, float] = {}
    if args.profile:
        sim, module = make_sim(world, args.seed)
        sim.init()
        prof = profile_run(sim, module)
        del sim, module

    copy_s = copy_baseline()
    seconds = min(loops)
    n, d = args.agents, args.days
    bpa = (peak - before_now) / n
    out: dict[str, Any] = {
        "agents": n,
        "days": d,
        "locations": args.locations,
        "links_directed": len(world.link_src),
        "seconds": round(seconds, 4),
        "seconds_all": [round(s, 4) for s in loops],
        "agent_days_per_second": n * d / seconds,
        "ns_per_agent_day": 1e9 * seconds / (n * d),
        "bytes_per_agent": round(bpa, 2),
        "bytes_per_agent_vs_peak_before": round((peak - before_peak) / n, 2),
        "peak_rss_bytes": peak,
        "rss_before_agents_bytes": before_now,
        "peak_rss_before_agents_bytes": before_peak,
        "build_seconds": round(build_seconds, 3),
        "warmup_seconds": round(warmup_seconds, 3),
        "copy_10m_seconds": round(copy_s, 5),
        "copy_10m_gb_per_s": round(2 * 8e7 / copy_s / 1e9, 2),  # read + write
        "threads": nb.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "loadavg_start": load_start,
        "loadavg_end": os.getloadavg(),
        "numba": nb.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "meets_targets": seconds <= TARGET_SECONDS and bpa <= TARGET_BYTES,
        "meets_aims": seconds <= AIM_SECONDS and bpa <= AIM_BYTES,
        **state,
        **prof,
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
