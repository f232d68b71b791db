"""The Optuna study of a calibration: its name, its resumable SQLite storage and the trial loop.

Reads: everything that defines the objective (scenario content hash, searched parameters and
priors, observations, likelihood, engine, replicate seeds), a storage path, and an
:class:`~corridor.analysis.calibration.objective.Objective` to score trials with.

Produces: :func:`study_name`, a name that hashes that definition (the same inputs give the same
study, so a second call resumes it); :func:`sqlite_storage`; :func:`open_study`, the study with
its descriptive attributes and no trial left running; :func:`seed_sampler`, a seeded
multivariate TPE sampler; :func:`run_trials`, which asks, runs (one
:func:`~corridor.analysis.calibration.runs.simulate_totals` per trial and replicate seed) and
tells trials in batches of the pool's size until ``todo`` more have completed.

Invariants: the study maximizes the log posterior; a trial the scenario refuses (an
:class:`~corridor.errors.InputError` in a run) or outside its prior's support is told failed,
with the reason in its ``error`` attribute, and does not count; no trial is ever left running,
even when interrupted; :data:`MAX_FAILED_IN_ROW` failures in a row stop the study; the TPE seed
is derived from the calibration seed and the number of trials already completed, so a resumed
study is as reproducible as a fresh one. One process should work on a study at a time.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from corridor.analysis.calibration.objective import Objective, SearchParam
from corridor.analysis.calibration.runs import simulate_totals
from corridor.analysis.likelihoods import Likelihood
from corridor.errors import CorridorError, InputError

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial

    from corridor.analysis.pool import Pool
    from corridor.scenario.loaded import LoadedScenario

__all__ = [
    "MAX_FAILED_IN_ROW",
    "Progress",
    "completed_trials",
    "open_study",
    "run_trials",
    "seed_sampler",
    "sqlite_storage",
    "study_name",
]

# The public module's logger, as before calibration was split into this package.
log = logging.getLogger("corridor.analysis.calibrate")

MAX_FAILED_IN_ROW = 20  # trials in a row refused by the scenario before giving up
Progress = Callable[[int, int], None]


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def study_name(
    loaded: LoadedScenario,
    space: Sequence[SearchParam],
    obs: pd.DataFrame,
    lik: Likelihood,
    engine: str,
    seeds: Sequence[int],
) -> str:
    """``calibrate-<scenario>-<hash>``: the hash covers everything that defines the objective."""
    doc = {
        "scenario_hash": loaded.content_hash,
        "params": [
            [p.path, p.prior.model_dump(mode="json"), p.low, p.high, p.log, p.integer]
            for p in space
        ],
        "observed": [
            [m, res, str(pd.Timestamp(start).date()), float(v), bool(f)]
            for m, res, start, v, f in zip(
                obs["metric"],
                obs["resolution"],
                obs["start"],
                obs["value"],
                obs["fit"],
                strict=True,
            )
        ],
        "likelihood": lik.spec,
        "engine": engine,
        "seeds": list(seeds),
    }
    digest = hashlib.sha256(_canonical(doc).encode()).hexdigest()[:12]
    return f"calibrate-{loaded.name}-{digest}"


def sqlite_storage(path: Path) -> optuna.storages.RDBStorage:
    """``RDBStorage("sqlite:///<path>")`` whose connections use write-ahead logging with
    ``synchronous=NORMAL``: a commit no longer waits for the disk (a trial costs several), and
    the file stays consistent if the process dies (only a power cut may lose the last trials)."""
    import sqlite3

    import optuna

    target = str(path.resolve())

    def connect() -> sqlite3.Connection:
        con = sqlite3.connect(target, check_same_thread=False)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=NORMAL")
        return con

    return optuna.storages.RDBStorage(f"sqlite:///{target}", engine_kwargs={"creator": connect})


def _recover_stale(study: optuna.Study) -> None:
    """Trials left running by an interrupted call: mark them failed and queue their params."""
    from optuna.trial import TrialState

    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        log.warning("trial %d was left running by an earlier call; it will be rerun", t.number)
        study.tell(t.number, state=TrialState.FAIL, skip_if_finished=True)
        if t.params:
            study.enqueue_trial(dict(t.params))


def open_study(
    storage: optuna.storages.RDBStorage, name: str, attrs: Mapping[str, Any]
) -> optuna.Study:
    """The study ``name`` in ``storage`` (created if new, maximizing), with ``attrs`` as its user
    attributes when it has none yet, and trials left running by an interrupted call failed and
    queued again."""
    import optuna

    study = optuna.create_study(
        storage=storage, study_name=name, direction="maximize", load_if_exists=True
    )
    if "scenario" not in study.user_attrs:
        for key, value in attrs.items():
            study.set_user_attr(key, value)
    _recover_stale(study)
    return study


def completed_trials(study: optuna.Study) -> list[FrozenTrial]:
    """The study's completed trials."""
    from optuna.trial import TrialState

    return study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))


