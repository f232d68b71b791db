"""The dashboard app: :func:`create_app` assembles the pieces of :mod:`corridor.web`.

Contract
--------
Reads: :class:`~corridor.web.settings.Settings` (and optionally a store and a job runner).
Produces: a FastAPI app whose routes (:mod:`corridor.web.views`) read the results store through
a catalog snapshot and cached views (:mod:`corridor.web.stored`) and queue runs on a
:class:`~corridor.web.jobs.JobManager`, the whole wrapped in :class:`~corridor.web.guard.Guard`.
Invariants: the bind rule (:func:`~corridor.web.guard.check_bind`) is checked before anything
is opened; the job queue runs only between the app's startup and shutdown (its lifespan); a
finished job invalidates the catalog and warms the view of its run.

The names that ``corridor serve`` and the tests import from here (:class:`Settings`,
:func:`check_bind`, :func:`is_loopback`, :data:`LOOPBACK_NAMES`, :class:`Guard`) are
re-exported from where they live.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import FastAPI

from corridor.web.guard import LOOPBACK_NAMES, Guard, check_bind, is_loopback
from corridor.web.jobs import Job, JobManager
from corridor.web.levers import scenario_info
from corridor.web.settings import Settings
from corridor.web.stored import Catalog, Views
from corridor.web.views import add_routes

if TYPE_CHECKING:
    from corridor.results.store import Store
    from corridor.web.runner import Runner

__all__ = ["LOOPBACK_NAMES", "Guard", "Settings", "check_bind", "create_app", "is_loopback"]


def _warm() -> None:
    """Read every shipped pack once, so the first page is quick."""
    from corridor.scenario.loader import shipped_scenarios

    for name in shipped_scenarios():
        with contextlib.suppress(Exception):
            scenario_info(name)


def create_app(
    settings: Settings | None = None,
    *,
    store: Store | None = None,
    runner: Runner | None = None,
) -> FastAPI:
    """The dashboard app. ``store`` defaults to the store at ``settings.results``; jobs run
    in a job process (``settings.isolate_jobs``) or in a thread; ``runner`` replaces
    :func:`~corridor.web.jobs.run_job` (in a thread; tests)."""
    from corridor import __version__
    from corridor.results.store import Store

    settings = settings or Settings()
    check_bind(settings.host, settings.token)
    store = store if store is not None else Store.open(settings.results)
    catalog = Catalog(store)
    views = Views(store, catalog)

    def on_done(job: Job) -> None:
        catalog.invalidate()
        if job.run_id:
            views.view_json(job.run_id)  # warm the cache

    manager = JobManager(
        store,
        queue_size=settings.queue,
        runner=runner,
        isolate=settings.isolate_jobs,
        on_done=on_done,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        threading.Thread(target=_warm, name="corridor-warm", daemon=True).start()
        manager.start()
        try:
            yield
        finally:
            manager.stop()

    app = FastAPI(
        title="Corridor dashboard",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.manager = manager
    app.state.store = store
    app.state.views = views
    app.state.settings = settings
    add_routes(app, settings=settings, manager=manager, catalog=catalog, views=views)

    app.add_middleware(
        Guard,  # type: ignore[arg-type]
        token=settings.token,
        max_body=settings.max_body,
        allowed_hosts=settings.hosts(),
    )
    return app
