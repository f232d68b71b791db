"""What the dashboard runs: policy levers, the overrides they stand for, and a bounded job queue.

Levers
------
The page shows a few *levers* per scenario (:class:`Levers`); each is turned into dotted-path
overrides (:func:`overrides_from_levers`) that go through the scenario schema
(:func:`corridor.scenario.loader.check_scenario`) before anything is queued, and back
(:func:`levers_from_overrides`) when a stored run is opened again:

=============================  ================================================================
lever                          overrides
=============================  ================================================================
hub ``on`` (per hub)           ``hubs.<id>.agreement``: ``operating`` from ``hub_start`` (the
                               steps before it kept) when turned on, only ``proposed`` (never
                               operating, nothing paid) when turned off; ``hubs.<id>.hypothetical
                               = true`` when the host refuses on some day the hub would operate
                               (the engines keep a hub closed while its host refuses otherwise)
hub ``beds``                   ``hubs.<id>.beds``
``hub_start``                  the date hubs turned on start operating (default: the first
                               operating date of a hub of the scenario, else 1 January after the
                               latest agreement step, clipped to the period)
``caseworkers_multiplier``     ``asylum.caseworkers``: every step of the schedule times m
``deterrence_enabled``         ``deterrence.enabled``
``deterrence_elasticity``      ``deterrence.elasticity``
``french_interception``        ``network.crossings.<row>.interception`` for every row of the
                               crossings table whose link starts in France (shown only when the
                               scenario has a route network with such crossings)
``agents_per_person``          ``agents_per_person`` (agent engine sampling)
=============================  ================================================================

A lever left at the scenario's own value gives no override, so the status quo is the scenario
as shipped.

Jobs
----
A job (:class:`JobSpec`) is one scenario, its overrides, an engine and a number of replicates.
:func:`run_job` runs it as two ensembles through :func:`corridor.analysis.ensemble.run_ensemble`
(the executors of ``corridor ensemble``): the status quo (policy ``status_quo``, no overrides)
and the levers (policy ``levers``). Both use the scenario's base seed, so replicate ``i`` of
each shares its seed and prior draw and the two are paired. The status quo ensemble id depends
only on the scenario, the engine and the number of replicates, so it is run once and then
found in the store; running the same levers again is also free (the ensemble id is a hash of
its inputs).

:class:`JobManager` holds at most ``queue_size`` jobs waiting (a full queue raises
:class:`QueueFull` with a retry delay) and runs one job at a time in a background thread; a job
uses up to ``workers`` processes for its replicates (one replicate runs in the thread itself).
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import math
import multiprocessing
import os
import re
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from corridor.errors import CorridorError, InputError

if TYPE_CHECKING:
    from corridor.asylum.params import AsylumParams
    from corridor.results.store import Store
    from corridor.scenario.loaded import LoadedScenario

__all__ = [
    "LEVERS",
    "STATUS_QUO",
    "HubLever",
    "Job",
    "JobFailed",
    "JobManager",
    "JobProcess",
    "JobSpec",
    "Levers",
    "QueueFull",
    "RunRequest",
    "ScenarioInfo",
    "canonical",
    "levers_from_overrides",
    "overrides_from_levers",
    "run_job",
    "scenario_info",
    "shipped_folder",
]

log = logging.getLogger(__name__)

STATUS_QUO = "status_quo"
LEVERS = "levers"
SCENARIO_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
HUB_ID = r"^[A-Za-z0-9_-]{1,64}$"
JOB_ID = re.compile(r"^j[0-9a-f]{16}$")
Mode = Literal["quick", "bands"]
MODES: dict[str, tuple[str, str]] = {  # mode -> (engine, prior sampling)
    "quick": ("aggregate", "lhs"),
    "bands": ("agents", "lhs"),
}


def canonical(obj: Any) -> str:
    """Compact JSON with sorted keys (what ensemble ids hash)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


# ---------------------------------------------------------------------------------------------
# Requests
# ---------------------------------------------------------------------------------------------
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class HubLever(_Strict):
    """One hub: operating or not, and its places."""

    id: str = Field(pattern=HUB_ID, description="The hub's id in the scenario.")
    on: bool = Field(description="Operating (from hub_start) or not at all.")
    beds: float | None = Field(None, description="Places in the hub.")


