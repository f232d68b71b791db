"""The flagship main job's speed: ``corridor run uk-balkans`` (16 variants x 20 replicates,
2025-2030) against what it is made of, measured in the same run.

::

    python benchmarks/flagship.py                 # 20 replicates, 1 and 2 workers
    python benchmarks/flagship.py --replicates 5 --repeats 1

A warm-up first loads the Numba kernels (from the on-disk cache or by compiling), so no timing
pays for compilation (a first run on a fresh machine adds about 25 s of compiling). Figures,
each the fastest of ``--repeats``:

* ``bare_run_seconds``: one aggregate asylum-engine run of the pack's history and forecast
  (the baseline: what a replicate cannot be cheaper than);
* ``replicate_seconds``: one flagship replicate (flows, levers, the asylum run, the monthly
  metrics), and ``replicate_over_bare`` = replicate / bare run: the flagship's own overhead;
* ``job_seconds_1``, ``job_seconds_2``: the whole main job with 1 and 2 workers (every
  replicate stored in a fresh results store, summary and differences written; no report),
  ``scaling_efficiency`` = job_1 / (2 x job_2);
* ``job_over_target`` = job_seconds_2 / 25: the aim is 25 s on 2 cores, every replicate stored.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--replicates", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()

    from corridor.asylum.run import run_scenario
    from corridor.flagship.job import run_flagship
    from corridor.forecast.fitted import load_series_fits
    from corridor.forecast.model import build_context, run_replicate
    from corridor.results.store import Store
    from corridor.scenario.loader import resolve_scenario

    pack = resolve_scenario("uk-balkans")
    ctx = build_context(pack, fits=load_series_fits(pack, "2024-12-31"))
    variant = ctx.config.variant("hub_kosovo")
    run_replicate(ctx, variant, 0, 1)  # warm-up: kernels loaded or compiled

    def fastest(fn: Callable[[], Any], repeats: int) -> float:
        best = float("inf")
        for _ in range(repeats):
            t = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - t)
        return best

    bare = fastest(lambda: run_scenario(ctx.loaded, engine="aggregate"), 5 * args.repeats)
    rep = fastest(lambda: run_replicate(ctx, variant, 0, 7), 5 * args.repeats)
    jobs = {}
    for workers in (1, 2):

        def job(w: int = workers) -> None:
            # a fresh results store each time: the job resumes what a store already holds
            with tempfile.TemporaryDirectory() as d:
                run_flagship(
                    pack,
                    Path(d) / "out",
                    replicates=args.replicates,
                    workers=w,
                    report=False,
                    store=Store.open(Path(d) / "store"),
                )

        jobs[workers] = fastest(job, args.repeats)
    out = {
        "replicates_per_variant": args.replicates,
        "variants": len(ctx.config.variants),
        "bare_run_seconds": round(bare, 4),
        "replicate_seconds": round(rep, 4),
        "replicate_over_bare": round(rep / bare, 2),
        "job_seconds_1": round(jobs[1], 2),
        "job_seconds_2": round(jobs[2], 2),
        "scaling_efficiency": round(jobs[1] / (2 * jobs[2]), 2),
        "job_over_target": round(jobs[2] / 25.0, 2),
    }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
