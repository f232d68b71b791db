"""Ensembles: many replicates of a scenario (and of policy variants), run anywhere, stored as
they finish.

Every executor calls one pure function, :func:`run_one` ``(scenario_ref, seed, overrides,
engine) -> tables``; it loads the scenario itself, so a task is a few small picklable values.

Seeds and draws (Starsim's common random numbers; style item 10)::

    children   = SeedSequence(base_seed).spawn(n)
    seed_i     = int(children[i].generate_state(1)[0])          # replicate i's run seed
    draw_i     = row i of the unit-cube design (corridor.analysis.priors)

Every policy of an ensemble reuses replicate ``i``'s seed and prior draw, so two policies differ
replicate by replicate only through the policy (paired comparisons,
:func:`corridor.analysis.summaries.compare`). Policy overrides are applied on top of the draw.
None of this depends on the executor or the number of workers.

Executors: the tasks run on the one pool, :class:`corridor.analysis.pool.Pool` (``workers=1``
and no scheduler: in this process; ``workers=K``: K single-threaded spawned processes, rebuilt
when one dies; ``scheduler``: Dask distributed), consumed as they finish.

Only this (coordinating) process writes to the results store, and only one process writes an
ensemble at a time: a second ``run_ensemble`` of the same ensemble on the same store waits for
the first (a lock file with the holder's pid, released by the kernel however the holder ends),
then runs only the replicates still missing, so both end with the complete set. Each finished
replicate is stored at once (:meth:`~corridor.results.store.Store.write_run`), so an interrupted
ensemble keeps what it finished. The ensemble id hashes (scenario content hash, n, base seed,
policies, engine, sampling method); a replicate's run id is
``<ensemble id>-<policy>-<replicate>``, so running the same ensemble again runs only the
replicates missing from the catalog.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import re
import socket
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pyarrow as pa

from corridor.analysis.pool import Pool
from corridor.errors import CorridorError, InputError

if TYPE_CHECKING:
    from corridor.results.store import Store

__all__ = [
    "EnsembleError",
    "EnsemblePlan",
    "EnsembleResult",
    "Task",
    "check_budget",
    "ensemble_id",
    "plan_ensemble",
    "replicate_seeds",
    "run_ensemble",
    "run_one",
]

log = logging.getLogger(__name__)

Engine = Literal["agents", "aggregate"]
Progress = Callable[[int, int], None]
BASELINE = "baseline"
BASELINE_VARIANT = "status_quo"  # a forecast's baseline policy


class EnsembleError(CorridorError):
    """A replicate failed, or the workers kept dying."""


# ---------------------------------------------------------------------------------------------
# The one function every executor calls
# ---------------------------------------------------------------------------------------------
def run_one(
    scenario_ref: str,
    seed: int,
    overrides: dict[str, Any],
    engine: str,
    policy: str | None = None,
    replicate: int = 0,
    content_hash: str | None = None,
) -> dict[str, pa.Table]:
    """Run one replicate of one policy of scenario ``scenario_ref`` and return its tables
    (:mod:`corridor.results.tables`). This is the one entry every command runs through.

    Given a ``policy``, a scenario with a forecast
    (:func:`corridor.forecast.replicate.has_forecast`: fitted flows and named variants) runs
    that policy (a variant id; another name is the status quo plus its levers) from its fitted
    state, ``overrides`` being levers set from the forecast's start
    (:func:`corridor.forecast.replicate.replicate_tables`, monthly tables). Otherwise (any other
    scenario, or ``policy=None``: the scenario as written, as calibration runs it) one run with
    ``overrides`` (dotted paths) set before the run (daily tables, see
    :func:`corridor.asylum.run.run_scenario`). ``content_hash``, the scenario's content hash
    when the caller knows it (an ensemble's plan), lets a worker reuse the forecast it
    prepared for an earlier replicate without loading the scenario again. The tables' metadata
    carries the engine's meta plus ``started_at``/``finished_at`` (UTC), ``wall_seconds`` of
    this call, the ``worker`` (host:pid) and its ``numba_threads``.
    """
    from corridor.forecast.config import has_forecast
    from corridor.forecast.replicate import replicate_tables
    from corridor.results.tables import result_tables, with_meta
    from corridor.scenario.loader import load_scenario, resolve_scenario

    started = datetime.now(UTC)
    t0 = time.perf_counter()
    if engine not in ("agents", "aggregate"):
        raise InputError(
            f"unknown engine {engine!r}", field="engine", expected="agents | aggregate"
        )

    def timing() -> dict[str, Any]:
        numba = sys.modules.get("numba")
        return {
            "started_at": started.isoformat(),
            "finished_at": datetime.now(UTC).isoformat(),
            "wall_seconds": time.perf_counter() - t0,
            "worker": f"{socket.gethostname()}:{os.getpid()}",
            "numba_threads": None if numba is None else int(numba.get_num_threads()),
            "seed": int(seed),
        }

    folder = resolve_scenario(scenario_ref)
    if policy is not None and has_forecast(folder):
        tables, meta = replicate_tables(
            str(folder),
            content_hash or load_scenario(folder).content_hash,
            policy,
            int(seed),
            engine,
            dict(overrides or {}),
            replicate,
        )
        return with_meta(tables, {**meta, "resolution": "month", **timing()})
    from corridor.asylum.run import run_scenario

    loaded = load_scenario(folder)
    result = run_scenario(loaded, seed=int(seed), engine=engine, overrides=overrides or None)  # type: ignore[arg-type]
    return result_tables(result, timing())


# ---------------------------------------------------------------------------------------------
# Planning
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Task:
    """One replicate of one policy."""

    run_id: str
    policy: str
    replicate: int
    seed: int
    overrides: dict[str, Any]  # prior draw, then the policy's overrides on top
    params: dict[str, float | int]  # the prior draw alone


@dataclass(frozen=True)
class EnsemblePlan:
    """Everything an ensemble will run, decided before anything runs."""

    ensemble_id: str
    scenario_ref: str  # absolute folder of the scenario
    scenario: str
    scenario_hash: str
    n: int
    base_seed: int
    engine: str
    sample: str
    policies: dict[str, dict[str, Any]]
    tasks: tuple[Task, ...]
    forecast: bool = False  # policies are the forecast's variants (run_one's ``policy``)

    def policy_of(self, task: Task) -> str | None:
        """The ``policy`` argument of :func:`run_one` for ``task``."""
        return task.policy if self.forecast else None


@dataclass(frozen=True)
class EnsembleResult:
    """What :func:`run_ensemble` did."""

    plan: EnsemblePlan
    new_run_ids: tuple[str, ...]
    skipped: int
    wall_seconds: float
    # tables asked for with ``keep``, of the runs this call made (the others are in the store)
    kept: dict[str, dict[str, pa.Table]] = dataclasses.field(default_factory=dict)

    @property
    def ensemble_id(self) -> str:
        return self.plan.ensemble_id

    @property
    def run_ids(self) -> tuple[str, ...]:
        """Every run of the ensemble (new and earlier), in plan order."""
        return tuple(t.run_id for t in self.plan.tasks)

    @property
    def runs_per_minute(self) -> float:
        """Replicates run by this call per minute of wall time."""
        if not self.new_run_ids or self.wall_seconds <= 0:
            return 0.0
        return 60.0 * len(self.new_run_ids) / self.wall_seconds


def replicate_seeds(base_seed: int, n: int) -> list[int]:
    """``int(SeedSequence(base_seed).spawn(n)[i].generate_state(1)[0])`` for each replicate."""
    children = np.random.SeedSequence(int(base_seed)).spawn(int(n))
    return [int(ss.generate_state(1)[0]) for ss in children]


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def ensemble_id(
    scenario_hash: str,
    n: int,
    base_seed: int,
    policies: Mapping[str, Mapping[str, Any]],
    engine: str,
    sample: str,
) -> str:
    """``e`` + 16 hex digits of the SHA-256 of the ensemble's defining inputs."""
    doc = {
        "scenario_hash": scenario_hash,
        "n": int(n),
        "base_seed": int(base_seed),
        "policies": {k: dict(v) for k, v in policies.items()},
        "engine": engine,
        "sample": sample,
    }
    return "e" + hashlib.sha256(_canonical(doc).encode()).hexdigest()[:16]


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.]+", "_", name).strip("_.")[:40] or "p"


