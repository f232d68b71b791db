"""Benchmark: the route network resolved in expectation (what every forecast replicate does,
step 0) against the agent network run it stands for, on the flagship pack, in the same run.

::

    python benchmarks/network_expected.py               # 730 days of agents, 200 resolutions
    python benchmarks/network_expected.py --days 365 --repeats 3

Measured (fastest of ``--repeats``; Numba kernels are loaded by a warm-up first):

* ``agents_seconds``: the agent network (:func:`corridor.flagship.network_effects.
  rail_comparison` and :func:`~corridor.flagship.network_effects.reentry_effects`: Istanbul
  without and with the railway, and people leaving each of the six hubs) for ``--days`` days;
* ``expected_ms``: one replicate's resolution of the same eight cases
  (:meth:`corridor.forecast.network.CorridorChains.evaluate` under freshly drawn crossing
  probabilities, :func:`corridor.forecast.network.draw_risks`), the mean over ``--draws`` seeds;
* ``speedup`` = agents / expected: the target is at least 100 (the forecast resolves the network
  in every replicate because this is cheap);
* ``wb_detections_per_person`` of both, without the railway, to show they answer the same
  question (``tests/test_routes_expected.py`` checks the agreement within Monte Carlo error).

The last line printed is a JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import time


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--days", type=int, default=730)
    ap.add_argument("--draws", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args(argv)

    from corridor.flagship.network_effects import rail_comparison, reentry_effects
    from corridor.forecast.config import load_flagship
    from corridor.forecast.corridor_network import DEFAULT_PACK
    from corridor.forecast.network import corridor_chains, draw_risks
    from corridor.scenario.loader import resolve_scenario

    prior = load_flagship(resolve_scenario("uk-balkans")).network_risks
    if prior is None:
        raise SystemExit("uk-balkans draws no network risks")
    rail_comparison(DEFAULT_PACK, days=30, seed=0)  # warm-up: load the Numba kernels
    agents = float("inf")
    without = None
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        without, _with = rail_comparison(DEFAULT_PACK, days=args.days, seed=0)
        reentry_effects(DEFAULT_PACK, days=args.days, seed=0)
        agents = min(agents, time.perf_counter() - t0)
    t0 = time.perf_counter()
    chains = corridor_chains(DEFAULT_PACK)
    build = time.perf_counter() - t0
    expected = float("inf")
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        for seed in range(args.draws):
            risks, _drawn = draw_risks(chains, prior, seed)
            chains.evaluate(risks)
        expected = min(expected, (time.perf_counter() - t0) / args.draws)
    at_tables = chains.evaluate().without
    assert without is not None
    out = {
        "days": args.days,
        "agents_seconds": round(agents, 3),
        "chains_build_seconds": round(build, 3),
        "expected_ms": round(1000 * expected, 3),
        "speedup": round(agents / expected, 1),
        "speedup_target": 100,
        "wb_detections_per_person": {
            "agents": round(without.wb_detections_per_person, 4),
            "expected": round(at_tables.wb_detections_per_person, 4),
        },
    }
    print(f"agents   : {agents:8.3f} s for the eight cases ({args.days} days)")
    print(f"expected : {1000 * expected:8.3f} ms a replicate (build once: {build:.3f} s)")
    print(f"speedup  : {agents / expected:8.1f}x (target >= 100)")
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
