"""Simulated against observed camp populations, one panel per camp."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from corridor.results.atomic import atomic_path


def plot_camps(camps: pd.DataFrame, dest: str | Path, title: str = "") -> None:
    """Write a PNG of ``camps`` (columns day, date, camp, simulated, observed) to ``dest``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(camps["camp"]))
    n = max(len(names), 1)
    cols = min(3, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 2.9 * rows), squeeze=False)
    dates = pd.to_datetime(camps["date"])
    for k, name in enumerate(names):
        ax = axes[k // cols][k % cols]
        sel = (camps["camp"] == name).to_numpy()
        ax.plot(dates[sel], camps.loc[sel, "simulated"], label="Corridor", color="#1f6feb")
        if camps.loc[sel, "observed"].notna().any():
            ax.plot(
                dates[sel],
                camps.loc[sel, "observed"],
                label="observed",
                color="#444444",
                linestyle="--",
            )
        ax.set_title(name, fontsize=10)
        ax.tick_params(axis="x", labelrotation=30, labelsize=7)
        ax.tick_params(axis="y", labelsize=7)
        ax.set_ylabel("people", fontsize=8)
    for k in range(n, rows * cols):
        axes[k // cols][k % cols].axis("off")
    axes[0][0].legend(fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    with atomic_path(dest, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