def plan_ensemble(
    scenario_ref: str,
    n: int,
    *,
    base_seed: int | None = None,
    policies: Mapping[str, Mapping[str, Any]] | None = None,
    engine: str = "agents",
    sample: str = "lhs",
) -> EnsemblePlan:
    """Seeds, prior draws and run ids of every replicate of every policy."""
    from corridor.analysis.priors import SAMPLE_METHODS, sample_priors
    from corridor.forecast.config import forecast_config, has_forecast
    from corridor.scenario.loader import load_scenario, resolve_scenario

    if n < 1:
        raise InputError(f"n must be at least 1 (is {n})", field="n")
    if engine not in ("agents", "aggregate"):
        raise InputError(
            f"unknown engine {engine!r}", field="engine", expected="agents | aggregate"
        )
    if sample not in SAMPLE_METHODS:
        raise InputError(
            f"unknown sampling method {sample!r}", field="sample", expected="lhs | sobol | none"
        )
    pols: dict[str, dict[str, Any]] = {
        str(k): dict(v) for k, v in (policies or {BASELINE: {}}).items()
    }
    if not pols:
        pols = {BASELINE: {}}
    folder = resolve_scenario(scenario_ref)
    loaded = load_scenario(folder)
    forecast = forecast_config(loaded) if has_forecast(folder) else None
    if forecast is not None:
        # a forecast draws its own assumptions per replicate from its seed (its parameters
        # are fitted): no prior sample on top; policies are its variants
        seed0 = forecast.seed if base_seed is None else int(base_seed)
        sample = "none"
        pols = {(BASELINE_VARIANT if k == BASELINE else k): v for k, v in pols.items()}
    else:
        seed0 = loaded.scenario.seed if base_seed is None else int(base_seed)
    slugs: dict[str, str] = {}
    for name in pols:
        slug = _slug(name)
        if slug in slugs.values():
            raise InputError(
                f"policy names {name!r} and {next(k for k, v in slugs.items() if v == slug)!r} "
                "are too alike",
                field="policies",
                expected="names that differ in their letters, digits, '_' or '.'",
            )
        slugs[name] = slug
    eid = ensemble_id(loaded.content_hash, n, seed0, pols, engine, sample)
    seeds = replicate_seeds(seed0, n)
    draws_by_policy: dict[str, list[dict[str, Any]]] = {
        name: (
            [{} for _ in range(n)]
            if forecast is not None
            else sample_priors(loaded.scenario, n, sample, seed0, fixed=over)  # type: ignore[arg-type]
        )
        for name, over in pols.items()
    }
    width = max(3, len(str(n - 1)))
    tasks: list[Task] = []
    for i in range(n):  # replicate-major: policies of one replicate run side by side
        for name, over in pols.items():
            draw = draws_by_policy[name][i]
            tasks.append(
                Task(
                    run_id=f"{eid}-{slugs[name]}-{i:0{width}d}",
                    policy=name,
                    replicate=i,
                    seed=seeds[i],
                    overrides={**draw, **over},
                    params=dict(draw),
                )
            )
    return EnsemblePlan(
        ensemble_id=eid,
        scenario_ref=str(folder),
        scenario=loaded.name,
        scenario_hash=loaded.content_hash,
        n=n,
        base_seed=seed0,
        engine=engine,
        sample=sample,
        policies=pols,
        tasks=tuple(tasks),
        forecast=forecast is not None,
    )


