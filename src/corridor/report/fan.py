"""Fan charts: quantile bands of an ensemble over time (from
:func:`corridor.analysis.summaries.quantile_bands`)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from corridor.analysis.summaries import quantile_label
from corridor.atomic import atomic_path

__all__ = ["plot_fan"]

# Bands drawn from the outside in: (lower, upper, opacity).
_BANDS: tuple[tuple[float, float, float], ...] = (
    (0.05, 0.95, 0.12),
    (0.10, 0.90, 0.20),
    (0.25, 0.75, 0.32),
)
_COLOURS = ("#1f6feb", "#d1242f", "#1a7f37", "#8250df", "#bf8700", "#57606a")


def plot_fan(
    bands: pd.DataFrame | Mapping[str, pd.DataFrame],
    dest: str | Path,
    *,
    title: str = "",
    ylabel: str = "",
) -> Path:
    """Write a PNG fan chart to ``dest`` and return its path.

    ``bands`` has a date index and columns ``p5 p10 p25 p50 p75 p90 p95`` (any missing band is
    skipped); a mapping of label → bands draws several (e.g. one per policy) on one chart.
    Written atomically (:func:`corridor.atomic.atomic_path`).
    """
    # The object API without pyplot: no GUI backend, no global state.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    series = {"": bands} if isinstance(bands, pd.DataFrame) else dict(bands)
    if not series:
        raise ValueError("nothing to plot")
    fig = Figure(figsize=(8.0, 4.5))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    index = pd.DatetimeIndex(next(iter(series.values())).index)
    origin = index.min() if len(index) else pd.Timestamp("1970-01-01")

    def days(ix: pd.Index) -> np.ndarray:
        return np.asarray((pd.DatetimeIndex(ix) - origin).days, dtype=np.float64)

    for k, (label, frame) in enumerate(series.items()):
        colour = _COLOURS[k % len(_COLOURS)]
        x = days(frame.index)
        for lo, hi, alpha in _BANDS:
            lo_col, hi_col = quantile_label(lo), quantile_label(hi)
            if lo_col in frame and hi_col in frame:
                ax.fill_between(
                    x,
                    frame[lo_col].to_numpy(dtype=float),
                    frame[hi_col].to_numpy(dtype=float),
                    color=colour,
                    alpha=alpha,
                    linewidth=0,
                )
        if "p50" in frame:
            name = f"{label} median" if label else "median"
            ax.plot(x, frame["p50"].to_numpy(dtype=float), color=colour, linewidth=1.6, label=name)
    # A few date labels set by hand: matplotlib's automatic date locators are slow.
    all_x = np.concatenate([days(f.index) for f in series.values()])
    if all_x.size:
        ticks = np.unique(np.linspace(all_x.min(), all_x.max(), 5).round())
        ax.set_xticks(
            ticks, [(origin + pd.Timedelta(days=float(t))).strftime("%Y-%m-%d") for t in ticks]
        )
    ax.tick_params(labelsize=8)
    ax.set_ylabel(ylabel, fontsize=9)
    ax.grid(alpha=0.3, linewidth=0.5)
    ax.legend(fontsize=8, loc="upper left", title="bands: 50/80/90%", title_fontsize=7)
    if title:
        ax.set_title(title, fontsize=11)
    fig.subplots_adjust(left=0.1, right=0.97, bottom=0.1, top=0.9 if title else 0.96)
    dest = Path(dest)
    with atomic_path(dest, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    return dest
