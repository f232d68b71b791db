"""Helpers shared by the ``corridor`` commands: the Rich consoles, :func:`progress_bar`,
:func:`start_up` (garbage collection while a command loads its libraries), :func:`quiet_optuna`
(calibrating commands show a bar, not Optuna's log lines) and :data:`MAX_SEED` (the largest
``--seed``: seeds are uint64, as in the scenario schema).

Commands import these from here (never from :mod:`corridor.cli`), so the package has no import
circle. Only Rich's console is imported at import time; the progress bar loads when it shows.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console

__all__ = ["MAX_SEED", "console", "err_console", "progress_bar", "quiet_optuna", "start_up"]

MAX_SEED = 2**64 - 1  # corridor.scenario.types.MAX_SEED (not imported: start-up stays light)

console = Console()
err_console = Console(stderr=True)


@contextmanager
def progress_bar(
    label: str, min_seconds: float = 1.0, every_seconds: float = 10.0
) -> Iterator[Callable[[int, int], None]]:
    """A progress callback ``update(done, total)`` for long runs.

    On a terminal: a Rich bar (on stderr) once a run has lasted ``min_seconds``. Otherwise (a
    log file, a pipe, CI, a notebook): one plain line on stderr at the first report, then every
    ``every_seconds`` and at the end, e.g. ``replicates: 160/320 (50%), 12 s``. Nothing shows
    before the total is known.
    """
    t0 = time.perf_counter()
    state: dict[str, Any] = {"bar": None, "task": None, "last": -float("inf"), "said": -1}

    def line(done: int, total: int) -> None:
        now = time.perf_counter()
        if done == state["said"]:
            return
        if done < total and now - state["last"] < every_seconds:
            return
        state["last"], state["said"] = now, done
        pct = 100.0 * done / total if total else 100.0
        err_console.print(
            f"{label}: {done}/{total} ({pct:.0f}%), {now - t0:.0f} s", highlight=False
        )

    def update(done: int, total: int) -> None:
        if total <= 0:
            return
        if not err_console.is_terminal:
            line(done, total)
            return
        if state["bar"] is None:
            if time.perf_counter() - t0 < min_seconds or done >= total:
                return
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

            bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.completed}/{task.total}"),
                TimeRemainingColumn(),
                console=err_console,
                transient=True,
            )
            bar.start()
            state["bar"], state["task"] = bar, bar.add_task(label, total=total)
        state["bar"].update(state["task"], completed=done, total=total)

    try:
        yield update
    finally:
        if state["bar"] is not None:
            state["bar"].stop()


@contextmanager
def start_up() -> Iterator[Callable[[], None]]:
    """For a command whose start-up (imports, Numba's registries) allocates far more long-lived
    objects than its work: ``with start_up() as started:``, load, ``started()``, work.

    Until ``started()`` automatic garbage collection is off: what is being loaded is never
    garbage, yet Python would walk it all in two or three full collections (0.1 s with Numba).
    ``started()`` freezes it (later collections skip it) and turns collection back on. On leaving
    the block collection is as it was before, and the heap is thawed unless something was frozen
    before: a caller in the same process (a test) gets its collector back as it was.
    """
    was_enabled = gc.isenabled()
    thaw = gc.get_freeze_count() == 0
    done = False
    gc.disable()

    def started() -> None:
        nonlocal done
        if not done:
            done = True
            gc.freeze()
            if was_enabled:
                gc.enable()

    try:
        yield started
    finally:
        started()
        if thaw:
            gc.unfreeze()


def quiet_optuna() -> None:
    """Optuna logs every study and trial at INFO; the calibrating commands (``calibrate``,
    ``backtest``, ``refit``) say what they do themselves."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
