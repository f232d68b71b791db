"""Derive uk-balkans' voluntary-departure rates by year, as observed (the ``returns.voluntary_rate``
policies of ``scenario.yaml``).

Reads the pack (its calibrated scenario, as the forecast runs it, through 31 Dec 2024) and
``observed/returns_annual.csv`` (Home Office Ret_05 asylum-related voluntary returns, 2018-2023;
2024 derived there). Starting from 0.10 a year, it runs the fitted history with one dated rate
per calendar year, and multiplies each year's rate by published / model voluntary returns, until
every year is within ``--tolerance`` (default 0.1%). Prints the policy lines to paste into
``scenario.yaml`` (it writes nothing: the scenario's comments say where the numbers come from).
Refit afterwards (``corridor refit uk-balkans``): the fitted state includes the refused people.

Run: ``python tools/voluntary_rates.py``.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import sys

import pandas as pd

from corridor.asylum.cohort.driver import run_aggregate
from corridor.asylum.overrides import without_policies
from corridor.forecast.replicate import prepare_forecast
from corridor.scenario.loader import resolve_scenario
from corridor.scenario.schema import Policy

PATH = "returns.voluntary_rate"
YEARS = tuple(range(2018, 2025))


def derive(pack: str = "uk-balkans", tolerance: float = 1e-3, rounds: int = 10) -> dict[int, float]:
    """The rate of each year of :data:`YEARS` that gives that year's published voluntary returns
    in the fitted history (the pack's own dated rates left out)."""
    folder = resolve_scenario(pack)
    base = prepare_forecast(folder).loaded
    published = pd.read_csv(folder / "observed" / "returns_annual.csv").set_index("year")
    target = published["voluntary_asylum"]
    sc0 = without_policies(base, PATH).scenario
    kept = list(sc0.policies)
    period = sc0.period.model_copy(update={"end": dt.date(YEARS[-1], 12, 31)})
    rates = dict.fromkeys(YEARS, 0.10)
    for _ in range(rounds):
        dated = [Policy(date=dt.date(y, 1, 1), set={PATH: rates[y]}) for y in YEARS]
        sc = sc0.model_copy(
            update={"policies": sorted([*kept, *dated], key=lambda p: p.date), "period": period}
        )
        flows = run_aggregate(dataclasses.replace(base, scenario=sc)).flows
        model = flows.groupby(pd.to_datetime(flows["date"]).dt.year)["new_voluntary_returns"].sum()
        ratios = {y: float(target[y]) / max(float(model[y]), 1.0) for y in YEARS}
        if all(abs(r - 1.0) <= tolerance for r in ratios.values()):
            break
        rates = {y: rates[y] * ratios[y] for y in YEARS}
    return rates


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pack", default="uk-balkans")
    parser.add_argument("--tolerance", type=float, default=1e-3)
    args = parser.parse_args(argv)
    for year, rate in derive(args.pack, args.tolerance).items():
        sys.stdout.write(f"  - {{date: {year}-01-01, set: {{{PATH}: {rate:.4g}}}}}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
