"""Reading a network: the ``network:`` section of a scenario and the CSV files its tables name.

Reads: a folder and a ``network:`` mapping (each table a list of rows written inline, the name
of a CSV file in the folder, or left out for ``<table>.csv`` when that file exists; the other
keys are the network's parameters). Produces: :func:`load_network`, a valid
:class:`~corridor.scenario.network.models.Network`, and :func:`table_columns`. Invariants:
every problem (unreadable or malformed CSV, unknown columns, bad cells, bad parameters, broken
cross-references) is collected and raised together as
:class:`~corridor.errors.InputError` (one) or :class:`~corridor.errors.InputErrors` (several),
each naming the file, 1-based line and column of a CSV cell, or the dotted path
(``network.<table>.<row>.<field>``) of something written in the YAML; no other exception
escapes for bad input. Columns named ``note...`` are allowed and dropped; empty cells are left
out (the field's default applies).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from pydantic import TypeAdapter, ValidationError

from corridor.errors import InputError, InputErrors
from corridor.scenario.csv_rows import MalformedCsv, numbered_rows
from corridor.scenario.network.checks import check_network
from corridor.scenario.network.models import TABLES, Network, Row

__all__ = ["load_network", "table_columns"]

_REQUIRED = ("places", "links")


def table_columns(name: str) -> list[str]:
    """The columns of network table ``name`` (a key of :data:`TABLES`), in order."""
    return [f.alias or n for n, f in TABLES[name].model_fields.items()]


@dataclass
class _Origin:
    """Where the rows of a table came from: a CSV file (with 1-based lines) or YAML."""

    file: Path | None
    lines: list[int]

    def locate(self, index: int | None) -> tuple[Path | None, int | None]:
        if self.file is None or index is None or index >= len(self.lines):
            return self.file, None
        return self.file, self.lines[index]


def _read_csv(name: str, path: Path) -> tuple[list[dict[str, str]], list[int], list[InputError]]:
    """Rows of a CSV table as dicts of non-empty cells, their lines, and header problems."""
    allowed = table_columns(name)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        return [], [], [InputError(f"cannot read table: {exc.strerror or exc}", file=path)]
    except UnicodeDecodeError:
        return [], [], [InputError("not valid UTF-8", file=path, expected="a UTF-8 CSV file")]
    try:
        rows = numbered_rows(text)
    except MalformedCsv as exc:
        return [], [], [InputError(f"malformed CSV: {exc.error}", file=path, line=exc.row_start)]
    if not rows:
        return (
            [],
            [],
            [
                InputError(
                    "the table is empty",
                    file=path,
                    line=1,
                    expected="a header row: " + ",".join(allowed),
                )
            ],
        )
    head_line, header = rows[0]
    header = [h.strip() for h in header]
    errors: list[InputError] = []
    for h in header:
        if h not in allowed and not h.lower().startswith("note"):
            errors.append(
                InputError(
                    f"unknown column {h!r}",
                    file=path,
                    line=head_line,
                    field=h or None,
                    expected="columns " + ", ".join(allowed),
                )
            )
    if len(set(header)) != len(header):
        errors.append(InputError("a column appears twice", file=path, line=head_line))
    if errors:
        return [], [], errors
    out: list[dict[str, str]] = []
    lines: list[int] = []
    for line, row in rows[1:]:
        if len(row) != len(header):
            errors.append(
                InputError(
                    f"row has {len(row)} cells but the header has {len(header)}",
                    file=path,
                    line=line,
                )
            )
            continue
        cells = {
            h: c.strip()
            for h, c in zip(header, row, strict=True)
            if c.strip() and not h.lower().startswith("note")
        }
        out.append(cells)
        lines.append(line)
    return out, lines, errors


def _row_errors(
    exc: ValidationError, file: Path | None, line: int | None, where: str
) -> list[InputError]:
    out = []
    for e in exc.errors(include_url=False):
        loc = ".".join(str(x) for x in e["loc"]) or None
        msg = str(e["msg"])
        msg = msg[len("Value error, ") :] if msg.startswith("Value error, ") else msg
        if file is None:
            loc = f"{where}.{loc}" if loc else where
        out.append(InputError(f"{msg} (got {e.get('input')!r})", file=file, line=line, field=loc))
    return out


def load_network(folder: str | Path, section: Mapping[str, Any] | None = None) -> Network:
    """Read a network: the ``network:`` section of a scenario (``section``) and its CSV tables
    in ``folder``.

    Raises :class:`~corridor.errors.InputError` (one problem) or
    :class:`~corridor.errors.InputErrors` (several), each naming the file, line and column.
    """
    folder = Path(folder)
    data: dict[str, Any] = dict(section or {})
    sources: dict[str, _Origin] = {}
    errors: list[InputError] = []
    for name, model in TABLES.items():
        value = data.get(name)
        if value is None and (folder / f"{name}.csv").is_file():
            value = f"{name}.csv"
        if value is None:
            if name in _REQUIRED:
                errors.append(
                    InputError(
                        f"no {name} table",
                        file=folder,
                        field=name,
                        expected=f"network.{name} rows or a file {name}.csv",
                    )
                )
            data[name] = []
            continue
        if isinstance(value, str):
            path = folder / value
            cells, lines, errs = _read_csv(name, path)
            errors += errs
            sources[name] = _Origin(path, lines)
        elif isinstance(value, list):
            cells, lines = value, []
            sources[name] = _Origin(None, [])
        else:
            errors.append(
                InputError(
                    f"network.{name} must be a list of rows or a CSV file",
                    field=f"network.{name}",
                    expected="a list or a file name",
                )
            )
            data[name] = []
            continue
        rows: list[Row] = []
        for i, raw in enumerate(cells):
            file, line = sources[name].locate(i)
            try:
                rows.append(model.model_validate(raw))
            except ValidationError as exc:
                errors += _row_errors(exc, file, line, f"network.{name}.{i}")
        data[name] = rows
    params: dict[str, Any] = {}
    for key, value in data.items():
        if key in TABLES:
            continue
        fld = Network.model_fields.get(key)
        if fld is None:
            errors.append(
                InputError(
                    f"unknown key {key!r}",
                    field=f"network.{key}",
                    expected="one of " + ", ".join(Network.model_fields),
                )
            )
            continue
        try:
            params[key] = TypeAdapter(cast(Any, fld.annotation)).validate_python(value)
        except ValidationError as exc:
            errors += _row_errors(exc, None, None, f"network.{key}")
    if errors:
        _raise(errors)
    problems = check_network(Network.model_construct(**{**data, **params}))
    for p in problems:
        src = sources.get(p.table)
        file, line = src.locate(p.index) if src else (None, None)
        if file is not None:
            field = p.field
        else:  # a row or parameter of the network: section, as a dotted path
            at = [p.table] + ([str(p.index)] if p.index is not None else [])
            field = ".".join(["network", *at] + ([p.field] if p.field else []))
        errors.append(InputError(p.message, file=file, line=line, field=field, expected=p.expected))
    if errors:
        _raise(errors)
    try:
        return Network.model_validate(data)
    except ValidationError as exc:
        _raise(_row_errors(exc, None, None, "network"))
    raise AssertionError("unreachable")  # pragma: no cover


def _raise(errors: Iterable[InputError]) -> None:
    errs = list(errors)
    if len(errs) == 1:
        raise errs[0]
    raise InputErrors(errs)
