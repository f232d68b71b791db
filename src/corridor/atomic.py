"""Atomic file writes: a file is either absent, or complete.

Each writer writes to a temporary file in the destination's folder, flushes it to disk, gives it
the permissions a plain ``open`` would (``0o666`` less the process's umask: the temporary file
is private, ``-rw-------``, while it is written), then renames it over the destination
(``os.replace`` is atomic on POSIX and Windows).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any


@contextmanager
def atomic_path(dest: str | Path, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``dest``; on success it replaces ``dest``."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=suffix or ".tmp", dir=dest.parent)
    os.close(fd)
    path = Path(tmp)
    try:
        yield path
        with open(path, "rb") as fh:
            os.fsync(fh.fileno())
        path.chmod(0o666 & ~_umask())
        os.replace(path, dest)
    finally:
        if path.exists():
            path.unlink()


def _umask() -> int:
    """The process's umask (read from /proc where it can be, so it is never changed)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)  # elsewhere: read it by setting it, and put it back at once
    os.umask(mask)
    return mask


def write_text(dest: str | Path, text: str) -> None:
    with atomic_path(dest) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(dest: str | Path, obj: Any) -> None:
    write_text(dest, json.dumps(obj, indent=2, sort_keys=False, default=_default) + "\n")


def write_with(dest: str | Path, writer: Callable[[IO[Any]], None], binary: bool = False) -> None:
    with atomic_path(dest) as tmp, open(tmp, "wb" if binary else "w") as fh:
        writer(fh)


def _default(o: Any) -> Any:
    if hasattr(o, "item"):
        return o.item()
    if hasattr(o, "isoformat"):
        return o.isoformat()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")
