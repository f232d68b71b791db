"""The project's markdown documents that the report quotes (``docs/`` of the source tree).

Contract: :func:`docs_dir` finds the ``docs`` folder holding ``assumptions-asylum.md`` above
this package, or returns None in an installation without it (the report then says so);
:func:`doc_sections` splits a markdown text at its ``## `` headings. Reads only; pure apart from
the file-system look-up.
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["doc_sections", "docs_dir"]


def docs_dir() -> Path | None:
    here = Path(__file__).resolve()
    for folder in here.parents:
        cand = folder / "docs"
        if (cand / "assumptions-asylum.md").is_file():
            return cand
    return None


def doc_sections(text: str) -> tuple[str, list[tuple[str, str]]]:
    """The preamble and the ``## `` sections (title, body) of a markdown file."""
    chunks = re.split(r"^## ", text, flags=re.M)
    head = chunks[0]
    sections = []
    for chunk in chunks[1:]:
        title, _, body = chunk.partition("\n")
        sections.append((title.strip(), body))
    return head, sections
