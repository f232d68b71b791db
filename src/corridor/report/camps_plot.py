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

Y_BINS = 4  # at most this many intervals between y ticks: Y_BINS + 2 locations, one past each end


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
    """The camp figure in steps: :meth:`__init__` lays out the panels, dates and observed lines
    (all known before a run); :meth:`draw_background` renders what the simulated counts do not
    change (titles, frames, date axes); :meth:`finish` adds the simulated lines and writes the
    PNG. ``corridor flee`` does the first two while it simulates, so that only the last is left
    at the end.

    The y range follows the simulated counts, so the y axes, the lines and the legend (placed
    where the lines leave room) are drawn by :meth:`finish`, over the background and in the
    order of a full draw (simulated line, observed line, y axis, legend). The PNG is the one a
    full ``savefig`` gives (for ``corridor flee`` on Flee's Mali case, to the byte), but for a
    shade of antialiasing where strokes meet at a frame's corner.
    """

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
        fig = Figure(figsize=(4.2 * cols, 2.6 * rows + 0.5), dpi=100)
        self.canvas: Any = FigureCanvasAgg(fig)  # Agg's methods are partly untyped
        days = np.asarray(camps["day"])
        dates = np.asarray(camps["date"]).astype(str)
        observed = _floats(camps["observed"])
        first = days.min() if len(days) else 0
        last = days.max() if len(days) else 1
        ticks = np.unique(np.linspace(first, last, 4).round().astype(int))
        labels = {int(d): s for d, s in zip(days, dates, strict=True)}
        # (axes, row selection, simulated line, observed line or None)
        self.panels: list[tuple[Any, Any, Any, Any]] = []
        for k, name in enumerate(names):
            ax = fig.add_subplot(rows, cols, k + 1)  # only the panels needed
            sel = camp == name
            obs = observed[sel]
            # The simulated line, its counts set by finish; its days set the x range now.
            zeros = np.zeros(int(sel.sum()))
            (sim,) = ax.plot(days[sel], zeros, label="Corridor", color="#1f6feb", zorder=2)
            line = None
            if np.isfinite(obs).any():  # drawn over the simulated line, as it always was
                (line,) = ax.plot(
                    days[sel], obs, label="observed", color="#444444", linestyle="--", zorder=2.1
                )
            ax.set_title(name, fontsize=10, y=1.01)  # a fixed y skips matplotlib's costly layout
            ax.set_xticks(ticks, [labels.get(int(t), str(t)) for t in ticks], fontsize=7)
            ax.yaxis.set_major_locator(MaxNLocator(Y_BINS))
            ax.tick_params(axis="y", labelsize=7)
            ax.set_ylabel("people", fontsize=8)
            self.panels.append((ax, sel, sim, line))
        if title:
            fig.suptitle(title)
        top = 1.0 - 0.8 / (2.6 * rows + 0.5) if title else 0.96
        fig.subplots_adjust(left=0.07, right=0.98, bottom=0.08, top=top, wspace=0.28, hspace=0.55)
        self.fig = fig
        self._background = False

    def draw_background(self) -> None:
        """Render everything but the lines, the y axes and the legend into the canvas (the costly
        part: fonts, text layout, date axes)."""
        hidden = [a for ax, _, sim, obs in self.panels for a in (sim, obs, ax.yaxis) if a]
        for artist in hidden:
            artist.set_visible(False)
        self.canvas.draw()
        for artist in hidden:
            artist.set_visible(True)
        for ax, *_ in self.panels:  # make the y ticks now (a copy each), as many as finish needs
            ax.yaxis.get_major_ticks(Y_BINS + 2)
        self._background = True

    def finish(self, simulated: Any, dest: str | Path) -> None:
        """Add the simulated counts (one per row of the table given at start) and write."""
        import matplotlib.image

        from corridor.atomic import atomic_path

        if not self._background:
            self.draw_background()
        values = _floats(simulated)
        renderer = self.canvas.get_renderer()
        for k, (ax, sel, sim, obs) in enumerate(self.panels):
            sim.set_ydata(values[sel])
            ax.relim()
            ax.autoscale_view()
            for artist in (sim, obs, ax.yaxis):
                if artist is not None:
                    artist.draw(renderer)
            if k == 0:
                ax.legend(handles=[sim] if obs is None else [sim, obs], fontsize=7).draw(renderer)
        with atomic_path(dest, suffix=".png") as tmp:
            # What savefig(dpi=100, format="png") writes, from the canvas as drawn.
            matplotlib.image.imsave(
                tmp,
                self.canvas.buffer_rgba(),
                format="png",
                origin="upper",
                dpi=self.fig.dpi,
            )


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
            figure.draw_background()
        elif kind == "finish" and figure is not None:
            figure.finish(data, dest)
            return
        else:
            plot_camps(data, dest, title)
            return
