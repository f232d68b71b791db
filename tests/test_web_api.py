"""The dashboard's API (FastAPI TestClient, in process): levers → overrides, validation (422),
body limit (413), the bounded queue (429 + Retry-After), the token, path traversal, and a run
stored and viewed against the status quo."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi", reason="the dashboard needs fastapi (pip install fastapi)")
pytest.importorskip("httpx", reason="FastAPI's TestClient needs httpx (pip install httpx)")

with warnings.catch_warnings():  # Starlette's notice that its TestClient moves to httpx2
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from corridor.errors import InputError
from corridor.results.store import Store
from corridor.web.app import Settings, check_bind, create_app, is_loopback
from corridor.web.jobs import (
    HubLever,
    JobSpec,
    Levers,
    levers_from_overrides,
    overrides_from_levers,
    scenario_info,
)

TOKEN = "t0ken-for-tests-0123456789"
TEST_HOSTS = ("testserver",)


def client_for(tmp_path: Path, **settings: Any) -> TestClient:
    opts: dict[str, Any] = {
        "results": tmp_path / "results",
        "allowed_hosts": TEST_HOSTS,
        "isolate_jobs": False,  # runs in the server's thread: no process to start per test
    }
    opts.update(settings)
    runner = opts.pop("runner", None)
    app = create_app(Settings(**opts), **({"runner": runner} if runner else {}))
    return TestClient(app)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with client_for(tmp_path) as c:
        yield c


def wait_job(c: TestClient, job_id: str, timeout: float = 120.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got: dict[str, Any] = c.get(f"/api/jobs/{job_id}").json()
        if got["status"] in ("done", "failed", "cancelled"):
            return got
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish in {timeout} s")


# ---------------------------------------------------------------------------------------------
# Levers -> overrides
# ---------------------------------------------------------------------------------------------
def test_status_quo_levers_give_no_overrides() -> None:
    info = scenario_info("uk-balkans")
    assert overrides_from_levers(info, Levers()) == {}
    assert overrides_from_levers(info, info.defaults()) == {}


def test_levers_to_overrides_uk_balkans() -> None:
    info = scenario_info("uk-balkans")
    levers = Levers(
        hubs=[
            HubLever(id="hub_kosovo", on=True, beds=250),
            HubLever(id="hub_albania", on=True),
        ],
        caseworkers_multiplier=2.0,
    )
    over = overrides_from_levers(info, levers)
    start = info.hub_start.isoformat()
    assert info.hub_start == date(2026, 1, 1)  # the year after the latest agreement step
    # Kosovo (in talks): operating from hub_start, earlier steps kept, not hypothetical.
    assert over["hubs.hub_kosovo.agreement"] == [
        {"date": "2025-05-15", "status": "proposed"},
        {"date": start, "status": "operating"},
    ]
    assert "hubs.hub_kosovo.hypothetical" not in over
    assert over["hubs.hub_kosovo.beds"] == 250.0
    # Albania refused: it can only run as a labelled hypothetical hub.
    assert over["hubs.hub_albania.hypothetical"] is True
    assert "hubs.hub_albania.beds" not in over  # unchanged
    # Caseworkers (a forecast): the value in force at the cut-off doubled, from the forecast's
    # start; the fitted past (2018-2024) is left alone.
    assert info.forecast is not None
    assert info.forecast.start == date(2025, 1, 1)
    assert over["asylum.caseworkers"] == {"from": "2025-01-01", "value": 2.0 * 2455}
    # Levers applied from the forecast's start: the engine sees the hubs operate, and the
    # caseworkers before 2025 are the scenario's own.
    from corridor.asylum.params import build_params
    from corridor.forecast.levers import apply_levers

    lev = apply_levers(info.loaded, over, info.forecast.start)
    p = build_params(lev)
    base = build_params(info.loaded)
    on = dict(zip(p.hub_ids, p.hub_operating.any(axis=0), strict=True))
    assert on["hub_kosovo"]
    assert on["hub_albania"]
    assert not on["hub_serbia"]
    past = p.dates < "2025-01-01"
    assert (p.caseworkers[past] == base.caseworkers[past]).all()
    assert (p.caseworkers[~past][:200] == 2.0 * 2455).all()
    # The forecast draws its deterrence: no lever.
    with pytest.raises(InputError, match="deterrence"):
        overrides_from_levers(info, Levers(deterrence_elasticity=0.5))
    # And back: the levers are recovered from the overrides alone.
    back, rest = levers_from_overrides(info, over)
    assert rest == {}
    hubs = {h.id: h for h in back.hubs}
    assert hubs["hub_kosovo"].on
    assert hubs["hub_kosovo"].beds == 250.0
    assert hubs["hub_albania"].on
    assert not hubs["hub_serbia"].on
    assert back.caseworkers_multiplier == 2.0
    assert overrides_from_levers(info, back) == over


def test_turning_an_operating_hub_off() -> None:
    info = scenario_info("uk-rwanda")
    assert info.hubs[0].base_on
    over = overrides_from_levers(info, Levers(hubs=[HubLever(id="hub_rwanda", on=False)]))
    assert over == {"hubs.hub_rwanda.agreement": [{"date": "2022-04-14", "status": "proposed"}]}
    back, _ = levers_from_overrides(info, over)
    assert not back.hubs[0].on
    # A constant caseworker number is multiplied as a number.
    ia = scenario_info("ia-2023")
    assert overrides_from_levers(ia, Levers(caseworkers_multiplier=1.5)) == {
        "asylum.caseworkers": 1500.0
    }


def test_french_interception_lever_with_a_network(client: TestClient) -> None:
    from corridor.scenario.loader import shipped_scenarios

    if "balkans-routes" not in shipped_scenarios():
        pytest.skip("no shipped scenario with a route network")
    spec = client.get("/api/scenarios/balkans-routes").json()
    assert spec["interception"]["country"] == "France"
    base = spec["interception"]["value"]
    assert spec["defaults"]["french_interception"] == base
    body = {"scenario": "balkans-routes", "levers": {"french_interception": 0.8}}
    got = client.post("/api/overrides", json=body)
    assert got.status_code == 200, got.text
    over = got.json()["overrides"]
    assert over
    assert all(k.startswith("network.crossings.") and k.endswith(".interception") for k in over)
    assert set(over.values()) == {0.8}
    assert got.json()["levers"]["french_interception"] == 0.8
    bad = {"scenario": "balkans-routes", "levers": {"french_interception": 1.2}}
    got = client.post("/api/overrides", json=bad)
    assert got.status_code == 422
    assert "interception" in got.json()["detail"][0]["field"]


def test_overrides_endpoint_and_spec(client: TestClient) -> None:
    spec = client.get("/api/scenarios/uk-balkans").json()
    assert [h["id"] for h in spec["hubs"]][:2] == ["hub_albania", "hub_bosnia"]
    albania = spec["hubs"][0]
    assert albania["host_position"] == "refused"
    assert albania["host_refuses"]
    assert spec["interception"] is None  # no route network: the lever is hidden
    assert spec["caseworkers"]["schedule"] is True
    body = {
        "scenario": "uk-balkans",
        "levers": {"hubs": [{"id": "hub_serbia", "on": True, "beds": 100}]},
    }
    got = client.post("/api/overrides", json=body)
    assert got.status_code == 200, got.text
    over = got.json()["overrides"]
    assert over["hubs.hub_serbia.beds"] == 100.0
    assert over["hubs.hub_serbia.agreement"][-1] == {"date": "2026-01-01", "status": "operating"}
    assert [h["on"] for h in got.json()["levers"]["hubs"] if h["id"] == "hub_serbia"] == [True]
    names = [s["name"] for s in client.get("/api/scenarios").json()["scenarios"]]
    assert {"uk-balkans", "ia-2023", "uk-rwanda", "italy-albania"} <= set(names)


# ---------------------------------------------------------------------------------------------
# 422: invalid levers, located
# ---------------------------------------------------------------------------------------------
def _post(c: TestClient, levers: dict[str, Any], scenario: str = "uk-balkans") -> Any:
    return c.post("/api/runs", json={"scenario": scenario, "levers": levers})


def test_invalid_override_is_422_with_located_message(client: TestClient) -> None:
    # A value the scenario schema refuses: reported at the schema's field, naming the override.
    got = _post(client, {"deterrence_elasticity": 1.5}, scenario="ia-2023")
    assert got.status_code == 422
    (item,) = got.json()["detail"]
    assert item["field"] == "deterrence.elasticity"
    assert "deterrence.elasticity" in item["message"]
    assert "1.5" in item["message"]
    assert item["expected"] == "less than or equal to 1"
    # Several problems are all reported.
    got = _post(
        client,
        {"hubs": [{"id": "hub_kosovo", "on": True, "beds": -5}], "agents_per_person": 0},
        scenario="uk-balkans-hub-kosovo",
    )
    assert got.status_code == 422
    fields = {d["field"] for d in got.json()["detail"]}
    assert fields == {"hubs.0.beds", "agents_per_person"}
    assert any("hubs.hub_kosovo.beds" in d["message"] for d in got.json()["detail"])
    # Levers that do not fit the scenario.
    got = _post(client, {"hubs": [{"id": "hub_nowhere", "on": True}]})
    assert got.status_code == 422
    assert got.json()["detail"][0]["field"] == "levers.hubs.hub_nowhere"
    assert "hub_kosovo" in got.json()["detail"][0]["expected"]
    got = _post(client, {"french_interception": 0.5})
    assert got.status_code == 422
    assert got.json()["detail"][0]["field"] == "levers.french_interception"
    got = _post(client, {"hubs": [{"id": "hub_kosovo", "on": True}], "hub_start": "2040-01-01"})
    assert got.status_code == 422
    assert got.json()["detail"][0]["field"] == "levers.hub_start"
    # Malformed requests: the request model's own errors, same shape.
    for body in (
        {"scenario": "uk-balkans", "levers": {"caseworkers_multiplier": 50}},
        {"scenario": "uk-balkans", "levers": {"unknown_lever": 1}},
        {"scenario": "uk-balkans", "mode": "fast"},
        {"scenario": "uk-balkans", "levers": {"deterrence_elasticity": "NaN"}},
    ):
        got = client.post("/api/runs", json=body)
        assert got.status_code == 422, body
        assert got.json()["detail"][0]["message"]
    got = client.post(
        "/api/runs", json={"scenario": "uk-balkans", "mode": "bands", "replicates": 99}
    )
    assert got.status_code == 422
    assert got.json()["detail"][0]["field"] == "replicates"


def test_scenario_is_a_name_never_a_path(client: TestClient, tmp_path: Path) -> None:
    folder = Path(scenario_info("uk-balkans").folder)
    for ref in (str(folder), "../uk-balkans", "uk-balkans/../ia-2023", "no-such-pack", "/etc"):
        got = client.post("/api/runs", json={"scenario": ref})
        assert got.status_code == 422, ref
    assert client.get("/api/scenarios/no-such-pack").status_code == 404


def test_post_must_be_json(client: TestClient) -> None:
    got = client.post(
        "/api/runs",
        content=b"scenario=uk-balkans",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert got.status_code == 415


# ---------------------------------------------------------------------------------------------
# 413: bounded bodies
# ---------------------------------------------------------------------------------------------
def test_body_over_64_kib_is_413(client: TestClient) -> None:
    big = {"scenario": "uk-balkans", "levers": {}, "pad": "x" * (65 * 1024)}
    got = client.post("/api/runs", json=big)
    assert got.status_code == 413

    # Without a Content-Length (chunked): counted as it arrives.
    def chunks() -> Iterator[bytes]:
        yield b'{"scenario": "uk-balkans", "pad": "'
        for _ in range(80):
            yield b"y" * 1024
        yield b'"}'

    got = client.post("/api/runs", content=chunks(), headers={"Content-Type": "application/json"})
    assert got.status_code == 413
    # A small body still goes through.
    assert client.post("/api/overrides", json={"scenario": "ia-2023"}).status_code == 200


# ---------------------------------------------------------------------------------------------
# 429: the bounded queue
# ---------------------------------------------------------------------------------------------
def test_full_queue_is_429_with_retry_after(tmp_path: Path) -> None:
    release = threading.Event()
    started: list[JobSpec] = []

    def runner(spec: JobSpec, store: Store, progress: Any) -> tuple[str, str]:
        started.append(spec)
        progress("status_quo", 0, 0, 1)
        assert release.wait(30)
        return "e-done", "e-sq"

    with client_for(tmp_path, queue=1, runner=runner) as c:

        def post(m: float) -> Any:
            return _post(c, {"caseworkers_multiplier": m}, scenario="ia-2023")

        first = post(1.1)
        assert first.status_code == 202
        deadline = time.monotonic() + 10
        while not started and time.monotonic() < deadline:  # the first is taken off the queue
            time.sleep(0.02)
        second = post(1.2)
        assert second.status_code == 202
        assert second.json()["job"]["position"] == 1
        again = post(1.2)  # the same run again: the queued job, not a new one
        assert again.status_code == 202
        assert again.json()["job"]["id"] == second.json()["job"]["id"]
        third = post(1.3)
        assert third.status_code == 429
        retry = third.headers["Retry-After"]
        assert retry.isdigit()
        assert int(retry) >= 1
        assert third.json()["retry_after"] == int(retry)
        release.set()
        for got in (first, second):
            done = wait_job(c, got.json()["job"]["id"], timeout=30)
            assert done["status"] == "done"
            assert done["run_url"] == "/runs/e-done"
        assert post(1.3).status_code == 202  # room again


# ---------------------------------------------------------------------------------------------
# Token and bind address
# ---------------------------------------------------------------------------------------------
def test_loopback_rule() -> None:
    assert is_loopback("127.0.0.1")
    assert is_loopback("localhost")
    assert is_loopback("::1")
    assert not is_loopback("0.0.0.0")
    assert not is_loopback("192.168.1.4")
    check_bind("127.0.0.1", None)
    check_bind("0.0.0.0", TOKEN)
    with pytest.raises(InputError, match="without a token"):
        check_bind("0.0.0.0", None)
    with pytest.raises(InputError, match="token must be"):
        check_bind("0.0.0.0", "short")
    with pytest.raises(InputError):
        create_app(Settings(host="10.0.0.1", results=Path("/nonexistent/never-made")))


def test_token_required_off_loopback(tmp_path: Path) -> None:
    with client_for(tmp_path, host="0.0.0.0", token=TOKEN, allowed_hosts=None) as c:
        for path in ("/", "/api/health", "/api/scenarios", "/static/app.js", "/runs/abc"):
            got = c.get(path)
            assert got.status_code == 401, path
            assert got.headers["www-authenticate"] == "Bearer"
        assert (
            c.get(
                "/api/health", headers={"Authorization": "Bearer wrong-token-123456789"}
            ).status_code
            == 401
        )
        assert c.get("/api/health", params={"token": "nope"}).status_code == 401
        assert c.post("/api/overrides", json={"scenario": "ia-2023"}).status_code == 401
        ok = c.get("/api/health", headers={"Authorization": f"Bearer {TOKEN}"})
        assert ok.status_code == 200
        assert ok.json()["ok"]
        assert c.get("/api/scenarios", params={"token": TOKEN}).status_code == 200
        page = c.get("/", params={"token": TOKEN})
        assert page.status_code == 200
        assert f"/static/app.js?token={TOKEN}" in page.text  # the page's assets carry it
        assert c.get(f"/static/app.js?token={TOKEN}").status_code == 200


def test_serve_refuses_other_addresses_without_token(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "corridor.cli.web", "--host", "0.0.0.0", "--port", "0"]
    env = {"PATH": "/usr/bin:/bin", "CORRIDOR_RESULTS": str(tmp_path / "r")}
    got = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)
    assert got.returncode == 2
    assert "refusing to listen on 0.0.0.0" in got.stderr
    assert "--token" in got.stderr
    assert not (tmp_path / "r").exists()  # refused before anything was opened


def test_loopback_server_checks_host_header(tmp_path: Path) -> None:
    app = create_app(Settings(results=tmp_path / "results", isolate_jobs=False))  # loopback hosts
    with TestClient(app, base_url="http://127.0.0.1:8000") as c:
        assert c.get("/api/health").status_code == 200
        assert c.get("/api/health", headers={"Host": "localhost:8000"}).status_code == 200
        assert c.get("/api/health", headers={"Host": "evil.example:8000"}).status_code == 400


# ---------------------------------------------------------------------------------------------
# Path traversal
# ---------------------------------------------------------------------------------------------
TRAVERSALS = (
    "/api/runs/..%2F..%2F..%2Fetc%2Fpasswd",
    "/api/runs/%2e%2e%2f%2e%2e%2fcatalog.duckdb",
    "/api/runs/..",
    "/api/runs/.%2e",
    "/api/runs/%2e%2e",
    "/api/runs/..%5c..%5cwindows",
    "/api/runs/%252e%252e%252fcatalog.duckdb",
    "/runs/..%2F..%2Fpyproject.toml",
    "/runs/%2e%2e",
    "/static/..%2fapp.py",
    "/static/%2e%2e/jobs.py",
    "/static/..%2F..%2F..%2Fpyproject.toml",
    "/api/scenarios/..%2F..%2Fdata",
    "/api/scenarios/%2e%2e",
    "/api/jobs/..%2F..%2Fetc%2Fpasswd",
)


@pytest.mark.parametrize("path", TRAVERSALS)
def test_path_traversal_is_refused(client: TestClient, path: str) -> None:
    got = client.get(path)
    assert got.status_code in (400, 404), (path, got.status_code)
    text = got.text
    for leaked in ("root:", "[project]", "def create_app", "DUCK", "import "):
        assert leaked not in text


def test_ids_are_checked_before_the_store(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*_: Any, **__: Any) -> Any:
        raise AssertionError("the store was asked for files of an unknown id")

    monkeypatch.setattr(Store, "run_dir", boom)
    monkeypatch.setattr(Store, "table_path", boom)
    for rid in ("e0123456789abcdef", "a..b", "x" * 200):
        assert client.get(f"/api/runs/{rid}").status_code == 404
    assert client.get("/api/runs/" + "x" * 201).status_code == 404
    assert client.get("/api/jobs/j0123456789abcdef").status_code == 404
    assert client.get("/api/jobs/nope").status_code == 404


# ---------------------------------------------------------------------------------------------
# A run, stored and viewed against the status quo
# ---------------------------------------------------------------------------------------------
def test_run_store_and_view(client: TestClient) -> None:
    levers = {"caseworkers_multiplier": 1.5, "hubs": [{"id": "hub_third_country", "on": False}]}
    got = client.post("/api/runs", json={"scenario": "ia-2023", "levers": levers})
    assert got.status_code == 202, got.text
    assert got.headers["location"].startswith("/api/jobs/j")
    job = wait_job(client, got.json()["job"]["id"])
    assert job["status"] == "done", job
    rid = job["run_id"]
    assert job["run_url"] == f"/runs/{rid}"
    assert job["status_quo_id"] != rid
    view = client.get(f"/api/runs/{rid}").json()
    assert view["scenario"] == "ia-2023"
    assert view["engine"] == "aggregate"
    assert view["has_status_quo"]
    assert view["status_quo_id"] == job["status_quo_id"]
    assert view["levers"]["caseworkers_multiplier"] == 1.5
    assert [h["on"] for h in view["levers"]["hubs"]] == [False]
    assert view["extra_overrides"] == {}
    n = len(view["dates"])
    assert n == 48
    assert view["dates"][0] == "2023-07"
    s = view["series"]["n_in_hub"]
    assert len(s["levers"]["p50"]) == n
    assert len(s["status_quo"]["p50"]) == n
    assert max(s["status_quo"]["p50"]) > 0
    assert max(s["levers"]["p50"]) == 0
    row = next(r for r in view["summary"] if r["metric"] == "cum_hub_transfers")
    assert row["levers"]["p50"] == 0
    assert row["diff"]["p50"] == -row["status_quo"]["p50"]
    # The page for the shareable link, and the same view again (cached).
    assert client.get(view["share_url"]).status_code == 200
    assert client.get(f"/api/runs/{rid}").json() == view
    # The same run again is already stored.
    again = client.post("/api/runs", json={"scenario": "ia-2023", "levers": levers})
    assert again.status_code == 200
    assert again.json()["run_id"] == rid
    # It is listed, and so is the status quo.
    listed = {r["id"]: r for r in client.get("/api/runs").json()["runs"]}
    assert listed[rid]["policy"] == "levers"
    assert listed[rid]["overrides"] == 2
    assert listed[job["status_quo_id"]]["policy"] == "status_quo"
    # A single run of the ensemble has a view too, with the same status quo.
    one = client.get(f"/api/runs/{rid}-levers-000").json()
    assert one["kind"] == "run"
    assert one["status_quo_id"] == job["status_quo_id"]


def test_bands_run_has_replicates(client: TestClient) -> None:
    body = {
        "scenario": "italy-albania",
        "levers": {"hubs": [{"id": "hub_gjader", "on": True, "beds": 30}]},
        "mode": "bands",
        "replicates": 3,
    }
    got = client.post("/api/runs", json=body)
    assert got.status_code == 202, got.text
    job = wait_job(client, got.json()["job"]["id"])
    assert job["status"] == "done", job
    view = client.get(f"/api/runs/{job['run_id']}").json()
    assert view["engine"] == "agents"
    assert view["mode"] == "bands"
    assert view["replicates"] == 3
    assert view["status_quo_replicates"] == 3
    row = next(r for r in view["summary"] if r["metric"] == "cum_hub_transfers")
    assert row["levers"]["n"] == 3
    assert row["diff"]["n"] == 3
    band = view["series"]["cum_hub_transfers"]["status_quo"]
    assert all(
        lo <= mid <= hi for lo, mid, hi in zip(band["p10"], band["p50"], band["p90"], strict=True)
    )


def test_jobs_run_in_a_process_of_their_own(tmp_path: Path) -> None:
    """The server's default: a job process (started with the server) runs the jobs."""
    with client_for(tmp_path, isolate_jobs=True) as c:
        manager = c.app.state.manager  # type: ignore[attr-defined]
        assert manager.process is not None
        got = c.post(
            "/api/runs", json={"scenario": "ia-2023", "levers": {"caseworkers_multiplier": 2}}
        )
        assert got.status_code == 202
        job = wait_job(c, got.json()["job"]["id"], timeout=180)
        assert job["status"] == "done", job
        pid = manager.process._proc.pid
        assert pid != os.getpid()
        view = c.get(f"/api/runs/{job['run_id']}").json()
        assert view["levers"]["caseworkers_multiplier"] == 2.0
        assert view["has_status_quo"]
    assert manager.process._proc is None  # stopped with the app
