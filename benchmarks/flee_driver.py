"""Run Flee 3.1 on one Flee case directory and time its simulation loop.

This is the Flee half of ``benchmarks/vs_flee.py``. It must run under an interpreter that has
``flee==3.1`` installed (``pip install -e .[bench]``, or a separate venv such as
``/tmp/fleevenv``), not necessarily the one that runs Corridor::

    /tmp/fleevenv/bin/python benchmarks/flee_driver.py \
        --input ../shared/flee-cases/mali/input \
        --observed ../shared/flee-cases/mali/observed \
        --settings ../shared/flee-cases/simsetting.yml \
        --out /tmp/flee-mali.csv

The flee 3.1 wheel ships no run script, so this follows the sequence of calls of the run script
that goes with that release (``runscripts/run.py``), using only the 3.1 API:

1. ``read_period.read_conflict_period`` on the period file (3.1 has no ``read_sim_period``; the
   file has the same ``StartDate,…`` / ``Length,…`` layout, so ``sim_period.csv`` is read with it);
2. ``SimulationSettings.ReadFromYML`` and ``ConflictInputFile = <input>/conflicts.csv``;
3. ``Ecosystem()`` and ``InputGeography`` reading conflicts (3.1 does not read them from
   ``ReadLocationsFromCSV``), locations, routes and closures, then
   ``StoreInputGeographyInEcosystem``;
4. ``RefugeeTable`` on the observed data plus ``ReadL1Corrections``;
5. ``spawning.add_initial_refugees`` for every camp;
6. each day: ``AddNewConflictZones``, ``spawn_daily_displaced``, ``refresh_spawn_weights``,
   ``enact_border_closures``, ``evolve``, then the per-camp error terms and one CSV row.

One deliberate difference, ``--spawn-from``: the 3.1 run script calls
``spawn_daily_displaced(e, t, d)``, whose 3.1 default ``SumFromCamps=False`` spawns the daily
change of the ``total`` series (refugees.csv), about 148k agents by day 300 on mali. Newer Flee
(and Corridor, which follows it) spawns the daily change of the summed camp series, about 90k
agents. The default here, ``camps``, passes ``SumFromCamps=True`` so that both engines move the
same number of agents; ``--spawn-from total`` reproduces the 3.1 run script exactly.

The CSV (Flee's output format) goes to ``--out`` (stdout when omitted, as the run script does);
Flee's diagnostics go to stderr. The last line on stdout is a JSON object::

    {"loop_seconds": ..., "setup_seconds": ..., "agents": ..., "days": ..., "flee_version": ...}

``loop_seconds`` is ``time.perf_counter`` around the daily loop (including the per-day output
rows, which the run script also computes inside its loop). The whole-process time is measured by
the caller.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import TextIO

_START = time.perf_counter()


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--input", required=True, type=Path, help="Flee input_csv directory")
    parser.add_argument("--observed", required=True, type=Path, help="validation data directory")
    parser.add_argument("--settings", required=True, type=Path, help="simsetting.yml")
    parser.add_argument(
        "--days", type=int, default=0, help="days to simulate (default: the period file's Length)"
    )
    parser.add_argument("--out", type=Path, default=None, help="output CSV (default: stdout)")
    parser.add_argument(
        "--seed", type=int, default=None, help="seed random and numpy (Flee itself never seeds)"
    )
    parser.add_argument(
        "--spawn-from",
        choices=("camps", "total"),
        default="camps",
        help="daily new agents from the sum of the camp series (default; same workload as "
        "newer Flee and Corridor, ~90k agents on mali) or from the 'total' series, which is "
        "what the 3.1 run script does by not passing SumFromCamps (~148k agents on mali)",
    )
    return parser.parse_args(argv)


def _period_file(input_dir: Path) -> Path:
    for name in ("sim_period.csv", "conflict_period.csv"):
        if (input_dir / name).is_file():
            return input_dir / name
    raise SystemExit(f"flee_driver: no sim_period.csv or conflict_period.csv in {input_dir}")


def run(args: argparse.Namespace, out: TextIO) -> dict[str, object]:
    """Set up and run one Flee 3.1 simulation; return the timing record."""
    import flee
    import numpy as np
    from flee import InputGeography, spawning
    from flee import flee as flee_kernel
    from flee.datamanager import handle_refugee_data, read_period
    from flee.postprocessing import analysis
    from flee.SimulationSettings import SimulationSettings

    if args.seed is not None:
        random.seed(args.seed)
        np.random.seed(args.seed)  # noqa: NPY002 - Flee draws from the legacy global RNG

    input_dir: Path = args.input
    start_date, end_time = read_period.read_conflict_period(str(_period_file(input_dir)))
    if args.days > 0:
        end_time = args.days

    SimulationSettings.ReadFromYML(str(args.settings))
    SimulationSettings.ConflictInputFile = str(input_dir / "conflicts.csv")

    eco = flee_kernel.Ecosystem()
    geo = InputGeography.InputGeography()
    geo.ReadConflictInputCSV(SimulationSettings.ConflictInputFile)
    geo.ReadLocationsFromCSV(str(input_dir / "locations.csv"))
    geo.ReadLinksFromCSV(str(input_dir / "routes.csv"))
    geo.ReadClosuresFromCSV(str(input_dir / "closures.csv"))
    eco, loc_map = geo.StoreInputGeographyInEcosystem(eco)

    if SimulationSettings.spawn_rules.get("read_from_agents_csv_file", False):
        geo.ReadAgentsFromCSV(eco, str(input_dir / "agents.csv"))

    table = handle_refugee_data.RefugeeTable(
        csvformat="generic",
        data_directory=str(args.observed),
        start_date=start_date,
        data_layout="data_layout.csv",
        population_scaledown_factor=SimulationSettings.optimisations["PopulationScaleDownFactor"],
    )
    table.ReadL1Corrections(str(input_dir / "registration_corrections.csv"))

    camp_names: list[str] = eco.get_camp_names()
    header = ["Day", "Date"]
    for name in camp_names:
        spawning.add_initial_refugees(eco, table, loc_map[name])
        header += [f"{name} sim", f"{name} data", f"{name} error"]
    header += [
        "Total error",
        "refugees in camps (UNHCR)",
        "total refugees (simulation)",
        "raw UNHCR refugee count",
        "refugees in camps (simulation)",
        "refugee_debt",
    ]
    idp_totals = SimulationSettings.log_levels.get("idp_totals", 0) > 0
    if idp_totals:
        header.append("total IDPs")
    out.write(",".join(header) + "\n")

    camps = [loc_map[name] for name in camp_names]
    sum_from_camps = args.spawn_from == "camps"
    day0 = date.fromisoformat(start_date)
    setup_seconds = time.perf_counter() - _START

    loop_start = time.perf_counter()
    for t in range(end_time):
        geo.AddNewConflictZones(eco, t)
        _new, refugees_raw, refugee_debt = spawning.spawn_daily_displaced(
            eco, t, table, SumFromCamps=sum_from_camps
        )
        spawning.refresh_spawn_weights(eco)
        eco.enact_border_closures(t)
        eco.evolve()

        observed = [table.get_field(name, t) for name in camp_names]
        simulated = [camp.numAgents for camp in camps]
        row: list[object] = [t, (day0 + timedelta(days=t)).isoformat()]
        abs_errors = []
        for sim, obs in zip(simulated, observed, strict=True):
            row += [sim, obs, analysis.rel_error(sim, obs)]
            abs_errors.append(analysis.abs_error(sim, obs))
        if refugees_raw > 0:
            row += [
                float(np.sum(abs_errors)) / float(refugees_raw),
                int(sum(observed)),
                eco.numAgents(),
                refugees_raw,
                sum(simulated),
                refugee_debt,
            ]
        else:
            row += [0.0, 0, eco.numAgents(), 0, sum(simulated), 0]
        if idp_totals:
            row.append(eco.numIDPs())
        out.write(",".join(str(v) for v in row) + "\n")
    loop_seconds = time.perf_counter() - loop_start

    return {
        "loop_seconds": loop_seconds,
        "setup_seconds": setup_seconds,
        "agents": eco.numAgents(),
        "days": end_time,
        "spawn_from": args.spawn_from,
        "camps": {name: camp.numAgents for name, camp in zip(camp_names, camps, strict=True)},
        "flee_version": getattr(flee, "__version__", "unknown"),
    }


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    if args.out is None:
        record = run(args, sys.stdout)
    else:
        with args.out.open("w", encoding="utf-8") as out:
            record = run(args, out)
    sys.stdout.write(json.dumps(record) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
