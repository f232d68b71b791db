"""Helpers shared by the ``corridor`` commands: the Rich consoles and :func:`progress_bar`.

Commands import these from here (never from :mod:`corridor.cli`), so the package has no import
circle. Only Rich's console is imported at import time; the progress bar loads when it shows.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console

__all__ = ["console", "err_console", "progress_bar"]

console = Console()
err_console = Console(stderr=True)


@contextmanager
def progress_bar(label: str, min_seconds: float = 1.0) -> Iterator[Callable[[int, int], None]]:
    """A progress callback that shows a Rich bar once a run has lasted ``min_seconds``."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    t0 = time.perf_counter()
    state: dict[str, Any] = {"bar": None, "task": None}

    def update(done: int, total: int) -> None:
        if state["bar"] is None:
            if time.perf_counter() - t0 < min_seconds or done >= total:
                return
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
        state["bar"].update(state["task"], completed=done)

    try:
        yield update
    finally:
        if state["bar"] is not None:
            state["bar"].stop()
