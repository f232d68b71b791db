"""The results store: one folder of Parquet tables per run, and a DuckDB catalog of runs.

Layout (the folder is ``./results`` unless ``$CORRIDOR_RESULTS`` or the caller says otherwise)::

    results/
      catalog.duckdb            table ``runs``: one row per stored run (:data:`CATALOG_COLUMNS`)
      runs/<run_id>/
        stocks.parquet          the run's tables (:mod:`corridor.results.tables`), each with a
        flows.parquet           first column ``run_id``
        costs.parquet
        events.parquet
        meta.json               {"run": the catalog row, "result": the engine's meta}
      tmp/<pid>-<hex>/          a run being written (by process ``pid``)
      quarantine/               folders found in runs/ that the store did not write

Writing a run is atomic (:meth:`Store.write_run`):

1. the tables and ``meta.json`` are written into a fresh ``tmp/<pid>-<hex>/`` folder, each file
   flushed with ``fsync``;
2. the folder is renamed into ``runs/<run_id>/`` (one ``rename``: atomic on POSIX), and
   ``runs/`` is fsynced;
3. only then is the catalog row inserted, in a transaction (inside :meth:`Store.holding`, as an
   ensemble writes, the rows of up to :data:`BATCH_ROWS` runs go in one transaction, and the
   batch's files are flushed to disk once, by ``os.sync``, just before it instead of file by
   file in steps 1-2: a killed process loses nothing either way, and after a power cut a batch
   folder whose files did not reach the disk is not re-registered, see below).

So an interrupted write leaves either a ``tmp/`` folder (removed by the next
:meth:`Store.open`, once its process is gone) or a complete run folder. Recovery rule for the
second case, which only a crash between steps 2 and 3 (or before a batch's commit) produces: the
run is **re-registered**
from its ``meta.json`` (which holds the full catalog row), because its tables are complete; a
folder in ``runs/`` without a readable ``meta.json`` or with a Parquet file that cannot be read
(not written by the store, or cut short by a power cut) is moved to ``quarantine/``. If the
catalog insert itself fails, the run folder is removed before the error is raised.

DuckDB lets one process open a database file at a time. The store never holds the catalog
open: every catalog read or write opens it, does its work and closes it, retrying while another
process holds the lock (up to ``lock_timeout`` seconds); queries (:meth:`Store.query`) run on
an in-memory snapshot of the catalog, so a long query never blocks a writer, and on a
connection that can only read the store's views (:mod:`corridor.results.query`). In an
ensemble only the coordinating process calls :meth:`Store.write_run`; workers return tables
and never touch the store.

Times in the catalog are UTC.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import re
import secrets
import shutil
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from corridor.asylum.result import ScenarioResult
from corridor.atomic import atomic_path, write_json
from corridor.errors import CorridorError, InputError
from corridor.results.locks import pid_alive
from corridor.results.query import (
    check_one_statement,
    parquet_view,
    readonly_connection,
    refusal,
)
from corridor.results.tables import (
    TABLES,
    empty_table,
    meta_json,
    result_tables,
    table_meta,
    with_run_id,
)

__all__ = [
    "CATALOG_COLUMNS",
    "ENV_VAR",
    "Store",
    "StoreError",
    "default_store_path",
    "new_run_id",
]

log = logging.getLogger(__name__)

ENV_VAR = "CORRIDOR_RESULTS"
CATALOG_FILE = "catalog.duckdb"
RUNS_DIR = "runs"
TMP_DIR = "tmp"
QUARANTINE_DIR = "quarantine"
META_FILE = "meta.json"
ExportFormat = Literal["csv", "parquet", "xlsx"]

# Catalog columns and their DuckDB types, in order.
_CATALOG: tuple[tuple[str, str], ...] = (
    ("run_id", "VARCHAR PRIMARY KEY"),
    ("ensemble_id", "VARCHAR"),
    ("scenario", "VARCHAR"),
    ("scenario_hash", "VARCHAR"),
    ("policy", "VARCHAR"),
    ("overrides_json", "VARCHAR"),
    ("params_json", "VARCHAR"),
    ("seed", "UBIGINT"),  # seeds are uint64 (0 to 2**64 - 1)
    ("replicate", "INTEGER"),
    ("engine", "VARCHAR"),
    ("corridor_version", "VARCHAR"),
    ("started_at", "TIMESTAMP"),
    ("finished_at", "TIMESTAMP"),
    ("wall_seconds", "DOUBLE"),
    ("status", "VARCHAR"),
)
CATALOG_COLUMNS: tuple[str, ...] = tuple(c for c, _ in _CATALOG)
# The catalog is small: one thread opens it in half the time of a pool of all cores.
_CATALOG_CONFIG: dict[str, str | bool | int | float | list[str]] = {"threads": 1}
_TABLE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$")
_XLSX_MAX_ROWS = 1_048_575  # Excel's sheet limit, less the header row


BATCH_ROWS = 64  # catalog rows committed together in a batch (Store.holding)
# Parquet compression of a run's tables: snappy writes the main job's small monthly tables in
# about half zstd's time, for files about 5% larger (measured on uk-balkans' flows tables).
COMPRESSION = "snappy"


class StoreError(CorridorError):
    """A results store that cannot be read or written as asked."""


def default_store_path() -> Path:
    """``$CORRIDOR_RESULTS`` if set, else ``./results``."""
    return Path(os.environ.get(ENV_VAR) or "results")


def new_run_id() -> str:
    """A fresh id for a single run: UTC time and 6 random hex digits (sortable by time)."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(3)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_table(table: pa.Table, path: Path, sync: bool) -> None:
    """Write one Parquet file (and, with ``sync``, flush it to disk)."""
    pq.write_table(table, path, compression=COMPRESSION)
    if sync:
        with open(path, "rb") as fh:
            os.fsync(fh.fileno())


