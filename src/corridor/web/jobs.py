"""The dashboard's job queue: job state and the background thread that runs jobs one at a time.

Contract
--------
Reads: :class:`~corridor.web.runner.JobSpec` values from the API. Produces: :class:`Job`
records and their public snapshots (:meth:`JobManager.get`), the queue's state
(:meth:`JobManager.stats`) and, through :mod:`corridor.web.runner`, ensembles in the store.
Invariants: :class:`JobManager` holds at most ``queue_size`` jobs waiting (a full queue raises
:class:`QueueFull` with a retry delay, which the API answers with 429 and ``Retry-After``);
one job runs at a time, in a :class:`~corridor.web.runner.JobProcess` or in the manager's
thread; a job equal to one queued or running is not queued twice; :class:`Job` records are
mutated only under the manager's lock. A job uses up to ``workers`` processes for its
replicates (one replicate runs in the job process or thread itself).

What levers mean is in :mod:`corridor.web.levers`, how a job runs in
:mod:`corridor.web.runner`; their public names are re-exported here, where they used to live.
"""

from __future__ import annotations

import logging
import math
import re
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from corridor.errors import CorridorError, InputError
from corridor.web.levers import (
    LEVERS,
    MODES,
    STATUS_QUO,
    HubLever,
    Levers,
    RunRequest,
    ScenarioInfo,
    canonical,
    levers_from_overrides,
    overrides_from_levers,
    scenario_info,
    shipped_folder,
)
from corridor.web.runner import (
    JobFailed,
    JobProcess,
    JobSpec,
    JobStopped,
    Progress,
    Runner,
    run_job,
)

if TYPE_CHECKING:
    from corridor.results.store import Store

__all__ = [
    "JOB_ID",
    "LEVERS",
    "MODES",
    "STATUS_QUO",
    "HubLever",
    "Job",
    "JobFailed",
    "JobManager",
    "JobProcess",
    "JobSpec",
    "Levers",
    "Progress",
    "QueueFull",
    "RunRequest",
    "Runner",
    "ScenarioInfo",
    "canonical",
    "levers_from_overrides",
    "overrides_from_levers",
    "run_job",
    "scenario_info",
    "shipped_folder",
]

log = logging.getLogger(__name__)

JOB_ID = re.compile(r"^j[0-9a-f]{16}$")


JobStatus = Literal["queued", "running", "done", "failed", "cancelled"]


@dataclass
class Job:
    """A job and where it is (mutated by :class:`JobManager` only, under its lock)."""

    id: str
    spec: JobSpec
    status: JobStatus = "queued"
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    phase: str = ""
    done: int = 0
    total: int = 0
    phases_done: int = 0
    phases: int = 2
    run_id: str | None = None
    status_quo_id: str | None = None
    error: str | None = None

    def public(self, position: int | None) -> dict[str, Any]:
        frac = 1.0 if self.status == "done" else 0.0
        if self.status == "running":
            part = self.done / self.total if self.total else 0.0
            frac = min(1.0, (self.phases_done + part) / max(self.phases, 1))
        return {
            "id": self.id,
            "status": self.status,
            "scenario": self.spec.scenario,
            "mode": self.spec.mode,
            "engine": self.spec.engine,
            "replicates": self.spec.n,
            "overrides": self.spec.overrides,
            "variant": self.spec.variant,
            "position": position,
            "phase": self.phase,
            "done": self.done,
            "total": self.total,
            "fraction": round(frac, 4),
            "run_id": self.run_id,
            "status_quo_id": self.status_quo_id,
            "run_url": f"/runs/{self.run_id}" if self.run_id else None,
            "error": self.error,
            "created": self.created,
            "started": self.started,
            "finished": self.finished,
        }


