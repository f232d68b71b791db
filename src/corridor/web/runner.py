"""Job execution: what a job is (:class:`JobSpec`) and how it runs, in the calling thread
(:func:`run_job`) or in a job process of its own (:class:`JobProcess`).

Contract
--------
Reads: a :class:`JobSpec` (a shipped scenario's folder, its overrides, an engine, a prior
sampling and a number of replicates). Produces: two ensembles in the results store through
:func:`corridor.analysis.ensemble.run_ensemble` (the executors of ``corridor ensemble`` and
``corridor run``) and their ids ``(levers, status quo)``; progress goes to a :data:`Progress`
callback. Invariants: the status quo (policy ``status_quo``, no overrides) runs first, then the
levers (policy ``levers``, or a forecast's named variant); both use the scenario's base seed
(a forecast's own seed), so replicate ``i`` of each shares its seed and prior draw and the two
are paired. On a scenario with a forecast the policies are its variants (``status_quo`` is the
variant of that name, ``levers`` the status quo plus the levers) and the engine and seed are
the forecast's, so the status quo's replicate ``i`` is the main job's (``corridor run``).
The status quo ensemble id depends only on the scenario, the engine and the number of
replicates, so it is run once and then found in the store; running the same levers
again is also free (the ensemble id is a hash of its inputs). A progress callback that raises
:class:`JobStopped` stops the job after its current replicate. Nothing here queues or keeps job
state (:mod:`corridor.web.jobs` does).

The job process speaks over a pipe: in, ``(job id, JobSpec)``, ``"stop"`` or ``None`` (exit);
out, ``("ready", pid)``, then per job ``("progress", ...)`` messages and one of ``"done"``,
``"failed"`` or ``"stopped"`` (see :func:`_job_process_main`).
"""

from __future__ import annotations

import contextlib
import copy
import multiprocessing
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from corridor.errors import CorridorError
from corridor.web.levers import LEVERS, STATUS_QUO, canonical

if TYPE_CHECKING:
    from corridor.results.store import Store

__all__ = [
    "JobFailed",
    "JobProcess",
    "JobSpec",
    "JobStopped",
    "Progress",
    "Runner",
    "run_job",
]


@dataclass(frozen=True)
class JobSpec:
    """One dashboard run: a shipped scenario, overrides, engine and replicates."""

    scenario: str
    folder: str
    overrides: dict[str, Any]
    mode: str
    engine: str
    sample: str
    n: int
    workers: int
    variant: str | None = None  # a forecast's named variant (None: its status quo)
    base_seed: int | None = None  # None: the scenario's (a forecast's own seed)

    @property
    def policy(self) -> str:
        """The policy name of the run with levers: the variant, else ``levers``."""
        return self.variant if self.variant and self.variant != STATUS_QUO else LEVERS

    @property
    def has_levers(self) -> bool:
        """Whether the job runs more than the status quo."""
        return bool(self.overrides) or self.policy != LEVERS

    @property
    def key(self) -> str:
        """Equal for jobs that would compute the same thing."""
        return canonical(
            [self.scenario, self.overrides, self.engine, self.sample, self.n, self.variant]
        )


class JobStopped(CorridorError):
    """Raised in a job's progress callback when the server stops."""


class JobFailed(CorridorError):
    """A job that failed in the job process (the message names the error)."""


# A job progress callback: (phase, phase index, done, total).
Progress = Callable[[str, int, int, int], None]
Runner = Callable[[JobSpec, "Store", Progress], tuple[str, str]]


def run_job(spec: JobSpec, store: Store, progress: Progress) -> tuple[str, str]:
    """Run ``spec`` (status quo, then levers or the variant) with :func:`run_ensemble`; return
    the ensemble ids ``(levers, status quo)`` (the same when there is nothing but the status
    quo)."""
    from corridor.analysis.ensemble import run_ensemble

    workers = max(1, min(spec.workers, spec.n))

    def phase(name: str, index: int) -> Callable[[int, int], None]:
        return lambda done, total: progress(name, index, done, total)

    sq = run_ensemble(
        spec.folder,
        spec.n,
        base_seed=spec.base_seed,
        workers=workers,
        policies={STATUS_QUO: {}},
        engine=spec.engine,
        store=store,
        progress=phase(STATUS_QUO, 0),
        sample=spec.sample,
    )
    if not spec.has_levers:
        return sq.ensemble_id, sq.ensemble_id
    lv = run_ensemble(
        spec.folder,
        spec.n,
        base_seed=spec.base_seed,
        workers=workers,
        policies={spec.policy: copy.deepcopy(spec.overrides)},
        engine=spec.engine,
        store=store,
        progress=phase(LEVERS, 1),
        sample=spec.sample,
    )
    return lv.ensemble_id, sq.ensemble_id


