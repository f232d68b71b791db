"""The dashboard's HTTP routes: the page, its static files and the JSON API, with the error
bodies they answer.

Endpoints (JSON unless said otherwise; see ``docs/dashboard.md``):

====================================  ===========================================================
``GET  /``, ``GET /runs/<id>``        the page (HTML); ``/runs/<id>`` opens a stored run
``GET  /static/...``                  the page's script and style, from the package
``GET  /api/health``                  ``{"ok": true, ...}`` and the queue's state
``GET  /api/scenarios``               shipped scenarios
``GET  /api/scenarios/<name>``        a scenario's levers and their status-quo values
``POST /api/overrides``               levers → overrides, validated (nothing is run)
``POST /api/runs``                    queue a run: 202 + job, 200 when already stored,
                                      422 bad levers, 413 body too large, 429 queue full
``GET  /api/jobs/<job id>``           a job's state and progress
``GET  /api/runs``                    recent stored runs and ensembles
``GET  /api/runs/<id>``               a stored ensemble (or run) against the status quo:
                                      monthly p10/p50/p90 bands and paired differences;
                                      ``?policy=<name>`` picks one of an ensemble's several
                                      policies (a main job's variants); a main job's summary
                                      run opens as its ensemble
====================================  ===========================================================

Contract
--------
Reads: requests that :class:`~corridor.web.guard.Guard` has let through (it answers 400, 401,
413 and 415 before any route runs); the request body model is
:class:`~corridor.web.levers.RunRequest`. Produces: the responses above; errors are
``{"detail": ...}``, with a list of ``{"message", "field", "expected", ...}`` items for 422
(scenario files named without server paths), and 429 with ``Retry-After`` when the job queue
is full. Invariants: ids from paths are matched against strict patterns before anything is
looked up, scenarios are named, never given as paths; levers are checked by the scenario
schema (:func:`~corridor.scenario.loader.check_scenario`, cached) before a job is queued; a run
whose ensembles are already stored is answered at once, without a job.
"""

from __future__ import annotations

import logging
from html import escape
from importlib.resources import files
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from corridor.errors import CorridorError, InputError, InputErrors
from corridor.web.guard import RUN_ID
from corridor.web.jobs import JOB_ID, JobManager, QueueFull
from corridor.web.levers import (
    MODES,
    STATUS_QUO,
    RunRequest,
    ScenarioInfo,
    canonical,
    levers_from_overrides,
    overrides_from_levers,
    scenario_info,
)
from corridor.web.memo import Memo
from corridor.web.runner import JobSpec
from corridor.web.settings import Settings
from corridor.web.stored import Catalog, ViewError, Views, metrics_public

__all__ = ["add_routes"]

log = logging.getLogger(__name__)


def _error_items(exc: Exception) -> list[dict[str, Any]]:
    errors = exc.errors if isinstance(exc, InputErrors) else [exc]
    items: list[dict[str, Any]] = []
    for e in errors:
        if isinstance(e, InputError):
            items.append(
                {
                    "message": e.message,
                    "field": e.field,
                    "expected": e.expected,
                    "file": Path(e.file).name if e.file else None,  # no server paths
                    "line": e.line,
                }
            )
        else:
            items.append({"message": str(e), "field": None, "expected": None})
    return items


async def _unprocessable(_: Request, exc: Exception) -> JSONResponse:
    """422 for an :class:`InputError` or :class:`InputErrors` raised by a route."""
    return JSONResponse({"detail": _error_items(exc)}, status_code=422)


def _not_found(detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=404)


class _Validation:
    """``check_scenario`` results by (scenario, overrides), the latest ``size`` kept."""

    def __init__(self, size: int = 256) -> None:
        self._memo: Memo[str, list[InputError]] = Memo(size)

    def errors(self, info: ScenarioInfo, overrides: dict[str, Any]) -> list[InputError]:
        key = canonical([str(info.folder), overrides])
        return self._memo.get(key, lambda: _check(info, overrides))


