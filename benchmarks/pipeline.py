"""Pipeline benchmark: what the asylum pipeline adds to the engine's time per agent-day, and how
fast the aggregate engine runs a 10-year scenario.

::

    python benchmarks/pipeline.py                       # defaults: 1M cases, 10 years
    python benchmarks/pipeline.py --cases 200000 --repeats 1 --flee-days 10   # quicker

Measured in the same process, each the fastest of ``--repeats`` runs after a warm-up that loads
(or compiles) the Numba kernels:

* **engine**: the Flee movement module (:class:`~corridor.modules.flee.FleeMovement`, whose daily
  work is :func:`corridor.modules.flee_kernels.move_day`) moving ``--flee-agents`` agents for
  ``--flee-days`` days on a seeded synthetic graph (``--locations`` locations, mean degree 4,
  10% camps, 20% conflict zones; everyone spawned on day 0): the loop's seconds ÷ (agents ×
  days).
* **pipeline**: the agent engine of the asylum pipeline (:func:`corridor.asylum.run.run_agents`)
  on a synthetic 10-year scenario of about ``--cases`` cases (three nationalities, one removable
  from the start, one without a returns agreement, one removable from year 5; appeals,
  withdrawals, removals with detention, limbo, an inadmissibility policy and a hub from year 6):
  the loop's seconds ÷ agent-days, where agent-days = Σ over days of the cases that exist that
  day (arrived, including the initial backlog, whatever their state) — the engine's own unit:
  its kernel visits every agent every day. Also printed: per *active* case-day (cases not yet
  granted, departed, absconded or withdrawn), a stricter unit not used for the target.
* **ratios**: pipeline ÷ engine (the share the pipeline adds per agent-day) and (engine +
  pipeline) ÷ engine, against the target ≤ 1.3.
* **aggregate**: :func:`corridor.asylum.aggregate.run_aggregate` on the shipped ``uk-balkans``
  pack (2018-2030, 13 years): *cold* = the first call in a fresh Python process (imports done,
  Numba kernels loaded from their on-disk cache, which this script fills first; the call pays
  Numba's one-time start-up, also reported apart), *warm* = a later call in the same process;
  target < 1 s for both.

Numba uses all cores for the Flee kernel unless ``--threads`` says otherwise; the pipeline is
one thread. The last line printed is a JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numba as nb
import numpy as np
import pandas as pd

from corridor.asylum.agents import Options
from corridor.asylum.run import run_agents
from corridor.engine.agents import AgentTable
from corridor.engine.loop import Simulation
from corridor.modules.flee import FleeMovement, FleeWorld, build_world
from corridor.scenario.flee_case import (
    FleeSettings,
)
from corridor.scenario.loaded import TABLE_COLUMNS, LoadedScenario
from corridor.scenario.schema import Scenario
from scale import synthetic_case, with_day0_spawns  # the same world as benchmarks/scale.py

TARGET_RATIO = 1.3  # (engine + pipeline) / engine, per agent-day
TARGET_AGGREGATE_SECONDS = 1.0

_COLD_SNIPPET = """
import json, sys, time
import numpy as np
from corridor.asylum.aggregate import run_aggregate
from corridor.engine.rng import uniform
from corridor.scenario.loader import load_scenario
loaded = load_scenario("uk-balkans")
t = time.perf_counter()
if sys.argv[1] == "numba-started":  # Numba's one-time start-up, on a tiny cached kernel
    uniform(np.uint64(1), 0, 0, 0)
start = time.perf_counter() - t
t = time.perf_counter()
res = run_aggregate(loaded)
cold = time.perf_counter() - t
print(json.dumps({"seconds": cold, "numba_start": start, "parts": res.meta["seconds"]}))
"""


# ---------------------------------------------------------------------------------------------
# The engine: Flee movement on a synthetic graph


def flee_world(n_agents: int, n_loc: int, days: int, seed: int) -> FleeWorld:
    """The scale benchmark's synthetic world (mean degree 4) with ``n_agents`` spawned on day 0."""
    case = synthetic_case(n_loc, days, degree=4.0, seed=seed, settings=FleeSettings())
    return with_day0_spawns(build_world(case), n_agents)


