"""Running the model for calibration and sensitivity: one simulation call and its totals.

Reads: a scenario reference, a seed, overrides and an engine name, handed to
:func:`corridor.analysis.ensemble.run_one`; a run's Arrow tables (:mod:`corridor.results.tables`).

Produces: :func:`simulate_totals` / :func:`daily_totals`, a run's daily totals over
nationalities (or cost items) of the asked columns. Callers map :func:`simulate_totals` on the
one pool, :class:`corridor.analysis.pool.Pool`.

Invariants: :func:`daily_totals` gives the same numbers as ``to_result(tables).totals("day")``
for the asked columns (a column the run lacks, e.g. a cost item never spent, is 0);
:func:`simulate_totals` is a pure function of its arguments, so its results do not depend on
where it runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from corridor.errors import InputError

__all__ = ["daily_totals", "simulate_totals"]


def simulate_totals(
    scenario_ref: str, seed: int, overrides: dict[str, Any], engine: str, columns: Sequence[str]
) -> pd.DataFrame:
    """Daily totals (all nationalities) of ``columns`` for one run, via
    :func:`corridor.analysis.ensemble.run_one` (a column the run lacks, e.g. a cost item never
    spent, is 0)."""
    from corridor.analysis.ensemble import run_one

    return daily_totals(run_one(scenario_ref, seed, overrides, engine), columns)


def daily_totals(tables: Mapping[str, Any], columns: Sequence[str]) -> pd.DataFrame:
    """Daily totals over nationalities (or cost items) of ``columns`` from a run's Arrow tables
    (:mod:`corridor.results.tables`): the same numbers as ``to_result(tables).totals("day")``,
    computed for the asked columns only. Index: every day of the run."""
    import pyarrow as pa
    import pyarrow.compute as pc

    stocks = tables["stocks"]
    days = pc.unique(stocks["date"]).sort()
    index = pd.DatetimeIndex(pd.to_datetime(days.to_numpy(zero_copy_only=False))).as_unit("ns")
    out = pd.DataFrame(index=index)

    def by_day(table: pa.Table, col: str) -> pd.Series:
        agg = table.select(["date", col]).group_by("date").aggregate([(col, "sum")])
        keys = pd.DatetimeIndex(pd.to_datetime(agg["date"].to_numpy(zero_copy_only=False)))
        values = agg[f"{col}_sum"].to_numpy(zero_copy_only=False).astype(np.float64)
        return pd.Series(values, index=keys.as_unit("ns")).reindex(index, fill_value=0.0)

    for col in columns:
        if col in stocks.column_names:
            out[col] = by_day(stocks, col)
        elif col in tables["flows"].column_names:
            out[col] = by_day(tables["flows"], col)
        elif col.startswith("cost_"):
            costs = tables["costs"]
            if col != "cost_total":
                costs = costs.filter(pc.equal(costs["item"], col.removeprefix("cost_")))
            out[col] = by_day(costs, "gbp")
        else:
            raise InputError(f"unknown metric {col!r}", field="metric")
    return out.astype(np.float64)
