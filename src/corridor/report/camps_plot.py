"""Simulated against observed camp populations, one panel per camp."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd


def plot_camps(camps: pd.DataFrame, dest: str | Path, title: str = "") -> None:
    """Write a PNG of ``camps`` (columns day, date, camp, simulated, observed) to ``dest``.

    Days are plotted as numbers with a few date labels set by hand: matplotlib's automatic date
    locators and ``tight_layout`` cost seconds, more than the simulation itself.
    """
    import numpy as np

    # The object API without pyplot: no GUI backend, and a faster import.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from corridor.atomic import atomic_path

    names = list(dict.fromkeys(camps["camp"]))
    n = max(len(names), 1)
    cols = min(3, n)
    rows = math.ceil(n / cols)
    fig = Figure(figsize=(4.2 * cols, 2.6 * rows + 0.5))
    FigureCanvasAgg(fig)
    from matplotlib.ticker import MaxNLocator

    days = camps["day"].to_numpy()
    dates = camps["date"].astype(str).to_numpy()
    first = days.min() if len(days) else 0
    last = days.max() if len(days) else 1
    ticks = np.unique(np.linspace(first, last, 4).round().astype(int))
    labels = {int(d): s for d, s in zip(days, dates, strict=True)}
    for k, name in enumerate(names):
        ax = fig.add_subplot(rows, cols, k + 1)  # only the panels needed
        if k == 0:
            first_ax = ax
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
        ax.set_title(name, fontsize=10, y=1.01)  # a fixed y skips matplotlib's costly layout
        ax.set_xticks(ticks, [labels.get(int(t), str(t)) for t in ticks], fontsize=7)
        ax.yaxis.set_major_locator(MaxNLocator(4))
        ax.tick_params(axis="y", labelsize=7)
        ax.set_ylabel("people", fontsize=8)
    if names:
        first_ax.legend(fontsize=7)
    if title:
        fig.suptitle(title)
    top = 1.0 - 0.8 / (2.6 * rows + 0.5) if title else 0.96
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.08, top=top, wspace=0.28, hspace=0.55)
    with atomic_path(dest, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=100, format="png")


class PlotInBackground:
    """Draw the camp plot in a forked process, so that its imports and drawing overlap the
    simulation on a second core. Where ``fork`` is unavailable it draws in this process.

    >>> with PlotInBackground("out/camps.png", "title") as plot:  # doctest: +SKIP
    ...     camps = simulate()
    ...     plot.draw(camps)
    """

    def __init__(self, dest: str | Path, title: str = "") -> None:
        self.dest = Path(dest)
        self.title = title
        self._proc: Any = None
        self._conn: Any = None
        self._sent = False

    def __enter__(self) -> PlotInBackground:
        import multiprocessing as mp
        import threading

        if threading.active_count() > 1:  # forking a threaded process can deadlock the child
            return self
        try:
            ctx = mp.get_context("fork")
        except ValueError:
            return self
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(
            target=_plot_worker, args=(child, str(self.dest), self.title), daemon=True
        )
        self._proc.start()
        child.close()
        return self

    def draw(self, camps: pd.DataFrame, title: str | None = None) -> None:
        title = self.title if title is None else title
        if self._proc is None:
            plot_camps(camps, self.dest, title)
            return
        self.dest.parent.mkdir(parents=True, exist_ok=True)
        self._conn.send((camps, title))
        self._sent = True

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if self._proc is None:
            return
        if not self._sent:
            self._conn.send(None)
        self._conn.close()
        self._proc.join()
        if self._sent and exc_type is None and self._proc.exitcode != 0:
            from corridor.errors import CorridorError

            raise CorridorError(f"could not draw {self.dest} (plot process failed)")


def _plot_worker(conn: Any, dest: str, title: str) -> None:
    # Import the drawing stack while the parent simulates, then wait for the data.
    import pandas  # noqa: F401  (to unpickle the table)
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: F401
    from matplotlib.figure import Figure  # noqa: F401

    message = conn.recv()
    if message is not None:
        camps, title = message
        plot_camps(camps, dest, title)
