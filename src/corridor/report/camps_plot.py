"""Simulated against observed camp populations, one panel per camp."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from corridor.results.atomic import atomic_path


def plot_camps(camps: pd.DataFrame, dest: str | Path, title: str = "") -> None:
    """Write a PNG of ``camps`` (columns day, date, camp, simulated, observed) to ``dest``.

    Days are plotted as numbers with a few date labels set by hand: matplotlib's automatic date
    locators and ``tight_layout`` cost seconds, more than the simulation itself.
    """
    # The object API without pyplot: no GUI backend, and a faster import.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    names = list(dict.fromkeys(camps["camp"]))
    n = max(len(names), 1)
    cols = min(3, n)
    rows = math.ceil(n / cols)
    fig = Figure(figsize=(4.2 * cols, 2.6 * rows + 0.5))
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, cols, squeeze=False)
    days = camps["day"].to_numpy()
    dates = camps["date"].astype(str).to_numpy()
    first = days.min() if len(days) else 0
    last = days.max() if len(days) else 1
    ticks = np.unique(np.linspace(first, last, 4).round().astype(int))
    labels = {int(d): s for d, s in zip(days, dates, strict=True)}
    for k, name in enumerate(names):
        ax = axes[k // cols][k % cols]
        sel = (camps["camp"] == name).to_numpy()
        ax.plot(
            days[sel],
            camps.loc[sel, "simulated"].to_numpy(dtype=float),
            label="Corridor",
            color="#1f6feb",
        )
        obs = camps.loc[sel, "observed"].to_numpy(dtype=float, na_value=np.nan)
        if np.isfinite(obs).any():
            ax.plot(days[sel], obs, label="observed", color="#444444", linestyle="--")
        ax.set_title(name, fontsize=10)
        ax.set_xticks(ticks, [labels.get(int(t), str(t)) for t in ticks], fontsize=7)
        ax.tick_params(axis="y", labelsize=7)
        ax.set_ylabel("people", fontsize=8)
    for k in range(n, rows * cols):
        axes[k // cols][k % cols].axis("off")
    axes[0][0].legend(fontsize=7)
    if title:
        fig.suptitle(title)
    top = 1.0 - 0.55 / (2.6 * rows + 0.5) if title else 0.97
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.08, top=top, wspace=0.28, hspace=0.55)
    with atomic_path(dest, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=100, format="png")
