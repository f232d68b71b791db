"""A lock file per piece of work in the results store, so that a second writer waits for the
first instead of failing.

Contract: :func:`hold` ``(path)`` is a context manager that holds the lock at ``path`` for the
block. The file holds the holder's pid (for messages). On POSIX the lock is an ``flock`` on the
file: the kernel releases it when its holder ends, however it ends (``kill -9`` included), so a
lock is never stale. Elsewhere the file is created exclusively; a file whose pid no longer runs
is stale and taken over. A second holder waits (polling every ``poll`` seconds, saying once
whom it waits for through ``on_wait``) until the first releases the lock, or raises
:class:`~corridor.errors.CorridorError` after ``timeout`` seconds (None: no limit).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from corridor.errors import CorridorError

__all__ = ["LockTimeout", "hold", "holder", "pid_alive"]


class LockTimeout(CorridorError):
    """Another process held the lock for longer than the caller would wait."""


def holder(path: Path) -> int | None:
    """The pid written in the lock file at ``path`` (None: none, or unreadable)."""
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` runs (one of another user counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def hold(
    path: Path,
    *,
    timeout: float | None = None,
    poll: float = 0.5,
    on_wait: Callable[[int | None], None] | None = None,
) -> Iterator[None]:
    """Hold the lock at ``path`` for the block (see the module docstring)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        fcntl = None  # type: ignore[assignment]
    deadline = None if timeout is None else time.monotonic() + timeout
    told = False

    def wait(pid: int | None) -> None:
        nonlocal told
        if deadline is not None and time.monotonic() > deadline:
            raise LockTimeout(f"{path} stayed locked by process {pid} for {timeout:g} s")
        if not told and on_wait is not None:
            on_wait(pid)
        told = True
        time.sleep(poll)

    if fcntl is not None:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    wait(holder(path))
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            try:
                yield
            finally:
                os.ftruncate(fd, 0)
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
        return
    while True:  # pragma: no cover - not POSIX
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            pid = holder(path)
            if pid is not None and not pid_alive(pid):
                path.unlink(missing_ok=True)  # stale: its holder is gone
                continue
            wait(pid)
            continue
        os.write(fd, f"{os.getpid()}\n".encode())
        os.close(fd)
        break
    try:  # pragma: no cover - not POSIX
        yield
    finally:
        path.unlink(missing_ok=True)
