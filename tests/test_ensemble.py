"""Ensembles: seeds and prior draws, local executors, resume, common random numbers."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pytest

from corridor.analysis import priors
from corridor.analysis.ensemble import (
    plan_ensemble,
    replicate_seeds,
    run_ensemble,
)
from corridor.analysis.summaries import compare, paired, scalar_values
from corridor.errors import InputError
from corridor.results.store import Store
from corridor.results.tables import TABLES
from corridor.scenario.loader import load_scenario
from corridor.scenario.schema import Prior

MINI = Path(__file__).parent / "data" / "scenarios" / "mini"
PRIORS_YAML = """
uncertain:
  deterrence.elasticity: {dist: uniform, low: 0.0, high: 0.5, source: test}
  returns.removal_days: {dist: triangular, low: 10, mode: 30, high: 60, source: test}
  hubs.hub_keldany.stay_days: {dist: loguniform, low: 60, high: 360, source: test}
"""


def frames(store: Store, run_id: str) -> dict[str, pd.DataFrame]:
    """A run's tables without ``run_id``, rows in a fixed order."""
    out = {}
    for name in TABLES:
        df = store.read(run_id, name).drop(columns="run_id")
        keys = [c for c in ("date", "nationality", "item") if c in df.columns]
        out[name] = df.sort_values(keys).reset_index(drop=True)
    return out


def assert_same_runs(a: Store, b: Store, run_ids: list[str]) -> None:
    for rid in run_ids:
        fa, fb = frames(a, rid), frames(b, rid)
        for name in TABLES:
            pd.testing.assert_frame_equal(fa[name], fb[name], check_exact=True)


@pytest.fixture
def mini_with_priors(tmp_path: Path) -> Path:
    folder = tmp_path / "mini-priors"
    shutil.copytree(MINI, folder)
    with open(folder / "scenario.yaml", "a", encoding="utf-8") as fh:
        fh.write(PRIORS_YAML)
    return folder


# ---------------------------------------------------------------------------------------------
# Plans, seeds and priors
# ---------------------------------------------------------------------------------------------
def test_plan_seeds_ids_and_policies() -> None:
    pols = {"wide": {"hubs.hub_keldany.beds": 200}, "narrow": {"hubs.hub_keldany.beds": 20}}
    plan = plan_ensemble(str(MINI), 3, policies=pols, engine="aggregate")
    expected = [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(7).spawn(3)]
    assert replicate_seeds(7, 3) == expected
    assert plan.base_seed == 7  # the scenario's seed
    for pol in pols:
        tasks = [t for t in plan.tasks if t.policy == pol]
        assert [t.seed for t in tasks] == expected  # common random numbers across policies
        assert [t.replicate for t in tasks] == [0, 1, 2]
        assert all(t.overrides == pols[pol] for t in tasks)
    assert len({t.run_id for t in plan.tasks}) == 6
    assert all(t.run_id.startswith(plan.ensemble_id) for t in plan.tasks)
    # the id is a function of the defining inputs only
    same = plan_ensemble(str(MINI), 3, policies=dict(reversed(pols.items())), engine="aggregate")
    assert same.ensemble_id == plan.ensemble_id
    for other in (
        plan_ensemble(str(MINI), 4, policies=pols, engine="aggregate"),
        plan_ensemble(str(MINI), 3, policies=pols, engine="agents"),
        plan_ensemble(str(MINI), 3, policies=pols, engine="aggregate", base_seed=8),
        plan_ensemble(str(MINI), 3, policies={"wide": {}}, engine="aggregate"),
    ):
        assert other.ensemble_id != plan.ensemble_id
    with pytest.raises(InputError, match="too alike"):
        plan_ensemble(str(MINI), 2, policies={"a b": {}, "a-b": {}})
    with pytest.raises(InputError, match="engine"):
        plan_ensemble(str(MINI), 2, engine="quantum")


