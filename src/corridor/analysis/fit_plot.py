"""Plots of calibration and sensitivity analysis: observed vs fitted series
(:func:`plot_fit`, from :func:`corridor.analysis.calibrate.calibrate`) and Sobol' indices
(:func:`plot_sobol`, from :func:`corridor.analysis.sensitivity.sensitivity`).

Matplotlib's object API without pyplot (no GUI backend, no global state); files are written
atomically (:func:`corridor.atomic.atomic_path`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from corridor.atomic import atomic_path

__all__ = ["plot_fit", "plot_sobol"]

_COLOURS = ("#1f6feb", "#d1242f", "#1a7f37", "#8250df")


def _figure(width: float, height: float) -> tuple[Any, Any]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot(1, 1, 1)


def _save(fig: Any, dest: str | Path) -> Path:
    dest = Path(dest)
    with atomic_path(dest, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    return dest


def plot_fit(
    observed: pd.DataFrame,
    simulated: pd.DataFrame,
    dest: str | Path,
    *,
    title: str = "",
    ylabel: str = "",
    fit_through: pd.Timestamp | None = None,
) -> Path:
    """Observed points and the fitted simulated series of one metric, as a PNG at ``dest``.

    ``observed``: columns ``date`` (period start), ``value``, ``fit`` (bool: used in the fit;
    held-out points are drawn hollow) and ``resolution``. ``simulated``: ``date``, ``value``,
    ``resolution`` (one line per resolution). ``fit_through`` draws a dashed line where the
    held-out period begins.
    """
    fig, ax = _figure(8.0, 4.5)
    dates = pd.concat([pd.to_datetime(observed["date"]), pd.to_datetime(simulated["date"])])
    origin = dates.min() if len(dates) else pd.Timestamp("1970-01-01")

    def days(values: pd.Series) -> np.ndarray[Any, np.dtype[np.float64]]:
        idx = pd.DatetimeIndex(pd.to_datetime(values))
        return np.asarray((idx - origin).days, dtype=np.float64)

    resolutions = sorted(set(observed["resolution"]) | set(simulated["resolution"]))
    for k, res in enumerate(resolutions):
        colour = _COLOURS[k % len(_COLOURS)]
        suffix = f" ({res})" if len(resolutions) > 1 else ""
        sim = simulated[simulated["resolution"] == res].sort_values("date")
        if len(sim):
            ax.plot(
                days(sim["date"]),
                sim["value"].to_numpy(float),
                color=colour,
                linewidth=1.6,
                label=f"fitted{suffix}",
            )
        obs = observed[observed["resolution"] == res]
        used = obs[obs["fit"].astype(bool)]
        held = obs[~obs["fit"].astype(bool)]
        if len(used):
            ax.scatter(
                days(used["date"]),
                used["value"].to_numpy(float),
                color=colour,
                s=18,
                zorder=3,
                label=f"observed{suffix}",
            )
        if len(held):
            ax.scatter(
                days(held["date"]),
                held["value"].to_numpy(float),
                facecolors="none",
                edgecolors=colour,
                s=18,
                zorder=3,
                label=f"observed, held out{suffix}",
            )
    if fit_through is not None:
        x = float((pd.Timestamp(fit_through) - origin).days)
        ax.axvline(x, color="#57606a", linestyle="--", linewidth=0.8)
    # A few date labels set by hand: matplotlib's automatic date locators are slow.
    all_x = days(dates.reset_index(drop=True)) if len(dates) else np.zeros(0)
    if all_x.size:
        ticks = np.unique(np.linspace(all_x.min(), all_x.max(), 5).round())
        ax.set_xticks(
            ticks, [(origin + pd.Timedelta(days=float(t))).strftime("%Y-%m-%d") for t in ticks]
        )
    ax.set_ylim(bottom=0)
    ax.tick_params(labelsize=8)
    ax.set_ylabel(ylabel, fontsize=9)
    ax.grid(alpha=0.3, linewidth=0.5)
    ax.legend(fontsize=8, loc="best")
    if title:
        ax.set_title(title, fontsize=11)
    fig.subplots_adjust(left=0.1, right=0.97, bottom=0.1, top=0.9 if title else 0.96)
    return _save(fig, dest)


def plot_sobol(table: pd.DataFrame, dest: str | Path, *, title: str = "") -> Path:
    """Bars of first-order (S1) and total (ST) Sobol' indices with their confidence intervals.

    ``table``: index = parameter, columns ``S1``, ``S1_conf``, ``ST``, ``ST_conf`` (the
    half-widths of the intervals), as :class:`~corridor.analysis.sensitivity.SobolResult` gives.
    """
    fig, ax = _figure(8.0, max(2.5, 0.9 + 0.45 * len(table)))
    y = np.arange(len(table), dtype=np.float64)
    h = 0.38
    ax.barh(
        y - h / 2,
        table["S1"].to_numpy(float),
        height=h,
        xerr=table["S1_conf"].to_numpy(float),
        color=_COLOURS[0],
        label="first order (S1)",
        error_kw={"elinewidth": 0.8, "capsize": 2},
    )
    ax.barh(
        y + h / 2,
        table["ST"].to_numpy(float),
        height=h,
        xerr=table["ST_conf"].to_numpy(float),
        color=_COLOURS[1],
        label="total (ST)",
        error_kw={"elinewidth": 0.8, "capsize": 2},
    )
    ax.set_yticks(y, [str(p) for p in table.index])
    ax.invert_yaxis()
    ax.axvline(0.0, color="#57606a", linewidth=0.6)
    ax.set_xlabel("Sobol' index (bars: 95% confidence interval)", fontsize=9)
    ax.tick_params(labelsize=8)
    ax.grid(axis="x", alpha=0.3, linewidth=0.5)
    ax.legend(fontsize=8, loc="lower right")
    if title:
        ax.set_title(title, fontsize=11)
    fig.subplots_adjust(left=0.3, right=0.97, bottom=0.15, top=0.88 if title else 0.96)
    return _save(fig, dest)
