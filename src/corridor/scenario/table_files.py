"""A scenario's CSV tables: which file each is, reading them, and the checks between them.

Reads: the merged YAML (``arrivals.table`` and ``costs.table`` may rename a file, ``costs.table:
null`` drops it) and the chain's folders (child first). Produces: :func:`read_tables`, a
:class:`TablesRead` (each table read, its file and bytes, and every problem, the checks between
tables last). Invariants: each table is the nearest file of its name up the ``extends`` chain;
a missing required table (:data:`~corridor.scenario.loaded.REQUIRED_TABLES`) is a problem only
when asked (when the YAML was read); the nationalities of ``arrivals.csv`` and
``grant_rates.csv`` (which may use ``*``) and ``decision_pauses.csv`` must be in
``nationalities.csv``, and each nationality
needs a grant rate (or a ``*`` row); a table with problems of its own is not cross-checked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corridor.errors import InputError
from corridor.scenario.folders import nearest_file, searched
from corridor.scenario.loaded import REQUIRED_TABLES, TABLE_COLUMNS
from corridor.scenario.tables import TableRead, read_table

__all__ = ["TablesRead", "read_tables", "table_file_names"]


@dataclass
class TablesRead:
    """The tables found (name → table read, file, bytes) and every problem."""

    tables: dict[str, TableRead] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)
    raws: dict[str, bytes] = field(default_factory=dict)
    errors: list[InputError] = field(default_factory=list)


def table_file_names(merged: Mapping[str, Any]) -> dict[str, str | None]:
    """The file name of each table (None: none wanted), as the merged YAML names them."""
    names: dict[str, str | None] = {n: f"{n}.csv" for n in TABLE_COLUMNS}
    arrivals = merged.get("arrivals")
    if isinstance(arrivals, dict) and isinstance(arrivals.get("table"), str):
        names["arrivals"] = arrivals["table"]
    costs = merged.get("costs")
    if isinstance(costs, dict) and "table" in costs:
        value = costs["table"]
        names["costs"] = value if isinstance(value, str) else None
    return names


def read_tables(
    merged: Mapping[str, Any], folders: Sequence[Path], folder: Path, require: bool
) -> TablesRead:
    """Read every table of the scenario in ``folder`` (chain ``folders``); a missing required
    table is a problem only if ``require``."""
    out = TablesRead()
    for name, filename in table_file_names(merged).items():
        if filename is None:
            continue
        found = nearest_file(folders, filename)
        if found is None:
            if name in REQUIRED_TABLES and require:
                out.errors.append(
                    InputError(
                        f"required table {filename} is missing (looked in {searched(folders)})",
                        file=folder / filename,
                        field=name,
                        expected="a CSV file with columns " + ", ".join(TABLE_COLUMNS[name]),
                    )
                )
            continue
        try:
            raw = found.read_bytes()
        except OSError as exc:
            out.errors.append(InputError(f"cannot read table: {exc.strerror or exc}", file=found))
            continue
        t = read_table(name, found, raw)
        out.errors += t.errors
        out.tables[name], out.files[name], out.raws[name] = t, found, raw
    out.errors += _check_tables(out.tables)
    return out


def _check_tables(tables: dict[str, TableRead]) -> list[InputError]:
    """Checks between tables: nationalities of arrivals, grant rates and pauses are known, and each
    nationality has a grant rate."""
    errors: list[InputError] = []
    nat = tables.get("nationalities")
    if nat is not None and not nat.errors:
        known = set(nat.frame["nationality"])
        for name in ("arrivals", "grant_rates", "decision_pauses"):
            t = tables.get(name)
            if t is None:
                continue
            for value, line in zip(t.frame["nationality"], t.lines, strict=True):
                if value not in known and not (name == "grant_rates" and value == "*"):
                    errors.append(
                        InputError(
                            f"nationality {value!r} is not in {nat.path.name}",
                            file=t.path,
                            line=line,
                            field="nationality",
                            expected="a nationality listed in "
                            + nat.path.name
                            + (" or *" if name == "grant_rates" else ""),
                        )
                    )
        gr = tables.get("grant_rates")
        if gr is not None and not gr.errors:
            rated = set(gr.frame["nationality"])
            if "*" not in rated:
                for value, line in zip(nat.frame["nationality"], nat.lines, strict=True):
                    if value not in rated:
                        errors.append(
                            InputError(
                                f"nationality {value!r} has no grant rate in {gr.path.name}",
                                file=nat.path,
                                line=line,
                                field="nationality",
                                expected=f"rows for it in {gr.path.name}, or a '*' row",
                            )
                        )
    return errors
