"""The results store: round trips, the catalog, atomic writes under failure, SQL, export, CLI."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
import typer
from typer.testing import CliRunner

from corridor.asylum.result import FLOW_COLUMNS, STOCK_COLUMNS, ScenarioResult
from corridor.errors import InputError
from corridor.results import store as store_mod
from corridor.results.store import CATALOG_COLUMNS, Store, StoreError, default_store_path
from corridor.results.tables import TABLES, result_tables, table_meta, to_result

MINI = Path(__file__).parent / "data" / "scenarios" / "mini"
SRC = Path(__file__).resolve().parents[1] / "src"


def fake_result(level: float = 1.0, days: int = 40) -> ScenarioResult:
    """A small made-up result: every stock ``level``, every flow ``level`` a day."""
    dates = pd.date_range("2024-01-01", periods=days, freq="D")
    nats = ["A", "B"]
    idx = pd.MultiIndex.from_product([dates, nats], names=["date", "nationality"])
    base = idx.to_frame(index=False)
    stocks = base.assign(**{c: level for c in STOCK_COLUMNS})
    flows = base.assign(**{c: level for c in FLOW_COLUMNS})
    costs = pd.DataFrame(
        {"date": list(dates) * 2, "item": ["hotel"] * days + ["hub"] * days, "gbp": level * 10}
    )
    events = base.assign(p_removal=0.1, queue_decision=level)
    meta = {"engine": "fake", "scenario": "fake", "content_hash": "abc", "seed": 1}
    return ScenarioResult(stocks=stocks, flows=flows, costs=costs, meta=meta, events=events)


@pytest.fixture(scope="module")
def mini_tables() -> dict[str, pa.Table]:
    from corridor.analysis.ensemble import run_one

    return run_one(str(MINI), 7, {}, "aggregate")


def _plain(table: pa.Table) -> pd.DataFrame:
    df = table.replace_schema_metadata(None).to_pandas()
    return df.drop(columns=[c for c in ("run_id",) if c in df.columns])


def test_round_trip_and_catalog_row(tmp_path: Path, mini_tables: dict[str, pa.Table]) -> None:
    store = Store.open(tmp_path / "res")
    meta = {"scenario": "mini", "policy": "p", "overrides": {"a.b": 1}, "params": {"x": 0.5}}
    run_id = store.write_run(mini_tables, {**meta, "replicate": 3, "seed": 99})
    for name in TABLES:
        got = store.read_arrow(run_id, name)
        assert got.column_names[0] == "run_id"
        assert set(got.column("run_id").to_pylist()) == {run_id}
        pd.testing.assert_frame_equal(_plain(got), _plain(mini_tables[name]))
    # the engine's result survives the trip
    back = to_result(store.read_tables(run_id))
    assert back.totals("year")["new_arrivals"].iloc[0] > 0
    row = store.runs({"run_id": run_id}).iloc[0]
    assert list(store.runs().columns) == list(CATALOG_COLUMNS)
    assert row["scenario"] == "mini"
    assert row["policy"] == "p"
    assert row["replicate"] == 3
    assert row["seed"] == 99
    assert row["status"] == "ok"
    assert row["engine"] == "aggregate"
    assert row["scenario_hash"] == table_meta(mini_tables)["content_hash"]
    assert json.loads(row["overrides_json"]) == {"a.b": 1}
    assert json.loads(row["params_json"]) == {"x": 0.5}
    assert row["started_at"] <= row["finished_at"]
    assert row["wall_seconds"] > 0
    doc = store.read_meta(run_id)
    assert doc["run"]["run_id"] == run_id
    assert doc["result"]["engine"] == "aggregate"
    # a second handle on the same folder sees the same catalog
    assert list(Store.open(tmp_path / "res").runs()["run_id"]) == [run_id]


def test_catalog_filters_and_duplicate_ids(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    for k in range(4):
        store.write_run(
            fake_result(k),
            {"run_id": f"r{k}", "ensemble_id": "e1" if k < 3 else "e2", "policy": "ab"[k % 2]},
        )
    assert len(store.runs()) == 4
    assert list(store.runs({"ensemble_id": "e1"})["run_id"]) == ["r0", "r1", "r2"]
    assert list(store.runs({"policy": ["b"], "ensemble_id": "e1"})["run_id"]) == ["r1"]
    assert list(store.runs("policy = 'a' AND ensemble_id = 'e2'")["run_id"]) == []
    assert store.runs({"policy": []}).empty
    with pytest.raises(InputError, match="unknown catalog column"):
        store.runs({"nope": 1})
    with pytest.raises(StoreError, match="already in the store"):
        store.write_run(fake_result(9), {"run_id": "r1"})
    assert store.read("r1", "stocks")["n_in_hub"].eq(1.0).all()  # the first write is intact
    shutil.rmtree(store.run_dir("r2"))  # a catalog row whose folder someone deleted
    with pytest.raises(StoreError, match="already in the catalog"):
        store.write_run(fake_result(9), {"run_id": "r2"})
    assert not store.run_dir("r2").exists()  # the new folder was taken back
    assert len(store.runs()) == 4
    with pytest.raises(InputError, match="not allowed"):
        store.write_run(fake_result(), {"run_id": "../evil"})
    with pytest.raises(StoreError, match="unknown run meta"):
        store.write_run(fake_result(), {"colour": "red"})


def _visible(store: Store) -> list[str]:
    return sorted(p.name for p in store.runs_dir.iterdir())


def test_failure_half_way_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store.open(tmp_path)
    store.write_run(fake_result(1), {"run_id": "good"})
    real = store_mod._write_table
    calls = {"n": 0}

    def flaky(table: pa.Table, path: Path, sync: bool) -> None:
        calls["n"] += 1
        if calls["n"] == 3:  # stocks and flows written, then the disk "fails"
            raise OSError("disk full")
        real(table, path, sync)

    monkeypatch.setattr(store_mod, "_write_table", flaky)
    with pytest.raises(StoreError, match="disk full"):  # one line for the CLI (issue 15)
        store.write_run(fake_result(2), {"run_id": "bad"})
    assert calls["n"] == 3
    assert _visible(store) == ["good"]
    assert list(store.runs()["run_id"]) == ["good"]
    assert list((tmp_path / "tmp").iterdir()) == []
    assert store.query("SELECT DISTINCT run_id FROM stocks")["run_id"].tolist() == ["good"]

    # a failing catalog insert removes the already renamed run folder
    monkeypatch.setattr(store_mod, "_write_table", real)

    def no_insert(self: Store, record: Any, **kw: Any) -> None:
        raise RuntimeError("catalog gone")

    monkeypatch.setattr(Store, "_insert", no_insert)
    with pytest.raises(RuntimeError, match="catalog gone"):
        store.write_run(fake_result(3), {"run_id": "bad2"})
    monkeypatch.undo()
    assert _visible(store) == ["good"]
    assert list(Store.open(tmp_path).runs()["run_id"]) == ["good"]


_KILL_SCRIPT = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    sys.path.insert(0, {tests!r})
    from test_store import fake_result
    from corridor.results import store as sm

    root, mode, ready = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    st = sm.Store.open(root)
    real = sm._write_table
    calls = [0]

    def slow(table, path, sync):
        real(table, path, sync)
        calls[0] += 1
        if mode == "tables" and calls[0] == 2:  # two tables on disk, two to go
            ready.write_text("x")
            time.sleep(120)

    def hang_insert(self, record, **kw):  # the folder is in place, the catalog row not yet
        ready.write_text("x")
        time.sleep(120)

    sm._write_table = slow
    if mode == "insert":
        sm.Store._insert = hang_insert
    st.write_run(fake_result(5), {{"run_id": "victim", "policy": "killed"}})
    """
)


