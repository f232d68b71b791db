"""Faults (issue 15, item 3): workers die with their parent; I/O and scheduler failures are one
line with exit status 2 and leave nothing half-written; a second writer of an ensemble waits
for the first and both end with the complete set."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from corridor.analysis.pool import Pool, SchedulerUnreachable
from corridor.cli import main
from corridor.errors import CorridorError
from corridor.results import store as store_module
from corridor.results.locks import LockTimeout, hold, holder
from corridor.results.store import Store, StoreError
from scenario_fixtures import MINI

CORRIDOR = [sys.executable, "-m", "corridor"]


def _corridor(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CORRIDOR, *args], capture_output=True, text=True, timeout=timeout)


def _one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2, proc.stderr
    text = proc.stderr.strip()
    assert "Traceback" not in text
    assert "\n" not in text, text
    assert text.startswith("error:")
    return text


def _alive(pids: list[int]) -> list[int]:
    out = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                out.append(pid)
        except psutil.NoSuchProcess:
            continue
    return out


# ---------------------------------------------------------------------------------------------
# Workers die with their parent
# ---------------------------------------------------------------------------------------------
def test_workers_die_when_the_ensemble_is_killed(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [*CORRIDOR, "ensemble", str(MINI), "-n", "60", "--workers", "2",
         "--results", str(tmp_path / "r")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        parent = psutil.Process(proc.pid)
        deadline = time.monotonic() + 90
        workers: list[int] = []
        while time.monotonic() < deadline and len(workers) < 2:
            time.sleep(0.2)
            kids = parent.children(recursive=True)
            workers = [k.pid for k in kids if "spawn_main" in " ".join(k.cmdline())]
        assert len(workers) >= 2, "the workers never started"
        everyone = [k.pid for k in parent.children(recursive=True)]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while _alive(everyone) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _alive(everyone) == [], "worker processes outlived their parent"
    finally:
        if proc.poll() is None:
            proc.kill()


def test_a_worker_whose_parent_is_gone_ends_itself() -> None:
    """The watchdog alone (no prctl): a grandchild whose parent ends exits within seconds."""
    code = (
        "import os, subprocess, sys\n"
        "child = subprocess.Popen([sys.executable, '-c', "
        "'import time; from corridor.analysis.pool import die_with_parent; "
        "die_with_parent(poll=0.1); time.sleep(60)'])\n"
        "print(child.pid, flush=True)\n"
        "time_to_start = __import__('time').sleep(2)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    pid = int(out.stdout.split()[0])
    deadline = time.monotonic() + 10
    while _alive([pid]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _alive([pid]) == []


# ---------------------------------------------------------------------------------------------
# Scheduler and I/O failures: one line, exit 2, nothing half-written
# ---------------------------------------------------------------------------------------------
def test_unreachable_scheduler_fails_fast_in_one_line(tmp_path: Path) -> None:
    t0 = time.perf_counter()
    proc = _corridor(
        "ensemble", str(MINI), "-n", "2", "--scheduler", "tcp://127.0.0.1:1",
        "--results", str(tmp_path / "r"),
    )  # fmt: skip
    line = _one_line_error(proc)
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:1" in line
    assert time.perf_counter() - t0 < 25  # was an OSError traceback after 30 s
    assert not any((tmp_path / "r" / "runs").iterdir())


def test_unreachable_scheduler_in_the_library() -> None:
    t0 = time.perf_counter()
    with pytest.raises(SchedulerUnreachable, match=r"127\.0\.0\.1:1"), Pool(2, "tcp://127.0.0.1:1"):
        pass
    assert time.perf_counter() - t0 < 10


def test_results_in_proc_is_one_line(tmp_path: Path) -> None:
    for args in (["runs"], ["run", str(MINI)], ["ensemble", str(MINI), "-n", "2"]):
        line = _one_line_error(_corridor(*args, "--results", "/proc/foo"))
        assert "/proc/foo" in line


def test_a_full_disk_while_writing_parquet_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = store_module._write_table
    calls = {"n": 0}

    def full(table, path, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 2:  # the second table of the run: one file is already written
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real(table, path, *args, **kwargs)

    monkeypatch.setattr(store_module, "_write_table", full)
    root = tmp_path / "r"
    monkeypatch.setattr(sys, "argv", ["corridor", "run", str(MINI), "--results", str(root)])
    with pytest.raises(SystemExit) as info:
        main()
    assert info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "No space left on device" in err
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    store = Store.open(root)
    assert list(store.runs_dir.iterdir()) == []
    assert list((root / "tmp").iterdir()) == []
    assert len(store.runs()) == 0


def test_store_write_error_is_a_store_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from corridor.analysis.ensemble import run_one

    tables = run_one(str(MINI), 1, {}, "aggregate")
    store = Store.open(tmp_path / "r")

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(store_module, "_write_table", full)
    with pytest.raises(StoreError, match="No space left on device"):
        store.write_run(tables, {"run_id": "x"})
    assert not store.run_dir("x").exists()


def test_any_other_oserror_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", "/somewhere/file")

    monkeypatch.setattr(Store, "open", broken)
    monkeypatch.setattr(sys, "argv", ["corridor", "runs", "--results", str(tmp_path)])
    with pytest.raises(SystemExit) as info:
        main()
    assert info.value.code == 2
    assert capsys.readouterr().err.strip() == "error: /somewhere/file: Permission denied"


# ---------------------------------------------------------------------------------------------
# A second writer waits for the first
# ---------------------------------------------------------------------------------------------
def test_two_identical_ensembles_on_one_store_both_end_complete(tmp_path: Path) -> None:
    root = str(tmp_path / "r")
    args = [*CORRIDOR, "ensemble", str(MINI), "-n", "6", "--engine", "aggregate", "--results", root]
    first = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    second = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    outs = [p.communicate(timeout=300) for p in (first, second)]
    for p, (_out, err) in zip((first, second), outs, strict=True):
        assert p.returncode == 0, err
        assert "already in the store" not in err
    runs = Store.open(root).runs()
    assert len(runs) == 6
    assert runs["ensemble_id"].nunique() == 1
    news = sorted(int(out.split(": ")[1].split(" new")[0]) for out, _ in outs)
    assert news in ([0, 6], [6, 0]) or sum(news) == 6  # one ran them, the other found them


def test_lock_waits_times_out_and_is_released_by_a_killed_holder(tmp_path: Path) -> None:
    path = tmp_path / "locks" / "e.lock"
    code = (
        "import sys, time\nfrom pathlib import Path\nfrom corridor.results.locks import hold\n"
        f"with hold(Path({str(path)!r})):\n    print('held', flush=True)\n    time.sleep(60)\n"
    )
    other = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout is not None
        assert other.stdout.readline().strip() == "held"
        assert holder(path) == other.pid
        seen: list[int | None] = []
        with pytest.raises(LockTimeout), hold(path, timeout=0.5, poll=0.05, on_wait=seen.append):
            pass
        assert seen == [other.pid]
        other.kill()  # kill -9: the kernel releases the lock (never stale)
        other.wait(timeout=10)
        with hold(path, timeout=5, poll=0.05):
            assert holder(path) == os.getpid()
    finally:
        if other.poll() is None:
            other.kill()


def test_a_stale_lock_file_is_taken_over(tmp_path: Path) -> None:
    path = tmp_path / "locks" / "e.lock"
    path.parent.mkdir(parents=True)
    path.write_text("999999999\n")  # a pid that does not run
    with hold(path, timeout=2):
        assert holder(path) == os.getpid()


def test_lock_timeout_is_a_corridor_error() -> None:
    assert issubclass(LockTimeout, CorridorError)