def flee_seconds(world: FleeWorld, seed: int) -> float:
    """The movement loop's seconds for one run of ``world``."""
    sim = Simulation(
        [FleeMovement(world, use_numba=True)],
        days=world.days,
        seed=seed,
        agents=AgentTable({}, capacity=1),
    )
    sim.init()
    sim.run()
    return float(sim.loop_seconds)


# ---------------------------------------------------------------------------------------------
# The pipeline: a synthetic 10-year scenario


def pipeline_scenario(cases: float, years: int = 10) -> LoadedScenario:
    """About ``cases`` cases over ``years`` years with every mechanism of the pipeline; the
    capacities scale with the arrivals (utilisation of the caseworkers about 0.95)."""
    start = date(2020, 1, 1)
    end = date(start.year + years, 1, 1) - timedelta(days=1)
    nats = ("A", "B", "C")
    household = {"A": 1.3, "B": 1.5, "C": 1.2}
    share = {"A": 0.5, "B": 0.3, "C": 0.2}
    per_year = cases / years  # cases a year, all nationalities
    people_month = {n: per_year * share[n] * household[n] / 12.0 for n in nats}
    decisions_month = per_year / 12.0 * 0.93 / 0.95  # capacity for the claims, rho 0.95
    k = per_year / 100_000.0
    data: dict[str, Any] = {
        "name": "pipeline-benchmark",
        "period": {"start": start, "end": end},
        "seed": 0,
        "arrivals": {"table": "arrivals.csv", "claim_share": 0.93},
        "asylum": {
            "caseworkers": [
                {"date": start, "value": round(decisions_month / 8.0)},
                {"date": date(start.year + 3, 1, 1), "value": round(1.1 * decisions_month / 8.0)},
            ],
            "productivity": 8.0,
            "withdrawal_rate": 0.1,
            "initial_backlog": 0.5 * cases / years,
            "appeals": {"judges": round(400 * k), "hearings_per_judge_month": 10.0},
        },
        "returns": {
            "removal_capacity": 1_000.0 * k,
            "detention_places": 2_000.0 * k,
            "voluntary_rate": 0.2,
            "abscond_rate": 0.1,
        },
        "inadmissibility": [{"from_date": date(start.year + 4, 1, 1), "share": 0.2}],
        "hubs": [
            {
                "id": "hub_x",
                "host": "Hostland",
                "agreement": [{"date": date(start.year + 6, 1, 1), "status": "operating"}],
                "beds": 3_000.0 * k,
                "flights_per_week": 4.0,
                "seats_per_flight": 50.0 * k,
                "eligible_inadmissible": True,
            }
        ],
        "deterrence": {"enabled": True},
        "costs": {"table": None},
    }
    scenario = Scenario.model_validate(data)
    months = pd.date_range(pd.Timestamp(start), pd.Timestamp(end), freq="MS")
    arrivals = pd.DataFrame(
        [(m, n, people_month[n], "synthetic") for m in months for n in nats],
        columns=list(TABLE_COLUMNS["arrivals"]),
    )
    nat_table = pd.DataFrame(
        [(n, household[n], n != "B", "synthetic") for n in nats],
        columns=list(TABLE_COLUMNS["nationalities"]),
    )
    nat_table["returns_agreement_from"] = pd.to_datetime(
        pd.Series([None, None, f"{start.year + 5}-01-01"])
    )
    grants = pd.DataFrame(
        [
            (n, pd.Timestamp(start), g, "synthetic")
            for n, g in zip(nats, (0.3, 0.7, 0.5), strict=True)
        ],
        columns=list(TABLE_COLUMNS["grant_rates"]),
    )
    empty = {
        name: pd.DataFrame({c: [] for c in TABLE_COLUMNS[name]}) for name in ("hosts", "costs")
    }
    tables = {"arrivals": arrivals, "nationalities": nat_table, "grant_rates": grants, **empty}
    return LoadedScenario(scenario=scenario, tables=tables, folder=Path("."), content_hash="bench")


