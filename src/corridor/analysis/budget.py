"""Before a run starts: an estimate of its memory, disk and time against what the machine has.

Contract
--------
:func:`machine` reads what this process may use: memory (the least of the memory available,
``/proc/meminfo``'s ``MemAvailable`` or the physical memory; the cgroup's limit less its usage,
v2 ``memory.max``/``memory.current`` at every level from this process's cgroup up, or v1
``memory.limit_in_bytes``; and, per process, ``RLIMIT_AS`` and ``RLIMIT_DATA``), CPUs (the
affinity mask, and a cgroup quota ``cpu.max`` or ``cpu.cfs_quota_us``), the CPU seconds a
process may use (``RLIMIT_CPU``) and the free disk where the results store is (its nearest
existing folder).

:func:`estimate` sizes ``tasks`` runs of a loaded scenario on ``workers`` processes: disk and
seconds a run from the store's own record of earlier runs of the same scenario and engine
where it has some (the size of their folders, the median of their ``wall_seconds``), otherwise
from a rough model of the scenario (rows of the tables over its period and nationalities;
agents it holds at once). Memory is per process (a Python process with the libraries, plus the
run's agents and tables) times the processes, plus the coordinator's plan of every task.

:func:`check` refuses, with one line that names the cheaper ways (the aggregate engine, fewer
replicates with the number that fits, ``--scheduler``), an estimate above a *soft* limit
(:data:`SOFT_SHARE` of the memory or the free disk, :data:`SOFT_SECONDS` of wall time, the
``RLIMIT_CPU`` of a process), unless forced; above a *hard* limit (all the memory, all the
free disk) it refuses even when forced. With a Dask scheduler the workers' memory and the time
are the cluster's: only the coordinator's memory and the disk are checked.

Forcing: ``check(..., force=True)``, or inside :func:`forced` (the commands' ``--force``: it
reaches checks made deep inside a command, e.g. the ensemble behind ``corridor backtest``).

Estimates are rough (a factor of two either way); the limits are far from the runs people make.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import math
import os
import resource
import shutil
import statistics
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from corridor.errors import CorridorError

if TYPE_CHECKING:
    from corridor.results.store import Store
    from corridor.scenario.loaded import LoadedScenario

__all__ = [
    "SOFT_SECONDS",
    "SOFT_SHARE",
    "Estimate",
    "Machine",
    "TooBig",
    "check",
    "estimate",
    "forced",
    "machine",
]

SOFT_SHARE = 0.8  # of the memory and of the free disk
SOFT_SECONDS = 24 * 3600.0  # a run longer than a day on this machine: ask for --force
PROCESS_BYTES = 300 * 2**20  # a Python process with numpy, numba, pandas, pyarrow loaded
TASK_PLAN_BYTES = 2048  # the coordinator's record of one task (seed, overrides, run id)
AGENT_BYTES = 96  # one agent's columns (corridor.engine.agents) and its share of queues
RUN_FILES_BYTES = 40_000  # a stored run's fixed part: Parquet footers and meta.json
ROW_BYTES = 120  # a stored table row after compression (about 40 numbers)
MEMORY_ROW_BYTES = 2_000  # a row of a run's tables in memory, with its working copies

_forced: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "corridor_budget_forced", default=False
)


class TooBig(CorridorError):
    """A run that would not fit the machine (or not within the soft limits without --force)."""


@contextlib.contextmanager
def forced(force: bool = True) -> Iterator[None]:
    """Checks made inside the block go past the soft limits (``--force``)."""
    token = _forced.set(force or _forced.get())
    try:
        yield
    finally:
        _forced.reset(token)


# ---------------------------------------------------------------------------------------------
# What the machine has
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Machine:
    """What this process may use; ``memory_by`` and ``cpus_by`` say which limit binds."""

    memory: int  # bytes all processes together may use
    memory_by: str
    process_memory: int | None  # bytes one process may use (RLIMIT_AS/RLIMIT_DATA), None: no limit
    cpus: float
    cpus_by: str
    cpu_seconds: float | None  # RLIMIT_CPU of a process, None: no limit
    disk_free: int  # bytes free where the store is
    disk_at: Path


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _cgroup_dirs(root: Path, proc: Path) -> tuple[list[Path], list[Path], list[Path]]:
    """The cgroup v2 folders from this process's up to the root, and the v1 memory and cpu
    folders (the process's and the hierarchy's root)."""
    v2: list[Path] = []
    v1_mem: list[Path] = [root / "memory"]
    v1_cpu: list[Path] = [root / "cpu", root / "cpu,cpuacct"]
    for line in (_read(proc / "self" / "cgroup") or "").splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        rel = parts[2].lstrip("/")
        if parts[0] == "0" and parts[1] == "":
            here = root / rel
            while True:
                v2.append(here)
                if here == root or root not in here.parents:
                    break
                here = here.parent
        for name in parts[1].split(","):
            if name == "memory" and rel:
                v1_mem.insert(0, root / "memory" / rel)
            if name == "cpu" and rel:
                v1_cpu.insert(0, root / "cpu" / rel)
    return v2, v1_mem, v1_cpu


def _rlimit(which: int) -> int | None:
    try:
        soft, _hard = resource.getrlimit(which)
    except (OSError, ValueError):
        return None
    return None if soft == resource.RLIM_INFINITY or soft < 0 else int(soft)


def machine(
    store_root: str | Path,
    *,
    cgroup_root: Path = Path("/sys/fs/cgroup"),
    proc: Path = Path("/proc"),
) -> Machine:
    """What this process may use, with the results store at ``store_root``."""
    limits: list[tuple[int, str]] = []
    for line in (_read(proc / "meminfo") or "").splitlines():
        if line.startswith("MemAvailable:"):
            limits.append((int(line.split()[1]) * 1024, "available memory"))
    if not limits:
        try:
            pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
            limits.append((int(pages), "physical memory"))
        except (OSError, ValueError):
            limits.append((2**63 - 1, "unknown memory"))
    v2, v1_mem, v1_cpu = _cgroup_dirs(cgroup_root, proc)
    cpus = float(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)
    cpus = cpus if cpus > 0 else float(os.cpu_count() or 1)
    cpus_by = "CPUs"
    for d in v2:
        top = _int(_read(d / "memory.max"))
        if top is not None:
            used = _int(_read(d / "memory.current")) or 0
            limits.append((max(top - used, 0), f"cgroup {d / 'memory.max'}"))
        quota = (_read(d / "cpu.max") or "max").split()
        if quota and quota[0] != "max" and len(quota) == 2 and _int(quota[0]) and _int(quota[1]):
            share = int(quota[0]) / int(quota[1])
            if share < cpus:
                cpus, cpus_by = share, f"cgroup {d / 'cpu.max'}"
    for d in v1_mem:
        top = _int(_read(d / "memory.limit_in_bytes"))
        if top is not None and top < 2**60:  # v1 writes "no limit" as a page-rounded 2**63
            used = _int(_read(d / "memory.usage_in_bytes")) or 0
            limits.append((max(top - used, 0), f"cgroup {d / 'memory.limit_in_bytes'}"))
            break
    for d in v1_cpu:
        quota_us, period_us = (
            _int(_read(d / "cpu.cfs_quota_us")),
            _int(_read(d / "cpu.cfs_period_us")),
        )
        if quota_us is not None and quota_us > 0 and period_us:
            if quota_us / period_us < cpus:
                cpus, cpus_by = quota_us / period_us, f"cgroup {d / 'cpu.cfs_quota_us'}"
            break
    memory, memory_by = min(limits)
    per_process = [v for v in (_rlimit(resource.RLIMIT_AS), _rlimit(resource.RLIMIT_DATA)) if v]
    cpu_seconds = _rlimit(resource.RLIMIT_CPU)
    at = Path(store_root).expanduser().absolute()
    while not at.exists() and at != at.parent:
        at = at.parent
    try:
        free = shutil.disk_usage(at).free
    except OSError:
        free = 0
    return Machine(
        memory=int(memory),
        memory_by=memory_by,
        process_memory=min(per_process) if per_process else None,
        cpus=max(cpus, 0.01),
        cpus_by=cpus_by,
        cpu_seconds=None if cpu_seconds is None else float(cpu_seconds),
        disk_free=int(free),
        disk_at=at,
    )


# ---------------------------------------------------------------------------------------------
# What a run needs
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Estimate:
    """What ``tasks`` runs on ``workers`` processes need (see the module docstring)."""

    tasks: int
    workers: int
    disk_per_task: float  # bytes
    seconds_per_task: float  # on one CPU
    process_memory: float  # bytes of one worker process at its peak
    coordinator_memory: float  # bytes of the coordinating process
    basis: str  # "N stored runs" or "a rough model"
    engine: str = "agents"

    @property
    def disk(self) -> float:
        return self.tasks * self.disk_per_task

    def memory(self, scheduler: bool = False) -> float:
        """All processes on this machine (only the coordinator with a Dask scheduler)."""
        local = 0 if scheduler or self.workers <= 1 else self.workers
        if self.workers <= 1 and not scheduler:  # in this process
            return self.coordinator_memory + self.process_memory - PROCESS_BYTES
        return self.coordinator_memory + local * self.process_memory

    def seconds(self, cpus: float) -> float:
        parallel = max(min(float(self.workers), cpus), 1.0) if self.workers > 1 else 1.0
        return self.tasks * self.seconds_per_task / parallel


def _model(
    loaded: LoadedScenario, engine: str, forecast_end: Any = None
) -> tuple[float, float, float]:
    """Disk bytes, seconds and memory bytes of one run, from the scenario's size."""
    sc = loaded.scenario
    end = max(sc.period.end, forecast_end) if forecast_end is not None else sc.period.end
    days = max((end - sc.period.start).days + 1, 1)
    nat = loaded.tables.get("nationalities")
    groups = (len(nat) if nat is not None else 1) + 1
    resolution = "month" if forecast_end is not None else sc.outputs.resolution
    periods = {"day": days, "month": days / 30.4, "year": days / 365.25}[resolution]
    rows = periods * (groups if sc.outputs.by_nationality else 1) * 4  # stocks, flows, costs...
    memory = days * groups * MEMORY_ROW_BYTES
    arrivals = loaded.tables.get("arrivals")
    people_a_day = 0.0
    if arrivals is not None and len(arrivals):
        people_a_day = (
            float(arrivals["people"].sum())
            * sc.arrivals.scale
            / max(len(arrivals["month"].unique()) * 30.4, 1.0)
        )
    seconds = 0.2 + days * groups * 2e-6
    if engine == "agents":
        agents = (sc.asylum.initial_backlog + people_a_day * days) * sc.agents_per_person
        memory += agents * AGENT_BYTES
        seconds += agents * 1e-5 + agents * days * 2e-9
    return RUN_FILES_BYTES + rows * ROW_BYTES, seconds, memory


