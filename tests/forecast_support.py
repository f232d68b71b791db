"""A small main job (``corridor run uk-balkans``) in a temporary store, shared by the tests of
the dashboard and of ``corridor compare`` that read main-job runs: two variants (the status quo
and more caseworkers, whose backlog differs) × two replicates, aggregate engine, no report."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from corridor.results.store import Store

VARIANTS = ["status_quo", "more_caseworkers"]
REPLICATES = 2


@dataclass(frozen=True)
class MainJob:
    store: Store
    root: Path
    out: Path
    ensemble_id: str
    summary_run: str


@pytest.fixture(scope="session")
def main_job(tmp_path_factory: pytest.TempPathFactory) -> MainJob:
    from corridor.flagship.job import run_flagship

    base = tmp_path_factory.mktemp("main-job")
    root = base / "results"
    store = Store.open(root)
    run = run_flagship(
        "uk-balkans",
        base / "out",
        replicates=REPLICATES,
        workers=1,
        variants=VARIANTS,
        report=False,
        store=store,
    )
    assert run.ensemble_id is not None
    assert run.run_id is not None
    return MainJob(store, root, base / "out", str(run.ensemble_id), str(run.run_id))