ACTIVE: tuple[str, ...] = (
    "n_awaiting_decision",
    "n_awaiting_appeal",
    "n_refused",
    "n_detained",
    "n_limbo",
    "n_in_hub",
    "n_inadmissible",
)


def pipeline_run(loaded: LoadedScenario) -> dict[str, float]:
    """One agent-engine run: loop seconds, agents, agent-days (and active case-days: cases not
    yet in a final state, from the daily stocks ÷ the mean household)."""
    res, state = run_agents(loaded, seed=0, options=Options())
    t_arrive = np.asarray(state.agents["t_arrive"], dtype=np.float64)
    days = int(res.meta["days"])
    first = np.clip(np.floor(t_arrive), 0, days).astype(np.int64)  # first day each case exists
    agent_days = float((days - first).sum())
    people = np.asarray(state.agents["people"], dtype=np.float64)
    active_people_days = float(res.stocks[list(ACTIVE)].to_numpy().sum())
    return {
        "seconds": float(res.meta["loop_seconds"]),
        "agents": float(state.agents.n),
        "agent_days": agent_days,
        "active_case_days": active_people_days / float(people.mean()),
        "days": float(days),
    }


# ---------------------------------------------------------------------------------------------
# The aggregate engine on uk-balkans


def aggregate_cold(repeats: int) -> dict[str, Any]:
    """The first ``run_aggregate`` call in a fresh process (kernels from the disk cache), fastest
    of ``repeats`` processes: ``seconds`` as is (Numba starts up inside the call), and
    ``after_numba_start`` with Numba already started (by a tiny kernel, ``numba_start`` s)."""

    def fresh(mode: str) -> dict[str, Any]:
        cmd = [sys.executable, "-c", _COLD_SNIPPET, mode]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True)
        result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
        return result

    fresh("cold")  # fills the kernels' cache if it is empty
    plain = min((fresh("cold") for _ in range(repeats)), key=lambda r: r["seconds"])
    started = min((fresh("numba-started") for _ in range(repeats)), key=lambda r: r["seconds"])
    return {
        "seconds": plain["seconds"],
        "parts": plain["parts"],
        "after_numba_start": started["seconds"],
        "numba_start": started["numba_start"],
    }