def _sync_everything() -> None:
    """Flush every written file to disk at once (a batch's runs before its catalog rows)."""
    sync = getattr(os, "sync", None)
    if sync is not None:
        sync()


def _timestamp(value: Any) -> datetime | None:
    """A naive UTC datetime from a datetime or ISO text (None stays None)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        raise StoreError(f"not a time: {value!r}")
    stamp: datetime = value
    if stamp.tzinfo is not None:
        stamp = stamp.astimezone(UTC).replace(tzinfo=None)
    return stamp


class Store:
    """A results folder (see the module docstring). Create with :meth:`Store.open`."""

    def __init__(self, root: Path, lock_timeout: float = 60.0) -> None:
        self._batching = False
        self._pending: list[Mapping[str, Any]] = []
        self.root = root
        self.lock_timeout = lock_timeout

    # -- opening -----------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path | None = None, *, lock_timeout: float = 60.0) -> Store:
        """Open (creating if needed) the store at ``path`` (default :func:`default_store_path`).

        Sweeps ``tmp/`` folders of processes that no longer run and re-registers complete run
        folders that have no catalog row (see the module docstring).
        """
        root = Path(path) if path is not None else default_store_path()
        root = root.expanduser().resolve()
        if root.exists() and not root.is_dir():
            raise StoreError(f"results store {root} is not a folder")
        try:
            for sub in (RUNS_DIR, TMP_DIR):
                (root / sub).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"cannot use {root} as a results store: {exc.strerror or exc}"
                " (name a writable folder with --results or $CORRIDOR_RESULTS)"
            ) from exc
        store = cls(root, lock_timeout)
        with store._connect() as con:
            cols = ", ".join(f"{c} {t}" for c, t in _CATALOG)
            con.execute(f"CREATE TABLE IF NOT EXISTS runs ({cols})")
            seed_type = con.execute(
                "SELECT data_type FROM information_schema.columns"
                " WHERE table_name = 'runs' AND column_name = 'seed'"
            ).fetchone()
            if seed_type is not None and seed_type[0] == "BIGINT":  # a store made before uint64
                con.execute("ALTER TABLE runs ALTER COLUMN seed SET DATA TYPE UBIGINT")
        store._sweep_tmp()
        store._recover()
        return store

    @property
    def catalog_path(self) -> Path:
        return self.root / CATALOG_FILE

    @property
    def runs_dir(self) -> Path:
        return self.root / RUNS_DIR

    def run_dir(self, run_id: str) -> Path:
        return self.runs_dir / run_id

    def table_path(self, run_id: str, table: str) -> Path:
        """The Parquet file of ``table`` for run ``run_id``."""
        if not _TABLE_NAME.match(table):
            raise InputError(
                f"bad table name {table!r}",
                field="table",
                expected=" | ".join(TABLES) + ", or another lower-case name",
            )
        return self.run_dir(run_id) / f"{table}.parquet"

    def tables_of(self, run_id: str) -> list[str]:
        """The tables stored for run ``run_id``: the declared four, then any extra, by name."""
        stems = sorted(p.stem for p in self.run_dir(run_id).glob("*.parquet"))
        return [t for t in TABLES if t in stems] + [t for t in stems if t not in TABLES]

    def _extra_tables(self) -> list[str]:
        """Names of extra (undeclared) tables that some stored run has."""
        names: set[str] = set()
        with os.scandir(self.runs_dir) as runs:
            for entry in runs:
                if entry.is_dir():
                    names.update(
                        f.name[: -len(".parquet")]
                        for f in os.scandir(entry.path)
                        if f.name.endswith(".parquet")
                    )
        return sorted(n for n in names - set(TABLES) if _TABLE_NAME.match(n))

    @contextmanager
    def holding(self) -> Iterator[Store]:
        """Batch the catalog rows of many writes (an ensemble storing its replicates).

        Each run's folder is still written and renamed into place on its own, so what is stored
        survives a kill; the catalog rows are committed together every :data:`BATCH_ROWS` runs
        and when the block ends, so the catalog is opened once a batch instead of once a run (a
        run whose row a kill lost is re-registered from its ``meta.json`` by the next
        :meth:`open`). Between batches other processes read and write the catalog as usual."""
        if self._batching:
            yield self
            return
        self._batching = True
        try:
            yield self
        finally:
            try:
                self._flush()
            finally:
                self._batching = False

    @contextmanager
    def _connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection to the catalog, waiting while another process holds its lock."""
        deadline = time.monotonic() + self.lock_timeout
        delay = 0.02
        while True:
            try:
                con = duckdb.connect(str(self.catalog_path), config=_CATALOG_CONFIG)
                break
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower():
                    raise StoreError(f"cannot open catalog {self.catalog_path}: {exc}") from exc
                if time.monotonic() > deadline:
                    raise StoreError(
                        f"the catalog {self.catalog_path} stayed locked by another process for "
                        f"{self.lock_timeout:g} s: {exc}"
                    ) from exc
                time.sleep(delay)
                delay = min(delay * 1.5, 0.5)
        try:
            yield con
        finally:
            con.close()

    def _sweep_tmp(self) -> None:
        """Remove ``tmp/`` folders left by processes that are gone."""
        me = os.getpid()
        for entry in (self.root / TMP_DIR).iterdir():
            head = entry.name.split("-", 1)[0]
            pid = int(head) if head.isdigit() else -1
            if pid == me or (pid > 0 and pid_alive(pid)):
                continue
            log.info("removing unfinished run folder %s", entry)
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)

    def _recover(self) -> None:
        """Re-register complete run folders without a catalog row; quarantine foreign ones."""
        with self._connect() as con:
            known = {r[0] for r in con.execute("SELECT run_id FROM runs").fetchall()}
        for folder in sorted(self.runs_dir.iterdir()):
            if folder.name in known:
                continue
            record = self._folder_record(folder)
            if record is None:
                dest = self.root / QUARANTINE_DIR / f"{folder.name}-{secrets.token_hex(3)}"
                dest.parent.mkdir(exist_ok=True)
                log.warning("moving %s (not a complete run) to %s", folder, dest)
                os.rename(folder, dest)
                continue
            log.info("re-registering run %s from its meta.json", folder.name)
            self._insert(record)

    def _folder_record(self, folder: Path) -> dict[str, Any] | None:
        if not folder.is_dir() or not _RUN_ID.match(folder.name):
            return None
        if not all((folder / f"{t}.parquet").is_file() for t in TABLES):
            return None
        try:
            doc = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
            run = doc["run"]
            for table in folder.glob("*.parquet"):  # complete files (a batch's crash)
                pq.read_metadata(table)
        except (OSError, ValueError, KeyError, TypeError, pa.ArrowException):
            return None
        if not isinstance(run, dict) or run.get("run_id") != folder.name:
            return None
        return {c: run.get(c) for c in CATALOG_COLUMNS}

    # -- writing -----------------------------------------------------------------------------
    def _record(self, meta: Mapping[str, Any], result_meta: Mapping[str, Any]) -> dict[str, Any]:
        from corridor import __version__

        unknown = set(meta) - set(CATALOG_COLUMNS) - {"overrides", "params"}
        if unknown:
            raise StoreError(f"unknown run meta keys: {', '.join(sorted(unknown))}")
        run_id = str(meta.get("run_id") or new_run_id())
        if not _RUN_ID.match(run_id):
            raise InputError(
                f"run id {run_id!r} is not allowed",
                field="run_id",
                expected="letters, digits, '_', '.', '-' (first a letter or digit)",
            )
        overrides = meta.get("overrides", result_meta.get("overrides"))
        params = meta.get("params")
        seed = meta.get("seed", result_meta.get("seed"))
        rec: dict[str, Any] = {
            "run_id": run_id,
            "ensemble_id": meta.get("ensemble_id"),
            "scenario": meta.get("scenario", result_meta.get("scenario")),
            "scenario_hash": meta.get("scenario_hash", result_meta.get("content_hash")),
            "policy": meta.get("policy"),
            "overrides_json": meta.get("overrides_json")
            or meta_json(overrides if isinstance(overrides, Mapping) else {}),
            "params_json": meta.get("params_json")
            or meta_json(params if isinstance(params, Mapping) else {}),
            "seed": None if seed is None else int(seed),
            "replicate": None if meta.get("replicate") is None else int(meta["replicate"]),
            "engine": meta.get("engine", result_meta.get("engine")),
            "corridor_version": meta.get("corridor_version") or __version__,
            "started_at": meta.get("started_at", result_meta.get("started_at")),
            "finished_at": meta.get("finished_at", result_meta.get("finished_at")),
            "wall_seconds": meta.get("wall_seconds", result_meta.get("wall_seconds")),
            "status": meta.get("status") or "ok",
        }
        for key in ("started_at", "finished_at"):
            stamp = _timestamp(rec[key])
            rec[key] = None if stamp is None else stamp.isoformat()
        if rec["wall_seconds"] is not None:
            rec["wall_seconds"] = float(rec["wall_seconds"])
        return rec

    def _insert(self, record: Mapping[str, Any], *, exist_ok: bool = True) -> None:
        """Insert one catalog row in a transaction. A row with the same run id is kept as it
        is (``exist_ok``: re-registration is idempotent) or is an error (:class:`StoreError`)."""
        self._insert_many([record], exist_ok=exist_ok)

    def _insert_many(self, records: Sequence[Mapping[str, Any]], *, exist_ok: bool = True) -> None:
        """Insert catalog rows in one transaction (see :meth:`_insert`)."""
        rows = []
        for record in records:
            values = [record.get(c) for c in CATALOG_COLUMNS]
            for i, c in enumerate(CATALOG_COLUMNS):
                if c in ("started_at", "finished_at"):
                    values[i] = _timestamp(values[i])
            rows.append(values)
        if not rows:
            return
        cols = ", ".join(CATALOG_COLUMNS)
        one = "(" + ", ".join("?" for _ in CATALOG_COLUMNS) + ")"
        params = [v for row in rows for v in row]
        with self._connect() as con:
            con.execute("BEGIN TRANSACTION")
            try:  # one INSERT of the whole batch (executemany goes row by row; a registered
                # Arrow table needs DuckDB's Python scan, which a read-only query connection
                # in another thread of the process switches off)
                con.execute(
                    f"INSERT INTO runs ({cols}) VALUES {', '.join(one for _ in rows)}"
                    + (" ON CONFLICT DO NOTHING" if exist_ok else ""),
                    params,
                )
                con.execute("COMMIT")
            except duckdb.ConstraintException as exc:
                con.execute("ROLLBACK")
                ids = ", ".join(str(r.get("run_id")) for r in records[:3])
                raise StoreError(f"run {ids} is already in the catalog of {self.root}") from exc
            except BaseException:
                con.execute("ROLLBACK")
                raise

    def write_run(
        self, result: ScenarioResult | Mapping[str, pa.Table], meta: Mapping[str, Any]
    ) -> str:
        """Store one run atomically and return its run id.

        ``result`` is a :class:`ScenarioResult` or its tables (:func:`result_tables`); tables
        beyond the declared four (e.g. an engine's ``link_flows``) are stored too.
        ``meta`` gives catalog fields (:data:`CATALOG_COLUMNS`; ``run_id`` is generated when
        absent), ``overrides`` and ``params`` as dicts (stored as JSON); fields it leaves out
        are taken from the result's own meta where it has them (scenario, hash, seed, engine,
        timings).
        """
        tables = result_tables(result) if isinstance(result, ScenarioResult) else dict(result)
        extras = sorted(set(tables) - set(TABLES))
        bad = [n for n in extras if not _TABLE_NAME.match(n)]
        if bad:
            raise InputError(
                f"bad table name {bad[0]!r}",
                field="tables",
                expected="lower-case letters, digits and '_'",
            )
        result_meta = table_meta(tables)
        record = self._record(meta, result_meta)
        run_id = str(record["run_id"])
        final = self.run_dir(run_id)
        if final.exists():
            raise StoreError(f"run {run_id} is already in the store {self.root}")
        tmp = self.root / TMP_DIR / f"{os.getpid()}-{secrets.token_hex(6)}"
        tmp.mkdir(parents=True)
        sync = not self._batching  # a batch flushes its runs to disk once, before its rows
        try:
            for name in (*TABLES, *extras):
                table = tables.get(name)
                table = empty_table(name) if table is None else table
                _write_table(with_run_id(table, run_id), tmp / f"{name}.parquet", sync)
            doc = {"run": record, "result": result_meta}
            with open(tmp / META_FILE, "w", encoding="utf-8") as fh:
                fh.write(meta_json(doc))
                fh.flush()
                if sync:
                    os.fsync(fh.fileno())
            if sync:
                _fsync_dir(tmp)
            os.rename(tmp, final)
            if sync:
                _fsync_dir(self.runs_dir)
        except OSError as exc:  # a full disk, a store made read-only: one line, nothing left
            shutil.rmtree(tmp, ignore_errors=True)
            raise StoreError(
                f"cannot write run {run_id} to {self.root}: {exc.strerror or exc}"
                " (nothing of it was kept)"
            ) from exc
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        if self._batching:  # in a batch: committed with the batch
            self._pending.append(record)
            if len(self._pending) >= BATCH_ROWS:
                self._flush()
            return run_id
        try:
            self._insert(record, exist_ok=False)
        except BaseException:
            shutil.rmtree(final, ignore_errors=True)
            raise
        return run_id

    def _flush(self) -> None:
        """Commit the catalog rows of the batch's runs in one transaction."""
        rows, self._pending = self._pending, []
        if rows:
            _sync_everything()
            self._insert_many(rows)

    # -- reading -----------------------------------------------------------------------------
    def has_run(self, run_id: str) -> bool:
        with self._connect() as con:
            got = con.execute("SELECT count(*) FROM runs WHERE run_id = ?", [run_id]).fetchone()
        return bool(got and got[0])

    def runs(self, filter: Mapping[str, Any] | str | None = None) -> pd.DataFrame:
        """Catalog rows as a DataFrame, oldest first.

        ``filter`` is a mapping of column → value (a list or tuple means "one of"; None means
        NULL) or a SQL condition on the catalog columns, e.g. ``"engine = 'agents'"``.
        """
        where: list[str] = []
        params: list[Any] = []
        if isinstance(filter, str):
            where.append(f"({filter})")
        elif filter:
            for key, value in filter.items():
                if key not in CATALOG_COLUMNS:
                    raise InputError(
                        f"unknown catalog column {key!r}",
                        field="filter",
                        expected=", ".join(CATALOG_COLUMNS),
                    )
                if value is None:
                    where.append(f"{key} IS NULL")
                elif isinstance(value, list | tuple | set | frozenset):
                    items = list(value)
                    if not items:
                        where.append("false")
                        continue
                    where.append(f"{key} IN ({', '.join('?' for _ in items)})")
                    params += items
                else:
                    where.append(f"{key} = ?")
                    params.append(value)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        sql = f"SELECT * FROM runs {clause} ORDER BY started_at NULLS LAST, run_id"
        with self._connect() as con:
            try:
                frame: pd.DataFrame = con.execute(sql, params).df()
            except duckdb.Error as exc:
                raise InputError(f"bad run filter: {exc}", field="filter") from exc
        return frame

    def read_arrow(self, run_id: str, table: str) -> pa.Table:
        """Table ``table`` of run ``run_id`` as Arrow (with its ``run_id`` column)."""
        path = self.table_path(run_id, table)
        if not path.is_file():
            raise StoreError(f"no run {run_id!r} in the store {self.root}")
        return pq.read_table(path)

    def read(self, run_id: str, table: str) -> pd.DataFrame:
        """Table ``table`` of run ``run_id`` as a DataFrame (``date`` as datetime64)."""
        frame: pd.DataFrame = self.read_arrow(run_id, table).to_pandas()
        if "date" in frame.columns:
            frame["date"] = pd.to_datetime(frame["date"])
        return frame

    def read_tables(self, run_id: str) -> dict[str, pa.Table]:
        """Every table of run ``run_id`` (the declared four and any extra)."""
        if not self.run_dir(run_id).is_dir():
            raise StoreError(f"no run {run_id!r} in the store {self.root}")
        return {name: self.read_arrow(run_id, name) for name in self.tables_of(run_id)}

    def read_meta(self, run_id: str) -> dict[str, Any]:
        """The run's ``meta.json``: ``{"run": catalog row, "result": engine meta}``."""
        path = self.run_dir(run_id) / META_FILE
        if not path.is_file():
            raise StoreError(f"no run {run_id!r} in the store {self.root}")
        doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return doc

    def catalog_arrow(self) -> pa.Table:
        """The whole catalog as an Arrow table (a snapshot; the file is closed again)."""
        with self._connect() as con:
            rel = con.sql("SELECT * FROM runs ORDER BY started_at NULLS LAST, run_id")
            to_arrow = getattr(rel, "to_arrow_table", None) or rel.fetch_arrow_table
            table: pa.Table = to_arrow()
        return table

    @contextmanager
    def connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only, in-memory DuckDB connection (:mod:`corridor.results.query`) with views
        ``runs`` (a snapshot of the catalog taken now, so the catalog file is not held open
        while the caller queries) and ``stocks``, ``flows``, ``costs``, ``events`` and any
        extra table some run has (over every stored run's Parquet files, as they are now).

        The connection cannot open files, attach databases, install or load extensions or
        change its settings: nothing run on it can change the store or reach outside it."""
        views: dict[str, pa.Table | ds.Dataset] = {"runs": self.catalog_arrow()}
        for name in (*TABLES, *self._extra_tables()):
            files = sorted(self.runs_dir.glob(f"*/{name}.parquet"))
            views[name] = parquet_view(files) if files else empty_table(name, run_id=True)
        with readonly_connection(views, self.root / TMP_DIR) as con:
            yield con

    def query(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        """Run one DuckDB SQL statement over the views of :meth:`connection` and return the
        result. Queries only read: a statement that would write or read a file (``COPY``,
        ``read_csv('/path')``), attach a database (the catalog included), install or load an
        extension, or change a setting is refused with an :class:`InputError` that says what
        is not allowed, as is text with more than one statement."""
        kind = check_one_statement(sql)
        with self.connection() as con:
            try:
                frame: pd.DataFrame = con.execute(sql, list(params or [])).df()
            except duckdb.Error as exc:
                refused = refusal(exc, kind)
                if refused is not None:
                    raise refused from exc
                raise InputError(f"query failed: {exc}", field="sql") from exc
        return frame

    # -- export ------------------------------------------------------------------------------
    def export(
        self, run_id: str, fmt: ExportFormat | str, out: str | Path | None = None
    ) -> list[Path]:
        """Write run ``run_id`` to folder ``out`` (default ``./<run_id>``) and list the files.

        ``csv``: one ``<table>.csv`` per table; ``parquet``: the Parquet files; ``xlsx``: one
        workbook ``<run_id>.xlsx`` with a sheet per table (needs the package ``openpyxl``).
        Every format also writes ``meta.json``.
        """
        if fmt not in ("csv", "parquet", "xlsx"):
            raise InputError(
                f"unknown export format {fmt!r}", field="format", expected="csv | parquet | xlsx"
            )
        if not self.run_dir(run_id).is_dir():
            raise StoreError(f"no run {run_id!r} in the store {self.root}")
        if fmt == "xlsx" and importlib.util.find_spec("openpyxl") is None:
            raise StoreError(
                "xlsx export needs the package 'openpyxl' (pip install openpyxl); "
                "csv and parquet need nothing more"
            )
        dest = Path(out) if out is not None else Path.cwd() / run_id
        dest.mkdir(parents=True, exist_ok=True)
        written: list[Path] = []
        names = self.tables_of(run_id)
        if fmt == "parquet":
            for name in names:
                target = dest / f"{name}.parquet"
                with atomic_path(target, suffix=".parquet") as tmp:
                    shutil.copyfile(self.table_path(run_id, name), tmp)
                written.append(target)
        elif fmt == "csv":
            for name in names:
                target = dest / f"{name}.csv"
                frame = self.read(run_id, name)
                with atomic_path(target, suffix=".csv") as tmp:
                    frame.to_csv(tmp, index=False)
                written.append(target)
        else:
            target = dest / f"{run_id}.xlsx"
            frames = {name: self.read(run_id, name) for name in names}
            for name, frame in frames.items():
                if len(frame) > _XLSX_MAX_ROWS:
                    raise StoreError(
                        f"table {name} of run {run_id} has {len(frame):,} rows, more than an "
                        "Excel sheet holds; export as csv or parquet"
                    )
            with (
                atomic_path(target, suffix=".xlsx") as tmp,
                pd.ExcelWriter(tmp, engine="openpyxl") as writer,
            ):
                for name, frame in frames.items():
                    frame.to_excel(writer, sheet_name=name[:31], index=False)
            written.append(target)
        meta_target = dest / META_FILE
        write_json(meta_target, self.read_meta(run_id))
        written.append(meta_target)
        return written

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r})"
