"""Ensemble throughput: replicates per minute on 1 and 2 single-threaded local workers, and the
Dask path's overhead against local processes.

::

    python benchmarks/ensemble.py                         # ia-2023, 24 replicates, agents
    python benchmarks/ensemble.py --scenario uk-rwanda --n 6 --repeats 2

Every configuration runs the same ensemble (same seeds) into a fresh temporary store:

* ``serial``: ``workers=1``: this process, one replicate after another. This script sets
  ``NUMBA_NUM_THREADS=1`` before anything imports Numba, so it is one thread like a worker.
* ``local2``: ``workers=2``: two spawned single-threaded processes (the pool's start-up,
  imports included, is inside the timing).
* ``dask2``: a ``LocalCluster(n_workers=2, threads_per_worker=1, processes=True)`` started
  before the timings (its start-up is reported apart as ``dask_cluster_start_seconds``); its
  workers import Corridor on their first task, as the pool's do (on later repeats they have
  it imported already: a warm cluster, as in real use).

A warm-up run in this process first loads the Numba kernels (from the on-disk cache or by
compiling), so no configuration pays for compilation. The configurations take turns within
each repeat; each figure is the fastest of ``--repeats``. Figures:

* ``rate_1``, ``rate_2``, ``rate_dask``: replicates per minute (wall clock);
* ``scaling_efficiency`` = rate_2 / (2 x rate_1): 1.0 is perfect scaling;
* ``dask_overhead`` = wall_dask / wall_local2 - 1: the Dask path's extra time over local
  processes (negative: Dask was faster);
* ``steady_*``: the same from the first stored replicate to the last, which leaves out the
  start-up (a local pool is spawned, and imports Corridor, on every call; a Dask cluster
  stays up), with ``first_result_seconds`` the time to the first stored replicate.

On a machine shared with other work (or with fewer than 2 free cores) the efficiency is a lower
bound. The last line printed is a JSON object with every figure.
"""

from __future__ import annotations

import os

# Single-threaded before anything imports Numba (the workers set the same for themselves).
for _key in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_key] = "1"

import argparse  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from corridor.analysis.ensemble import run_ensemble, run_one  # noqa: E402
from corridor.results.store import Store  # noqa: E402
from corridor.scenario.loader import resolve_scenario  # noqa: E402


@dataclass
class Timing:
    """One ensemble: wall time, time to the first stored replicate, and the rate after it."""

    wall: float
    first: float
    steady_rate: float  # replicates a minute from the first stored replicate to the last


