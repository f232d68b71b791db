"""`corridor query` is read-only: a query cannot write, read outside the store, attach a
database, change a setting or install or load an extension (see corridor.results.query)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pytest

from corridor.errors import InputError
from corridor.results.store import Store
from corridor.results.tables import empty_table


def _tables(level: float) -> dict[str, pa.Table]:
    """A run's four tables with two rows each (every value ``level``)."""
    out: dict[str, pa.Table] = {}
    for name in ("stocks", "flows", "costs", "events"):
        schema = empty_table(name).schema
        cols = {}
        for field in schema:
            if field.name == "date":
                cols["date"] = pa.array([19723, 19724], type=pa.int32()).cast(pa.date32())
            elif pa.types.is_string(field.type):
                cols[field.name] = pa.array(["A", "B"])
            else:
                cols[field.name] = pa.array([level, level])
        out[name] = pa.table(cols, schema=schema)
    return out


@pytest.fixture
def store(tmp_path: Path) -> Store:
    st = Store.open(tmp_path / "store")
    st.write_run(_tables(1.0), {"run_id": "r1", "policy": "a"})
    st.write_run(_tables(2.0), {"run_id": "r2", "policy": "b"})
    return st


def _files(root: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under ``root``: path -> (size, mtime in ns)."""
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*")
    }


def _refused(store: Store, sql: str, *words: str) -> str:
    """Run ``sql``, assert it is refused with a one-line message naming ``words`` and that
    nothing under the test's folder (the store included) appeared or changed."""
    top = store.root.parent
    before = _files(top)
    with pytest.raises(InputError) as info:
        store.query(sql)
    message = str(info.value)
    assert "not allowed" in message
    assert "\n" not in message
    for word in words:
        assert word in message
    assert _files(top) == before
    return message


def test_plain_queries_still_work(store: Store) -> None:
    got = store.query("SELECT policy, count(*) AS n FROM runs GROUP BY 1 ORDER BY 1")
    assert got.to_dict("list") == {"policy": ["a", "b"], "n": [1, 1]}
    hub = store.query(
        "SELECT r.policy, sum(s.n_in_hub) AS hub FROM stocks s JOIN runs r USING (run_id) "
        "GROUP BY 1 ORDER BY 1"
    )
    assert hub.to_dict("list") == {"policy": ["a", "b"], "hub": [2.0, 4.0]}
    costs = store.query("SELECT sum(gbp) AS gbp FROM costs WHERE run_id = ?", ["r2"])
    assert costs["gbp"].iloc[0] == 4.0
    assert store.query("SELECT count(*) AS n FROM events")["n"].iloc[0] == 4
    assert not any((store.root / "tmp").iterdir())  # no spill folder left behind


def test_copy_to_a_file_is_refused(store: Store, tmp_path: Path) -> None:
    _refused(store, f"COPY (SELECT 1) TO '{tmp_path / 'x.csv'}'", "COPY writes a file", "x.csv")
    assert not (tmp_path / "x.csv").exists()
    # not inside the store either (its views are readable, its folder is not writable)
    _refused(store, f"COPY (SELECT * FROM runs) TO '{store.runs_dir / 'x.csv'}'")
    _refused(store, f"EXPORT DATABASE '{tmp_path / 'dump'}'", "EXPORT DATABASE")
    assert not (tmp_path / "dump").exists()


def test_reading_a_file_outside_the_store_is_refused(store: Store, tmp_path: Path) -> None:
    secret = tmp_path / "secret.csv"
    secret.write_text("user,password\nalice,hunter2\n")
    message = _refused(store, f"SELECT * FROM read_csv('{secret}')", "reading a file", "secret.csv")
    assert "hunter2" not in message
    _refused(store, f"SELECT * FROM '{secret}'")
    _refused(store, "SELECT * FROM read_text('/etc/passwd')")
    _refused(store, f"SELECT * FROM glob('{tmp_path}/*')")


def test_attaching_a_new_database_is_refused(store: Store, tmp_path: Path) -> None:
    target = tmp_path / "new.duckdb"
    _refused(store, f"ATTACH '{target}'", "ATTACH", "new.duckdb")
    assert not target.exists()
    assert not list(tmp_path.glob("new.duckdb*"))  # no .wal either


def test_the_catalog_cannot_be_attached_or_changed(store: Store) -> None:
    catalog = store.catalog_path.read_bytes()
    _refused(store, f"ATTACH '{store.catalog_path}' AS c; DELETE FROM c.runs")
    _refused(store, f"ATTACH '{store.catalog_path}' AS c", "catalog.duckdb")
    _refused(store, f"ATTACH '{store.catalog_path}' AS c (READ_ONLY)")
    with pytest.raises(InputError, match="query failed"):
        store.query("DELETE FROM runs")  # the runs view is a snapshot
    assert store.catalog_path.read_bytes() == catalog
    assert sorted(store.runs()["run_id"]) == ["r1", "r2"]


def test_settings_cannot_be_changed(store: Store) -> None:
    _refused(store, "SET enable_external_access = true", "changing a setting", "locked")
    _refused(store, "RESET enable_external_access", "locked")
    _refused(store, "PRAGMA enable_external_access = true", "locked")
    _refused(store, "SET autoload_known_extensions = true", "locked")
    _refused(store, "SET temp_directory = '/tmp'", "locked")


def test_load_extension_is_refused(store: Store) -> None:
    _refused(store, "LOAD httpfs", "INSTALL and LOAD of extensions")


def test_install_extension_is_refused_without_the_network(store: Store) -> None:
    t0 = time.monotonic()
    _refused(store, "INSTALL httpfs", "INSTALL and LOAD of extensions")
    _refused(store, "FORCE INSTALL httpfs FROM 'http://203.0.113.1/'")
    # a URL is never fetched, so nothing autoloads or waits on the network
    _refused(store, "SELECT * FROM read_csv('http://203.0.113.1/x.csv')")
    assert time.monotonic() - t0 < 10.0  # no download attempt, no network timeout


def test_more_than_one_statement_is_refused(store: Store) -> None:
    _refused(store, "SELECT 1; SELECT 2", "2 SQL statements")
    _refused(store, "   ", "no SQL statement")


def test_cli_refusal_is_one_line_and_exit_2(store: Store, tmp_path: Path) -> None:
    target = tmp_path / "cli.csv"
    got = subprocess.run(
        [
            sys.executable,
            "-m",
            "corridor",
            "query",
            f"COPY (SELECT * FROM runs) TO '{target}'",
            "--results",
            str(store.root),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={"COLUMNS": "60", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert got.returncode == 2, got.stderr
    lines = got.stderr.strip().splitlines()
    assert len(lines) == 1, got.stderr
    assert lines[0].startswith("error:")
    assert "not allowed" in lines[0]
    assert not target.exists()
    ok = subprocess.run(
        [
            sys.executable,
            "-m",
            "corridor",
            "query",
            "SELECT count(*) AS n FROM runs",
            "--csv",
            "--results",
            str(store.root),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.split() == ["n", "2"]
