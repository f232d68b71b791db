"""The figures of the HTML report (:mod:`corridor.report.html`) and the numbers behind them.

Every figure is a matplotlib :class:`~matplotlib.figure.Figure` on an Agg canvas (no pyplot, no
GUI backend), turned into PNG bytes by :func:`png_bytes`; the report embeds the bytes and writes
the same bytes beside it.

* :func:`fan_figure`: quantile bands (p10-p90, p25-p75) and medians of one metric for one or
  more policies, with the observed record as black points when there is one.
* :func:`cost_figure`: stacked bars of cost by item and year (nominal pounds), one panel per
  policy.
* :func:`route_map_figure`: people a month on each link of a route network
  (:func:`corridor.routes.maps.flow_map`), when a run has link flows.

Numbers (read from a :class:`~corridor.results.store.Store` with DuckDB):
:func:`metric_series` (one column per run; month, quarter or year), :func:`fan_bands`,
:func:`pipeline_totals` (cumulative people for the Sankey, mean over runs) and
:func:`cost_by_item_year` (mean over runs).
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from corridor.analysis.summaries import bands, parse_metric, series

if TYPE_CHECKING:
    from corridor.results.store import Store

__all__ = [
    "BAND_QUANTILES",
    "COLOURS",
    "ObservedSeries",
    "Resolution",
    "cost_by_item_year",
    "cost_figure",
    "fan_bands",
    "fan_figure",
    "metric_series",
    "period_start",
    "pipeline_totals",
    "png_bytes",
    "resample",
    "route_map_figure",
]

Resolution = Literal["month", "quarter", "year"]
BAND_QUANTILES: tuple[float, ...] = (0.10, 0.25, 0.50, 0.75, 0.90)
COLOURS: tuple[str, ...] = ("#1f6feb", "#d1242f", "#1a7f37", "#8250df", "#bf8700", "#57606a")
_STYLES: tuple[str, ...] = ("-", "--", ":", "-.")
_FREQ = {"month": "MS", "quarter": "QS", "year": "YS"}
_ITEM_COLOURS = {
    "support_hotel": "#cf222e",
    "support_large_site": "#fa4549",
    "support_dispersal": "#ff8182",
    "support_subsistence": "#ffaba8",
    "detention": "#953800",
    "decisions": "#1f6feb",
    "appeals_tribunal": "#54aeff",
    "appeals_legal_aid": "#80ccff",
    "removals_enforced": "#6e7781",
    "removals_voluntary_assisted": "#8c959f",
    "removals_voluntary": "#afb8c1",
    "hub_transfers": "#8250df",
    "hub_nights": "#a475f9",
    "hub_per_person": "#c297ff",
    "hub_fixed": "#5a32a3",
    "hub_setup": "#d8b9ff",
    "limbo": "#bf8700",
    "france_payments": "#1a7f37",
}


@dataclass(frozen=True)
class ObservedSeries:
    """An observed record of one metric: values by period start, at ``resolution``."""

    metric: str
    values: pd.Series
    resolution: Resolution
    label: str
    sources: tuple[str, ...] = field(default_factory=tuple)


# ---------------------------------------------------------------------------------------------
# Numbers
# ---------------------------------------------------------------------------------------------
def period_start(dates: pd.DatetimeIndex | pd.Series, resolution: Resolution) -> pd.DatetimeIndex:
    """The first day of the month, quarter or year holding each date."""
    code = {"month": "M", "quarter": "Q", "year": "Y"}[resolution]
    return pd.DatetimeIndex(pd.PeriodIndex(pd.DatetimeIndex(dates), freq=code).start_time)


def resample(daily: pd.DataFrame, metric: str, resolution: Resolution) -> pd.DataFrame:
    """Daily values of ``metric`` (rows: dates) by period: stocks at the period's last day,
    flows and costs summed, rates averaged (as :func:`corridor.analysis.summaries.series`)."""
    kind = parse_metric(metric).kind
    resampler = daily.resample(_FREQ[resolution])
    if kind == "stock":
        return resampler.last()
    if kind == "flow":
        return resampler.sum()
    return resampler.mean()


def metric_series(
    store: Store, metric: str, run_ids: Sequence[str], resolution: Resolution
) -> pd.DataFrame:
    """``metric`` of each run by period (rows: period starts, columns: run ids); see
    :func:`resample`."""
    return resample(series(store, metric, list(run_ids), "day"), metric, resolution)


def fan_bands(wide: pd.DataFrame) -> pd.DataFrame:
    """p10, p25, p50, p75, p90, mean and n across the columns (replicates) of ``wide``."""
    return bands(wide, BAND_QUANTILES)


def _files(store: Store, table: str, run_ids: Sequence[str]) -> list[str]:
    return [str(store.table_path(r, table)) for r in run_ids]


def pipeline_totals(store: Store, run_ids: Sequence[str]) -> dict[str, float]:
    """Cumulative people through the pipeline, mean over runs: every ``new_<flow>`` summed over
    the period, every stock at the end as ``end_n_<stage>``, and ``initial`` (people awaiting a
    decision on day 0, from conservation: ``Σ n_end − Σ claims + Σ withdrawals``)."""
    import duckdb

    from corridor.asylum.result import FLOW_COLUMNS, STOCK_COLUMNS

    con = duckdb.connect()
    try:
        flows = con.execute(
            "SELECT run_id, "
            + ", ".join(f'sum("{c}") AS "{c}"' for c in FLOW_COLUMNS)
            + " FROM read_parquet(?, union_by_name = true) GROUP BY run_id",
            [_files(store, "flows", run_ids)],
        ).df()
        stocks = con.execute(
            "WITH s AS (SELECT * FROM read_parquet(?, union_by_name = true)), "
            "last AS (SELECT run_id, max(date) AS d FROM s GROUP BY run_id) "
            "SELECT s.run_id, "
            + ", ".join(f'sum(s."{c}") AS "end_{c}"' for c in STOCK_COLUMNS)
            + " FROM s JOIN last ON s.run_id = last.run_id AND s.date = last.d GROUP BY s.run_id",
            [_files(store, "stocks", run_ids)],
        ).df()
    finally:
        con.close()
    out: dict[str, float] = {}
    for frame in (flows, stocks):
        for col in frame.columns:
            if col != "run_id":
                out[str(col)] = float(frame[col].astype(float).mean()) if len(frame) else 0.0
    ends = sum(out.get(f"end_{c}", 0.0) for c in STOCK_COLUMNS)
    out["initial"] = max(ends - out.get("new_claims", 0.0) + out.get("new_withdrawals", 0.0), 0.0)
    return out


def cost_by_item_year(store: Store, run_ids: Sequence[str]) -> pd.DataFrame:
    """Nominal pounds by year (rows) and cost item (columns), mean over runs."""
    import duckdb

    con = duckdb.connect()
    try:
        long = con.execute(
            "SELECT run_id, year(date) AS year, item, sum(gbp) AS gbp "
            "FROM read_parquet(?, union_by_name = true) GROUP BY run_id, year, item",
            [_files(store, "costs", run_ids)],
        ).df()
    finally:
        con.close()
    if long.empty:
        return pd.DataFrame()
    table = long.pivot_table(index="year", columns="item", values="gbp", aggfunc="sum")
    table = table.fillna(0.0) / float(len(run_ids))
    table.index = table.index.astype(int)
    table.columns = [str(c) for c in table.columns]
    return table


# ---------------------------------------------------------------------------------------------
# Drawing
# ---------------------------------------------------------------------------------------------
def _figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def png_bytes(fig: Any, dpi: int = 100) -> bytes:
    """The figure as PNG bytes, reduced to a 256-colour palette (about a third of the size,
    no visible change for these charts; Pillow comes with matplotlib)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, facecolor="white", metadata={"Software": None})
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - matplotlib requires Pillow
        return buf.getvalue()
    buf.seek(0)
    with Image.open(buf) as im:
        quant = im.convert("RGB").quantize(
            colors=256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE
        )
    out = io.BytesIO()
    quant.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _money(x: float, _pos: Any = None) -> str:
    if abs(x) >= 1e9:
        return f"£{x / 1e9:,.1f}bn"
    if abs(x) >= 1e6:
        return f"£{x / 1e6:,.0f}m"
    if abs(x) >= 1e3:
        return f"£{x / 1e3:,.0f}k"
    return f"£{x:,.0f}"