class Levers(_Strict):
    """Policy levers of the dashboard (None / absent: the scenario's own value).

    Only the multiplier has bounds of its own; every other value is checked by the scenario
    schema once turned into overrides, so a bad value is reported where the schema puts it.
    """

    hubs: list[HubLever] = Field(default_factory=list, max_length=64)
    hub_start: date | None = Field(None, description="Hubs turned on operate from this date.")
    caseworkers_multiplier: float = Field(1.0, ge=0, le=10)
    deterrence_enabled: bool | None = None
    deterrence_elasticity: float | None = None
    french_interception: float | None = None
    agents_per_person: float | None = None


class RunRequest(_Strict):
    """``POST /api/runs``: a scenario, its levers and how to run it."""

    scenario: str = Field(pattern=SCENARIO_NAME.pattern, max_length=64)
    levers: Levers = Field(default_factory=Levers)
    mode: Mode = Field("quick", description="quick: aggregate engine; bands: agent replicates.")
    replicates: int = Field(8, ge=2, le=200, description="Replicates in bands mode.")


# ---------------------------------------------------------------------------------------------
# Scenario facts the levers need
# ---------------------------------------------------------------------------------------------
def shipped_folder(name: str) -> Path:
    """The folder of shipped scenario ``name``; an :class:`InputError` for anything else.

    Only names listed by :func:`~corridor.scenario.loader.shipped_scenarios` pass, so a request
    never names a path.
    """
    from corridor.data import data_dir
    from corridor.scenario.loader import shipped_scenarios

    if not SCENARIO_NAME.match(name) or name not in shipped_scenarios():
        raise InputError(
            f"no shipped scenario {name!r}",
            field="scenario",
            expected="one of " + ", ".join(shipped_scenarios()),
        )
    return (data_dir() / "scenarios" / name).resolve()


@dataclass(frozen=True)
class HubInfo:
    id: str
    host: str
    position: str  # the host's latest stated position in the period (or "unknown")
    position_date: str | None
    base_on: bool  # operates on some day of the status quo
    first_operating: date | None
    beds: float
    hypothetical: bool
    agreement: tuple[tuple[date, str], ...]
    refused: np.ndarray  # (days,) bool: the host refuses on that day


@dataclass(frozen=True)
class ScenarioInfo:
    """A shipped scenario, loaded once, with what its levers need."""

    name: str
    folder: Path
    loaded: LoadedScenario
    start: date
    end: date
    hubs: tuple[HubInfo, ...]
    hub_start: date
    caseworkers: Any  # float or list of {date, value} (the schedule)
    caseworkers_first: float
    interception: float | None  # interception of the first French crossing; None: no lever
    interception_paths: tuple[str, ...]  # network.crossings.<row>.interception, French rows

    def hub(self, hub_id: str) -> HubInfo | None:
        return next((h for h in self.hubs if h.id == hub_id), None)

    @property
    def content_hash(self) -> str:
        return self.loaded.content_hash

    def defaults(self) -> Levers:
        """The levers of the status quo."""
        sc = self.loaded.scenario
        return Levers(
            hubs=[HubLever(id=h.id, on=h.base_on, beds=h.beds) for h in self.hubs],
            hub_start=self.hub_start,
            caseworkers_multiplier=1.0,
            deterrence_enabled=sc.deterrence.enabled,
            deterrence_elasticity=sc.deterrence.elasticity,
            french_interception=self.interception,
            agents_per_person=sc.agents_per_person,
        )

    def public(self) -> dict[str, Any]:
        """What the page needs to draw the levers."""
        sc = self.loaded.scenario
        return {
            "name": self.name,
            "title": sc.name,
            "description": sc.description,
            "period": {"start": self.start.isoformat(), "end": self.end.isoformat()},
            "content_hash": self.content_hash,
            "hubs": [
                {
                    "id": h.id,
                    "host": h.host,
                    "host_position": h.position,
                    "host_position_date": h.position_date,
                    "host_refuses": bool(h.refused.any()),
                    "base_on": h.base_on,
                    "first_operating": h.first_operating.isoformat() if h.first_operating else None,
                    "beds": h.beds,
                    "hypothetical": h.hypothetical,
                }
                for h in self.hubs
            ],
            "hub_start": self.hub_start.isoformat(),
            "caseworkers": None
            if self.caseworkers_first <= 0
            else {"first": self.caseworkers_first, "schedule": isinstance(self.caseworkers, list)},
            "deterrence": {
                "enabled": sc.deterrence.enabled,
                "elasticity": sc.deterrence.elasticity,
            },
            "interception": None
            if self.interception is None
            else {
                "value": self.interception,
                "country": "France",
                "crossings": len(self.interception_paths),
            },
            "agents_per_person": sc.agents_per_person,
            "defaults": self.defaults().model_dump(mode="json"),
        }


