"""Section "Key series": a fan chart of each key metric, policies overlaid, observed points.

Contract: reads each group's series of :data:`~corridor.report.metrics.KEY_METRICS` through
:class:`~corridor.report.metrics.SeriesData` and the observed record
(:func:`corridor.report.observed.load_observed`). Produces one figure per metric (written as
``fan_<metric>.png`` and embedded): the median line and p25–p75 and p10–p90 bands across
replicates for each group. Flows are charted at the observed series' resolution (so points
and lines count the same periods), stocks monthly. A metric that is zero throughout in every
run with nothing observed gets a short note instead of a chart.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import pandas as pd

from corridor.report.figures import (
    ObservedSeries,
    Resolution,
    fan_bands,
    fan_figure,
    period_start,
)
from corridor.report.markup import esc, source_html
from corridor.report.metrics import KEY_METRICS, KeyMetric, SeriesData

if TYPE_CHECKING:
    from corridor.report.embed import Figures
    from corridor.report.run_groups import RunGroup

__all__ = ["series_section"]


def _chart_resolution(metric: KeyMetric, observed: ObservedSeries | None) -> Resolution:
    if observed is not None and not metric.stock:
        return observed.resolution
    return "month"


def _observed_on(obs: ObservedSeries, metric: KeyMetric, res: Resolution) -> ObservedSeries:
    """Observed values indexed by the chart's period starts."""
    index = period_start(pd.DatetimeIndex(obs.values.index), res)
    values = pd.Series(obs.values.to_numpy(dtype=float), index=index)
    values = values.groupby(level=0).last() if metric.stock else values.groupby(level=0).sum()
    return ObservedSeries(obs.metric, values, res, obs.label, obs.sources)


def series_section(
    groups: Sequence[RunGroup],
    data: SeriesData,
    observed: Mapping[str, ObservedSeries],
    notes: Sequence[str],
    figs: Figures,
) -> str:
    parts = [
        "<p>Lines are medians across replicates; the darker band holds the middle half of the "
        "replicates (p25–p75), the lighter band 80% of them (p10–p90). "
        + " ".join(esc(n) for n in notes)
        + "</p>"
    ]
    charts: list[str] = []
    for metric in KEY_METRICS:
        obs = observed.get(metric.name)
        res = _chart_resolution(metric, obs)
        fans: dict[str, pd.DataFrame] = {}
        for g in groups:
            fans[g.label] = fan_bands(data.at(metric.name, g, res))
        peak = max(float(f[["p90", "p50"]].to_numpy().max()) for f in fans.values())
        if peak <= 0 and obs is None:
            charts.append(
                f"<div class='empty'><h3>{esc(metric.title)}</h3><p class='muted'>Zero "
                "throughout in every run"
                + (" (no hub operates)." if "hub" in metric.name else ".")
                + "</p></div>"
            )
            continue
        chart_obs = _observed_on(obs, metric, res) if obs is not None else None
        fig = fan_figure(
            fans,
            title=metric.title,
            ylabel=metric.unit(res),
            money=metric.money,
            observed=chart_obs,
        )
        cap = f"{esc(metric.title)}, {esc(metric.unit(res))}."
        if obs is not None:
            cap += " Observed: " + esc(obs.label)
            if obs.sources:
                cap += " (" + "; ".join(source_html(s) for s in obs.sources) + ")"
            cap += "."
        charts.append(figs.add(fig, f"fan_{metric.name}", metric.title, cap))
    parts.append("<div class='grid'>" + "\n".join(charts) + "</div>")
    return "\n".join(parts)
