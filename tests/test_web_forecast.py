"""The dashboard on the one model with a forecast (uk-balkans): its jobs run the forecast as
``corridor run`` does (same engine and seeds: the status quo's backlog at the end of 2030 is the
main job's), its levers act from the forecast's start only, and every stored run of the main
job (its ensemble of variants, one replicate, its summary run) opens."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("fastapi", reason="the dashboard needs fastapi (pip install fastapi)")
pytest.importorskip("httpx", reason="FastAPI's TestClient needs httpx (pip install httpx)")

from fastapi.testclient import TestClient

from forecast_support import REPLICATES, MainJob, main_job
from test_web_api import client_for, wait_job

__all__ = ["main_job"]  # a fixture, imported for pytest


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with client_for(tmp_path) as c:
        yield c


def _row(view: dict[str, Any], metric: str) -> dict[str, Any]:
    return next(r for r in view["summary"] if r["metric"] == metric)


def _backlog_2030(out: Path, variant: str) -> np.ndarray[Any, Any]:
    yearly = pd.read_parquet(out / "replicates.parquet")
    rows = yearly[(yearly["variant"] == variant) & (yearly["year"] == 2030)]
    return rows.sort_values("replicate")["backlog_end"].to_numpy(dtype=float)


def test_scenario_info_names_the_forecast_and_its_variants(client: TestClient) -> None:
    spec = client.get("/api/scenarios/uk-balkans").json()
    fc = spec["forecast"]
    assert fc["engine"] == "aggregate"
    assert fc["seed"] == 2025
    assert fc["start"] == "2025-01-01"
    ids = [v["id"] for v in fc["variants"]]
    assert ids[0] == "status_quo"
    assert {"more_caseworkers", "stronger_french_interception"} <= set(ids)
    assert len(ids) == 16
    # Levers the forecast does not take are hidden; hubs start from the forecast's start.
    assert spec["deterrence"] is None
    assert spec["interception"] is None
    assert spec["agents_per_person"] is None
    assert spec["hub_start_min"] == "2025-01-01"
    # ... and refused if sent anyway, as are unknown variants and hubs in the fitted past.
    for body, field in (
        ({"levers": {"deterrence_elasticity": 0.5}}, "levers.deterrence_elasticity"),
        ({"levers": {"french_interception": 0.7}}, "levers.french_interception"),
        ({"levers": {"agents_per_person": 0.5}}, "levers.agents_per_person"),
        ({"variant": "no_such_variant"}, "variant"),
        (
            {"levers": {"hubs": [{"id": "hub_kosovo", "on": True}], "hub_start": "2020-01-01"}},
            "levers.hub_start",
        ),
    ):
        got = client.post("/api/runs", json={"scenario": "uk-balkans", **body})
        assert got.status_code == 422, (body, got.text)
        assert got.json()["detail"][0]["field"] == field
    # A scenario without a forecast has none and keeps its levers.
    ia = client.get("/api/scenarios/ia-2023").json()
    assert ia["forecast"] is None
    assert ia["deterrence"] is not None


def test_status_quo_is_the_main_jobs(client: TestClient, main_job: MainJob) -> None:
    """Same seeds and engine as ``corridor run``: the dashboard's status quo (its own runs, in
    its own store) gives the main job's backlog at the end of 2030, replicate by replicate."""
    got = client.post(
        "/api/runs", json={"scenario": "uk-balkans", "mode": "bands", "replicates": REPLICATES}
    )
    assert got.status_code == 202, got.text
    job = wait_job(client, got.json()["job"]["id"], timeout=300)
    assert job["status"] == "done", job
    assert job["engine"] == "aggregate"
    view = client.get(f"/api/runs/{job['run_id']}").json()
    assert view["forecast"] is True
    assert view["mode"] == "bands"
    assert view["replicates"] == REPLICATES
    assert view["dates"][0] == "2018-01"
    assert view["dates"][-1] == "2030-12"
    assert len(view["dates"]) == 13 * 12  # monthly tables
    main = _backlog_2030(main_job.out, "status_quo")
    row = _row(view, "n_awaiting_decision")
    want = np.quantile(main, [0.1, 0.5, 0.9])
    for label, value in zip(("p10", "p50", "p90"), want, strict=True):
        assert row["status_quo"][label] == pytest.approx(value, rel=1e-5)
    summary = json.loads((main_job.out / "summary.json").read_text())
    assert row["status_quo"]["p50"] == pytest.approx(
        summary["status_quo"]["2030"]["backlog_end"]["p50"], rel=1e-5
    )
    # The same run again is already stored (its ensemble id is found without a job).
    again = client.post(
        "/api/runs", json={"scenario": "uk-balkans", "mode": "bands", "replicates": REPLICATES}
    )
    assert again.status_code == 200
    assert again.json()["run_id"] == job["run_id"]


