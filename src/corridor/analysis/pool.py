"""The one worker pool: every command maps :func:`corridor.analysis.ensemble.run_one` (or a thin
wrapper of it) over its tasks here.

Contract
--------
A :class:`Pool` runs ``fn(*args)`` for each argument tuple of a call, on one of three backends:

* ``workers=1`` and no scheduler: in this process, one task after another, in task order;
* ``workers=K``: a ``ProcessPoolExecutor`` of K *spawned* processes, started on the first call
  with more than one task (a lone task before then runs in this process) and kept until the
  ``with`` block ends;
* ``scheduler=ADDRESS`` (or a ``distributed.Client``): Dask distributed; tasks are submitted
  with ``pure=False, retries=2``. A client the pool opened itself is closed at the end.

Local workers die with their parent (:func:`die_with_parent`: ``PR_SET_PDEATHSIG`` on Linux and
a watchdog thread everywhere), so a coordinator killed with ``kill -9`` leaves no worker behind.
A scheduler that cannot be reached is one line (:class:`SchedulerUnreachable`) within
:data:`SCHEDULER_TIMEOUT` seconds, not a traceback.

Workers are single-threaded: :func:`single_threaded` sets :data:`SINGLE_THREAD_ENV` in every
local process (its initializer) and in every Dask worker, present and future (a worker plugin),
before anything imports Numba there.

Two ways to consume it:

* :meth:`Pool.map` returns the results in task order;
* :meth:`Pool.as_completed` yields ``(index, result)`` as tasks finish (the in-process backend:
  in task order; tasks finishing together: by index), so that a caller can store each result
  at once and an interrupted caller keeps what it stored.

Failures: with ``return_exceptions=True`` an exception a task raised is returned (or yielded) in
place of its result; otherwise it is raised and the call's other tasks are cancelled (those
running are not waited for). A local worker process that dies (``BrokenProcessPool``: killed,
out of memory) costs nothing but time: the processes are started again and the call's
unfinished tasks resubmitted; after :data:`MAX_BARREN_REBUILDS` rebuilds in a row without a
finished task the call raises :class:`WorkerDied`. Dask reschedules the tasks of a worker that
dies (``retries=2``).

Results never depend on the backend or the number of workers: a task is a few picklable values
and ``fn`` a pure function of them (seeds are arguments), and tasks do not share state.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from types import TracebackType
from typing import Any

from corridor.errors import CorridorError, InputError

__all__ = [
    "MAX_BARREN_REBUILDS",
    "SINGLE_THREAD_ENV",
    "Pool",
    "SchedulerUnreachable",
    "WorkerDied",
    "die_with_parent",
    "single_threaded",
]

log = logging.getLogger(__name__)

SINGLE_THREAD_ENV: dict[str, str] = {
    "NUMBA_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}
MAX_BARREN_REBUILDS = 3  # process pool rebuilds in a row without a finished task
WATCHDOG_SECONDS = 1.0  # a worker checks this often that its parent still runs
SCHEDULER_TIMEOUT = 5.0  # seconds to reach a Dask scheduler before giving up
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


class WorkerDied(CorridorError):
    """Local worker processes kept dying without finishing a task."""


def single_threaded() -> None:
    """Make this process single-threaded (call it before Numba is imported in it)."""
    os.environ.update(SINGLE_THREAD_ENV)


def _local_worker() -> None:
    """The initializer of a local worker process: single-threaded, and dies with its parent."""
    single_threaded()
    die_with_parent()


def die_with_parent(poll: float = WATCHDOG_SECONDS) -> None:
    """End this process when its parent ends, however the parent ends (``kill -9`` included).

    On Linux the kernel sends SIGKILL at the parent's death (``prctl(PR_SET_PDEATHSIG)``); on
    every system a daemon thread also checks every ``poll`` seconds that the parent is still
    the one it started under (an orphan is re-parented) and ends the process if not.
    """
    parent = os.getppid()
    if sys.platform.startswith("linux"):
        try:
            import ctypes
            import signal

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):  # pragma: no cover - no prctl: the thread does it
            pass
    if os.getppid() != parent or parent == 1:  # the parent ended before the line above
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(poll)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="corridor-parent-watchdog", daemon=True).start()


def _single_thread_plugin() -> Any:
    """A Dask worker plugin that calls :func:`single_threaded` on every worker, present and
    future (defined here so that importing this module does not import distributed)."""
    from distributed import WorkerPlugin

    class SingleThreadedWorker(WorkerPlugin):  # type: ignore[misc]
        name = "corridor-single-threaded"
        idempotent = True

        def setup(self, worker: Any) -> None:
            single_threaded()

    return SingleThreadedWorker()


class Pool:
    """``workers`` single-threaded processes, or this process (``workers=1``), or the Dask
    cluster at ``scheduler`` (then ``workers`` is only what callers batch by). Use it as a
    context manager; see the module docstring for the contract."""

    def __init__(self, workers: int = 1, scheduler: Any = None) -> None:
        if workers < 1:
            raise InputError(f"workers must be at least 1 (is {workers})", field="workers")
        self.workers = workers
        self.scheduler = scheduler
        self._processes: ProcessPoolExecutor | None = None
        self._client: Any = None
        self._own_client = False

    @property
    def backend(self) -> str:
        """``"dask"``, ``"processes"`` or ``"inline"``."""
        if self.scheduler is not None:
            return "dask"
        return "processes" if self.workers > 1 else "inline"

    def __enter__(self) -> Pool:
        if self.scheduler is not None:
            self._dask_client()  # an unreachable scheduler fails here, before any work
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close(wait=exc is None)

    def close(self, wait: bool = True) -> None:
        """Stop the processes (cancelling queued tasks; ``wait=False``: without waiting for the
        running ones) and close a Dask client the pool opened."""
        if self._processes is not None:
            self._processes.shutdown(wait=wait, cancel_futures=True)
            self._processes = None
        if self._client is not None:
            if self._own_client:
                self._client.close()
            self._client = None

    # -- consuming -----------------------------------------------------------------------------
    def map(
        self,
        fn: Callable[..., Any],
        args: Iterable[tuple[Any, ...]],
        return_exceptions: bool = False,
    ) -> list[Any]:
        """``[fn(*a) for a in args]``, run on the pool; results in task order."""
        items = list(args)
        out: list[Any] = [None] * len(items)
        for i, result in self.as_completed(fn, items, return_exceptions=return_exceptions):
            out[i] = result
        return out

    def as_completed(
        self,
        fn: Callable[..., Any],
        args: Iterable[tuple[Any, ...]],
        return_exceptions: bool = False,
    ) -> Iterator[tuple[int, Any]]:
        """Yield ``(index, fn(*args[index]))`` for every task as it finishes. Closing the
        iterator early (an exception in the caller, an interrupt) cancels the tasks not yet
        started."""
        items = list(args)
        if not items:
            return iter(())
        if self.scheduler is not None:
            return self._dask(fn, items, return_exceptions)
        if self.workers == 1 or (len(items) == 1 and self._processes is None):
            return self._inline(fn, items, return_exceptions)
        return self._local(fn, items, return_exceptions)

    # -- backends ------------------------------------------------------------------------------
    @staticmethod
    def _inline(
        fn: Callable[..., Any], items: Sequence[tuple[Any, ...]], return_exceptions: bool
    ) -> Iterator[tuple[int, Any]]:
        for i, a in enumerate(items):
            try:
                result = fn(*a)
            except Exception as exc:
                if not return_exceptions:
                    raise
                result = exc
            yield i, result

    def _executor(self) -> ProcessPoolExecutor:
        if self._processes is None:
            import multiprocessing

            self._processes = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_local_worker,
            )
        return self._processes

    def _local(
        self, fn: Callable[..., Any], items: Sequence[tuple[Any, ...]], return_exceptions: bool
    ) -> Iterator[tuple[int, Any]]:
        remaining = set(range(len(items)))
        barren = 0
        while remaining:
            executor = self._executor()
            futures: dict[Future[Any], int] = {}
            broken = False
            finished = 0
            try:
                futures = {executor.submit(fn, *items[i]): i for i in sorted(remaining)}
                waiting = set(futures)
                while waiting:
                    done, waiting = wait(waiting, return_when=FIRST_COMPLETED)
                    for fut in sorted(done, key=futures.__getitem__):
                        i = futures[fut]
                        try:
                            result = fut.result()
                        except BrokenProcessPool:
                            broken = True
                            continue
                        except Exception as exc:
                            if not return_exceptions:
                                raise
                            result = exc
                        remaining.discard(i)
                        finished += 1
                        yield i, result
            except BrokenProcessPool:  # the pool broke while tasks were being submitted
                broken = True
            finally:
                if remaining and not broken:  # an error, or the caller stopped early
                    for fut in futures:
                        fut.cancel()
            if broken:
                self.close(wait=False)
                barren = 0 if finished else barren + 1
                if barren >= MAX_BARREN_REBUILDS:
                    raise WorkerDied(
                        f"worker processes died {barren} times in a row without finishing a "
                        f"task ({len(remaining)} left); out of memory?"
                    )
                log.warning(
                    "a worker process died; restarting the pool for %d tasks", len(remaining)
                )

    def _dask_client(self) -> Any:
        if self._client is None:
            try:
                from distributed import Client
            except ImportError as exc:  # pragma: no cover - distributed is a dependency
                raise CorridorError(
                    "a Dask scheduler needs the package 'distributed' "
                    "(pip install 'dask[distributed]')"
                ) from exc
            self._own_client = not isinstance(self.scheduler, Client)
            client = _connect(Client, str(self.scheduler)) if self._own_client else self.scheduler
            try:
                client.register_plugin(_single_thread_plugin())
            except BaseException:
                if self._own_client:
                    client.close()
                raise
            self._client = client
        return self._client

    def _dask(
        self, fn: Callable[..., Any], items: Sequence[tuple[Any, ...]], return_exceptions: bool
    ) -> Iterator[tuple[int, Any]]:
        from distributed import as_completed

        client = self._dask_client()
        index: dict[Any, int] = {}
        futures: list[Any] = []
        try:
            for i, a in enumerate(items):
                fut = client.submit(fn, *a, pure=False, retries=2)
                index[fut.key] = i
                futures.append(fut)
            for fut in as_completed(futures):  # type: ignore[no-untyped-call]
                try:
                    result = fut.result()
                except Exception as exc:
                    if not return_exceptions:
                        raise
                    result = exc
                fut.release()
                yield index[fut.key], result
        except BaseException:
            client.cancel(futures)
            raise


class SchedulerUnreachable(CorridorError):
    """The Dask scheduler named could not be reached."""


def _connect(client_class: Any, address: str) -> Any:
    """A Dask client of the scheduler at ``address``, or one line saying why not: a ``tcp://``
    address is tried with a plain connection first (refused at once, or after
    :data:`SCHEDULER_TIMEOUT` s), then the client waits at most that long."""
    host, _, port = address.removeprefix("tcp://").rpartition(":")
    if address.startswith("tcp://") and port.isdigit():
        try:
            with socket.create_connection((host.strip("[]"), int(port)), SCHEDULER_TIMEOUT):
                pass
        except OSError as exc:
            raise SchedulerUnreachable(
                f"cannot reach the Dask scheduler at {address}: {exc.strerror or exc}"
                " (is it running? `dask scheduler` starts one; leave --scheduler out to run"
                " on this machine)"
            ) from None
    try:
        return client_class(address, timeout=SCHEDULER_TIMEOUT)
    except (OSError, TimeoutError, ValueError) as exc:
        raise SchedulerUnreachable(
            f"cannot reach the Dask scheduler at {address}: {exc}".splitlines()[0]
        ) from None