def _job_process_main(conn: Connection, root: str) -> None:
    """The job process: run each job it is sent with :func:`run_job`, reporting progress.

    Messages in: ``(job id, JobSpec)``, ``"stop"`` (stop the running job after its current
    replicate) or ``None`` (exit). Out: ``("ready", pid)``, then per job ``("progress", id,
    phase, index, done, total)`` and one of ``("done", id, (levers id, status quo id))``,
    ``("failed", id, message)`` or ``("stopped", id, "")``.
    """
    from corridor.analysis.pool import SINGLE_THREAD_ENV

    for key, value in SINGLE_THREAD_ENV.items():  # replicates run in this process: one thread
        os.environ.setdefault(key, value)
    from corridor.results.store import Store

    store = Store.open(root)
    conn.send(("ready", os.getpid()))
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg is None:
            return
        if isinstance(msg, tuple) and _process_one(conn, store, *msg):
            return


def _process_one(conn: Connection, store: Store, job_id: str, spec: JobSpec) -> bool:
    """Run one job in the job process; True when the server asked it to exit meanwhile."""
    flags = {"stopped": False, "exit": False}

    def progress(phase: str, index: int, done: int, total: int) -> None:
        while conn.poll():
            got = conn.recv()
            flags["stopped"] = flags["stopped"] or got in ("stop", None)
            flags["exit"] = flags["exit"] or got is None
        if flags["stopped"]:
            raise JobStopped("the server is stopping")
        conn.send(("progress", job_id, phase, index, done, total))

    try:
        ids = run_job(spec, store, progress)
    except JobStopped:
        conn.send(("stopped", job_id, ""))
    except BaseException as exc:
        conn.send(("failed", job_id, f"{type(exc).__name__}: {exc}"))
    else:
        conn.send(("done", job_id, ids))
    return flags["exit"] or flags["stopped"]


class JobProcess:
    """One spawned process that runs the jobs, so that the server's own threads never run the
    model (no GIL contention with requests; a crash takes the job, not the server). It is
    started again when it dies. Replicates inside a job may use further worker processes
    (``run_ensemble(workers=K)``)."""

    def __init__(self, root: Path, start_timeout: float = 300.0) -> None:
        self.root = root
        self.start_timeout = start_timeout
        self._proc: BaseProcess | None = None
        self._conn: Connection | None = None

    def ensure(self) -> None:
        """Start the process if it is not running, and wait until it is ready."""
        if self._proc is not None and self._proc.is_alive() and self._conn is not None:
            return
        self.close(0.0)
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe()
        proc = ctx.Process(
            target=_job_process_main, args=(child, str(self.root)), name="corridor-jobs"
        )
        proc.start()
        child.close()
        self._proc, self._conn = proc, parent
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if parent.poll(0.2):
                try:
                    msg = parent.recv()
                except (EOFError, OSError):
                    break
                if msg[0] == "ready":
                    return
            if not proc.is_alive():
                break
        code = proc.exitcode
        self.close(0.0)
        raise JobFailed(f"the job process did not start (exit code {code})")

    def run(
        self,
        job_id: str,
        spec: JobSpec,
        progress: Progress,
        stopping: Callable[[], bool],
    ) -> tuple[str, str]:
        self.ensure()
        conn, proc = self._conn, self._proc
        assert conn is not None
        assert proc is not None
        conn.send((job_id, spec))
        told = False
        while True:
            if stopping() and not told:
                conn.send("stop")
                told = True
            try:
                ready = conn.poll(0.2)
                msg = conn.recv() if ready else None
            except (EOFError, OSError):
                msg, ready = None, False
                proc.join(1.0)
            if msg is None:
                if not proc.is_alive():
                    code = proc.exitcode
                    self.close(0.0)
                    raise JobFailed(f"the job process died (exit code {code})")
                continue
            kind = msg[0]
            if kind == "progress":
                progress(*msg[2:])
            elif kind == "done":
                return str(msg[2][0]), str(msg[2][1])
            elif kind == "stopped":
                raise JobStopped("the server stopped")
            elif kind == "failed":
                raise JobFailed(str(msg[2]))

    def close(self, timeout: float = 30.0) -> None:
        """Ask the process to exit (after its current replicate); terminate it after
        ``timeout`` seconds."""
        proc, conn = self._proc, self._conn
        self._proc = self._conn = None
        if conn is not None:
            with contextlib.suppress(OSError, ValueError):
                conn.send(None)
        if proc is not None:
            proc.join(timeout)
            if proc.is_alive():
                proc.terminate()
                proc.join(5.0)
            if proc.is_alive():
                proc.kill()
                proc.join(5.0)
        if conn is not None:
            conn.close()