def _measured(
    store: Store | None, scenario_hash: str, engine: str
) -> tuple[float, float, int] | None:
    """Mean disk bytes and median seconds of up to 20 stored runs of this scenario and engine."""
    if store is None:
        return None
    try:
        rows = store.runs({"scenario_hash": scenario_hash, "engine": engine}).tail(20)
    except CorridorError:
        return None
    sizes: list[float] = []
    for run_id in rows["run_id"]:
        folder = store.run_dir(str(run_id))
        try:
            sizes.append(float(sum(f.stat().st_size for f in folder.iterdir())))
        except OSError:
            continue
    secs = [float(s) for s in rows["wall_seconds"] if s is not None and s == s]
    if not sizes or not secs:
        return None
    return statistics.fmean(sizes), statistics.median(secs), len(sizes)


def estimate(
    loaded: LoadedScenario,
    tasks: int,
    workers: int,
    engine: str,
    store: Store | None = None,
    *,
    forecast_end: Any = None,
) -> Estimate:
    """What ``tasks`` runs of ``loaded`` with ``engine`` on ``workers`` processes need
    (``forecast_end``: the last day a forecast's runs simulate, when it has one)."""
    disk, seconds, memory = _model(loaded, engine, forecast_end)
    basis = "a rough model of the scenario"
    seen = _measured(store, loaded.content_hash, engine)
    if seen is not None:
        disk, seconds, n = seen
        basis = f"{n} stored run{'s' if n != 1 else ''} of this scenario"
    return Estimate(
        tasks=int(tasks),
        workers=max(int(workers), 1),
        disk_per_task=disk,
        seconds_per_task=seconds,
        process_memory=PROCESS_BYTES + memory,
        coordinator_memory=PROCESS_BYTES + tasks * TASK_PLAN_BYTES,
        basis=basis,
        engine=engine,
    )


