"""The ``network:`` section of a scenario: finding its CSV tables up the ``extends`` chain,
reading it, and applying overrides to the cells of its tables.

Reads: the merged YAML (after overrides of its YAML part), the chain's folders (child first), a
:class:`~corridor.scenario.locator.Locator` and the row overrides
(``network.<table>.<row>.<column>``, :class:`RowOverride`). Produces: :func:`read_network`, a
:class:`NetworkRead` (the :class:`~corridor.scenario.network.models.Network`, None if there
was any problem; every problem; and the table files used with their bytes, for the content
hash). Invariants: a table named by a file, or left out while ``<table>.csv`` exists, is the
nearest file of that name up the chain; problems of the YAML part are located in the file of
the chain that holds them, those of a CSV file keep its file and line; a row is named by its
index or its key (a place; a link id, ``from-to`` by default; a crossing's link id, every dated
row, or ``country:<C>``, every crossing that starts in C; an origin, every row), and the
network is validated again once the overrides are applied.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from corridor.errors import InputError, InputErrors
from corridor.scenario.folders import nearest_file, searched
from corridor.scenario.key_paths import data_path
from corridor.scenario.locator import Locator, describe
from corridor.scenario.network import TABLES as NETWORK_TABLES
from corridor.scenario.network import Network, load_network, table_columns
from corridor.scenario.yaml_file import short

__all__ = ["NETWORK_TABLES", "NetworkRead", "RowOverride", "read_network"]


@dataclass(frozen=True)
class RowOverride:
    """An override of a column of network table rows: ``network.<table>.<row>.<column>``, the
    row named by its index or its key (see :func:`_select_rows`)."""

    dotted: str
    table: str
    row: str
    column: str
    value: Any


@dataclass
class NetworkRead:
    """The network read from the YAML and its CSV tables: the model (None if there were
    errors), every problem, and the files used (table name → path, and their bytes)."""

    network: Network | None = None
    errors: list[InputError] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)
    raws: dict[str, bytes] = field(default_factory=dict)


def _locate_network_error(err: InputError, merged: Any, locator: Locator) -> InputError:
    """An error of the ``network:`` section (no file) at its place in the YAML chain."""
    dotted = err.field or "network"
    path = data_path(merged, dotted.split("."))
    at = path or ("network",)
    return locator.error(at, err.message, err.expected, field=dotted, overridable=len(path) > 1)


def _select_rows(table: str, row: str, rows: list[dict[str, Any]]) -> list[int]:
    """Rows of a network table named by index, or by key: places by place, links by id
    (``from-to`` by default), crossings by link id (every dated row), origins by origin (every
    row)."""
    if row.isdigit():
        return [int(row)] if int(row) < len(rows) else []
    if table == "places":
        return [i for i, r in enumerate(rows) if r["place"] == row]
    if table == "links":
        return [i for i, r in enumerate(rows) if (r["id"] or f"{r['from']}-{r['to']}") == row]
    if table == "origins":
        return [i for i, r in enumerate(rows) if r["origin"] == row]
    return [i for i, r in enumerate(rows) if r["link"] == row]


def _apply_row_overrides(
    net: Network, overrides: Sequence[RowOverride]
) -> tuple[Network | None, list[InputError]]:
    """``net`` with the row overrides applied (validated again), or the problems. A crossing
    may also be named ``country:<C>``: every crossing that starts in country C."""
    data = net.model_dump(by_alias=True)
    countries = {p.place: p.country for p in net.places}
    starts = {lk.key: countries.get(lk.from_) for lk in net.links}
    errors: list[InputError] = []
    for ov in overrides:
        model = NETWORK_TABLES[ov.table]
        rows: list[dict[str, Any]] = data[ov.table]
        if ov.table == "crossings" and ov.row.startswith("country:"):
            land = ov.row[len("country:") :]
            chosen = [i for i, r in enumerate(rows) if starts.get(r["link"]) == land]
        else:
            chosen = _select_rows(ov.table, ov.row, rows)
        if not chosen:
            errors.append(
                InputError(
                    f"override {ov.dotted!r}: no row {ov.row!r} in the network's {ov.table}",
                    field=ov.dotted,
                    expected=_ROW_NAMES[ov.table],
                )
            )
            continue
        for i in chosen:
            trial = {**rows[i], ov.column: ov.value}
            try:
                rows[i] = model.model_validate(trial).model_dump(by_alias=True)
            except ValidationError as exc:
                for e in exc.errors(include_url=False):
                    message, expected = describe(e, (ov.column,))
                    errors.append(
                        InputError(
                            f"{message} (set by override {ov.dotted!r})",
                            field=ov.dotted,
                            expected=expected,
                        )
                    )
                break
    if errors:
        return None, errors
    try:
        return Network.model_validate(data), []
    except ValidationError as exc:
        names = ", ".join(repr(ov.dotted) for ov in overrides)
        return None, [
            InputError(
                f"overrides {names} make the network invalid: {describe(e, ())[0]}",
                field=overrides[0].dotted,
            )
            for e in exc.errors(include_url=False)
        ]


_ROW_NAMES = {
    "places": "a row index or a place",
    "links": "a row index or a link id (from-to by default)",
    "crossings": "a row index, a crossing's link id or country:<country>",
    "origins": "a row index or an origin",
}


def _check_row_columns(overrides: Sequence[RowOverride]) -> list[InputError]:
    """Overrides of a column that the table does not have (checked before reading it)."""
    errors: list[InputError] = []
    for ov in overrides:
        columns = [c for c in table_columns(ov.table) if c != "source"]
        if ov.column not in columns:
            errors.append(
                InputError(
                    f"override {ov.dotted!r}: {ov.table} has no column {ov.column!r}",
                    field=ov.dotted,
                    expected="one of " + ", ".join(columns),
                )
            )
    return errors


def read_network(
    merged: dict[str, Any],
    folders: Sequence[Path],
    locator: Locator,
    overrides: Sequence[RowOverride],
) -> NetworkRead:
    """Read the ``network:`` section of the merged YAML and its CSV tables.

    A table named by a file (``places: places.csv``), or left out while a file ``<table>.csv``
    exists, is the nearest such file up the ``extends`` chain, as for the other tables.
    """
    out = NetworkRead()
    section = merged.get("network")
    if not isinstance(section, dict):
        out.errors.append(
            locator.error(
                ("network",),
                f"network must be a mapping, got {short(section)}",
                "a mapping of tables and parameters (places:, links:, crossings:, ...)",
            )
        )
        return out
    section = dict(section)
    missing: dict[Path, InputError] = {}
    for name in NETWORK_TABLES:
        value = section.get(name)
        if value is None:
            filename = f"{name}.csv"
        elif isinstance(value, str) and value.strip():
            filename = value
        else:
            continue  # rows inline, or something load_network refuses with its place
        found = nearest_file(folders, filename)
        if found is None:
            if value is not None:
                absent = (folders[0] / filename).resolve()
                missing[absent] = locator.error(
                    ("network", name),
                    f"network table {filename} is missing (looked in {searched(folders)})",
                    "a CSV file with columns " + ", ".join(table_columns(name)),
                )
                section[name] = str(absent)
            continue
        found = found.resolve()
        section[name] = str(found)
        out.files[name] = found
        with contextlib.suppress(OSError):  # load_network reports it
            out.raws[name] = found.read_bytes()
    try:
        net: Network | None = load_network(folders[0], section)
    except InputErrors as exc:
        raised = exc.errors
        net = None
    except InputError as exc:
        raised = [exc]
        net = None
    else:
        raised = []
    for err in raised:
        if err.file is not None and Path(err.file) in missing:
            continue  # reported as a missing table
        if err.file is None or (err.field in NETWORK_TABLES and Path(err.file).is_dir()):
            if err.file is not None:  # "no <table> table": name it in the YAML
                err = InputError(
                    f"the network has no {err.field} table",
                    field=f"network.{err.field}",
                    expected=f"network.{err.field} rows, or a file {err.field}.csv in the "
                    "scenario's folder or a parent's",
                )
            err = _locate_network_error(err, merged, locator)
        out.errors.append(err)
    out.errors += missing.values()
    bad_columns = _check_row_columns(overrides)
    out.errors += bad_columns
    if net is not None and overrides and not bad_columns:
        net, errs = _apply_row_overrides(net, overrides)
        out.errors += errs
    out.network = net if not out.errors else None
    return out
