"""Simulated against observed camp populations, one panel per camp.

``camps`` is any table with the columns day, date, camp, simulated and observed: a pandas
DataFrame or a mapping of names to arrays (:attr:`corridor.flee_run.FleeRunResult.columns`).
Nothing here imports pandas, so the plot process of ``corridor flee`` starts with matplotlib
alone.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def _floats(column: Any) -> Any:
    """A column as float64, NaN where missing (a pandas nullable column or a NumPy array)."""
    import numpy as np

    if hasattr(column, "to_numpy"):
        return column.to_numpy(dtype=float, na_value=np.nan)
    return np.asarray(column, dtype=float)


def plot_camps(camps: Mapping[str, Any] | Any, dest: str | Path, title: str = "") -> None:
    """Write a PNG of ``camps`` (columns day, date, camp, simulated, observed) to ``dest``.

    Days are plotted as numbers with a few date labels set by hand: matplotlib's automatic date
    locators and ``tight_layout`` cost seconds, more than the simulation itself.
    """
    CampFigure(camps, title).finish(camps["simulated"], dest)


class CampFigure:
    """The camp figure in two steps: :meth:`__init__` lays out the panels, dates and observed
    lines (all known before a run), :meth:`finish` adds the simulated lines and writes the PNG.
    ``corridor flee`` lays the figure out while it simulates and finishes it at the end."""

    def __init__(self, camps: Mapping[str, Any] | Any, title: str = "") -> None:
        import numpy as np

        # The object API without pyplot: no GUI backend, and a faster import.
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator

        camp = np.asarray(camps["camp"], dtype=object)
        names = list(dict.fromkeys(camp.tolist()))
        n = max(len(names), 1)
        cols = min(3, n)
        rows = math.ceil(n / cols)
        fig = Figure(figsize=(4.2 * cols, 2.6 * rows + 0.5))
        FigureCanvasAgg(fig)
        days = np.asarray(camps["day"])
        dates = np.asarray(camps["date"]).astype(str)
        observed = _floats(camps["observed"])
        first = days.min() if len(days) else 0
        last = days.max() if len(days) else 1
        ticks = np.unique(np.linspace(first, last, 4).round().astype(int))
        labels = {int(d): s for d, s in zip(days, dates, strict=True)}
        self.panels: list[tuple[Any, Any, Any]] = []  # (axes, row selection, observed line)
        for k, name in enumerate(names):
            ax = fig.add_subplot(rows, cols, k + 1)  # only the panels needed
            sel = camp == name
            obs = observed[sel]
            line = None
            if np.isfinite(obs).any():  # drawn over the simulated line, as it always was
                (line,) = ax.plot(
                    days[sel], obs, label="observed", color="#444444", linestyle="--", zorder=2.1
                )
            ax.set_title(name, fontsize=10, y=1.01)  # a fixed y skips matplotlib's costly layout
            ax.set_xticks(ticks, [labels.get(int(t), str(t)) for t in ticks], fontsize=7)
            ax.yaxis.set_major_locator(MaxNLocator(4))
            ax.tick_params(axis="y", labelsize=7)
            ax.set_ylabel("people", fontsize=8)
            self.panels.append((ax, sel, line))
        if title:
            fig.suptitle(title)
        top = 1.0 - 0.8 / (2.6 * rows + 0.5) if title else 0.96
        fig.subplots_adjust(left=0.07, right=0.98, bottom=0.08, top=top, wspace=0.28, hspace=0.55)
        self.fig = fig
        self.days = days

    def finish(self, simulated: Any, dest: str | Path) -> None:
        """Add the simulated counts (one per row of the table given at start) and write."""
        from corridor.atomic import atomic_path

        values = _floats(simulated)
        for k, (ax, sel, obs_line) in enumerate(self.panels):
            (sim_line,) = ax.plot(
                self.days[sel], values[sel], label="Corridor", color="#1f6feb", zorder=2
            )
            if k == 0:
                handles = [sim_line] if obs_line is None else [sim_line, obs_line]
                ax.legend(handles=handles, fontsize=7)
        with atomic_path(dest, suffix=".png") as tmp:
            self.fig.savefig(tmp, dpi=100, format="png")


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
        self._started = False

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

    def start(self, camps: Mapping[str, Any] | Any, title: str | None = None) -> None:
        """Lay the figure out now (the table's ``simulated`` column is not read): the plot
        process does it while this one simulates. Then :meth:`draw` with the results."""
        self._started = True
        if self._proc is not None:
            self._conn.send(("start", camps, self.title if title is None else title))

    def draw(self, camps: Mapping[str, Any] | Any, title: str | None = None) -> None:
        title = self.title if title is None else title
        if self._proc is None:
            plot_camps(camps, self.dest, title)
            return
        self.dest.parent.mkdir(parents=True, exist_ok=True)
        if self._started:  # the layout is there already: only the simulated counts travel
            self._conn.send(("finish", camps["simulated"], title))
        else:
            self._conn.send(("plot", camps, title))
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
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: F401
    from matplotlib.figure import Figure  # noqa: F401

    figure: CampFigure | None = None
    while (message := conn.recv()) is not None:
        kind, data, title = message
        if kind == "start":
            figure = CampFigure(data, title)
        elif kind == "finish" and figure is not None:
            figure.finish(data, dest)
            return
        else:
            plot_camps(data, dest, title)
            return
