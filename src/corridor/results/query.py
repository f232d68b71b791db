"""Read-only SQL over a results store: the connection behind :meth:`Store.query`.

A query is user input (``corridor query "SQL"``), so it runs on a DuckDB connection that can
read the store's views and nothing else. The database enforces this, not a scan of the SQL:

* the connection is in memory, and its views hold no paths: ``runs`` is an Arrow snapshot of
  the catalog (taken by the store, which closes the catalog file again), and ``stocks``,
  ``flows``, ``costs``, ``events`` and any extra table are Arrow datasets over the runs'
  Parquet files, read by pyarrow on DuckDB's behalf;
* ``enable_external_access = false``: DuckDB itself opens no file, folder or URL, so ``COPY
  ... TO``, ``EXPORT DATABASE``, ``read_csv('/etc/passwd')``, ``glob``, ``ATTACH 'file'``
  (the catalog included) and ``INSTALL`` are refused;
* ``autoinstall_known_extensions = false`` and ``autoload_known_extensions = false``: no
  extension is fetched or loaded behind a query's back (and ``LOAD`` is refused by the above);
* ``python_enable_replacements = false``: a query cannot scan Python variables by name;
* ``lock_configuration = true``: ``SET``, ``RESET`` and ``PRAGMA`` cannot undo any of this.

The one check made by inspection is that the text is a single statement (with DuckDB's own
parser, :func:`duckdb.extract_statements`): the result of a query is one table.

DuckDB may still spill a large sort or join to disk; it does so in a private folder under the
store's ``tmp/`` (removed afterwards, or by the next :meth:`Store.open` after a crash).
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs

from corridor.errors import InputError

__all__ = [
    "EXPECTED",
    "check_one_statement",
    "parquet_view",
    "readonly_connection",
    "refusal",
]

EXPECTED = "one SQL statement that reads the views runs, stocks, flows, costs, events, ..."

# What a refused statement tried, by DuckDB statement type (others: reading a file).
_ATTEMPT = {
    "COPY": "COPY writes a file",
    "EXPORT": "EXPORT DATABASE writes files",
    "ATTACH": "ATTACH opens a database file",
    "LOAD": "INSTALL and LOAD of extensions",
    "SET": "changing a setting",
}

# What a query's connection may not do; locked once the views are registered.
_LOCKED_CONFIG: dict[str, str | bool | int | float | list[str]] = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "python_enable_replacements": False,
}


def parquet_view(files: Sequence[Path]) -> ds.Dataset:
    """An Arrow dataset over ``files`` with the union of their columns (a file that lacks a
    column reads it as null), like ``read_parquet(..., union_by_name = true)``."""
    factory = ds.FileSystemDatasetFactory(
        pafs.LocalFileSystem(), [str(f) for f in files], ds.ParquetFileFormat()
    )
    try:
        schema = factory.inspect(promote_options="permissive", fragments=None)  # every file
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise InputError(f"stored tables have clashing columns: {exc}", field="sql") from exc
    return factory.finish(schema=schema)


@contextmanager
def readonly_connection(
    views: dict[str, pa.Table | ds.Dataset], spill_parent: Path
) -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory connection with ``views`` registered by name and the locks of the module
    docstring in force. ``spill_parent`` holds the folder DuckDB may spill to."""
    spill = spill_parent / f"{os.getpid()}-query-{secrets.token_hex(4)}"
    config = {**_LOCKED_CONFIG, "temp_directory": str(spill)}
    con = duckdb.connect(":memory:", config=config)
    try:
        for name, data in views.items():
            con.register(name, data)
        con.execute("SET lock_configuration = true")
        yield con
    finally:
        con.close()
        shutil.rmtree(spill, ignore_errors=True)


def check_one_statement(sql: str) -> str:
    """The DuckDB statement type (e.g. ``"SELECT"``) of ``sql``; :class:`InputError` if the
    text is not exactly one SQL statement."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise InputError(f"query failed: {exc}", field="sql") from exc
    if len(statements) != 1:
        what = "no SQL statement" if not statements else f"{len(statements)} SQL statements"
        raise InputError(f"not allowed in a query: {what}", field="sql", expected=EXPECTED)
    return str(statements[0].type.name)


def refusal(exc: duckdb.Error, kind: str) -> InputError | None:
    """The :class:`InputError` for an error that means "not allowed here" in a statement of
    type ``kind``, else None."""
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else type(exc).__name__
    if not (isinstance(exc, duckdb.PermissionException) or "configuration has been locked" in text):
        return None
    for prefix in ("Permission Error: ", "Invalid Input Error: "):
        text = text.removeprefix(prefix)
    attempt = _ATTEMPT.get(kind, "reading a file outside the store's views")
    return InputError(f"not allowed in a query: {attempt} ({text})", field="sql", expected=EXPECTED)