def forecast_settings(folder: Any) -> Any:
    """The forecast settings of a scenario folder (its ``forecast:`` section and variants), or
    None."""
    from corridor.forecast.config import has_forecast, load_flagship

    return load_flagship(folder) if has_forecast(folder) else None


# ---------------------------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------------------------
def _failed(task: Task, exc: BaseException) -> EnsembleError:
    return EnsembleError(
        f"replicate {task.replicate} of policy {task.policy!r} (seed {task.seed}) failed: "
        f"{type(exc).__name__}: {exc}"
    )


def run_ensemble(
    scenario_ref: str,
    n: int,
    *,
    base_seed: int | None = None,
    workers: int = 1,
    scheduler: Any = None,
    policies: Mapping[str, Mapping[str, Any]] | None = None,
    engine: str = "agents",
    store: Store | None = None,
    progress: Progress | None = None,
    sample: str = "lhs",
    keep: tuple[str, ...] = (),
    pool: Pool | None = None,
) -> EnsembleResult:
    """Run ``n`` replicates of scenario ``scenario_ref`` for each policy and store them.

    ``base_seed`` defaults to the scenario's seed. ``policies`` maps a name to overrides
    (dotted path → value); default one policy ``"baseline"`` without overrides. ``scheduler`` is
    a Dask scheduler address or a ``distributed.Client`` (then ``workers`` is ignored);
    otherwise ``workers`` local processes (1: in this process). ``store`` defaults to
    :meth:`Store.open() <corridor.results.store.Store.open>`. ``progress(done, total)`` is
    called at the start and after each stored replicate (an exception it raises stops the
    ensemble; what was stored stays). ``keep`` names tables of each new run to return in
    :attr:`EnsembleResult.kept` too (saves reading them back). ``sample`` is how priors are
    sampled: ``lhs``, ``sobol``
    or ``none`` (see :mod:`corridor.analysis.priors`). ``pool``: an open
    :class:`~corridor.analysis.pool.Pool` to run on (its workers stay up for the caller's next
    work, e.g. the main job's charts); default a pool of ``workers``/``scheduler`` for this call.
    """
    from corridor.results.store import Store

    if workers < 1:
        raise InputError(f"workers must be at least 1 (is {workers})", field="workers")
    t0 = time.perf_counter()
    store = store if store is not None else Store.open()
    check_budget(
        scenario_ref, n, len(policies or {BASELINE: {}}), workers, engine, store, scheduler
    )
    plan = plan_ensemble(
        scenario_ref, n, base_seed=base_seed, policies=policies, engine=engine, sample=sample
    )
    with _writer(store, plan.ensemble_id), store.holding():
        return _run_plan(plan, store, workers, scheduler, progress, t0, tuple(keep), pool)


