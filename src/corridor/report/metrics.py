"""The key series of the report (:data:`KEY_METRICS`) and the store's numbers behind them.

Contract: :class:`KeyMetric` names a metric of :mod:`corridor.analysis.summaries` with its
title and unit. :class:`SeriesData` reads each (metric, group) daily series from the results
store once (:func:`corridor.analysis.summaries.series`) and caches it for the whole report;
everything else is derived from that daily frame (resampled with
:func:`corridor.report.figures.resample`, or reduced to one value per run). It never writes.
Columns of every frame are the group's runs in the group's order, so they line up with
:attr:`~corridor.report.run_groups.RunGroup.keys`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from corridor.analysis.summaries import parse_metric, series
from corridor.report.figures import Resolution, resample

if TYPE_CHECKING:
    from corridor.report.run_groups import RunGroup
    from corridor.results.store import Store

__all__ = ["KEY_METRICS", "KeyMetric", "SeriesData"]


@dataclass(frozen=True)
class KeyMetric:
    """A series of the report: metric name (:mod:`corridor.analysis.summaries`) and title."""

    name: str
    title: str

    @property
    def money(self) -> bool:
        return self.name.startswith("cost_")

    @property
    def stock(self) -> bool:
        return self.name.startswith("n_")

    def unit(self, resolution: str) -> str:
        if self.money:
            return f"£ a {resolution} (nominal)"
        if self.stock:
            return f"people (end of {resolution})"
        return f"people a {resolution}"


KEY_METRICS: tuple[KeyMetric, ...] = (
    KeyMetric("new_arrivals", "Arrivals"),
    KeyMetric("n_awaiting_decision", "People awaiting an initial decision"),
    KeyMetric("new_decisions", "Initial decisions"),
    KeyMetric("new_removals", "Enforced removals"),
    KeyMetric("new_hub_transfers", "Transfers to third-country hubs"),
    KeyMetric("n_in_hub", "People in hubs"),
    KeyMetric("n_limbo", "People in limbo (refused, cannot be removed)"),
    KeyMetric("cost_total", "Cost, all items"),
)


class SeriesData:
    """Daily series of each (metric, group), read once from the store and resampled."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._daily: dict[tuple[str, str], pd.DataFrame] = {}

    def daily(self, metric: str, g: RunGroup) -> pd.DataFrame:
        key = (metric, g.label)
        if key not in self._daily:
            self._daily[key] = series(self.store, metric, list(g.run_ids), "day")
        return self._daily[key]

    def at(self, metric: str, g: RunGroup, resolution: Resolution) -> pd.DataFrame:
        return resample(self.daily(metric, g), metric, resolution)

    def scalar(self, metric: str, g: RunGroup) -> pd.Series:
        """One value per run, indexed by the group's keys: stocks at the end, flows and costs
        summed, rates averaged (as :func:`corridor.analysis.summaries.scalar_values`)."""
        wide = self.daily(metric, g)
        kind = parse_metric(metric).kind
        if kind == "stock":
            values = wide.iloc[-1]
        elif kind == "flow":
            values = wide.sum(axis=0)
        else:
            values = wide.mean(axis=0)
        return pd.Series(values.to_numpy(dtype=float), index=list(g.keys))

    def days(self, g: RunGroup) -> tuple[pd.Timestamp, pd.Timestamp]:
        index = self.daily(KEY_METRICS[0].name, g).index
        return pd.Timestamp(index.min()), pd.Timestamp(index.max())