def _french_crossings(scenario: Any) -> tuple[float | None, tuple[str, ...]]:
    """The interception of the first crossing that starts in France, and the override path of
    every such row of the crossings table, when the scenario has a route network
    (``scenario.network``, :mod:`corridor.routes.schema`); else ``(None, ())``."""
    network = getattr(scenario, "network", None)
    if network is None:
        return None, ()
    try:
        country = {p.place: p.country for p in network.places}
        start = {lk.key: country.get(lk.from_, "") for lk in network.links}
        rows = [
            (i, float(c.interception))
            for i, c in enumerate(network.crossings)
            if str(start.get(c.link, "")).strip().lower() == "france"
        ]
    except (AttributeError, TypeError):  # a network of another shape: no lever
        return None, ()
    if not rows:
        return None, ()
    return rows[0][1], tuple(f"network.crossings.{i}.interception" for i, _ in rows)


def _schedule_first(value: Any) -> float:
    if isinstance(value, list):
        return float(value[0].value) if value else 0.0
    return float(value)


def _info(name: str) -> ScenarioInfo:
    from corridor.asylum.params import HOST_POSITIONS, build_params
    from corridor.scenario.loader import load_scenario

    folder = shipped_folder(name)
    loaded = load_scenario(folder)
    sc = loaded.scenario
    p: AsylumParams = build_params(loaded)
    refused_code = HOST_POSITIONS.index("refused")
    hosts = loaded.tables.get("hosts")
    hubs: list[HubInfo] = []
    for j, h in enumerate(sc.hubs):
        operating = np.asarray(p.hub_operating[:, j], dtype=bool)
        first = int(np.argmax(operating)) if operating.any() else -1
        position, position_date = "unknown", None
        if hosts is not None and len(hosts):
            rows = hosts[hosts["host"] == h.host]
            if len(rows):
                last = rows.sort_values("date", kind="stable").iloc[-1]
                position = str(last["position"])
                position_date = str(last["date"])[:10]
        hubs.append(
            HubInfo(
                id=h.id,
                host=h.host,
                position=position,
                position_date=position_date,
                base_on=bool(operating.any()),
                first_operating=None if first < 0 else p.dates[first].date(),
                beds=float(h.beds),
                hypothetical=bool(h.hypothetical),
                agreement=tuple((s.date, s.status) for s in h.agreement),
                refused=np.asarray(p.host_position[:, j] == refused_code, dtype=bool),
            )
        )
    interception, paths = _french_crossings(sc)
    firsts = [h.first_operating for h in hubs if h.first_operating is not None]
    if firsts:
        hub_start = min(firsts)
    else:
        latest = max((d for h in hubs for d, _ in h.agreement), default=sc.period.start)
        hub_start = date(latest.year + 1, 1, 1)
    hub_start = min(max(hub_start, sc.period.start), sc.period.end)
    return ScenarioInfo(
        name=name,
        folder=folder,
        loaded=loaded,
        start=sc.period.start,
        end=sc.period.end,
        hubs=tuple(hubs),
        hub_start=hub_start,
        caseworkers=sc.asylum.caseworkers,
        caseworkers_first=_schedule_first(sc.asylum.caseworkers),
        interception=interception,
        interception_paths=paths,
    )


_INFO: OrderedDict[str, ScenarioInfo] = OrderedDict()
_INFO_LOCK = threading.Lock()


def scenario_info(name: str) -> ScenarioInfo:
    """:class:`ScenarioInfo` of shipped scenario ``name`` (cached)."""
    with _INFO_LOCK:
        info = _INFO.get(name)
    if info is None:
        info = _info(name)
        with _INFO_LOCK:
            _INFO[name] = info
            while len(_INFO) > 32:
                _INFO.popitem(last=False)
    return info


# ---------------------------------------------------------------------------------------------
# Levers <-> overrides
# ---------------------------------------------------------------------------------------------
def _num(x: float) -> float:
    """Floats the same way every time (so equal levers give equal ensemble ids)."""
    return float(round(float(x), 9))


def _day(info: ScenarioInfo, when: date) -> int:
    return (when - info.start).days