# ---------------------------------------------------------------------------------------------
# The check
# ---------------------------------------------------------------------------------------------
def _size(n: float) -> str:
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{n:,.0f} B"


def _duration(s: float) -> str:
    if s >= 86400:
        return f"{s / 86400:,.1f} days"
    if s >= 3600:
        return f"{s / 3600:,.1f} h"
    return f"{s / 60:,.1f} min" if s >= 60 else f"{s:,.0f} s"


def _problems(est: Estimate, m: Machine, scheduler: bool, share: float) -> list[str]:
    out: list[str] = []
    if est.disk > share * m.disk_free:
        out.append(f"{_size(est.disk)} of disk ({_size(m.disk_free)} free at {m.disk_at})")
    if est.memory(scheduler) > share * m.memory:
        out.append(f"{_size(est.memory(scheduler))} of memory ({_size(m.memory)}: {m.memory_by})")
    biggest = max(est.process_memory, est.coordinator_memory)
    if m.process_memory is not None and biggest > share * m.process_memory:
        out.append(f"{_size(biggest)} in one process (ulimit: {_size(m.process_memory)})")
    if share < 1.0 and not scheduler:
        wall = est.seconds(m.cpus)
        if wall > SOFT_SECONDS:
            out.append(f"about {_duration(wall)} on {m.cpus:g} CPUs ({m.cpus_by})")
        per_process = wall if est.workers <= 1 else est.seconds_per_task
        if m.cpu_seconds is not None and per_process > m.cpu_seconds:
            out.append(f"{_duration(per_process)} of CPU in one process (ulimit -t)")
    return out