def timed(fn: Callable[[Path, Callable[[int, int], None]], int]) -> Timing:
    """Run ``fn(fresh store folder, progress)`` and time it."""
    marks: list[float] = []
    with tempfile.TemporaryDirectory(prefix="corridor-bench-") as tmp:
        t0 = time.perf_counter()

        def progress(done: int, total: int) -> None:
            if done:
                marks.append(time.perf_counter() - t0)

        fn(Path(tmp), progress)
        wall = time.perf_counter() - t0
    span = marks[-1] - marks[0] if len(marks) > 1 else 0.0
    steady = 60.0 * (len(marks) - 1) / span if span > 0 else float("nan")
    return Timing(wall, marks[0] if marks else wall, steady)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenario", default="ia-2023", help="scenario folder or shipped name")
    ap.add_argument("--n", type=int, default=24, help="replicates")
    ap.add_argument("--engine", default="agents", choices=("agents", "aggregate"))
    ap.add_argument("--repeats", type=int, default=2, help="fastest of this many")
    ap.add_argument("--no-dask", action="store_true", help="skip the Dask measurement")
    args = ap.parse_args()

    ref = str(resolve_scenario(args.scenario))
    t0 = time.perf_counter()
    run_one(ref, 0, {}, args.engine)  # warm-up: load or compile the kernels
    warm = time.perf_counter() - t0
    t0 = time.perf_counter()
    run_one(ref, 1, {}, args.engine)
    one_run = time.perf_counter() - t0
    print(f"{args.scenario}: warm-up {warm:.2f} s, one replicate {one_run:.2f} s", flush=True)

    Go = Callable[[Path, Callable[[int, int], None]], int]

    def ensemble(workers: int, scheduler: Any = None) -> Go:
        def go(folder: Path, progress: Callable[[int, int], None]) -> int:
            res = run_ensemble(
                ref,
                args.n,
                engine=args.engine,
                workers=workers,
                scheduler=scheduler,
                store=Store.open(folder),
                progress=progress,
            )
            return len(res.new_run_ids)

        return go

    configs: dict[str, Go] = {"serial": ensemble(1), "local2": ensemble(2)}
    out: dict[str, Any] = {
        "benchmark": "ensemble",
        "scenario": args.scenario,
        "engine": args.engine,
        "n": args.n,
        "repeats": args.repeats,
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "load_average_before": round(os.getloadavg()[0], 2),
        "one_replicate_seconds": round(one_run, 3),
    }
    with contextlib.ExitStack() as stack:
        if not args.no_dask:
            from distributed import Client, LocalCluster

            t0 = time.perf_counter()
            cluster = stack.enter_context(
                LocalCluster(
                    n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
                )
            )
            client = stack.enter_context(Client(cluster))
            out["dask_cluster_start_seconds"] = round(time.perf_counter() - t0, 3)
            configs["dask2"] = ensemble(1, client)
        # Configurations take turns, so that a change in the machine's load hits them alike.
        runs: dict[str, list[Timing]] = {label: [] for label in configs}
        for r in range(args.repeats):
            for label, fn in configs.items():
                t = timed(fn)
                runs[label].append(t)
                print(
                    f"  {label:7s} repeat {r + 1}: {args.n} replicates in {t.wall:6.2f} s "
                    f"(first after {t.first:5.2f} s, then {t.steady_rate:5.1f}/min)",
                    flush=True,
                )
    out["load_average_after"] = round(os.getloadavg()[0], 2)
    # every repeat, in order (dask2's first: its workers not yet warm)
    out["walls"] = {k: [round(t.wall, 3) for t in v] for k, v in runs.items()}
    out["first_result_seconds"] = {k: [round(t.first, 3) for t in v] for k, v in runs.items()}
    best = {label: min(t.wall for t in v) for label, v in runs.items()}
    steady = {label: max(t.steady_rate for t in v) for label, v in runs.items()}
    wall_1, wall_2 = best["serial"], best["local2"]
    out["wall_1"], out["wall_2"] = round(wall_1, 3), round(wall_2, 3)
    out["rate_1"] = round(60.0 * args.n / wall_1, 2)
    out["rate_2"] = round(60.0 * args.n / wall_2, 2)
    out["scaling_efficiency"] = round(wall_1 / (2.0 * wall_2), 3)  # rate_2 / (2 rate_1)
    # the same after the first stored replicate (start-up of the pool excluded)
    out["steady_rate_1"] = round(steady["serial"], 2)
    out["steady_rate_2"] = round(steady["local2"], 2)
    out["steady_scaling_efficiency"] = round(steady["local2"] / (2.0 * steady["serial"]), 3)
    if "dask2" in best:
        wall_d = best["dask2"]
        out["wall_dask"] = round(wall_d, 3)
        out["rate_dask"] = round(60.0 * args.n / wall_d, 2)
        out["steady_rate_dask"] = round(steady["dask2"], 2)
        out["dask_overhead"] = round(wall_d / wall_2 - 1.0, 3)
        out["steady_dask_overhead"] = round(steady["local2"] / steady["dask2"] - 1.0, 3)
    print(
        f"rate: 1 worker {out['rate_1']:.1f}/min, 2 workers {out['rate_2']:.1f}/min, "
        f"efficiency {out['scaling_efficiency']:.2f}"
        + (
            f"; dask {out['rate_dask']:.1f}/min (overhead {100 * out['dask_overhead']:+.0f}%)"
            if "rate_dask" in out
            else ""
        )
    )
    print(json.dumps(out))


if __name__ == "__main__":
    main()