def test_levers_act_from_the_forecast_start(client: TestClient) -> None:
    """Caseworkers x1.5 on the forecast (one replicate): fewer people waiting in 2030, and the
    fitted past (2018-2024) the same as the status quo's."""
    body = {"scenario": "uk-balkans", "levers": {"caseworkers_multiplier": 1.5}}
    got = client.post("/api/runs", json=body)
    assert got.status_code == 202, got.text
    job = wait_job(client, got.json()["job"]["id"], timeout=300)
    assert job["status"] == "done", job
    view = client.get(f"/api/runs/{job['run_id']}").json()
    assert view["has_status_quo"]
    assert view["overrides"] == {"asylum.caseworkers": {"from": "2025-01-01", "value": 3682.5}}
    assert view["levers"]["caseworkers_multiplier"] == 1.5
    s = view["series"]["n_awaiting_decision"]
    past = [i for i, d in enumerate(view["dates"]) if d < "2025-01"]
    assert [s["levers"]["p50"][i] for i in past] == [s["status_quo"]["p50"][i] for i in past]
    row = _row(view, "n_awaiting_decision")
    assert row["diff"]["p50"] < 0


def test_main_job_runs_open(main_job: MainJob, tmp_path: Path) -> None:
    with client_for(tmp_path, results=main_job.root) as c:
        listed = {r["id"]: r for r in c.get("/api/runs").json()["runs"]}
        summary = listed[main_job.summary_run]
        assert summary["kind"] == "summary"
        assert summary["ensemble_id"] == main_job.ensemble_id
        assert summary["url"] == f"/runs/{main_job.ensemble_id}"
        ens = listed[main_job.ensemble_id]
        assert ens["kind"] == "ensemble"
        assert ens["policies"] == 2
        assert ens["replicates"] == REPLICATES
        # The summary run opens as its ensemble (never a 422).
        got = c.get(f"/api/runs/{main_job.summary_run}")
        assert got.status_code == 200, got.text
        view = got.json()
        assert view["id"] == main_job.ensemble_id
        assert view["opened_from"] == main_job.summary_run
        assert c.get(f"/runs/{main_job.summary_run}").status_code == 200
        # The ensemble: its variant against its status quo, both from the same ensemble.
        view = c.get(f"/api/runs/{main_job.ensemble_id}").json()
        assert view["policy"] == "more_caseworkers"
        assert view["policy_label"].startswith("More caseworkers")
        assert view["status_quo_policy"] == "status_quo"
        assert view["status_quo_id"] == main_job.ensemble_id
        assert [p["id"] for p in view["policies"]] == ["status_quo", "more_caseworkers"]
        assert view["scenario"] == "uk-balkans"
        row = _row(view, "n_awaiting_decision")
        sq = _backlog_2030(main_job.out, "status_quo")
        more = _backlog_2030(main_job.out, "more_caseworkers")
        assert row["status_quo"]["p50"] == pytest.approx(float(np.median(sq)), rel=1e-5)
        assert row["levers"]["p50"] == pytest.approx(float(np.median(more)), rel=1e-5)
        assert row["diff"]["p50"] == pytest.approx(float(np.median(more - sq)), rel=1e-4)
        # Another policy of the ensemble, chosen; an unknown one is a 404 with a message.
        sq_view = c.get(f"/api/runs/{main_job.ensemble_id}?policy=status_quo").json()
        assert sq_view["policy"] == "status_quo"
        missing = c.get(f"/api/runs/{main_job.ensemble_id}?policy=nope")
        assert missing.status_code == 404
        assert "status_quo" in missing.json()["detail"]
        # One replicate of a variant finds its status quo on the same seed.
        one = c.get(f"/api/runs/{main_job.ensemble_id}-more_caseworkers-001").json()
        assert one["kind"] == "run"
        assert one["status_quo_replicates"] == 1
        assert _row(one, "n_awaiting_decision")["status_quo"]["p50"] == pytest.approx(
            sq[1], rel=1e-5
        )