def aggregate_warm(repeats: int) -> tuple[float, int]:
    from corridor.asylum.aggregate import run_aggregate
    from corridor.scenario.loader import load_scenario

    loaded = load_scenario("uk-balkans")
    run_aggregate(loaded)
    best = float("inf")
    days = 0
    for _ in range(repeats):
        t = time.perf_counter()
        res = run_aggregate(loaded)
        best = min(best, time.perf_counter() - t)
        days = int(res.meta["days"])
    return best, days


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--cases", type=float, default=1_000_000, help="cases over the 10 years")
    ap.add_argument("--flee-agents", type=int, default=1_000_000)
    ap.add_argument("--flee-days", type=int, default=30)
    ap.add_argument("--locations", type=int, default=2_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=nb.get_num_threads())
    args = ap.parse_args(argv)
    nb.set_num_threads(args.threads)
    load_start = os.getloadavg()

    # warm-up: compile or load every kernel on small runs
    flee_seconds(flee_world(20_000, args.locations, 3, args.seed), args.seed)
    pipeline_run(pipeline_scenario(2_000.0))

    world = flee_world(args.flee_agents, args.locations, args.flee_days, args.seed)
    engine_s = min(flee_seconds(world, args.seed) for _ in range(args.repeats))
    engine_ns = 1e9 * engine_s / (args.flee_agents * args.flee_days)
    print(
        f"engine  : Flee movement, {args.flee_agents:,} agents x {args.flee_days} days: "
        f"{engine_s:.3f} s = {engine_ns:.2f} ns per agent-day",
        flush=True,
    )

    loaded = pipeline_scenario(args.cases)
    runs = [pipeline_run(loaded) for _ in range(args.repeats)]
    best = min(runs, key=lambda r: r["seconds"])
    pipe_ns = 1e9 * best["seconds"] / best["agent_days"]
    print(
        f"pipeline: asylum agent engine, {best['agents']:,.0f} cases x {best['days']:.0f} days "
        f"({best['agent_days']:.3g} agent-days): {best['seconds']:.3f} s = "
        f"{pipe_ns:.2f} ns per agent-day",
        flush=True,
    )
    active_ns = 1e9 * best["seconds"] / best["active_case_days"]
    print(
        f"          per active case-day (cases not yet in a final state, "
        f"{best['active_case_days']:.3g}): {active_ns:.2f} ns",
        flush=True,
    )
    ratio = pipe_ns / engine_ns
    total_ratio = (engine_ns + pipe_ns) / engine_ns
    print(
        f"ratio   : pipeline / engine = {ratio:.3f}; (engine + pipeline) / engine = "
        f"{total_ratio:.3f} (target <= {TARGET_RATIO}): "
        f"{'MET' if total_ratio <= TARGET_RATIO else 'MISSED'}",
        flush=True,
    )

    warm_s, agg_days = aggregate_warm(args.repeats)
    cold = aggregate_cold(args.repeats)
    met = max(cold["seconds"], warm_s) < TARGET_AGGREGATE_SECONDS
    print(
        f"aggregate: uk-balkans, {agg_days} days ({agg_days / 365:.1f} years): cold "
        f"{cold['seconds']:.3f} s (of which Numba's one-time start-up ~{cold['numba_start']:.3f}"
        f" s; {cold['after_numba_start']:.3f} s once Numba has started), warm {warm_s:.3f} s "
        f"(target < {TARGET_AGGREGATE_SECONDS} s): {'MET' if met else 'MISSED'}",
        flush=True,
    )

    out: dict[str, Any] = {
        "engine_agents": args.flee_agents,
        "engine_days": args.flee_days,
        "engine_seconds": round(engine_s, 4),
        "engine_ns_per_agent_day": round(engine_ns, 3),
        "pipeline_cases": int(best["agents"]),
        "pipeline_days": int(best["days"]),
        "pipeline_agent_days": best["agent_days"],
        "pipeline_seconds": round(best["seconds"], 4),
        "pipeline_seconds_all": [round(r["seconds"], 4) for r in runs],
        "pipeline_ns_per_agent_day": round(pipe_ns, 3),
        "pipeline_active_case_days": best["active_case_days"],
        "pipeline_ns_per_active_case_day": round(active_ns, 3),
        "ratio_pipeline_to_engine": round(ratio, 4),
        "ratio_total_to_engine": round(total_ratio, 4),
        "target_ratio_total": TARGET_RATIO,
        "meets_ratio_target": total_ratio <= TARGET_RATIO,
        "aggregate_days": agg_days,
        "aggregate_cold_seconds": round(cold["seconds"], 4),
        "aggregate_cold_parts": cold["parts"],
        "aggregate_cold_after_numba_start_seconds": round(cold["after_numba_start"], 4),
        "numba_start_seconds": round(cold["numba_start"], 4),
        "aggregate_warm_seconds": round(warm_s, 4),
        "target_aggregate_seconds": TARGET_AGGREGATE_SECONDS,
        "meets_aggregate_target": met,
        "repeats": args.repeats,
        "threads": nb.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "loadavg_start": load_start,
        "loadavg_end": os.getloadavg(),
        "numba": nb.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