def _write_and_kill(tmp_path: Path, root: Path, mode: str) -> None:
    script = tmp_path / f"kill_{mode}.py"
    script.write_text(_KILL_SCRIPT.format(tests=str(Path(__file__).parent)))
    ready = tmp_path / f"ready_{mode}"
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    proc = subprocess.Popen([sys.executable, str(script), str(root), mode, str(ready)], env=env)
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert proc.poll() is None, "the writer exited early"
            assert time.monotonic() < deadline, "the writer never got half-way"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def test_sigkill_during_write(tmp_path: Path) -> None:
    root = tmp_path / "res"
    Store.open(root).write_run(fake_result(1), {"run_id": "good"})

    # killed while writing tables: a half-written temp folder, no run, no row
    _write_and_kill(tmp_path, root, "tables")
    leftovers = list((root / "tmp").iterdir())
    assert len(leftovers) == 1
    assert len(list(leftovers[0].glob("*.parquet"))) == 2
    assert sorted(p.name for p in (root / "runs").iterdir()) == ["good"]
    store = Store.open(root)  # sweeps the dead writer's folder
    assert list((root / "tmp").iterdir()) == []
    assert list(store.runs()["run_id"]) == ["good"]
    assert _visible(store) == ["good"]
    got = store.query("SELECT run_id, count(*) AS n FROM stocks GROUP BY run_id")
    assert got["run_id"].tolist() == ["good"]
    assert got["n"].tolist() == [80]

    # killed between the rename and the catalog insert: the complete run is re-registered
    _write_and_kill(tmp_path, root, "insert")
    assert "victim" in {p.name for p in (root / "runs").iterdir()}
    store = Store.open(root)
    assert sorted(store.runs()["run_id"]) == ["good", "victim"]
    assert store.runs({"run_id": "victim"})["policy"].iloc[0] == "killed"
    assert store.read("victim", "stocks")["n_in_hub"].eq(5.0).all()


