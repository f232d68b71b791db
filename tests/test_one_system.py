"""One system: every command that runs a forecast scenario goes through the one entry
(``run_one`` via ``run_ensemble``) and gives the same replicates.

Behaviour checked here (uk-balkans, the shipped scenario with a forecast):

1. the main job (``run_flagship`` / ``corridor run``) and ``run_ensemble`` / ``corridor
   ensemble`` store the same runs (ids, seeds) with the same numbers, and the main job's
   summary.json / replicates.parquet are made from exactly those numbers;
2. stronger French interception flows through the chain: more people intercepted, fewer claims,
   replicate by replicate; the Channel's routes row agrees with the flows table;
3. hub leavers (Kosovo) come back onto the Western Balkans route a month later, and are detected;
4. levers start at the forecast's start: history before 2025 is never rewritten;
5. both engines run through the same entry; the CLI's default for a forecast is aggregate;
6. ``--variant`` accepts a comma list or repeats; mistakes exit 2 with one clear line;
7. rerunning an ensemble on the same store runs nothing new;
8. (slow) Dask, one process and two processes write the same summary.json, byte for byte.

Only public entry points are imported (``corridor.analysis.ensemble``, ``corridor.flagship.job``,
``corridor.results.store``, ``corridor.cli``); results are read through the store. Every store
and output folder is under ``tmp_path``.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from corridor.analysis.ensemble import EnsembleResult, run_ensemble
from corridor.cli import app
from corridor.flagship.job import FlagshipRun, run_flagship
from corridor.results.store import Store

SCENARIO = "uk-balkans"
MINI = Path(__file__).parent / "data" / "scenarios" / "mini"
END_2025 = "2025-12-01"  # the month row of December 2025 (dates are the month's first day)
FORECAST_START = "2025-01-01"  # levers apply from here (cut-off 2024-12-31)
HUB_OPENS = "2026-07-01"  # hub_kosovo: operating from July 2026
EXACT = {"check_exact": True}


# ---------------------------------------------------------------------------------------------
# Helpers: everything is read back through the store
# ---------------------------------------------------------------------------------------------
def catalog(store: Store) -> pd.DataFrame:
    """The replicates of ensembles in the store (not the main job's summary run)."""
    return store.query(
        "SELECT run_id, ensemble_id, policy, replicate, seed, engine FROM runs"
        " WHERE ensemble_id IS NOT NULL ORDER BY run_id"
    ).reset_index(drop=True)


def awaiting_end_2025(store: Store) -> pd.DataFrame:
    """People awaiting a decision at the end of 2025 (December's row), per replicate."""
    return store.query(
        "SELECT r.run_id, r.policy, r.replicate, r.seed, sum(s.n_awaiting_decision) AS awaiting"
        " FROM stocks s JOIN runs r USING (run_id)"
        f" WHERE s.date = DATE '{END_2025}' GROUP BY ALL ORDER BY r.policy, r.replicate"
    ).reset_index(drop=True)


def flows_in_year(store: Store, year: int, column: str) -> pd.DataFrame:
    """``column`` of the flows table summed over nationalities and the months of ``year``,
    one row per (policy, replicate)."""
    return store.query(
        f"SELECT r.policy, r.replicate, sum(f.{column}) AS value"
        " FROM flows f JOIN runs r USING (run_id)"
        f" WHERE year(f.date) = {int(year)} GROUP BY ALL ORDER BY r.policy, r.replicate"
    ).reset_index(drop=True)


def paired(frame: pd.DataFrame, a: str, b: str) -> pd.DataFrame:
    """``value`` of policies ``a`` and ``b`` side by side, per replicate."""
    wide = frame.pivot(index="replicate", columns="policy", values="value")
    return wide[[a, b]]


def table(store: Store, run_id: str, name: str, before: str | None = None) -> pd.DataFrame:
    """One run's table, sorted by its keys, without the run id (optionally dates < before)."""
    df = store.read(run_id, name).drop(columns="run_id")
    df["date"] = pd.to_datetime(df["date"])
    if before is not None:
        df = df[df["date"] < pd.Timestamp(before)]
    keys = [c for c in ("date", "nationality", "item", "route") if c in df.columns]
    return df.sort_values(keys).reset_index(drop=True)


def backlog_2025_from_job(out: Path) -> tuple[list[float], dict[str, float]]:
    """``backlog_end`` of 2025 per replicate (replicates.parquet) and its summary.json entry."""
    yearly = pd.read_parquet(out / "replicates.parquet")
    rows = yearly[(yearly["variant"] == "status_quo") & (yearly["year"] == 2025)]
    per_replicate = rows.sort_values("replicate")["backlog_end"].tolist()
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    return per_replicate, summary["status_quo"]["2025"]["backlog_end"]


def cli(args: list[str]) -> str:
    """Run a ``corridor`` command through Typer's test runner; it must succeed."""
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, f"{args}: {res.output}\n{res.exception!r}"
    return res.output


def corridor_main(
    args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    """Run the real ``corridor`` entry point (which turns Corridor's errors into exit status 2)
    in this process: (exit status, stderr)."""
    from corridor.cli import main

    monkeypatch.setattr(sys, "argv", ["corridor", *args])
    with pytest.raises(SystemExit) as exc:
        main()
    code = exc.value.code
    return (0 if code is None else int(code)), capsys.readouterr().err


# ---------------------------------------------------------------------------------------------
# Shared runs (module scope: each is run once)
# ---------------------------------------------------------------------------------------------
@dataclass
class SameReplicates:
    job: FlagshipRun
    job_store: Store
    job_out: Path
    ens: EnsembleResult
    ens_store: Store
    cli_run_store: Store
    cli_run_out: Path
    cli_ens_store: Store


@pytest.fixture(scope="module")
def same(tmp_path_factory: pytest.TempPathFactory) -> SameReplicates:
    """status_quo × 2 replicates by four commands, each into its own store."""
    root = tmp_path_factory.mktemp("same")
    job_store = Store.open(root / "job-store")
    job = run_flagship(
        SCENARIO,
        root / "job-out",
        replicates=2,
        workers=1,
        variants=["status_quo"],
        store=job_store,
        report=False,
    )
    ens_store = Store.open(root / "ens-store")
    ens = run_ensemble(
        SCENARIO, 2, policies={"status_quo": {}}, engine="aggregate", store=ens_store
    )
    with pytest.MonkeyPatch.context() as mp:
        # `corridor run` on a forecast writes to the default store: point it at tmp
        mp.setenv("CORRIDOR_RESULTS", str(root / "cli-run-store"))
        mp.chdir(root)  # anything else written to a default place lands in tmp too
        cli(
            [
                "run", SCENARIO, "--variant", "status_quo", "--replicates", "2",
                "--out", str(root / "cli-run-out"), "--workers", "1",
            ]
        )  # fmt: skip
        cli(
            [
                "ensemble", SCENARIO, "-n", "2", "--variant", "status_quo",
                "--results", str(root / "cli-ens-store"),
            ]
        )  # fmt: skip
    return SameReplicates(
        job=job,
        job_store=job_store,
        job_out=root / "job-out",
        ens=ens,
        ens_store=ens_store,
        cli_run_store=Store.open(root / "cli-run-store"),
        cli_run_out=root / "cli-run-out",
        cli_ens_store=Store.open(root / "cli-ens-store"),
    )


@pytest.fixture(scope="module")
def interception(tmp_path_factory: pytest.TempPathFactory) -> Store:
    store = Store.open(tmp_path_factory.mktemp("interception"))
    run_ensemble(
        SCENARIO,
        3,
        policies={"status_quo": {}, "stronger_french_interception": {}},
        engine="aggregate",
        store=store,
    )
    return store


@pytest.fixture(scope="module")
def kosovo(tmp_path_factory: pytest.TempPathFactory) -> Store:
    store = Store.open(tmp_path_factory.mktemp("kosovo"))
    run_ensemble(
        SCENARIO, 2, policies={"status_quo": {}, "hub_kosovo": {}}, engine="aggregate", store=store
    )
    return store


# ---------------------------------------------------------------------------------------------
# 1. Same replicates by any command
# ---------------------------------------------------------------------------------------------
def test_same_replicates_by_every_command(same: SameReplicates) -> None:
    stores = {
        "run_flagship": same.job_store,
        "run_ensemble": same.ens_store,
        "corridor run": same.cli_run_store,
        "corridor ensemble": same.cli_ens_store,
    }
    ref = catalog(same.ens_store)
    assert len(ref) == 2
    assert list(ref["run_id"]) == list(same.ens.run_ids)
    assert list(ref["replicate"]) == [0, 1]
    assert set(ref["policy"]) == {"status_quo"}
    assert set(ref["engine"]) == {"aggregate"}
    assert ref["seed"].nunique() == 2  # two replicates, two seeds
    assert same.job.ensemble_id == same.ens.ensemble_id
    for name, store in stores.items():
        got = catalog(store)
        pd.testing.assert_frame_equal(got, ref, obj=f"catalog of {name}")

    ref_awaiting = awaiting_end_2025(same.ens_store)
    assert len(ref_awaiting) == 2
    assert (ref_awaiting["awaiting"] > 0).all()
    for name, store in stores.items():
        pd.testing.assert_frame_equal(
            awaiting_end_2025(store), ref_awaiting, **EXACT, obj=f"awaiting end 2025, {name}"
        )

    # the main job's files are made from those stored replicates
    expected = ref_awaiting.sort_values("replicate")["awaiting"].to_numpy()
    for out in (same.job_out, same.cli_run_out):
        per_replicate, summary = backlog_2025_from_job(out)
        np.testing.assert_allclose(per_replicate, expected, rtol=1e-12)
        p10, p50, p90 = np.percentile(expected, [10, 50, 90])
        assert summary["p10"] == pytest.approx(p10, rel=1e-12)
        assert summary["p50"] == pytest.approx(p50, rel=1e-12)
        assert summary["p90"] == pytest.approx(p90, rel=1e-12)
    assert (same.job_out / "summary.json").read_bytes() == (
        same.cli_run_out / "summary.json"
    ).read_bytes()


# ---------------------------------------------------------------------------------------------
# 2. Interception through the chain
# ---------------------------------------------------------------------------------------------
def test_stronger_interception_intercepts_more_and_leaves_fewer_claims(
    interception: Store,
) -> None:
    cat = catalog(interception)
    assert sorted(zip(cat["policy"], cat["replicate"], strict=True)) == sorted(
        (p, r) for p in ("status_quo", "stronger_french_interception") for r in range(3)
    )
    # paired replicates share their seed (common random numbers)
    seeds = cat.pivot(index="replicate", columns="policy", values="seed")
    assert (seeds["status_quo"] == seeds["stronger_french_interception"]).all()

    intercepted = paired(
        flows_in_year(interception, 2026, "new_intercepted"),
        "status_quo",
        "stronger_french_interception",
    )
    claims = paired(
        flows_in_year(interception, 2026, "new_claims"),
        "status_quo",
        "stronger_french_interception",
    )
    assert len(intercepted) == len(claims) == 3
    assert (intercepted["status_quo"] > 0).all()
    assert (intercepted["stronger_french_interception"] > intercepted["status_quo"]).all(), (
        intercepted
    )
    assert (claims["stronger_french_interception"] < claims["status_quo"]).all(), claims


def test_channel_route_row_matches_the_flows(interception: Store) -> None:
    both = interception.query(
        "WITH f AS (SELECT run_id, date, sum(new_intercepted) AS intercepted FROM flows"
        " GROUP BY ALL)"
        " SELECT r.run_id, r.date, r.new_detected, r.new_crossed, f.intercepted"
        " FROM routes r JOIN f USING (run_id, date) WHERE r.route = 'channel'"
        " ORDER BY r.run_id, r.date"
    )
    n_runs = len(catalog(interception))
    n_months = interception.query(
        "SELECT count(DISTINCT date) AS n FROM routes WHERE route = 'channel'"
    )["n"].iloc[0]
    assert len(both) == n_runs * n_months  # every month of every run has both rows
    assert (both["intercepted"] > 0).any()
    np.testing.assert_allclose(
        both["new_detected"] - both["new_crossed"], both["intercepted"], rtol=1e-9, atol=1e-6
    )


# ---------------------------------------------------------------------------------------------
# 3. Hub leavers come back
# ---------------------------------------------------------------------------------------------
def test_hub_leavers_reenter_the_western_balkans_route(kosovo: Store) -> None:
    wb = kosovo.query(
        "SELECT r.policy, r.replicate, w.date, w.new_detected, w.new_reentered"
        " FROM routes w JOIN runs r USING (run_id) WHERE w.route = 'western_balkans'"
    )
    left = kosovo.query(
        "SELECT r.policy, r.replicate, f.date, sum(f.new_hub_left) AS hub_left"
        " FROM flows f JOIN runs r USING (run_id) GROUP BY ALL"
    )
    df = wb.merge(left, on=["policy", "replicate", "date"], how="left", validate="one_to_one")
    df["date"] = pd.to_datetime(df["date"])
    df = df.sort_values(["policy", "replicate", "date"]).reset_index(drop=True)
    g = df.groupby(["policy", "replicate"])
    df["back_cum"] = g["new_reentered"].cumsum()
    df["left_cum"] = g["hub_left"].cumsum()
    df["left_cum_2_before"] = df.groupby(["policy", "replicate"])["left_cum"].shift(2).fillna(0)

    sq = df[df["policy"] == "status_quo"].set_index(["replicate", "date"])
    hub = df[df["policy"] == "hub_kosovo"].set_index(["replicate", "date"])
    assert set(hub.index.get_level_values("replicate")) == {0, 1}
    assert (sq["new_reentered"] == 0).all()  # no hub, nobody comes back

    opens = pd.Timestamp(HUB_OPENS)
    dates = hub.index.get_level_values("date")
    assert (hub.loc[dates <= opens, "new_reentered"] == 0).all()  # nobody left a hub yet
    after = hub[dates > opens]
    back = after[after["new_reentered"] > 0]
    # the hub's life is drawn per replicate (it may never open): where people left it, they
    # come back
    left_by = hub.groupby(level="replicate")["hub_left"].sum()
    assert (left_by > 0).any(), "the hub opened in no replicate"
    for r in left_by.index[left_by > 0]:
        assert (back.index.get_level_values("replicate") == r).any(), f"replicate {r}: none back"
    # people who leave a Kosovo hub set off from Pristina on the route network (Kosovo is a
    # Western Balkans host), resolved under the replicate's own crossing probabilities (step 0
    # of the forecast): the share who can pay for a route is back on the routes within the
    # network's days to the UK (under a month), by the end of a month everyone of them who
    # left up to two months before, and nobody who has not left yet
    from corridor.forecast.model import with_network
    from corridor.forecast.reentry import reentry_terms
    from corridor.forecast.replicate import prepare_forecast
    from corridor.scenario.loader import resolve_scenario

    ctx = prepare_forecast(resolve_scenario(SCENARIO))
    seeds = kosovo.query("SELECT replicate, seed FROM runs WHERE policy = 'hub_kosovo'")
    detections = set()
    for r, seed in zip(seeds["replicate"], seeds["seed"], strict=True):
        terms = reentry_terms(with_network(ctx, int(seed))[0], "Kosovo")
        assert terms is not None
        assert 0.0 < terms.reentry <= 1.0
        assert 0.0 < terms.days < 31.0
        mine = hub.loc[r]
        tol = 1e-6 * float(mine["left_cum"].max())
        assert (mine["back_cum"] >= terms.reentry * mine["left_cum_2_before"] - tol).all()
        assert (mine["back_cum"] <= terms.reentry * mine["left_cum"] + tol).all()
        if float(mine["left_cum"].max()) > 0:
            peak = float(mine["left_cum"].max())
            assert float(mine["back_cum"].max()) > 0.8 * terms.reentry * peak
        # ... and each causes the network's Western Balkans detections from there (attempts at
        # the crossings into the EU, repeats counted): the same replicate of the status quo
        # (same flows, common random numbers) has exactly that many fewer
        assert terms.detections >= 1.0
        extra = mine["new_detected"] - sq.loc[r].loc[mine.index, "new_detected"]
        np.testing.assert_allclose(
            extra, terms.detections * mine["new_reentered"], rtol=1e-9, atol=1e-6
        )
        detections.add(round(terms.detections, 9))
    assert len(detections) == len(seeds)  # each replicate meets its own network
    assert (hub.loc[back.index, "new_detected"] > sq.loc[back.index, "new_detected"]).all()


# ---------------------------------------------------------------------------------------------
# 4. Levers never rewrite history
# ---------------------------------------------------------------------------------------------
def test_levers_leave_history_alone(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    res = run_ensemble(
        SCENARIO,
        1,
        policies={"status_quo": {}, "more_staff": {"asylum.caseworkers": 5000}},
        engine="aggregate",
        store=store,
    )
    runs = {t.policy: t.run_id for t in res.plan.tasks}
    assert set(runs) == {"status_quo", "more_staff"}
    for name in ("stocks", "flows"):
        a = table(store, runs["status_quo"], name, before=FORECAST_START)
        b = table(store, runs["more_staff"], name, before=FORECAST_START)
        assert a["date"].min() < pd.Timestamp("2019-01-01")  # the fitted past is there
        assert len(a) > 0
        pd.testing.assert_frame_equal(a, b, **EXACT, obj=f"{name} before {FORECAST_START}")
    decisions = paired(flows_in_year(store, 2026, "new_decisions"), "status_quo", "more_staff")
    assert (decisions["more_staff"] > decisions["status_quo"]).all(), decisions


# ---------------------------------------------------------------------------------------------
# 5. Engines
# ---------------------------------------------------------------------------------------------
def test_agents_engine_runs_through_the_same_entry(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    res = run_ensemble(SCENARIO, 1, policies={"status_quo": {}}, engine="agents", store=store)
    cat = catalog(store)
    assert list(cat["run_id"]) == list(res.run_ids)
    assert list(cat["engine"]) == ["agents"]
    assert list(cat["policy"]) == ["status_quo"]
    stocks = table(store, res.run_ids[0], "stocks")
    values = stocks.drop(columns=["date", "nationality"]).to_numpy(dtype=float)
    assert values.sum() > 0
    np.testing.assert_array_equal(values, np.round(values))  # people, one by one
    awaiting = awaiting_end_2025(store)["awaiting"]
    assert len(awaiting) == 1
    assert awaiting.iloc[0] > 0


def test_cli_default_engine_for_a_forecast_is_aggregate(same: SameReplicates) -> None:
    # neither `corridor run` nor `corridor ensemble` was given --engine
    for store in (same.cli_run_store, same.cli_ens_store):
        assert set(catalog(store)["engine"]) == {"aggregate"}
    # the aggregate engine's expected values are not whole numbers (unlike the agents')
    values = same.cli_ens_store.query("SELECT n_awaiting_decision AS v FROM stocks")["v"]
    assert (values != values.round()).any()


# ---------------------------------------------------------------------------------------------
# 6. --variant
# ---------------------------------------------------------------------------------------------
def test_variant_comma_list_and_repeated_flag_agree(tmp_path: Path) -> None:
    comma, repeated = tmp_path / "comma", tmp_path / "repeated"
    cli(["ensemble", SCENARIO, "-n", "1", "--variant", "status_quo,hub_kosovo",
         "--results", str(comma)])  # fmt: skip
    cli(["ensemble", SCENARIO, "-n", "1", "--variant", "status_quo", "--variant", "hub_kosovo",
         "--results", str(repeated)])  # fmt: skip
    a, b = catalog(Store.open(comma)), catalog(Store.open(repeated))
    assert sorted(a["policy"]) == ["hub_kosovo", "status_quo"]
    assert a["ensemble_id"].nunique() == 1
    pd.testing.assert_frame_equal(a, b)


def test_unknown_variant_exits_2_naming_the_known_ids(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    results = tmp_path / "results"
    code, err = corridor_main(
        ["ensemble", SCENARIO, "-n", "1", "--variant", "status_quo,no_such_variant",
         "--results", str(results)],
        monkeypatch,
        capsys,
    )  # fmt: skip
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert "no_such_variant" in lines[0]
    for known in ("status_quo", "hub_kosovo", "stronger_french_interception", "more_caseworkers"):
        assert known in lines[0], known
    assert len(catalog(Store.open(results))) == 0  # refused before anything ran


def test_variant_on_a_scenario_without_a_forecast_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = corridor_main(
        ["ensemble", str(MINI), "-n", "1", "--variant", "status_quo",
         "--results", str(tmp_path / "results")],
        monkeypatch,
        capsys,
    )  # fmt: skip
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "--variant" in lines[0]
    assert "forecast" in lines[0]


# ---------------------------------------------------------------------------------------------
# 7. Resuming
# ---------------------------------------------------------------------------------------------
def test_rerunning_an_ensemble_runs_nothing_new(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    policies = {"status_quo": {}, "hub_kosovo": {}}
    first = run_ensemble(SCENARIO, 2, policies=policies, engine="aggregate", store=store)
    assert len(first.new_run_ids) == 4
    assert first.skipped == 0
    before = catalog(store)
    again = run_ensemble(SCENARIO, 2, policies=policies, engine="aggregate", store=store)
    assert again.ensemble_id == first.ensemble_id
    assert again.new_run_ids == ()
    assert again.skipped == len(again.plan.tasks) == 4
    assert again.run_ids == first.run_ids
    pd.testing.assert_frame_equal(catalog(store), before)


# ---------------------------------------------------------------------------------------------
# 8. Dask, one process, two processes: the same summary.json
# ---------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_main_job_on_dask_writes_the_same_summary(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    kwargs = {"variants": ["status_quo", "hub_kosovo"], "replicates": 2, "report": False}
    run_flagship(SCENARIO, tmp_path / "w1", workers=1, store=Store.open(tmp_path / "s1"), **kwargs)
    run_flagship(SCENARIO, tmp_path / "w2", workers=2, store=Store.open(tmp_path / "s2"), **kwargs)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        run_flagship(
            SCENARIO,
            tmp_path / "dask",
            store=Store.open(tmp_path / "s3"),
            scheduler=cluster.scheduler_address,
            **kwargs,
        )
    one = (tmp_path / "w1" / "summary.json").read_bytes()
    summary = json.loads(one)
    assert set(summary) == {"status_quo", "hub_kosovo"}
    assert (tmp_path / "w2" / "summary.json").read_bytes() == one
    assert (tmp_path / "dask" / "summary.json").read_bytes() == one


# ---------------------------------------------------------------------------------------------
# 9-11. One scenario, one lever vocabulary, the railway through the routes
# ---------------------------------------------------------------------------------------------
def test_old_flagship_yaml_is_refused_naming_the_new_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    from corridor.cli import main
    from corridor.scenario.loader import resolve_scenario

    pack = tmp_path / "old-pack"
    shutil.copytree(resolve_scenario(SCENARIO), pack)
    (pack / "flagship.yaml").write_text("cutoff: 2024-12-31\nvariants: []\n", encoding="utf-8")
    monkeypatch.setenv("CORRIDOR_RESULTS", str(tmp_path / "store"))
    monkeypatch.setattr(sys, "argv", ["corridor", "run", str(pack), "--replicates", "1"])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "flagship.yaml is no longer read" in err
    for key in ("forecast:", "variants:", "levers:"):
        assert key in err
    assert "Traceback" not in err


def test_levers_command_lists_paths_bounds_and_variant_recipes() -> None:
    result = CliRunner().invoke(app, ["levers", SCENARIO], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    out = result.output
    for text in (
        "asylum.caseworkers",
        "hubs.hub_kosovo.beds",
        "arrivals.claim_share",
        "[0, 1]; prior 0.85 to 1",  # schema bounds and the prior's range
        "variant.prevention_add",
        "more_caseworkers",
        "asylum.caseworkers=3000 from 2025-07-01",
    ):
        assert text in out, text


def test_railway_moves_people_onto_montenegro(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "store")
    run_ensemble(
        SCENARIO,
        1,
        policies={"status_quo": {}, "hub_montenegro_rail": {}},
        engine="aggregate",
        store=store,
    )
    via = store.query(
        "SELECT r.policy, year(t.date) AS year, sum(t.new_via_montenegro) AS me,"
        " sum(t.new_via_serbia) AS rs, sum(t.new_detected) AS detected"
        " FROM routes t JOIN runs r USING (run_id) WHERE t.route = 'western_balkans'"
        " GROUP BY ALL ORDER BY 1, 2"
    ).set_index(["policy", "year"])
    # before the railway (2027) nobody goes through Montenegro, in either variant
    assert via.loc[("hub_montenegro_rail", 2026), "me"] == 0.0
    assert via.loc[("status_quo", 2028), "me"] == 0.0
    # with it, most people on the Western Balkans routes do (the route network's shares)
    rail = via.loc[("hub_montenegro_rail", 2028)]
    assert rail["me"] > 0.5 * rail["rs"] > 0.0


def test_flow_levers_are_dotted_paths_too(tmp_path: Path) -> None:
    """``variant.<field>`` levers reach the flows: a custom policy made of them equals the
    named variant that sets the same fields, replicate by replicate."""
    store = Store.open(tmp_path / "store")
    run_ensemble(
        SCENARIO,
        1,
        policies={
            "stronger_french_interception": {},
            "custom": {"variant.prevention_add": 0.15, "variant.prevention_from": "2025-07-01"},
        },
        engine="aggregate",
        store=store,
    )
    got = flows_in_year(store, 2026, "new_intercepted").set_index("policy")["value"]
    assert got["custom"] == got["stronger_french_interception"] > 0


def test_a_bad_flow_lever_is_one_clear_error(tmp_path: Path) -> None:
    from corridor.errors import InputError

    with pytest.raises(InputError, match=r"variant\.prevention_add.*less than or equal to 0\.9"):
        run_ensemble(
            SCENARIO,
            1,
            policies={"custom": {"variant.prevention_add": 2.0}},
            engine="aggregate",
            store=Store.open(tmp_path / "store"),
        )


@pytest.mark.slow
def test_both_engines_agree_on_the_forecast(tmp_path: Path) -> None:
    """The agent and aggregate engines run the same forecast replicates (same flows, same
    seeds): replicate by replicate their people awaiting a decision differ only by the agent
    engine's chance and the queues' non-linearity (whole people, whole servers). End of 2025 and
    of 2027: the mean paired difference is within 1% of the aggregate engine's figure (the agent
    engine runs about 0.5% higher, a Jensen gap of capacity-limited queues, not noise: with 4
    replicates the 2025 gap was 689 people, 3 standard errors 823, at the previous stop's code
    and 607, 3 standard errors 445, at this one's; a test of a zero mean was a coin toss)."""
    store = Store.open(tmp_path / "store")
    for engine in ("agents", "aggregate"):
        run_ensemble(SCENARIO, 4, policies={"status_quo": {}}, engine=engine, store=store)
    got = store.query(
        "SELECT r.engine, r.replicate, year(m.date) AS year, m.backlog_end FROM metrics m"
        " JOIN runs r USING (run_id) WHERE month(m.date) = 12 AND year(m.date) IN (2025, 2027)"
    )
    wide = got.pivot_table(index=["year", "replicate"], columns="engine", values="backlog_end")
    diff = wide["agents"] - wide["aggregate"]
    for year in (2025, 2027):
        rel = (diff.loc[year] / wide["aggregate"].loc[year]).to_numpy()
        assert abs(rel.mean()) < 0.01, (year, rel)
