"""The one worker pool: ordered map and as-completed on every local backend, task failures,
and a worker process that dies (rebuilt, unfinished tasks resubmitted; giving up when workers
keep dying). Dask is exercised in tests/test_ensemble_dask.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from corridor.analysis.pool import Pool, WorkerDied
from corridor.errors import InputError


def square(x: int) -> int:
    return x * x


def fail_on_three(x: int) -> int:
    if x == 3:
        raise ValueError("three")
    return x


def threads() -> str | None:
    return os.environ.get("NUMBA_NUM_THREADS")


def die_once(x: int, marker: str) -> int:
    """Kill this worker process the first time any task runs."""
    if not os.path.exists(marker):
        Path(marker).touch()
        os._exit(1)
    return x * x


def always_die(x: int) -> int:
    os._exit(1)


@pytest.mark.parametrize("workers", [1, 2])
def test_map_in_order_and_as_completed_by_index(workers: int) -> None:
    with Pool(workers) as pool:
        assert pool.map(square, [(i,) for i in range(7)]) == [i * i for i in range(7)]
        seen = dict(pool.as_completed(square, [(i,) for i in range(5)]))
        assert seen == {i: i * i for i in range(5)}
        assert pool.map(square, []) == []


@pytest.mark.parametrize("workers", [1, 2])
def test_task_failures_raised_or_returned(workers: int) -> None:
    with Pool(workers) as pool:
        out = pool.map(fail_on_three, [(i,) for i in range(5)], return_exceptions=True)
        assert out[:3] == [0, 1, 2]
        assert out[4] == 4
        assert isinstance(out[3], ValueError)
        with pytest.raises(ValueError, match="three"):
            pool.map(fail_on_three, [(i,) for i in range(5)])
        assert pool.map(square, [(2,), (3,)]) == [4, 9]  # still usable afterwards


def test_worker_processes_are_single_threaded() -> None:
    with Pool(2) as pool:
        assert set(pool.map(threads, [() for _ in range(4)])) == {"1"}


def test_dead_worker_is_replaced_and_its_tasks_rerun(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    marker = str(tmp_path / "died")
    with Pool(2) as pool:
        out = pool.map(die_once, [(i, marker) for i in range(6)])
    assert out == [i * i for i in range(6)]
    assert os.path.exists(marker)
    assert "worker process died" in caplog.text


def test_workers_that_keep_dying_give_up() -> None:
    with pytest.raises(WorkerDied, match="3 times in a row"), Pool(2) as pool:
        pool.map(always_die, [(i,) for i in range(3)])


def test_bad_worker_count() -> None:
    with pytest.raises(InputError):
        Pool(0)