def _fits(est: Estimate, m: Machine, scheduler: bool, per: int) -> int:
    """The most tasks (a multiple of ``per``) within the soft limits, by halving."""
    n = est.tasks
    while n > per:
        n = max(per * math.floor(n / 2 / per), per)
        trial = dataclasses.replace(
            est, tasks=n, coordinator_memory=PROCESS_BYTES + n * TASK_PLAN_BYTES
        )
        if not _problems(trial, m, scheduler, SOFT_SHARE):
            return n
    return per


def check(
    est: Estimate,
    m: Machine,
    *,
    scheduler: bool = False,
    force: bool = False,
    what: str = "runs",
    per: int = 1,
) -> None:
    """Raise :class:`TooBig` (one line) if ``est`` does not fit ``m`` (see the module
    docstring). ``what`` names the tasks in the message (e.g. "replicates"); ``per`` is how
    many tasks a replicate makes (policies or variants), for the count that would fit."""
    hard = _problems(est, m, scheduler, 1.0)
    soft = [] if force or _forced.get() else _problems(est, m, scheduler, SOFT_SHARE)
    if not hard and not soft:
        return
    cheaper: list[str] = []
    fits = _fits(est, m, scheduler, per)
    if fits < est.tasks:
        cheaper.append(f"fewer {what} (~{max(fits // per, 1):,} fit)")
    if est.engine == "agents":
        cheaper.append("the aggregate engine (--engine aggregate)")
    if not scheduler:
        cheaper.append("a Dask cluster (--scheduler ADDRESS)")
    tail = "" if hard else "; --force runs it anyway"
    runs = f"{est.tasks // per:,} {what}" + (f" x {per} policies" if per > 1 else "")
    raise TooBig(
        f"refused before starting: {runs} would need "
        + ", ".join(hard or soft)
        + f" (estimated from {est.basis}); cheaper: "
        + ", ".join(cheaper)
        + tail
    )
