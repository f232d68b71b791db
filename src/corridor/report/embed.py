"""The report's files: PNG figures written beside the page and embedded in it, and the page.

Contract: every file is written atomically (:func:`corridor.atomic.atomic_path`) with
the usual permissions for the umask. :class:`Figures` writes each figure once to
``<stem>_figures/<name>.png`` (:func:`figures_dir`) and returns a ``<figure>`` whose image is the
same PNG as a ``data:`` URI, so the page needs nothing beside it. Only the figure names this
package gives (``fan_*``, ``pipeline_*``, ``routes_*``, ``costs``) are ever removed.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

from corridor.atomic import atomic_path
from corridor.report.figures import png_bytes
from corridor.report.markup import esc

__all__ = ["Figures", "figures_dir", "slug", "write_readable"]


def write_readable(dest: Path, data: bytes | str, suffix: str) -> None:
    """Write ``data`` (text as UTF-8) to ``dest`` atomically, readable as the umask allows;
    ``suffix`` is the temporary file's."""
    with atomic_path(dest, suffix=suffix) as tmp:
        if isinstance(data, str):
            tmp.write_text(data, encoding="utf-8")
        else:
            tmp.write_bytes(data)


def figures_dir(out: Path) -> Path:
    """Where the PNGs of report ``out`` go: ``<stem>_figures/`` beside it."""
    return out.parent / f"{out.stem}_figures"


def slug(text: str) -> str:
    """``text`` as a short file-name part: letters, digits and underscores, lower case."""
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower()[:40] or "x"


class Figures:
    """The figures of one report: written to ``folder`` and embedded in the page."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.written: list[Path] = []

    def add(self, fig: Any, name: str, alt: str, caption: str = "") -> str:
        """Write ``fig`` as ``<name>.png`` and return its ``<figure>`` (``caption`` is HTML)."""
        data = png_bytes(fig)
        dest = self.folder / f"{name}.png"
        write_readable(dest, data, ".png")
        self.written.append(dest)
        uri = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
        cap = f"<figcaption>{caption}</figcaption>" if caption else ""
        return f'<figure><img src="{uri}" alt="{esc(alt)}">{cap}</figure>'

    def remove_stale(self) -> None:
        """Remove figures an earlier report left in the folder and this one did not write
        (only names this package gives: fan_*, pipeline_*, routes_*, costs)."""
        keep = {p.name for p in self.written}
        for pattern in ("fan_*.png", "pipeline_*.png", "routes_*.png", "costs.png"):
            for old in self.folder.glob(pattern):
                if old.name not in keep:
                    old.unlink(missing_ok=True)
