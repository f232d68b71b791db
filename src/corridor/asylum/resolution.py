"""A run's tables at the scenario's output resolution (``outputs.resolution``: day, month, year).

Reads: an engine's daily arrays (the aggregate engine: ``(days, columns, nationalities)``) or its
daily frames (the agent engine), and the run's dates. Produces: one row per period (and
nationality, or cost item), dated the period's first day: flows and costs summed over the
period, stocks as on the period's last simulated day, the per-day extras of ``events``
(``p_removal``, ``arrivals_factor``, queue lengths) averaged over the period.

Invariants: ``day`` returns the input unchanged; totals over the run are kept (flows, costs);
a stock at the end of the run is the same at every resolution.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd

__all__ = [
    "Resolution",
    "frames_at",
    "last_in_periods",
    "mean_periods",
    "period_starts",
    "sum_periods",
]

Resolution = Literal["day", "month", "year"]
_FREQ = {"month": "M", "year": "Y"}


def period_starts(
    dates: pd.DatetimeIndex, resolution: Resolution
) -> tuple[np.ndarray[Any, Any], pd.DatetimeIndex]:
    """Positions of the first day of each period among ``dates`` (daily, in order) and the
    periods' first days."""
    periods = dates.to_period(_FREQ[resolution])
    codes = periods.asi8
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    return starts, pd.DatetimeIndex(periods[starts].to_timestamp())


def sum_periods(arr: np.ndarray[Any, Any], starts: np.ndarray[Any, Any]) -> Any:
    """Sums over each period along the first axis."""
    return np.add.reduceat(arr, starts, axis=0)


def last_in_periods(arr: np.ndarray[Any, Any], starts: np.ndarray[Any, Any]) -> Any:
    """The value on each period's last day along the first axis."""
    ends = np.r_[starts[1:], arr.shape[0]] - 1
    return arr[ends]


def mean_periods(arr: np.ndarray[Any, Any], starts: np.ndarray[Any, Any]) -> Any:
    """Means over each period along the first axis."""
    counts = np.diff(np.r_[starts, arr.shape[0]]).reshape((-1,) + (1,) * (arr.ndim - 1))
    return sum_periods(arr, starts) / counts


def frames_at(
    resolution: Resolution,
    stocks: pd.DataFrame,
    flows: pd.DataFrame,
    costs: pd.DataFrame,
    events: pd.DataFrame | None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame | None]:
    """Daily long frames (the agent engine's) at ``resolution`` (see the module docstring)."""
    if resolution == "day":
        return stocks, flows, costs, events

    def period(frame: pd.DataFrame) -> pd.Series:
        days = pd.to_datetime(frame["date"])
        return pd.Series(days.dt.to_period(_FREQ[resolution]).dt.to_timestamp(), index=frame.index)

    def grouped(frame: pd.DataFrame, key: str, how: str) -> pd.DataFrame:
        data = frame.assign(date=period(frame))
        if how == "last":
            last_day = pd.to_datetime(frame["date"]).groupby(data["date"]).transform("max")
            data = data[pd.to_datetime(frame["date"]) == last_day]
        g = data.groupby(["date", key], sort=True)
        out: pd.DataFrame = (g.mean() if how == "mean" else g.sum()).reset_index()
        return out

    ev = None if events is None or events.empty else grouped(events, "nationality", "mean")
    return (
        grouped(stocks, "nationality", "last"),
        grouped(flows, "nationality", "sum"),
        grouped(costs, "item", "sum"),
        ev if ev is not None else events,
    )
