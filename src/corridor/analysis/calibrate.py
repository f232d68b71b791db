"""Calibration: fit a scenario's uncertain parameters to observed series with an Optuna study.

After Starsim's ``calibration.py``: the search is an Optuna study with a seeded TPE sampler, the
score a pluggable likelihood (:mod:`corridor.analysis.likelihoods`) plus the prior, and the
study lives in SQLite so that it can be resumed and inspected.

Observed series
---------------
CSV files with columns ``date``, ``metric``, ``value`` and optionally ``resolution`` and
``source`` (other columns are ignored). ``metric`` is a column of
:meth:`ScenarioResult.totals() <corridor.asylum.result.ScenarioResult.totals>` (all
nationalities together): a stock ``n_*`` is compared at the *end* of the period, a flow
``new_*`` or a cost ``cost_*`` summed *over* the period. ``date`` (``YYYY``, ``YYYY-MM`` or
``YYYY-MM-DD``) names the period that contains it; ``resolution`` is ``month``, ``quarter`` or
``year``. A blank resolution is inferred per file and metric: ``YYYY`` dates are years,
``YYYY-MM`` months; for ``YYYY-MM-DD`` dates the median gap between consecutive dates decides
(up to 45 days: month; up to 135: quarter; else year; a single date: month). An observation is
used only if the run covers it (a flow's whole period, a stock's last day). Mistakes are an
:class:`~corridor.errors.InputError` naming the file, line and field.

The search
----------
Each parameter (a dotted path of ``uncertain:``) is searched over its prior's support:
``[low, high]`` (on a log scale for ``loguniform``), a normal prior over its truncation bounds
within ``mean ± 4 sd``. A trial's score is the log posterior (up to a constant)::

    log posterior = Σ_series log L(observed | simulated)  +  Σ_params log prior(value)

so the best trial is the posterior mode (with flat priors, the maximum-likelihood fit). Only
observations whose period ends on or before ``fit_through`` enter the score; later ones are
held out and reported separately. A trial's simulated series is the mean over
``replicates_per_trial`` runs with the seeds :func:`~corridor.analysis.ensemble.replicate_seeds`
``(seed, r)``, the same for every trial (common random numbers; the aggregate engine is
deterministic and runs once).

Trials run in batches of ``workers`` through the ask-and-tell interface; each run is one call of
:func:`corridor.analysis.ensemble.run_one` on the one pool (:mod:`corridor.analysis.pool`:
single-threaded spawned processes, this process when ``workers=1``, or Dask with
``scheduler``). The study is stored in SQLite (``study.db`` in the output
folder unless ``study_path`` says otherwise) under a name that hashes everything that defines
the objective (scenario content, priors, observations, likelihood, engine, replicates, seed); a
second call with the same inputs resumes that study and runs only the trials missing to reach
``n_trials`` completed ones (its TPE seed is derived from ``seed`` and the trials already done).
One process should work on a study at a time.

Outputs (in ``out_dir``): ``fitted.yaml`` (the fitted values as an override block keyed by the

Layout
------
This module is the entry point: :func:`calibrate` and the public names below. The parts live in
:mod:`corridor.analysis.calibration`: ``observed`` (reading the observed series, periods),
``objective`` (priors, the search space, the log posterior), ``runs`` (the simulation call),
``study`` (the Optuna study, its SQLite storage and the trial loop) and
``outputs`` (the result and the files written).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from corridor.analysis.calibration.objective import (
    Objective,
    SearchParam,
    mean_frames,
    prior_logpdf,
    score_run,
    search_space,
)
from corridor.analysis.calibration.observed import (
    RESOLUTIONS,
    as_end_date,
    known_metrics,
    metric_is_stock,
    parse_period,
    period_values,
    prepare_observed,
    read_observed,
)
from corridor.analysis.calibration.outputs import (
    CalibrationResult,
    fit_metrics,
    trials_frame,
    with_files,
    write_outputs,
)
from corridor.analysis.calibration.runs import daily_totals, simulate_totals
from corridor.analysis.calibration.study import (
    Progress,
    completed_trials,
    open_study,
    run_trials,
    seed_sampler,
    sqlite_storage,
)
from corridor.analysis.calibration.study import study_name as _study_name
from corridor.analysis.likelihoods import Likelihood, make_likelihood
from corridor.analysis.pool import Pool
from corridor.errors import CorridorError, InputError

__all__ = [
    "DEFAULT_REPLICATES",
    "RESOLUTIONS",
    "CalibrationResult",
    "SearchParam",
    "calibrate",
    "daily_totals",
    "known_metrics",
    "metric_is_stock",
    "parse_period",
    "period_values",
    "prior_logpdf",
    "read_observed",
    "search_space",
    "simulate_totals",
]


DEFAULT_REPLICATES = 4  # agent-engine runs averaged per trial (the aggregate engine runs once)


def calibrate(
    scenario_ref: str | Path,
    observed_files: Sequence[str | Path] | str | Path,
    params: Sequence[str] | None = None,
    n_trials: int = 100,
    likelihood: str | Likelihood = "poisson",
    engine: str = "aggregate",
    workers: int = 1,
    study_path: str | Path | None = None,
    seed: int | None = None,
    replicates_per_trial: int | None = None,
    fit_through: date | str | None = None,
    *,
    out_dir: str | Path | None = None,
    study_name: str | None = None,
    progress: Progress | None = None,
    scheduler: Any = None,
) -> CalibrationResult:
    """Fit ``params`` of scenario ``scenario_ref`` to the observed series (see the module
    docstring) and write the outputs to ``out_dir`` (default ``./calibration/<scenario>``).

    ``n_trials`` is the number of completed trials the study should hold: a rerun of the same
    study runs only the missing ones. ``likelihood`` is a spec of
    :func:`~corridor.analysis.likelihoods.make_likelihood` (``poisson``, ``negbin``,
    ``negbin:dispersion=20``, ``normal``, ``normal:cv=0.1``, ...) or a likelihood object.
    ``replicates_per_trial`` defaults to :data:`DEFAULT_REPLICATES` for the agent engine (the
    aggregate engine always runs once). ``seed`` (default: the scenario's) seeds the runs and
    the sampler. ``progress(done, total)`` is called after each batch of trials. Runs go to
    the one pool (:class:`~corridor.analysis.pool.Pool`): ``workers`` local processes, or the
    Dask cluster at ``scheduler`` (an address or a ``distributed.Client``); either way a batch
    holds ``workers`` trials, so the trials asked depend on ``workers`` and ``seed`` only.
    """
    from corridor.analysis.ensemble import replicate_seeds
    from corridor.scenario.loader import load_scenario, resolve_scenario

    t0 = time.perf_counter()
    if n_trials < 1:
        raise InputError(f"n_trials must be at least 1 (is {n_trials})", field="n_trials")
    if workers < 1:
        raise InputError(f"workers must be at least 1 (is {workers})", field="workers")
    if engine not in ("agents", "aggregate"):
        raise InputError(
            f"unknown engine {engine!r}", field="engine", expected="agents | aggregate"
        )
    if replicates_per_trial is not None and replicates_per_trial < 1:
        raise InputError(
            f"replicates_per_trial must be at least 1 (is {replicates_per_trial})",
            field="replicates_per_trial",
        )
    lik = make_likelihood(likelihood)
    folder = resolve_scenario(scenario_ref)
    loaded = load_scenario(folder)
    period = loaded.scenario.period
    obs = prepare_observed(
        read_observed(observed_files),
        pd.Timestamp(period.start),
        pd.Timestamp(period.end),
        as_end_date(fit_through),
    )
    space = search_space(loaded, params)
    seed0 = loaded.scenario.seed if seed is None else int(seed)
    reps = 1 if engine == "aggregate" else (replicates_per_trial or DEFAULT_REPLICATES)
    seeds = replicate_seeds(seed0, reps)
    columns = sorted(obs["metric"].unique())
    name = study_name or _study_name(loaded, space, obs, lik, engine, seeds)
    out = Path(out_dir) if out_dir is not None else Path("calibration") / loaded.name
    out.mkdir(parents=True, exist_ok=True)
    db = Path(study_path) if study_path is not None else out / "study.db"
    db.parent.mkdir(parents=True, exist_ok=True)
    storage = sqlite_storage(db)
    dists = {p.path: p.distribution() for p in space}
    objective = Objective(obs, lik, {p.path: p for p in space})
    ref = str(folder)

    def run_args(overrides: dict[str, Any]) -> list[tuple[Any, ...]]:
        return [(ref, s, overrides, engine, columns) for s in seeds]

    try:
        study = open_study(
            storage,
            name,
            {
                "scenario": loaded.name,
                "scenario_hash": loaded.content_hash,
                "params": [p.path for p in space],
                "likelihood": lik.spec,
                "engine": engine,
                "seed": seed0,
                "replicates": reps,
            },
        )
        done_before = len(completed_trials(study))
        seed_sampler(study, seed0, done_before, len(space))
        todo = max(n_trials - done_before, 0)
        if progress is not None:
            progress(0, todo)
        with Pool(workers, scheduler) as pool:
            new = run_trials(study, pool, dists, todo, objective, run_args, progress)
            complete = completed_trials(study)
            if not complete:
                raise CorridorError(f"study {name!r} has no completed trial")
            best = study.best_trial
            best_params = objective.overrides(best.params)
            parts = pool.map(simulate_totals, run_args(best_params))
        daily = mean_frames(parts)
        score = score_run(obs, daily, lik)
        trials = trials_frame(study, [p.path for p in space])
    finally:
        storage.engine.dispose()

    lp_best = float(best.user_attrs.get("score", {}).get("log_prior", 0.0))
    fit = obs[["metric", "resolution", "start", "end", "value", "fit", "file", "line"]].copy()
    fit = fit.rename(columns={"value": "observed"})
    fit.insert(5, "simulated", score.simulated)
    metrics = fit_metrics(fit, score)
    result = CalibrationResult(
        scenario=loaded.name,
        study_name=name,
        storage=str(db),
        params=best_params,
        log_posterior=float(best.value if best.value is not None else math.nan),
        log_likelihood=score.log_likelihood,
        log_prior=lp_best,
        metrics=metrics,
        nuisance=score.nuisance,
        best_trial=int(best.number),
        n_trials=len(complete),
        new_trials=new,
        likelihood=lik.spec,
        engine=engine,
        fit=fit,
        out_dir=out,
        wall_seconds=time.perf_counter() - t0,
    )
    files = write_outputs(result, trials, daily, as_end_date(fit_through))
    return with_files(result, files, time.perf_counter() - t0)
