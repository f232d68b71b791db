"""Splitting CSV text into rows numbered by the line they start on (shared by the scenario's
tables, :mod:`corridor.scenario.tables`, and the network's, :mod:`corridor.scenario.network`).

Reads: decoded CSV text. Produces: :func:`numbered_rows`, the rows that hold a non-blank cell,
each with the 1-based line it starts on (a quoted cell may span lines). Invariant: malformed CSV
raises :class:`MalformedCsv` with the csv module's error and both candidate lines, so each
caller reports it in its own words; nothing else is raised.
"""

from __future__ import annotations

import csv
import io

__all__ = ["MalformedCsv", "numbered_rows"]


class MalformedCsv(Exception):
    """CSV the csv module refuses: ``error``, the reader's line when it failed (``reader_line``,
    0 if none) and the line where the failing row started (``row_start``)."""

    def __init__(self, error: csv.Error, reader_line: int, row_start: int) -> None:
        super().__init__(str(error))
        self.error = error
        self.reader_line = reader_line
        self.row_start = row_start


def numbered_rows(text: str) -> list[tuple[int, list[str]]]:
    """The non-blank rows of ``text`` with the 1-based line each starts on."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[tuple[int, list[str]]] = []
    start = 1
    try:
        for row in reader:
            rows.append((start, row))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise MalformedCsv(exc, reader.line_num, start) from None
    return [(n, r) for n, r in rows if any(c.strip() for c in r)]  # blank lines are ignored