def _people(x: float, _pos: Any = None) -> str:
    return f"{x:,.0f}"


def _mdates() -> Any:
    """``matplotlib.dates`` (its functions carry no annotations)."""
    from matplotlib import dates

    return dates


def _date_axis(ax: Any, lo: pd.Timestamp, hi: pd.Timestamp) -> None:
    mdates = _mdates()

    years = (hi - lo).days / 365.25
    if years > 3:
        ax.xaxis.set_major_locator(mdates.YearLocator(base=max(1, int(np.ceil(years / 10)))))
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
    else:
        ax.xaxis.set_major_locator(mdates.MonthLocator(bymonth=(1, 4, 7, 10)))
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%b %Y"))


def fan_figure(
    fans: Mapping[str, pd.DataFrame],
    *,
    title: str,
    ylabel: str,
    money: bool = False,
    observed: ObservedSeries | None = None,
) -> Any:
    """A fan chart: for each label, the p10-p90 and p25-p75 bands and the median of
    :func:`fan_bands` frames; the observed record (if given) as black points."""
    from matplotlib.patches import Patch
    from matplotlib.ticker import FuncFormatter

    mdates = _mdates()
    fig = _figure(7.0, 3.8)
    ax = fig.add_subplot(1, 1, 1)
    handles: list[Any] = []
    lo = min(pd.Timestamp(f.index.min()) for f in fans.values())
    hi = max(pd.Timestamp(f.index.max()) for f in fans.values())
    many = max(int(f["n"].iloc[0]) if len(f) else 0 for f in fans.values()) > 1
    for k, (label, frame) in enumerate(fans.items()):
        colour = COLOURS[k % len(COLOURS)]
        x = mdates.date2num(pd.DatetimeIndex(frame.index).to_pydatetime())
        if many:
            ax.fill_between(x, frame["p10"], frame["p90"], color=colour, alpha=0.14, lw=0)
            ax.fill_between(x, frame["p25"], frame["p75"], color=colour, alpha=0.30, lw=0)
        style = _STYLES[k % len(_STYLES)]  # overlapping medians stay visible
        (line,) = ax.plot(
            x, frame["p50"], color=colour, lw=1.6, ls=style, label=f"{label} (median)"
        )
        handles.append(line)
    if many:
        handles.append(Patch(color="#57606a", alpha=0.30, lw=0, label="p25-p75"))
        handles.append(Patch(color="#57606a", alpha=0.14, lw=0, label="p10-p90"))
    if observed is not None:
        obs = observed.values
        obs = obs[(obs.index >= lo) & (obs.index <= hi)]
        if len(obs):
            xo = mdates.date2num(pd.DatetimeIndex(obs.index).to_pydatetime())
            (pts,) = ax.plot(
                xo,
                obs.to_numpy(dtype=float),
                "o",
                color="black",
                ms=2.6,
                label=f"observed: {observed.label}",
            )
            handles.append(pts)
    _date_axis(ax, lo, hi)
    ax.yaxis.set_major_formatter(FuncFormatter(_money if money else _people))
    ax.set_ylim(bottom=0)
    ax.tick_params(labelsize=8)
    ax.set_ylabel(ylabel, fontsize=9)
    fig.suptitle(title, fontsize=11, x=0.01, y=0.985, ha="left")
    ax.grid(alpha=0.3, lw=0.5)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    chars = sum(len(str(h.get_label())) + 6 for h in handles)
    ncol = len(handles) if chars <= 110 else max(1, (len(handles) + 1) // 2)
    rows = int(np.ceil(len(handles) / ncol))
    ax.legend(
        handles=handles,
        fontsize=7,
        loc="lower left",
        bbox_to_anchor=(0.0, 1.0),
        frameon=False,
        ncol=ncol,
    )
    fig.subplots_adjust(left=0.11, right=0.98, bottom=0.09, top=0.84 - 0.045 * rows)
    return fig


def cost_figure(costs: Mapping[str, pd.DataFrame], *, title: str = "") -> Any:
    """Stacked bars of nominal pounds by year and item (frames of :func:`cost_by_item_year`),
    one panel per label, on a shared y axis."""
    from matplotlib.ticker import FuncFormatter

    labels = [k for k, v in costs.items() if not v.empty]
    items: list[str] = []
    for k in labels:
        items += [c for c in costs[k].columns if c not in items and costs[k][c].abs().sum() > 0]
    order = [i for i in _ITEM_COLOURS if i in items] + [i for i in items if i not in _ITEM_COLOURS]
    n = max(len(labels), 1)
    cols = min(n, 2)
    rows = int(np.ceil(n / cols))
    fig = _figure(5.2 * cols + 2.2, 3.2 * rows + 0.4)
    axes: list[Any] = []
    for i, label in enumerate(labels):
        ax = fig.add_subplot(rows, cols, i + 1, sharey=axes[0] if axes else None)
        axes.append(ax)
        frame = costs[label]
        years = frame.index.to_numpy()
        bottom = np.zeros(len(years))
        for j, item in enumerate(order):
            if item not in frame.columns:
                continue
            vals = frame[item].to_numpy(dtype=float)
            colour = _ITEM_COLOURS.get(item, COLOURS[j % len(COLOURS)])
            ax.bar(years, vals, bottom=bottom, color=colour, width=0.75, label=item, lw=0)
            bottom = bottom + vals
        ax.set_title(label, fontsize=9, loc="left")
        ax.yaxis.set_major_formatter(FuncFormatter(_money))
        ax.tick_params(labelsize=7)
        if len(years) > 8:
            ax.set_xticks(years[:: int(np.ceil(len(years) / 8))])
        else:
            ax.set_xticks(years)
        ax.grid(axis="y", alpha=0.3, lw=0.5)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    if not labels:
        ax = fig.add_subplot(1, 1, 1)
        ax.text(0.5, 0.5, "no costs recorded", ha="center", va="center")
        ax.set_axis_off()
    else:
        handles, names = axes[0].get_legend_handles_labels()
        seen = dict(zip(names, handles, strict=True))
        for ax in axes[1:]:
            h, nm = ax.get_legend_handles_labels()
            for a, b in zip(nm, h, strict=True):
                seen.setdefault(a, b)
        keys = [i for i in order if i in seen]
        fig.legend(
            [seen[k] for k in keys],
            [k.replace("_", " ") for k in keys],
            loc="center right",
            fontsize=7,
            frameon=False,
        )
    if title:
        fig.suptitle(title, fontsize=11, x=0.01, ha="left")
    right = 1.0 - 1.9 / (5.2 * cols + 2.2)
    fig.subplots_adjust(left=0.08, right=right, bottom=0.08, top=0.86, hspace=0.45, wspace=0.2)
    return fig


def route_map_figure(result: Any, *, title: str = "") -> Any:
    """People a month on each link (:func:`corridor.routes.maps.flow_map`) of a
    :class:`~corridor.routes.run.RoutesResult`."""
    from corridor.routes.maps import flow_map

    return flow_map(result, title=title)