def test_inverse_cdfs() -> None:
    u = np.array([0.0, 0.25, 0.5, 0.75, 0.999999])
    uni = priors.inverse_cdf(Prior(dist="uniform", low=2, high=4), u)
    np.testing.assert_allclose(uni, [2.0, 2.5, 3.0, 3.5, 3.999998])
    logu = priors.inverse_cdf(Prior(dist="loguniform", low=1, high=100), np.array([0.5]))
    np.testing.assert_allclose(logu, [10.0])  # the geometric mean
    tri = priors.inverse_cdf(
        Prior(dist="triangular", low=0, mode=3, high=4), np.array([0.0, 0.75, 1.0])
    )
    np.testing.assert_allclose(tri, [0.0, 3.0, 4.0])  # F(mode) = (mode - low)/(high - low)
    norm = Prior(dist="normal", mean=1.0, sd=2.0, low=0.0, high=2.0)
    vals = priors.inverse_cdf(norm, np.linspace(0, 1, 101))
    assert vals.min() >= 0.0
    assert vals.max() <= 2.0
    assert priors.inverse_cdf(norm, np.array([0.5]))[0] == pytest.approx(1.0)
    plain = priors.inverse_cdf(Prior(dist="normal", mean=5.0, sd=1.0), np.array([0.8413447]))
    assert plain[0] == pytest.approx(6.0, abs=1e-5)  # Φ(1) = 0.8413


def test_priors_sampling(mini_with_priors: Path) -> None:
    sc = load_scenario(mini_with_priors).scenario
    n = 8
    lhs = priors.sample_priors(sc, n, "lhs", 11)
    assert lhs == priors.sample_priors(sc, n, "lhs", 11)  # reproducible
    assert lhs != priors.sample_priors(sc, n, "lhs", 12)
    # a Latin hypercube: each of the n strata of each prior holds exactly one replicate
    el = np.array([d["deterrence.elasticity"] for d in lhs])
    assert sorted(np.floor(el / 0.5 * n).astype(int)) == list(range(n))
    days = [d["returns.removal_days"] for d in lhs]
    assert all(isinstance(x, int) and 10 <= x <= 60 for x in days)  # an int field stays int
    stay = [d["hubs.hub_keldany.stay_days"] for d in lhs]
    assert all(60 <= x <= 360 for x in stay)
    sobol = priors.sample_priors(sc, n, "sobol", 11)
    assert len(sobol) == n
    assert sobol != lhs
    # plain Monte Carlo: replicate i's draw comes from its own SeedSequence child, whatever n
    mc4, mc8 = (priors.sample_priors(sc, k, "none", 11) for k in (4, 8))
    assert mc8[:4] == mc4
    u0 = np.random.default_rng(np.random.SeedSequence(11, spawn_key=(0, 0))).random(3)
    assert mc4[0]["deterrence.elasticity"] == pytest.approx(0.5 * u0[0])
    bad = sc.model_copy(update={"uncertain": {"asylum.nope": Prior(dist="uniform", low=0, high=1)}})
    with pytest.raises(InputError, match="not a parameter"):
        priors.sample_priors(bad, 2)
    neg = sc.model_copy(
        update={"uncertain": {"deterrence.elasticity": Prior(dist="uniform", low=-2, high=-1)}}
    )
    with pytest.raises(InputError, match="invalid"):
        priors.sample_priors(neg, 2)


def test_ensemble_applies_and_records_prior_draws(mini_with_priors: Path, tmp_path: Path) -> None:
    store = Store.open(tmp_path / "res")
    res = run_ensemble(str(mini_with_priors), 4, engine="aggregate", store=store, sample="lhs")
    rows = store.runs({"ensemble_id": res.ensemble_id}).sort_values("replicate")
    draws = [t.params for t in res.plan.tasks]
    assert [json.loads(p) for p in rows["params_json"]] == draws
    assert [json.loads(o) for o in rows["overrides_json"]] == draws
    # the aggregate engine is deterministic: replicates differ only through their draws
    arrivals = scalar_values(store, "new_arrivals", list(rows["run_id"]))
    assert arrivals.nunique() == 4
    order_el = np.argsort([d["deterrence.elasticity"] for d in draws])
    assert np.all(np.diff(arrivals.to_numpy()[order_el]) < 0)  # more deterrence, fewer arrivals


# ---------------------------------------------------------------------------------------------
# Executors
# ---------------------------------------------------------------------------------------------
def _pool_workers() -> list[psutil.Process]:
    out = []
    for child in psutil.Process().children(recursive=False):
        try:
            if "spawn_main" in " ".join(child.cmdline()):
                out.append(child)
        except psutil.Error:
            continue
    return out