def overrides_from_levers(info: ScenarioInfo, levers: Levers) -> dict[str, Any]:
    """The dotted-path overrides that ``levers`` stand for (empty for the status quo)."""
    sc = info.loaded.scenario
    out: dict[str, Any] = {}
    start = levers.hub_start or info.hub_start
    seen: set[str] = set()
    for lever in levers.hubs:
        hub = info.hub(lever.id)
        if hub is None:
            raise InputError(
                f"scenario {info.name!r} has no hub {lever.id!r}",
                field=f"levers.hubs.{lever.id}",
                expected="one of " + (", ".join(h.id for h in info.hubs) or "(no hubs)"),
            )
        if lever.id in seen:
            raise InputError(f"hub {lever.id!r} is given twice", field=f"levers.hubs.{lever.id}")
        seen.add(lever.id)
        if lever.on != hub.base_on:
            key = f"hubs.{hub.id}.agreement"
            if lever.on:
                if not info.start <= start <= info.end:
                    raise InputError(
                        f"hub start {start} is outside the period ({info.start} to {info.end})",
                        field="levers.hub_start",
                        expected=f"a date from {info.start} to {info.end}",
                    )
                steps = [
                    {"date": d.isoformat(), "status": s} for d, s in hub.agreement if d < start
                ]
                out[key] = [*steps, {"date": start.isoformat(), "status": "operating"}]
                if not hub.hypothetical and hub.refused[_day(info, start) :].any():
                    out[f"hubs.{hub.id}.hypothetical"] = True
            else:
                first = hub.agreement[0][0] if hub.agreement else info.start
                out[key] = [{"date": first.isoformat(), "status": "proposed"}]
        if lever.beds is not None and _num(lever.beds) != _num(hub.beds):
            out[f"hubs.{hub.id}.beds"] = _num(lever.beds)
    m = _num(levers.caseworkers_multiplier)
    if m != 1.0:
        if info.caseworkers_first <= 0:
            raise InputError(
                f"scenario {info.name!r} has no caseworkers to multiply",
                field="levers.caseworkers_multiplier",
                expected="1",
            )
        cw = info.caseworkers
        if isinstance(cw, list):
            out["asylum.caseworkers"] = [
                {"date": s.date.isoformat(), "value": _num(s.value * m)} for s in cw
            ]
        else:
            out["asylum.caseworkers"] = _num(float(cw) * m)
    if levers.deterrence_enabled is not None and levers.deterrence_enabled != sc.deterrence.enabled:
        out["deterrence.enabled"] = bool(levers.deterrence_enabled)
    if levers.deterrence_elasticity is not None and _num(levers.deterrence_elasticity) != _num(
        sc.deterrence.elasticity
    ):
        out["deterrence.elasticity"] = _num(levers.deterrence_elasticity)
    if levers.french_interception is not None:
        if info.interception is None:
            raise InputError(
                f"scenario {info.name!r} has no route network with French crossings",
                field="levers.french_interception",
                expected="no value (the lever is hidden for this scenario)",
            )
        if _num(levers.french_interception) != _num(info.interception):
            for path in info.interception_paths:
                out[path] = _num(levers.french_interception)
    if levers.agents_per_person is not None and _num(levers.agents_per_person) != _num(
        sc.agents_per_person
    ):
        out["agents_per_person"] = _num(levers.agents_per_person)
    return dict(sorted(out.items()))


def levers_from_overrides(
    info: ScenarioInfo, overrides: Mapping[str, Any]
) -> tuple[Levers, dict[str, Any]]:
    """The levers that ``overrides`` stand for, and the overrides no lever accounts for."""
    rest = dict(overrides)
    lev = info.defaults()
    hubs: list[HubLever] = []
    start: date | None = None
    for hub in info.hubs:
        on, beds = hub.base_on, hub.beds
        steps = rest.pop(f"hubs.{hub.id}.agreement", None)
        if isinstance(steps, list):
            statuses = [(str(s.get("date")), s.get("status")) for s in steps if isinstance(s, dict)]
            on = any(s == "operating" for _, s in statuses)
            if on and start is None:
                start = date.fromisoformat(next(d for d, s in statuses if s == "operating")[:10])
        hypo = rest.get(f"hubs.{hub.id}.hypothetical")
        if hypo is True and on:
            rest.pop(f"hubs.{hub.id}.hypothetical")
        got = rest.pop(f"hubs.{hub.id}.beds", None)
        if isinstance(got, int | float) and not isinstance(got, bool):
            beds = float(got)
        hubs.append(HubLever(id=hub.id, on=on, beds=beds))
    updates: dict[str, Any] = {"hubs": hubs, "hub_start": start or info.hub_start}
    cw = rest.pop("asylum.caseworkers", None)
    if cw is not None and info.caseworkers_first > 0:
        first = cw[0].get("value") if isinstance(cw, list) and cw else cw
        if isinstance(first, int | float):
            updates["caseworkers_multiplier"] = _num(
                round(float(first) / info.caseworkers_first, 6)
            )
    elif cw is not None:
        rest["asylum.caseworkers"] = cw
    for key, name in (
        ("deterrence.enabled", "deterrence_enabled"),
        ("deterrence.elasticity", "deterrence_elasticity"),
        ("agents_per_person", "agents_per_person"),
    ):
        if key in rest:
            updates[name] = rest.pop(key)
    found = [rest.pop(path) for path in info.interception_paths if path in rest]
    if found:
        updates["french_interception"] = found[0]
    data = lev.model_dump()
    data.update(updates)
    try:
        levers = Levers.model_validate(data)
    except ValueError:  # values no lever can hold: show them as overrides
        levers, rest = lev, dict(overrides)
    return levers, rest