def seed_sampler(study: optuna.Study, seed: int, done_before: int, n_params: int) -> None:
    """Give ``study`` a multivariate TPE sampler seeded from ``seed`` and the number of trials
    already completed (``done_before``)."""
    import optuna

    sampler_seed = int(np.random.SeedSequence([seed, done_before]).generate_state(1)[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.sampler = optuna.samplers.TPESampler(
            seed=sampler_seed,
            multivariate=True,
            constant_liar=True,
            n_startup_trials=max(10, 3 * n_params),
        )


def run_trials(
    study: optuna.Study,
    pool: Pool,
    dists: dict[str, Any],
    todo: int,
    objective: Objective,
    run_args: Callable[[dict[str, Any]], list[tuple[Any, ...]]],
    progress: Progress | None = None,
) -> int:
    """Run trials in batches of ``pool.workers`` (on any backend, so that the trials asked do
    not depend on where they run) until ``todo`` more have completed; return how many
    completed. ``run_args(overrides)`` gives the arguments of
    :func:`~corridor.analysis.calibration.runs.simulate_totals` for each replicate of a trial;
    ``progress(done, todo)`` is called after each batch."""
    from optuna.trial import TrialState

    new = 0
    failed_in_row = 0
    while new < todo:
        batch = [study.ask(dists) for _ in range(min(pool.workers, todo - new))]
        told: set[int] = set()
        try:
            per_trial = [run_args(objective.overrides(t.params)) for t in batch]
            tasks = [a for args in per_trial for a in args]
            outs = pool.map(simulate_totals, tasks, return_exceptions=True)
            at = 0
            for trial, args in zip(batch, per_trial, strict=True):
                parts = outs[at : at + len(args)]
                at += len(args)
                errors = [e for e in parts if isinstance(e, BaseException)]
                if errors:
                    if not isinstance(errors[0], InputError):
                        raise errors[0]
                    trial.set_user_attr("error", str(errors[0]))
                    study.tell(trial, state=TrialState.FAIL)
                    told.add(trial.number)
                    failed_in_row += 1
                    log.warning("trial %d refused: %s", trial.number, errors[0])
                    continue
                value, score = objective.evaluate(trial.params, parts)
                trial.set_user_attr("score", score)
                if not math.isfinite(value):
                    trial.set_user_attr("error", "outside the prior's support")
                    study.tell(trial, state=TrialState.FAIL)
                    told.add(trial.number)
                    failed_in_row += 1
                    continue
                study.tell(trial, value)
                told.add(trial.number)
                new += 1
                failed_in_row = 0
        finally:
            for trial in batch:  # interrupted or failed: never leave a trial running
                if trial.number not in told:
                    study.tell(trial, state=TrialState.FAIL, skip_if_finished=True)
        if failed_in_row >= MAX_FAILED_IN_ROW:
            last = study.get_trials(deepcopy=False)[-1].user_attrs.get("error", "")
            raise CorridorError(f"{failed_in_row} trials in a row failed; the last: {last}")
        if progress is not None:
            progress(new, todo)
    return new