class QueueFull(CorridorError):
    """The job queue is full; try again after ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(f"the run queue is full; retry in {retry_after} s")


class JobManager:
    """A bounded queue of jobs run one at a time by a background thread.

    ``queue_size`` jobs may wait (the running one not counted); :meth:`submit` raises
    :class:`QueueFull` beyond that. A job equal to one queued or running (same
    :attr:`JobSpec.key`) is not queued again: the existing job is returned. ``on_done(job)`` is
    called in the worker thread after each successful job (e.g. to warm a cache). The last
    ``keep`` finished jobs are remembered.

    Jobs run with :func:`run_job` in a :class:`JobProcess` (``isolate=True``, the default) or
    in the manager's thread; a given ``runner`` always runs in the thread (tests).
    """

    def __init__(
        self,
        store: Store,
        *,
        queue_size: int = 8,
        runner: Runner | None = None,
        isolate: bool = True,
        on_done: Callable[[Job], None] | None = None,
        keep: int = 1000,
    ) -> None:
        if queue_size < 1:
            raise InputError(f"queue size must be at least 1 (is {queue_size})", field="--queue")
        self.store = store
        self.queue_size = queue_size
        self.runner: Runner = runner or run_job
        self.process = JobProcess(store.root) if runner is None and isolate else None
        self.on_done = on_done
        self.keep = keep
        self._cond = threading.Condition()
        self._queue: deque[Job] = deque()
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._running: Job | None = None
        self._stop = False
        self._durations: deque[float] = deque(maxlen=20)
        self._thread: threading.Thread | None = None

    # -- life ----------------------------------------------------------------------------------
    def start(self) -> None:
        with self._cond:
            if self._thread is not None:
                return
            self._stop = False
            self._thread = threading.Thread(target=self._loop, name="corridor-jobs", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop taking jobs; the running job stops after its current replicate."""
        with self._cond:
            self._stop = True
            for job in self._queue:
                job.status, job.finished = "cancelled", time.time()
            self._queue.clear()
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)
        if self.process is not None:
            self.process.close(timeout)
        with self._cond:
            self._thread = None

    # -- queue ---------------------------------------------------------------------------------
    def submit(self, spec: JobSpec) -> tuple[Job, bool]:
        """Queue ``spec``; return the job and whether it is new."""
        with self._cond:
            if self._stop:
                raise QueueFull(self._retry_after_locked())
            for job in (self._running, *self._queue):
                if job is not None and job.spec.key == spec.key:
                    return job, False
            if len(self._queue) >= self.queue_size:
                raise QueueFull(self._retry_after_locked())
            job = Job(id="j" + secrets.token_hex(8), spec=spec)
            self._jobs[job.id] = job
            self._queue.append(job)
            self._trim_locked()
            self._cond.notify_all()
            return job, True

    def get(self, job_id: str) -> dict[str, Any] | None:
        """A snapshot of job ``job_id`` (None if unknown)."""
        if not JOB_ID.match(job_id):
            return None
        with self._cond:
            job = self._jobs.get(job_id)
            if job is None:
                return None
            position = next((i + 1 for i, j in enumerate(self._queue) if j is job), None)
            if job is self._running:
                position = 0
            return job.public(position)

    def stats(self) -> dict[str, Any]:
        with self._cond:
            return {
                "queued": len(self._queue),
                "queue_size": self.queue_size,
                "running": self._running.id if self._running else None,
                "retry_after": self._retry_after_locked(),
            }

    def retry_after(self) -> int:
        with self._cond:
            return self._retry_after_locked()

    def _retry_after_locked(self) -> int:
        mean = sum(self._durations) / len(self._durations) if self._durations else 5.0
        return int(min(600, max(1, math.ceil(mean))))

    def _trim_locked(self) -> None:
        finished = [k for k, j in self._jobs.items() if j.status in ("done", "failed", "cancelled")]
        for k in finished[: max(0, len(finished) - self.keep)]:
            del self._jobs[k]

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Wait until nothing is queued or running (for tests and shutdown)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._queue or self._running is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    # -- worker --------------------------------------------------------------------------------
    def _progress(self, job: Job, *, stop_here: bool) -> Progress:
        """A progress callback that records progress on ``job``; with ``stop_here`` it also
        stops the job (raises :class:`JobStopped`) once the manager is stopping (in the thread;
        the job process is told to stop instead)."""

        def update(phase: str, index: int, done: int, total: int) -> None:
            with self._cond:
                if stop_here and self._stop:
                    raise JobStopped("the server is stopping")
                job.phase, job.phases_done, job.done, job.total = phase, index, done, total

        return update

    def _stopping(self) -> bool:
        with self._cond:
            return self._stop

    def _run(self, job: Job) -> tuple[str, str]:
        if self.process is None:
            return self.runner(job.spec, self.store, self._progress(job, stop_here=True))
        return self.process.run(
            job.id, job.spec, self._progress(job, stop_here=False), self._stopping
        )

    def _loop(self) -> None:
        if self.process is not None:  # start the job process now, not at the first run
            try:
                self.process.ensure()
            except JobFailed:
                log.exception("the job process did not start; retrying at the first job")
        while True:
            with self._cond:
                while not self._queue and not self._stop:
                    self._cond.wait()
                if self._stop:
                    return
                job = self._queue.popleft()
                job.status, job.started = "running", time.time()
                job.phases = 2 if job.spec.has_levers else 1
                self._running = job
            t0 = time.perf_counter()
            try:
                run_id, sq_id = self._run(job)
            except JobStopped:
                with self._cond:
                    job.status, job.error = "cancelled", "the server stopped"
            except Exception as exc:  # a failed run must not stop the queue
                log.warning("job %s failed: %s", job.id, exc)
                with self._cond:
                    job.status, job.error = "failed", f"{type(exc).__name__}: {exc}"
            else:
                with self._cond:
                    job.run_id, job.status_quo_id = run_id, sq_id
                if self.on_done is not None:
                    try:
                        self.on_done(job)
                    except Exception:
                        log.exception("after job %s", job.id)
                with self._cond:
                    job.status = "done"
            finally:
                with self._cond:
                    job.finished = time.time()
                    self._durations.append(time.perf_counter() - t0)
                    self._running = None
                    self._trim_locked()
                    self._cond.notify_all()