def test_foreign_folder_is_quarantined(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    (store.runs_dir / "junk").mkdir()
    (store.runs_dir / "junk" / "stocks.parquet").write_bytes(b"not parquet")
    store = Store.open(tmp_path)
    assert _visible(store) == []
    assert len(list((tmp_path / "quarantine").iterdir())) == 1
    assert store.query("SELECT count(*) AS n FROM stocks")["n"].iloc[0] == 0


def test_a_batch_run_cut_short_by_a_power_cut_is_not_re_registered(tmp_path: Path) -> None:
    """Inside a batch the files reach the disk once, before the batch's rows; a run folder
    whose Parquet file was cut short (a power cut before that flush) is quarantined, never
    registered, while a complete one without its row is."""
    store = Store.open(tmp_path)
    with store.holding():
        store.write_run(fake_result(1), {"run_id": "whole"})
        store.write_run(fake_result(2), {"run_id": "cut"})
        store._pending.clear()  # the rows a crash lost
    flows = store.run_dir("cut") / "flows.parquet"
    flows.write_bytes(flows.read_bytes()[: flows.stat().st_size // 2])
    store = Store.open(tmp_path)
    assert list(store.runs()["run_id"]) == ["whole"]
    assert [p.name.split("-")[0] for p in (tmp_path / "quarantine").iterdir()] == ["cut"]


def test_query_over_runs_and_tables(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    empty = store.query("SELECT count(*) AS n FROM flows")  # views exist before any run
    assert empty["n"].iloc[0] == 0
    for k, pol in enumerate(["a", "a", "b"]):
        store.write_run(fake_result(k + 1), {"run_id": f"r{k}", "policy": pol})
    got = store.query(
        "SELECT r.policy, sum(s.n_in_hub) AS hub, count(DISTINCT s.run_id) AS runs "
        "FROM stocks s JOIN runs r USING (run_id) GROUP BY ALL ORDER BY 1"
    )
    # 40 days x 2 nationalities: run k holds k + 1 people in each row
    assert got.to_dict("list") == {"policy": ["a", "b"], "hub": [240.0, 240.0], "runs": [2, 1]}
    costs = store.query(
        "SELECT item, sum(gbp) AS gbp FROM costs WHERE run_id = ? GROUP BY 1 ORDER BY 1", ["r2"]
    )
    assert costs["gbp"].tolist() == [1200.0, 1200.0]
    ev = store.query("SELECT avg(p_removal) AS p FROM events")
    assert ev["p"].iloc[0] == pytest.approx(0.1)
    with pytest.raises(InputError, match="query failed"):
        store.query("SELECT * FROM nowhere")
    with pytest.raises(InputError, match="query failed"):  # the catalog is read-only here
        store.query("DELETE FROM runs")
    assert len(store.runs()) == 3


def test_export(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store.open(tmp_path / "res")
    run_id = store.write_run(fake_result(2), {"policy": "x"})
    files = store.export(run_id, "csv", tmp_path / "csv")
    assert sorted(f.name for f in files) == sorted([f"{t}.csv" for t in TABLES] + ["meta.json"])
    flows = pd.read_csv(tmp_path / "csv" / "flows.csv")
    assert len(flows) == 80
    assert flows["new_arrivals"].eq(2.0).all()
    files = store.export(run_id, "parquet", tmp_path / "pq")
    back = pd.read_parquet(tmp_path / "pq" / "stocks.parquet")
    assert back["run_id"].eq(run_id).all()
    assert len(back) == 80
    with pytest.raises(InputError, match="unknown export format"):
        store.export(run_id, "docx", tmp_path / "x")
    with pytest.raises(StoreError, match="no run"):
        store.export("missing", "csv", tmp_path / "x")
    if importlib.util.find_spec("openpyxl") is not None:
        (xlsx, _) = store.export(run_id, "xlsx", tmp_path / "xl")
        sheets = pd.read_excel(xlsx, sheet_name=None)
        assert set(sheets) == set(TABLES)
        assert sheets["stocks"]["n_in_hub"].eq(2.0).all()
    # without openpyxl: a clear error that names the package, and nothing written
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "openpyxl" else real(name, *a)
    )
    with pytest.raises(StoreError, match="pip install openpyxl"):
        store.export(run_id, "xlsx", tmp_path / "no-xl")
    assert not (tmp_path / "no-xl").exists()


def test_default_path_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CORRIDOR_RESULTS", str(tmp_path / "env"))
    assert default_store_path() == tmp_path / "env"
    assert Store.open().root == (tmp_path / "env").resolve()
    monkeypatch.delenv("CORRIDOR_RESULTS")
    assert default_store_path() == Path("results")


def test_result_tables_carry_meta(mini_tables: dict[str, pa.Table]) -> None:
    meta = table_meta(mini_tables)
    assert meta["engine"] == "aggregate"
    assert meta["seed"] == 7
    assert "started_at" in meta
    assert mini_tables["stocks"].schema.field("date").type == pa.date32()
    assert result_tables(fake_result())["events"].num_rows == 80


def test_cli_run_runs_query_export(tmp_path: Path) -> None:
    from corridor.cli import runs as cli_runs

    app = typer.Typer()
    for fn in (cli_runs.run, cli_runs.runs, cli_runs.query, cli_runs.export):
        app.command()(fn)
    res_dir = str(tmp_path / "res")
    runner = CliRunner()
    out = tmp_path / "out"
    res = runner.invoke(
        app,
        [
            "run",
            str(MINI),
            "--engine",
            "aggregate",
            "--set",
            "hubs.hub_keldany.beds=50",
            "--out",
            str(out),
            "--results",
            res_dir,
        ],
    )
    assert res.exit_code == 0, res.output
    assert "yearly totals" in res.output
    assert "2024" in res.output
    assert (out / "stocks.csv").is_file()
    assert (out / "meta.json").is_file()
    store = Store.open(res_dir)
    row = store.runs().iloc[0]
    assert json.loads(row["overrides_json"]) == {"hubs.hub_keldany.beds": 50}
    assert row["seed"] == 7  # the scenario's seed
    res = runner.invoke(
        app, ["query", "SELECT count(*) AS n FROM runs", "--csv", "--results", res_dir]
    )
    assert res.exit_code == 0
    assert res.output.split() == ["n", "1"]
    res = runner.invoke(app, ["runs", "--results", res_dir], env={"COLUMNS": "200"})
    assert res.exit_code == 0
    assert row["run_id"] in res.output
    assert "aggregate" in res.output
    res = runner.invoke(
        app,
        [
            "export",
            row["run_id"],
            "--format",
            "parquet",
            "--out",
            str(tmp_path / "x"),
            "--results",
            res_dir,
        ],
    )
    assert res.exit_code == 0
    assert (tmp_path / "x" / "costs.parquet").is_file()
    res = runner.invoke(app, ["run", str(MINI), "--set", "oops", "--results", res_dir])
    assert isinstance(res.exception, InputError)
    assert "path=value" in str(res.exception)


def test_concurrent_readers_and_a_locked_catalog(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    # a writer thread and a querying thread in one process (as in the web dashboard)
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            for k in range(8):
                store.write_run(fake_result(k), {"run_id": f"w{k}"})
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread = threading.Thread(target=writer)
    thread.start()
    while thread.is_alive():
        store.query("SELECT count(*) FROM runs JOIN stocks USING (run_id)")
        store.runs()
    thread.join()
    assert errors == []
    assert len(store.runs()) == 8

    # another process holds the catalog: a write waits for it, or gives up with a clear error
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', flush=True);"
            " time.sleep(float(sys.argv[2]))",
            str(store.catalog_path),
            "2.5",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        impatient = Store(store.root, lock_timeout=0.3)
        with pytest.raises(StoreError, match="locked by another process"):
            impatient.write_run(fake_result(), {"run_id": "late"})
        assert not impatient.run_dir("late").exists()  # nothing half-written
        t0 = time.monotonic()
        store.write_run(fake_result(), {"run_id": "patient"})  # waits for the lock
        assert time.monotonic() - t0 > 0.5
    finally:
        holder.wait(timeout=30)
    assert "patient" in set(store.runs()["run_id"])


def test_extra_tables_are_stored_and_queryable(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "res")
    tables = result_tables(fake_result(1))
    links = pa.table(
        {"date": ["2024-01-01", "2024-01-02"], "link": ["a-b", "b-c"], "people": [3.0, 4.0]}
    )
    run_id = store.write_run({**tables, "link_flows": links}, {"policy": "routes"})
    plain = store.write_run(fake_result(2), {"policy": "plain"})
    assert store.tables_of(run_id) == [*TABLES, "link_flows"]
    assert store.tables_of(plain) == list(TABLES)
    assert store.read(run_id, "link_flows")["people"].tolist() == [3.0, 4.0]
    got = store.query("SELECT run_id, sum(people) AS p FROM link_flows GROUP BY 1")
    assert got.to_dict("list") == {"run_id": [run_id], "p": [7.0]}
    files = store.export(run_id, "csv", tmp_path / "out")
    assert (tmp_path / "out" / "link_flows.csv") in files
    with pytest.raises(InputError, match="bad table name"):
        store.write_run({**tables, "Bad-Name": links}, {})


def test_atomic_writes_respect_the_umask(tmp_path: Path) -> None:
    """Files written atomically (summary.json, exports, reports) get 0o666 less the umask,
    not the private mode of their temporary file."""
    import os
    import stat

    from corridor.atomic import write_text

    old = os.umask(0o022)
    try:
        write_text(tmp_path / "a.json", "{}")
        os.umask(0o027)
        write_text(tmp_path / "b.json", "{}")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.json").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "b.json").stat().st_mode) == 0o640


def test_a_batch_leaves_the_catalog_to_other_processes(
    tmp_path: Path, mini_tables: dict[str, pa.Table]
) -> None:
    """While an ensemble batches its catalog rows, another process can open the catalog (it
    sees the runs once the batch commits); after the batch every run is in the catalog."""
    import subprocess
    import sys

    store = Store.open(tmp_path / "store")
    probe = (
        "from corridor.results.store import Store; import sys;"
        f"s = Store.open({str(tmp_path / 'store')!r}, lock_timeout=5);"
        "print(len(s.runs()))"
    )
    with store.holding():
        for i in range(3):
            store.write_run(mini_tables, {"run_id": f"r{i}", "scenario": "mini"})
        seen = subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60
        )
    assert seen.returncode == 0, seen.stderr
    assert int(seen.stdout.strip()) in (0, 3)  # not yet committed, or re-registered
    assert sorted(store.runs()["run_id"]) == ["r0", "r1", "r2"]