# ---------------------------------------------------------------------------------------------
# Jobs
# ---------------------------------------------------------------------------------------------
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

    @property
    def key(self) -> str:
        """Equal for jobs that would compute the same thing."""
        return canonical([self.scenario, self.overrides, self.engine, self.sample, self.n])


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


class _Stopped(CorridorError):
    """Raised in a job's progress callback when the manager stops."""


# A job progress callback: (phase, phase index, done, total).
Progress = Callable[[str, int, int, int], None]
Runner = Callable[[JobSpec, "Store", Progress], tuple[str, str]]


def run_job(spec: JobSpec, store: Store, progress: Progress) -> tuple[str, str]:
    """Run ``spec`` (status quo, then levers) with :func:`run_ensemble`; return the ensemble
    ids ``(levers, status quo)`` (the same when there are no overrides)."""
    from corridor.analysis.ensemble import run_ensemble

    workers = max(1, min(spec.workers, spec.n))

    def phase(name: str, index: int) -> Callable[[int, int], None]:
        return lambda done, total: progress(name, index, done, total)

    sq = run_ensemble(
        spec.folder,
        spec.n,
        workers=workers,
        policies={STATUS_QUO: {}},
        engine=spec.engine,
        store=store,
        progress=phase(STATUS_QUO, 0),
        sample=spec.sample,
    )
    if not spec.overrides:
        return sq.ensemble_id, sq.ensemble_id
    lv = run_ensemble(
        spec.folder,
        spec.n,
        workers=workers,
        policies={LEVERS: copy.deepcopy(spec.overrides)},
        engine=spec.engine,
        store=store,
        progress=phase(LEVERS, 1),
        sample=spec.sample,
    )
    return lv.ensemble_id, sq.ensemble_id


class JobFailed(CorridorError):
    """A job that failed in the job process (the message names the error)."""


def _job_process_main(conn: Connection, root: str) -> None:
    """The job process: run each job it is sent with :func:`run_job`, reporting progress.

    Messages in: ``(job id, JobSpec)``, ``"stop"`` (stop the running job after its current
    replicate) or ``None`` (exit). Out: ``("ready", pid)``, then per job ``("progress", id,
    phase, index, done, total)`` and one of ``("done", id, (levers id, status quo id))``,
    ``("failed", id, message)`` or ``("stopped", id, "")``.
    """
    from corridor.analysis.ensemble import SINGLE_THREAD_ENV

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
            raise _Stopped("the server is stopping")
        conn.send(("progress", job_id, phase, index, done, total))

    try:
        ids = run_job(spec, store, progress)
    except _Stopped:
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
                raise _Stopped("the server stopped")
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
    def _progress(self, job: Job) -> Progress:
        def update(phase: str, index: int, done: int, total: int) -> None:
            with self._cond:
                if self._stop:
                    raise _Stopped("the server is stopping")
                job.phase, job.phases_done, job.done, job.total = phase, index, done, total

        return update

    def _stopping(self) -> bool:
        with self._cond:
            return self._stop

    def _run(self, job: Job) -> tuple[str, str]:
        if self.process is None:
            return self.runner(job.spec, self.store, self._progress(job))

        def update(phase: str, index: int, done: int, total: int) -> None:
            with self._cond:
                job.phase, job.phases_done, job.done, job.total = phase, index, done, total

        return self.process.run(job.id, job.spec, update, self._stopping)

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
                job.phases = 2 if job.spec.overrides else 1
                self._running = job
            t0 = time.perf_counter()
            try:
                run_id, sq_id = self._run(job)
            except _Stopped:
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
