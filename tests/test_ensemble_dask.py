"""Ensembles on Dask distributed: same tables as a local run, and a killed worker loses nothing.

The test starts its own ``LocalCluster`` (2 single-threaded worker processes with nannies) and
tears it down at the end of the module.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from corridor.analysis.ensemble import run_ensemble
from corridor.results.store import Store
from corridor.results.tables import TABLES

distributed = pytest.importorskip("distributed")

MINI = Path(__file__).parent / "data" / "scenarios" / "mini"
N = 4


def frames(store: Store, run_id: str) -> dict[str, pd.DataFrame]:
    out = {}
    for name in TABLES:
        df = store.read(run_id, name).drop(columns="run_id")
        keys = [c for c in ("date", "nationality", "item") if c in df.columns]
        out[name] = df.sort_values(keys).reset_index(drop=True)
    return out


def assert_same_runs(a: Store, b: Store, run_ids: tuple[str, ...]) -> None:
    for rid in run_ids:
        fa, fb = frames(a, rid), frames(b, rid)
        for name in TABLES:
            pd.testing.assert_frame_equal(fa[name], fb[name], check_exact=True)


@pytest.fixture(scope="module")
def cluster() -> Iterator[distributed.LocalCluster]:
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as lc:
        yield lc


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, tuple[str, ...]]:
    store = Store.open(tmp_path_factory.mktemp("local"))
    res = run_ensemble(str(MINI), N, engine="agents", store=store, workers=1)
    return store, res.run_ids


def test_dask_matches_local(
    cluster: distributed.LocalCluster,
    reference: tuple[Store, tuple[str, ...]],
    tmp_path: Path,
) -> None:
    ref_store, ref_ids = reference
    store = Store.open(tmp_path)
    res = run_ensemble(
        str(MINI), N, engine="agents", store=store, scheduler=cluster.scheduler_address
    )
    assert res.run_ids == ref_ids
    assert len(res.new_run_ids) == N
    assert_same_runs(ref_store, store, ref_ids)
    with distributed.Client(cluster.scheduler_address) as client:
        threads = client.run(lambda: __import__("numba").config.NUMBA_NUM_THREADS)
    assert set(threads.values()) == {1}  # the worker plugin made each worker single-threaded
    assert {store.read_meta(r)["result"]["numba_threads"] for r in res.run_ids} == {1}


def test_dask_worker_killed_mid_run(
    cluster: distributed.LocalCluster,
    reference: tuple[Store, tuple[str, ...]],
    tmp_path: Path,
) -> None:
    ref_store, ref_ids = reference
    store = Store.open(tmp_path)
    with distributed.Client(cluster.scheduler_address) as client:
        killed: list[str] = []

        def kill_busy_worker(done: int, total: int) -> None:
            if done != 1 or killed:
                return
            busy = [w for w, keys in client.processing().items() if keys]
            assert busy, "no worker holds a task"
            killed.append(busy[0])
            client.run(os._exit, 1, workers=[busy[0]], on_error="ignore")

        res = run_ensemble(
            str(MINI),
            N,
            engine="agents",
            store=store,
            scheduler=client,
            progress=kill_busy_worker,
        )
        assert killed
        assert killed[0] not in client.scheduler_info()["workers"]  # it really died
        client.wait_for_workers(2, timeout=60)
        env = client.run(lambda: os.environ.get("NUMBA_NUM_THREADS"))
        assert set(env.values()) == {"1"}  # the restarted worker got the plugin too
    assert len(res.new_run_ids) == N
    assert len(store.runs()) == N
    assert_same_runs(ref_store, store, ref_ids)


def test_pool_map_on_dask_matches_this_process(cluster: distributed.LocalCluster) -> None:
    """The ordered map that calibration and sensitivity use gives the same frames on Dask."""
    from corridor.analysis.calibration.runs import simulate_totals
    from corridor.analysis.pool import Pool

    cols = ["new_arrivals", "n_awaiting_decision"]
    args = [(str(MINI), seed, {}, "agents", cols) for seed in (1, 2, 3)]
    with Pool(1) as here:
        local = here.map(simulate_totals, args)
    with Pool(2, scheduler=cluster.scheduler_address) as pool:
        assert pool.backend == "dask"
        remote = pool.map(simulate_totals, args)
        again = pool.map(simulate_totals, args[:1])  # the client stays open between maps
    for a, b in zip(local, remote, strict=True):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    pd.testing.assert_frame_equal(again[0], local[0], check_exact=True)
    assert not local[0].equals(local[1])