def test_local_processes_match_one_worker_and_survive_a_kill(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    n = 4
    one = Store.open(tmp_path / "one")
    ref = run_ensemble(str(MINI), n, engine="agents", store=one, workers=1)
    assert len(ref.new_run_ids) == n

    two = Store.open(tmp_path / "two")
    killed: list[int] = []

    def kill_once(done: int, total: int) -> None:
        if done == 1 and not killed:
            victims = _pool_workers()
            assert victims, "no pool worker to kill"
            killed.append(victims[0].pid)
            victims[0].kill()

    with caplog.at_level(logging.WARNING, logger="corridor.analysis.ensemble"):
        res = run_ensemble(str(MINI), n, engine="agents", store=two, workers=2, progress=kill_once)
    assert killed
    assert "worker process died" in caplog.text  # the pool was rebuilt
    assert res.ensemble_id == ref.ensemble_id
    assert sorted(res.new_run_ids) == sorted(ref.new_run_ids)
    assert len(two.runs()) == n
    assert_same_runs(one, two, list(ref.run_ids))
    metas = [two.read_meta(r)["result"] for r in res.run_ids]
    assert {m["numba_threads"] for m in metas} == {1}  # single-threaded workers
    assert len({m["worker"] for m in metas}) >= 2  # the rebuilt pool finished the rest
    # the replicates really differ from each other (the comparison is not vacuous)
    a, b = (frames(one, r)["flows"] for r in ref.run_ids[:2])
    assert not a.equals(b)


def test_interrupted_ensemble_resumes(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    n, k = 5, 2

    class Stop(Exception):
        pass

    def stop_after_k(done: int, total: int) -> None:
        if done == k:
            raise Stop

    with pytest.raises(Stop):
        run_ensemble(str(MINI), n, engine="aggregate", store=store, progress=stop_after_k)
    before = store.runs()
    assert len(before) == k
    seen: list[tuple[int, int]] = []
    res = run_ensemble(
        str(MINI), n, engine="aggregate", store=store, progress=lambda d, t: seen.append((d, t))
    )
    assert res.skipped == k
    assert len(res.new_run_ids) == n - k
    assert seen[0] == (0, n - k)
    assert seen[-1] == (n - k, n - k)
    after = store.runs()
    assert len(after) == n
    assert after["run_id"].is_unique
    old = after[after["run_id"].isin(before["run_id"])].sort_values("run_id")
    pd.testing.assert_frame_equal(
        old.reset_index(drop=True), before.sort_values("run_id").reset_index(drop=True)
    )
    assert set(after["run_id"]) - set(before["run_id"]) == set(res.new_run_ids)
    assert sorted(after["replicate"]) == list(range(n))
    again = run_ensemble(str(MINI), n, engine="aggregate", store=store)
    assert again.new_run_ids == ()
    assert again.skipped == n


def test_common_random_numbers_pair_policies(tmp_path: Path) -> None:
    """Two policies that differ only in one hub's beds: the paired differences vary far less
    than the replicates do, because each replicate's runs share every random draw."""
    store = Store.open(tmp_path)
    n = 6
    pols = {"beds200": {"hubs.hub_keldany.beds": 200}, "beds150": {"hubs.hub_keldany.beds": 150}}
    res = run_ensemble(str(MINI), n, engine="agents", store=store, policies=pols)
    c = compare(store, "beds200", "beds150", "cost_total", ensemble_id=res.ensemble_id)
    assert c.n == n
    assert c.mean_diff < 0  # fewer beds, lower running costs
    assert c.spread > 0
    assert c.ratio < 0.2, c.as_dict()
    # negative control: the same values paired with the wrong replicate lose the benefit
    runs = store.runs({"ensemble_id": res.ensemble_id}).sort_values("replicate")
    a = scalar_values(store, "cost_total", list(runs[runs.policy == "beds200"]["run_id"]))
    b = scalar_values(store, "cost_total", list(runs[runs.policy == "beds150"]["run_id"]))
    shifted = paired(pd.Series(a.to_numpy()), pd.Series(np.roll(b.to_numpy(), 1)))
    assert shifted.ratio > 0.7 > 3 * c.ratio