@contextlib.contextmanager
def _writer(store: Store, eid: str) -> Iterator[None]:
    """Be the one writer of ensemble ``eid`` in ``store``: a second waits for the first (the
    lock file ``locks/<eid>.lock`` holds its pid), then runs only what the first left."""
    from corridor.results.locks import hold

    def waiting(pid: int | None) -> None:
        log.warning(
            "ensemble %s is being written by process %s; waiting for it to finish", eid, pid
        )

    with hold(store.root / "locks" / f"{eid}.lock", on_wait=waiting):
        yield


def check_budget(
    scenario_ref: str,
    n: int,
    policies: int,
    workers: int,
    engine: str,
    store: Store,
    scheduler: Any = None,
) -> None:
    """Refuse (:class:`~corridor.analysis.budget.TooBig`, one line) ``n`` replicates of
    ``policies`` policies that would not fit this machine's memory, the store's disk or a day
    (:mod:`corridor.analysis.budget`; inside :func:`~corridor.analysis.budget.forced`, only
    what does not fit at all)."""
    from corridor.analysis import budget
    from corridor.scenario.loader import load_scenario, resolve_scenario

    loaded = load_scenario(resolve_scenario(scenario_ref))
    forecast = loaded.scenario.forecast
    est = budget.estimate(
        loaded,
        n * policies,
        1 if scheduler is not None else workers,
        engine,
        store,
        forecast_end=forecast.end if forecast is not None else None,
    )
    budget.check(
        est,
        budget.machine(store.root),
        scheduler=scheduler is not None,
        what="replicates",
        per=policies,
    )


def _run_plan(
    plan: EnsemblePlan,
    store: Store,
    workers: int,
    scheduler: Any,
    progress: Progress | None,
    t0: float,
    keep: tuple[str, ...] = (),
    shared: Pool | None = None,
) -> EnsembleResult:
    stored = set(store.runs({"ensemble_id": plan.ensemble_id})["run_id"])
    todo = [t for t in plan.tasks if t.run_id not in stored]
    total = len(todo)
    new: list[str] = []
    kept: dict[str, dict[str, pa.Table]] = {}

    def on_result(task: Task, tables: dict[str, pa.Table]) -> None:
        if keep:
            kept[task.run_id] = {k: tables[k] for k in keep if k in tables}
        run_id = store.write_run(
            tables,
            {
                "run_id": task.run_id,
                "ensemble_id": plan.ensemble_id,
                "scenario": plan.scenario,
                "scenario_hash": plan.scenario_hash,
                "policy": task.policy,
                "overrides": task.overrides,
                "params": task.params,
                "seed": task.seed,
                "replicate": task.replicate,
                "engine": plan.engine,
            },
        )
        new.append(run_id)
        if progress is not None:
            progress(len(new), total)

    if progress is not None and not todo:
        progress(0, 0)
    if todo:
        args = [
            (
                plan.scenario_ref,
                t.seed,
                t.overrides,
                plan.engine,
                plan.policy_of(t),
                t.replicate,
                plan.scenario_hash,
            )
            for t in todo
        ]
        own = Pool(workers, scheduler) if shared is None else contextlib.nullcontext(shared)
        with own as pool:  # a scheduler is reached (or not) here
            if progress is not None:
                progress(0, total)
            for i, out in pool.as_completed(run_one, args, return_exceptions=True):
                if isinstance(out, CorridorError):
                    raise out
                if isinstance(out, BaseException):
                    raise _failed(todo[i], out) from out
                on_result(todo[i], out)
    return EnsembleResult(
        plan=plan,
        new_run_ids=tuple(new),
        skipped=len(plan.tasks) - total,
        wall_seconds=time.perf_counter() - t0,
        kept=kept,
    )
