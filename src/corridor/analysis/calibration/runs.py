"""Running the model for calibration and sensitivity: one simulation call and a worker pool.

Reads: a scenario reference, a seed, overrides and an engine name, handed to
:func:`corridor.analysis.ensemble.run_one`; a run's Arrow tables (:mod:`corridor.results.tables`).

Produces: :func:`simulate_totals` / :func:`daily_totals`, a run's daily totals over
nationalities (or cost items) of the asked columns; :class:`WorkerPool`, which maps a function
over argument tuples in single-threaded spawned processes (or in this process).

Invariants: :func:`daily_totals` gives the same numbers as ``to_result(tables).totals("day")``
for the asked columns (a column the run lacks, e.g. a cost item never spent, is 0); results
come back in task order and do not depend on the number of workers; a dead worker process is a
:class:`~corridor.errors.CorridorError` (rerun to resume), any other failure is raised or, with
``return_exceptions=True``, returned in place of its result. Worker processes run one thread
each (set before anything imports Numba there) and stop when the ``with`` block ends.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from types import TracebackType
from typing import Any

import numpy as np
import pandas as pd

from corridor.errors import CorridorError, InputError

__all__ = ["WorkerPool", "daily_totals", "simulate_totals"]


def _single_threaded() -> None:
    """Worker initializer: one thread per process (before anything imports Numba there)."""
    from corridor.analysis.pool import SINGLE_THREAD_ENV

    os.environ.update(SINGLE_THREAD_ENV)


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


class WorkerPool:
    """``workers`` single-threaded spawned processes (``workers=1``: this process).

    :meth:`map` runs ``fn(*args)`` for each argument tuple and returns the results in order (an
    exception in place of a result with ``return_exceptions=True``). The processes start on the
    first map of more than one task (a lone task runs here) and stop when the ``with`` block
    ends. Results do not depend on the number of workers.
    """

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise InputError(f"workers must be at least 1 (is {workers})", field="workers")
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> WorkerPool:
        return self

    def _executor(self) -> ProcessPoolExecutor:
        """The processes, started on first need (a single task runs in this process)."""
        if self._pool is None:
            import multiprocessing

            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_single_threaded,
            )
        return self._pool

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=exc is None, cancel_futures=True)
            self._pool = None

    def map(
        self,
        fn: Callable[..., Any],
        args: Iterable[tuple[Any, ...]],
        return_exceptions: bool = False,
    ) -> list[Any]:
        items = list(args)
        if self.workers == 1 or (len(items) <= 1 and self._pool is None):
            out: list[Any] = []
            for a in items:
                try:
                    out.append(fn(*a))
                except Exception as exc:
                    if not return_exceptions:
                        raise
                    out.append(exc)
            return out
        pool = self._executor()
        futures: list[Future[Any]] = [pool.submit(fn, *a) for a in items]
        results: list[Any] = []
        for fut in futures:
            try:
                results.append(fut.result())
            except BrokenProcessPool as exc:
                raise CorridorError(
                    "a worker process died (out of memory?); run again to resume"
                ) from exc
            except Exception as exc:
                if not return_exceptions:
                    raise
                results.append(exc)
        return results