def _check(info: ScenarioInfo, overrides: dict[str, Any]) -> list[InputError]:
    """The schema's errors for ``overrides``; on a forecast, levers (``{from, value}`` checked
    by their value), then applied from the forecast's start."""
    from corridor.scenario.loader import check_scenario

    if info.forecast is None:
        return check_scenario(info.folder, overrides).errors
    flat = {
        k: v["value"] if isinstance(v, dict) and set(v) == {"from", "value"} else v
        for k, v in overrides.items()
    }
    errors = check_scenario(info.folder, flat).errors
    if errors or not overrides:
        return errors
    from corridor.forecast.levers import apply_levers

    try:
        apply_levers(info.loaded, overrides, info.forecast.start)
    except InputError as exc:
        return [exc]
    except ValueError as exc:  # the schema refused the result
        return [InputError(str(exc).splitlines()[0], field="levers")]
    return []


def _index_html(token: str | None) -> str:
    text = (files("corridor.web") / "static" / "index.html").read_text(encoding="utf-8")
    query = "" if token is None else "?token=" + escape(token, quote=True)
    return text.replace("{{Q}}", query)


def add_routes(
    app: FastAPI, *, settings: Settings, manager: JobManager, catalog: Catalog, views: Views
) -> None:
    """Add the error handlers, the page, the static files and the API to ``app``."""
    from corridor import __version__

    validation = _Validation()
    page = _index_html(settings.token)

    @app.exception_handler(RequestValidationError)
    async def _bad_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        items = [
            {
                "message": str(e.get("msg", "invalid")),
                "field": ".".join(str(p) for p in e.get("loc", ()) if p != "body") or None,
                "expected": None,
            }
            for e in exc.errors()[:20]
        ]
        return JSONResponse({"detail": items}, status_code=422)

    app.add_exception_handler(InputError, _unprocessable)
    app.add_exception_handler(InputErrors, _unprocessable)

    # -- pages ---------------------------------------------------------------------------------
    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index() -> HTMLResponse:
        return HTMLResponse(page)

    @app.get("/runs/{rid}", response_class=HTMLResponse, include_in_schema=False)
    async def run_page(rid: str) -> Response:
        if not RUN_ID.match(rid):
            return _not_found("not a run id")
        return HTMLResponse(page)

    app.mount("/static", StaticFiles(packages=[("corridor.web", "static")]), name="static")

    # -- API -----------------------------------------------------------------------------------
    @app.get("/api/health")
    async def health() -> dict[str, Any]:
        return {"ok": True, "version": __version__, "queue": manager.stats()}

    @app.get("/api/scenarios")
    def scenarios() -> dict[str, Any]:
        from corridor.scenario.loader import shipped_scenarios

        out = []
        for name in shipped_scenarios():
            try:
                info = scenario_info(name)
            except Exception as exc:  # a pack that does not load is left out of the list
                log.warning("scenario %s is left out: %s", name, exc)
                continue
            out.append({"name": name, "description": info.loaded.scenario.description})
        return {"scenarios": out}

    @app.get("/api/scenarios/{name}")
    def scenario(name: str) -> Response:
        try:
            info = scenario_info(name)
        except CorridorError:
            return _not_found(f"no shipped scenario {name[:64]!r}")
        return JSONResponse(
            {
                **info.public(),
                "metrics": metrics_public(),
                "max_replicates": settings.max_replicates,
            }
        )

    def _prepare(req: RunRequest) -> tuple[ScenarioInfo, dict[str, Any], int]:
        info = scenario_info(req.scenario)
        fc = info.forecast
        if req.variant is not None and (fc is None or not fc.has_variant(req.variant)):
            raise InputError(
                f"scenario {info.name!r} has no variant {req.variant!r}",
                field="variant",
                expected="no variant (the scenario has no forecast)"
                if fc is None
                else "one of " + ", ".join(str(v["id"]) for v in fc.variants),
            )
        overrides = overrides_from_levers(info, req.levers)
        errors = validation.errors(info, overrides)
        if errors:
            raise InputErrors(errors) if len(errors) > 1 else errors[0]
        n = 1
        if req.mode == "bands":
            if req.replicates > settings.max_replicates:
                raise InputError(
                    f"{req.replicates} replicates asked for",
                    field="replicates",
                    expected=f"at most {settings.max_replicates}",
                )
            n = req.replicates
        return info, overrides, n

    @app.post("/api/overrides")
    def preview(req: RunRequest) -> dict[str, Any]:
        info, overrides, n = _prepare(req)
        levers, _ = levers_from_overrides(info, overrides)
        return {
            "scenario": info.name,
            "variant": req.variant,
            "overrides": overrides,
            "levers": levers.model_dump(mode="json"),
            "replicates": n,
        }

    def _stored(info: ScenarioInfo, spec: JobSpec) -> str | None:
        """The levers ensemble id when it and its status quo are already stored."""
        from corridor.analysis.ensemble import ensemble_id

        n, engine, sample = spec.n, spec.engine, spec.sample
        seed = info.forecast.seed if info.forecast else info.loaded.scenario.seed
        sq = ensemble_id(info.content_hash, n, seed, {STATUS_QUO: {}}, engine, sample)
        lv = ensemble_id(info.content_hash, n, seed, {spec.policy: spec.overrides}, engine, sample)
        want = [sq, lv] if spec.has_levers else [sq]
        df = catalog.frame()
        counts = df[df["ensemble_id"].isin(want) & (df["status"] == "ok")]["ensemble_id"]
        have = counts.value_counts()
        if all(int(have.get(e, 0)) >= n for e in want):
            return lv if spec.has_levers else sq
        return None

    @app.post("/api/runs")
    def submit(req: RunRequest) -> Response:
        info, overrides, n = _prepare(req)
        engine, sample = MODES[req.mode]
        if info.forecast is not None:  # as `corridor run`: its engine; no prior sample
            engine, sample = info.forecast.engine, "none"
        spec = JobSpec(
            scenario=info.name,
            folder=str(info.folder),
            overrides=overrides,
            mode=req.mode,
            engine=engine,
            sample=sample,
            n=n,
            workers=settings.workers,
            variant=req.variant if info.forecast is not None else None,
        )
        stored = _stored(info, spec)
        if stored is not None:
            return JSONResponse(
                {"status": "done", "run_id": stored, "run_url": f"/runs/{stored}", "job": None},
                status_code=200,
            )
        try:
            job, _new = manager.submit(spec)
        except QueueFull as exc:
            return JSONResponse(
                {"detail": str(exc), "retry_after": exc.retry_after},
                status_code=429,
                headers={"Retry-After": str(exc.retry_after)},
            )
        snap = manager.get(job.id) or {}
        return JSONResponse(
            {"status": snap.get("status", "queued"), "job": snap, "job_url": f"/api/jobs/{job.id}"},
            status_code=202,
            headers={"Location": f"/api/jobs/{job.id}"},
        )

    @app.get("/api/jobs/{job_id}")
    async def job(job_id: str) -> Response:
        snap = manager.get(job_id) if JOB_ID.match(job_id) else None
        if snap is None:
            return _not_found("no such job")
        return JSONResponse(snap)

    @app.get("/api/runs")
    def runs(
        limit: int = Query(30, ge=1, le=200),
        scenario: str | None = Query(None, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$"),
    ) -> dict[str, Any]:
        return {"runs": views.recent(limit, scenario)}

    @app.get("/api/runs/{rid}")
    def run_view(
        rid: str,
        policy: str | None = Query(None, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$"),
    ) -> Response:
        if not RUN_ID.match(rid):
            return _not_found("not a run id")
        try:
            got = views.view_json(rid, policy)
        except ViewError as exc:
            return _not_found(str(exc))
        except CorridorError as exc:  # stored, but not readable as a view: say why
            log.warning("run %s cannot be shown: %s", rid, exc)
            return JSONResponse({"detail": f"run {rid!r} cannot be shown: {exc}"}, status_code=409)
        if got is None:
            return _not_found(f"no stored run or ensemble {rid!r}")
        return Response(content=got, media_type="application/json")
