"""Reading and validating the CSV tables of a scenario (see :data:`TABLE_COLUMNS`).

Each table is a UTF-8 CSV file with a header row. Every problem in a table (a bad cell, a
missing or unknown column, a short row, a duplicate key) becomes an
:class:`~corridor.errors.InputError` naming the file, the 1-based line, the column and what was
expected; all problems of a table are collected, not only the first. Columns whose name starts
with ``note`` are allowed and dropped; any other extra column is refused. Every row must cite
its ``source``.

Types after reading (the columns of :data:`TABLE_COLUMNS`, in that order):

* ``month``: ``YYYY-MM`` or ``YYYY-MM-DD``, stored as the first day of the month
  (``datetime64[ns]``);
* ``from_date``, ``to_date``, ``date``: ISO dates ``YYYY-MM-DD`` (``datetime64[ns]``);
* ``people``, ``household_size``, ``grant_rate``, ``gbp``: finite decimal numbers (float64)
  within the bounds of :mod:`corridor.scenario.types` (people <= 1e8, gbp <= 1e12),
  with ``people >= 0``, ``household_size >= 1``, ``0 <= grant_rate <= 1``, ``gbp >= 0``;
* ``returns_agreement``: ``true/false/yes/no/1/0`` (any case), stored as bool;
* optional columns (:data:`~corridor.scenario.loaded.OPTIONAL_COLUMNS`), kept after the others
  only when the file has them; an empty cell is missing: ``returns_agreement_from`` is an ISO
  date or empty (``NaT``: the agreement applies throughout);
* ``position``: one of :data:`~corridor.scenario.schema.HostPosition`;
* ``item``: a unit-cost item of :class:`~corridor.scenario.schema.Costs` or
  ``hub_fixed_payment``;
* text columns (``nationality``, ``host``, ``unit``, ``source``, and ``position``, ``item``):
  non-empty, surrounding spaces removed; pandas' text dtype (``str``; object on pandas 2).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, get_args

import numpy as np
import pandas as pd

from corridor.errors import InputError
from corridor.scenario.csv_rows import MalformedCsv, numbered_rows
from corridor.scenario.loaded import OPTIONAL_COLUMNS, TABLE_COLUMNS
from corridor.scenario.policy_paths import UNIT_COST_ITEMS
from corridor.scenario.schema import HostPosition
from corridor.scenario.types import DATE_MAX, DATE_MIN, MAX_PEOPLE, MAX_QUANTITY

__all__ = [
    "COST_ITEMS",
    "HOST_POSITIONS",
    "TABLE_KEYS",
    "TableRead",
    "empty_table",
    "read_table",
]

COST_ITEMS: tuple[str, ...] = (*UNIT_COST_ITEMS, "hub_fixed_payment")
"""Values allowed in the ``item`` column of ``costs.csv``: the unit costs of
:class:`~corridor.scenario.schema.Costs` and ``hub_fixed_payment``."""

HOST_POSITIONS: tuple[str, ...] = tuple(get_args(HostPosition))

TABLE_KEYS: dict[str, tuple[str, ...]] = {
    "arrivals": ("nationality", "month"),
    "nationalities": ("nationality",),
    "grant_rates": ("nationality", "from_date"),
    "hosts": ("host", "date"),
    "costs": ("item", "from_date"),
    "deflators": ("financial_year",),
    "decision_pauses": ("nationality", "from_date"),
}
"""Columns that identify a row of each table; two rows with the same key are refused."""

_BOOL_WORDS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_MONTH = re.compile(r"(\d{4})-(\d{2})(?:-(\d{2}))?")
_PEOPLE = f"a number of people >= 0 and <= {MAX_PEOPLE:.0e}"
_HOUSEHOLD = "a number >= 1 and <= 100"
_SHARE = "a share between 0 and 1"
_GBP = f"an amount in pounds >= 0 and <= {MAX_QUANTITY:.0e}"
_DATE_TEXT = "an ISO date YYYY-MM-DD"


class _Bad(ValueError):
    """A cell that does not parse; ``expected`` says what would have."""

    def __init__(self, message: str, expected: str) -> None:
        super().__init__(message)
        self.message = message
        self.expected = expected


def _text(cell: str) -> str:
    """Text cells: anything non-empty (emptiness is checked for every column)."""
    return cell


def _check_range(d: date, cell: str) -> date:
    if not DATE_MIN <= d <= DATE_MAX:
        raise _Bad(f"date {cell!r} is out of range", f"a date between {DATE_MIN} and {DATE_MAX}")
    return d


def _date(cell: str) -> date:
    m = _DATE.fullmatch(cell)
    try:
        if m is None:
            raise ValueError
        d = date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        raise _Bad(f"not a date: {cell!r}", _DATE_TEXT) from None
    return _check_range(d, cell)


def _month(cell: str) -> date:
    m = _MONTH.fullmatch(cell)
    try:
        if m is None:
            raise ValueError
        day = int(m[3]) if m[3] else 1
        date(int(m[1]), int(m[2]), day)  # the whole date must exist
        d = date(int(m[1]), int(m[2]), 1)
    except ValueError:
        raise _Bad(f"not a month: {cell!r}", "a month YYYY-MM or a date YYYY-MM-DD") from None
    return _check_range(d, cell)


def _number(lo: float, hi: float | None, what: str) -> Callable[[str], float]:
    def parse(cell: str) -> float:
        if not _NUMBER.fullmatch(cell):
            raise _Bad(f"not a number: {cell!r}", what)
        x = float(cell)
        if not (x >= lo and (hi is None or x <= hi)) or x == float("inf"):
            raise _Bad(f"{cell} is out of range", what)
        return x

    return parse


def _bool(cell: str) -> bool:
    try:
        return _BOOL_WORDS[cell.lower()]
    except KeyError:
        raise _Bad(f"not a yes/no value: {cell!r}", "true/false/yes/no/1/0") from None


_FY = re.compile(r"(\d{4})-(\d{2})")
_FY_TEXT = "a financial year YYYY-YY, e.g. 2024-25"


def _financial_year(cell: str) -> str:
    m = _FY.fullmatch(cell)
    if m is None or (int(m[1]) + 1) % 100 != int(m[2]):
        raise _Bad(f"not a financial year: {cell!r}", _FY_TEXT)
    return cell


def _choice(options: tuple[str, ...]) -> Callable[[str], str]:
    def parse(cell: str) -> str:
        if cell not in options:
            raise _Bad(f"unknown value {cell!r}", "one of " + ", ".join(options))
        return cell

    return parse


# Parser, pandas dtype and what is expected, of every column name used in TABLE_COLUMNS.
_COLUMNS: dict[str, tuple[Callable[[str], Any], str, str]] = {
    "month": (_month, "datetime64[ns]", "a month YYYY-MM or a date YYYY-MM-DD"),
    "from_date": (_date, "datetime64[ns]", _DATE_TEXT),
    "to_date": (_date, "datetime64[ns]", _DATE_TEXT + " (the last day, included)"),
    "date": (_date, "datetime64[ns]", _DATE_TEXT),
    "nationality": (_text, "str", "a nationality"),
    "host": (_text, "str", "a host country"),
    "unit": (_text, "str", "a unit, e.g. 'per person-night'"),
    "source": (_text, "str", "the source of the figure; every row must cite one"),
    "people": (_number(0.0, MAX_PEOPLE, _PEOPLE), "float64", _PEOPLE),
    "household_size": (_number(1.0, 100.0, _HOUSEHOLD), "float64", _HOUSEHOLD),
    "grant_rate": (_number(0.0, 1.0, _SHARE), "float64", _SHARE),
    "gbp": (_number(0.0, MAX_QUANTITY, _GBP), "float64", _GBP),
    "returns_agreement": (_bool, "bool", "true/false/yes/no/1/0"),
    "returns_agreement_from": (_date, "datetime64[ns]", _DATE_TEXT + " or empty (always)"),
    "position": (_choice(HOST_POSITIONS), "str", "one of " + ", ".join(HOST_POSITIONS)),
    "item": (_choice(COST_ITEMS), "str", "one of " + ", ".join(COST_ITEMS)),
    "financial_year": (_financial_year, "str", _FY_TEXT),
    "price_year": (_financial_year, "str", _FY_TEXT),
    "deflator": (_number(1e-9, None, "an index > 0"), "float64", "an index > 0"),
    "status": (_text, "str", "published, or assumption and why"),
    "condition": (_text, "str", "what the host asks for before a hub opens"),
}


@dataclass(frozen=True)
class TableRead:
    """The outcome of reading one table.

    ``frame`` has the columns of :data:`TABLE_COLUMNS`, then the optional columns the file has
    (empty when the header is unusable); ``lines[i]`` is the 1-based line in ``path`` of row
    ``i`` of ``frame``; rows with a bad cell are left out of ``frame`` and reported in
    ``errors``.
    """

    name: str
    path: Path
    frame: pd.DataFrame
    lines: list[int] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)


def _column(values: list[Any], dtype: str) -> Any:
    if dtype == "str":  # pandas' text dtype (object on pandas 2, str on pandas 3)
        return pd.Series(values, dtype="str")
    return np.array(values, dtype=dtype)


def empty_table(name: str) -> pd.DataFrame:
    """An empty table ``name`` with the right columns and dtypes."""
    return pd.DataFrame({c: _column([], _COLUMNS[c][1]) for c in TABLE_COLUMNS[name]})


def _decode(raw: bytes, path: Path) -> str | InputError:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return InputError(
            f"not valid UTF-8 (byte 0x{raw[exc.start]:02x})",
            file=path,
            line=line,
            expected="a UTF-8 encoded CSV file",
        )


def read_table(name: str, path: Path, raw: bytes | None = None) -> TableRead:
    """Read and validate table ``name`` (a key of :data:`TABLE_COLUMNS`) from ``path``.

    ``raw`` may hold the file's bytes already read. Never raises for bad content: every problem
    is in the result's ``errors``.
    """
    required = TABLE_COLUMNS[name]
    optional = OPTIONAL_COLUMNS.get(name, ())
    allowed = required + optional
    if raw is None:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            err = InputError(f"cannot read table: {exc.strerror or exc}", file=path)
            return TableRead(name, path, empty_table(name), errors=[err])
    text = _decode(raw, path)
    if isinstance(text, InputError):
        return TableRead(name, path, empty_table(name), errors=[text])
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        nul = InputError("contains a NUL byte", file=path, line=line, expected="a text CSV file")
        return TableRead(name, path, empty_table(name), errors=[nul])

    errors: list[InputError] = []

    def bad(message: str, line: int | None, column: str | None, expected: str | None) -> None:
        errors.append(InputError(message, file=path, line=line, field=column, expected=expected))

    try:
        rows = numbered_rows(text)
    except MalformedCsv as exc:
        bad(
            f"malformed CSV: {exc.error}", exc.reader_line or exc.row_start, None, "well-formed CSV"
        )
        return TableRead(name, path, empty_table(name), errors=errors)

    if not rows:
        bad("the table is empty", 1, None, "a header row: " + ",".join(required))
        return TableRead(name, path, empty_table(name), errors=errors)

    header_line, header = rows[0]
    header = [h.strip() for h in header]
    index: dict[str, int] = {}
    for i, h in enumerate(header):
        if h in index:
            bad(f"column {h!r} appears twice", header_line, h, "each column once")
        elif h.lower().startswith("note"):
            continue
        elif h not in allowed:
            shown = h if h else f"(empty name, column {i + 1})"
            bad(
                f"unknown column {shown!r}",
                header_line,
                h or None,
                "only " + ", ".join(allowed) + " (and columns named note...)",
            )
        index.setdefault(h, i)
    missing = [c for c in required if c not in index]
    if missing:
        bad(
            "missing column" + ("s " if len(missing) > 1 else " ") + ", ".join(missing),
            header_line,
            ",".join(missing),
            "columns " + ", ".join(required),
        )
    columns = required + tuple(c for c in optional if c in index)
    if errors:
        return TableRead(name, path, empty_table(name), errors=errors)

    values: dict[str, list[Any]] = {c: [] for c in columns}
    lines: list[int] = []
    seen: dict[tuple[Any, ...], int] = {}
    key_cols = TABLE_KEYS[name]
    for line, row in rows[1:]:
        if len(row) != len(header):
            bad(
                f"row has {len(row)} cells but the header has {len(header)}",
                line,
                None,
                f"{len(header)} comma-separated cells",
            )
            continue
        parsed: dict[str, Any] = {}
        ok = True
        for c in columns:
            cell = row[index[c]].strip()
            parse, _, expected = _COLUMNS[c]
            try:
                if not cell and c in optional:
                    parsed[c] = None  # missing: NaT for dates
                    continue
                if not cell:
                    raise _Bad("empty cell", expected)
                parsed[c] = parse(cell)
            except _Bad as exc:
                bad(exc.message, line, c, exc.expected)
                ok = False
        if not ok:
            continue
        key = tuple(parsed[k] for k in key_cols)
        if key in seen:
            shown = ", ".join(f"{k}={parsed[k]}" for k in key_cols)
            bad(
                f"duplicate row for {shown} (first on line {seen[key]})",
                line,
                ",".join(key_cols),
                "one row per " + " and ".join(key_cols),
            )
            continue
        seen[key] = line
        for c in columns:
            values[c].append(parsed[c])
        lines.append(line)

    frame = pd.DataFrame({c: _column(values[c], _COLUMNS[c][1]) for c in columns})
    return TableRead(name, path, frame, lines, errors)
