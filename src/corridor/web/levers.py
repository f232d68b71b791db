"""Policy levers: the page's request models, the shipped-scenario facts they need, and their
translation to and from dotted-path overrides.

Contract
--------
Reads: shipped scenario packs only (:func:`shipped_folder` accepts names listed by
:func:`~corridor.scenario.loader.shipped_scenarios`, never paths), loaded once and cached by
:func:`scenario_info`. Produces: :class:`ScenarioInfo` (what the page draws), overrides from
levers (:func:`overrides_from_levers`) and levers from stored overrides
(:func:`levers_from_overrides`). Invariants: a lever left at the scenario's own value gives no
override (the status quo is the scenario as shipped); equal levers give equal overrides, with
floats rounded the same way every time (:func:`canonical` of them is what ensemble ids hash);
nothing here runs a model or writes to the store.

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

A scenario with a forecast (``forecast:`` and ``variants:`` in its ``scenario.yaml``, the shipped
``uk-balkans``) runs as ``corridor run`` runs it: from its fitted state, with its own engine and
seed (:class:`ForecastInfo`), the status quo being its variant ``status_quo`` and a run with
levers that variant (or a named one, :attr:`RunRequest.variant`) plus the levers, which act
from the forecast's start only (:mod:`corridor.forecast.levers`). On a forecast:

* ``caseworkers_multiplier`` is ``asylum.caseworkers: {from: <start>, value: m x the value in
  force at the cut-off}`` (the fitted past and the steps published after the cut-off, which
  the forecast does not use, are left alone);
* hubs turned on operate from ``hub_start``, which must be on or after the forecast's start;
* the deterrence levers are refused (the forecast draws its elasticity per replicate from its
  prior) and hidden, and so is ``agents_per_person`` unless the forecast's engine is ``agents``;
* there is no French interception lever: the Channel's prevention is a forecast input that
  variants raise (``prevention_add``); choose such a variant (``stronger_french_interception``
  for uk-balkans) to act on the Channel.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from corridor.errors import InputError
from corridor.web.memo import Memo

if TYPE_CHECKING:
    from corridor.asylum.params import AsylumParams
    from corridor.scenario.loaded import LoadedScenario

__all__ = [
    "LEVERS",
    "MODES",
    "STATUS_QUO",
    "ForecastInfo",
    "HubInfo",
    "HubLever",
    "Levers",
    "RunRequest",
    "ScenarioInfo",
    "canonical",
    "levers_from_overrides",
    "overrides_from_levers",
    "scenario_info",
    "shipped_folder",
]

STATUS_QUO = "status_quo"
LEVERS = "levers"
SCENARIO_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
HUB_ID = r"^[A-Za-z0-9_-]{1,64}$"
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
    mode: Mode = Field(
        "quick",
        description="quick: aggregate engine (a forecast: one replicate of its own engine); "
        "bands: replicates (agents; a forecast: its own engine).",
    )
    replicates: int = Field(8, ge=2, le=200, description="Replicates in bands mode.")
    variant: str | None = Field(
        None,
        pattern=r"^[a-z0-9_]{1,64}$",
        description="A forecast's named variant to run (with the levers on top); default its "
        "status quo.",
    )


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
class ForecastInfo:
    """A scenario's forecast, as the dashboard runs it (as ``corridor run`` does)."""

    start: date  # the day after the cut-off: levers act from here
    engine: str
    seed: int
    replicates: int  # the main job's
    variants: tuple[dict[str, Any], ...]  # id, label, kind, hypothetical, assumes

    def has_variant(self, vid: str) -> bool:
        return any(v["id"] == vid for v in self.variants)

    def label(self, vid: str) -> str | None:
        return next((str(v["label"]) for v in self.variants if v["id"] == vid), None)


def _forecast_info(folder: Path) -> ForecastInfo | None:
    from datetime import timedelta

    from corridor.forecast.config import has_forecast, load_flagship

    if not has_forecast(folder):
        return None
    cfg = load_flagship(folder)
    return ForecastInfo(
        start=cfg.cutoff + timedelta(days=1),
        engine=str(cfg.engine),
        seed=int(cfg.seed),
        replicates=int(cfg.replicates),
        variants=tuple(
            {
                "id": v.id,
                "label": v.label,
                "kind": v.kind,
                "hypothetical": bool(v.hypothetical),
                "assumes": " ".join(v.assumes.split()),
            }
            for v in cfg.variants
        ),
    )


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
    forecast: ForecastInfo | None = None
    caseworkers_at_start: float = 0.0  # a forecast: caseworkers in force at the cut-off

    @property
    def sampling_lever(self) -> bool:
        """Whether agents_per_person acts (the agent engine may run)."""
        return self.forecast is None or self.forecast.engine == "agents"

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
        fc = self.forecast
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
            "hub_start_min": (fc.start if fc is not None else self.start).isoformat(),
            "caseworkers": None
            if self.caseworkers_first <= 0
            else {"first": self.caseworkers_first, "schedule": isinstance(self.caseworkers, list)},
            "deterrence": None
            if fc is not None
            else {"enabled": sc.deterrence.enabled, "elasticity": sc.deterrence.elasticity},
            "interception": None
            if self.interception is None
            else {
                "value": self.interception,
                "country": "France",
                "crossings": len(self.interception_paths),
            },
            "agents_per_person": sc.agents_per_person if self.sampling_lever else None,
            "defaults": self.defaults().model_dump(mode="json"),
            "forecast": None
            if fc is None
            else {
                "start": fc.start.isoformat(),
                "engine": fc.engine,
                "seed": fc.seed,
                "main_job_replicates": fc.replicates,
                "status_quo": STATUS_QUO,
                "variants": list(fc.variants),
                "note": "Runs the forecast as `corridor run` does (engine "
                f"{fc.engine}, seed {fc.seed}): the past is fitted, levers act from "
                f"{fc.start.isoformat()}. Deterrence is drawn per replicate; the Channel's "
                "prevention changes through a variant (e.g. stronger French interception).",
            },
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


def _schedule_at(value: Any, when: date) -> float:
    """A schedule's value in force on ``when`` (its first value before its first step)."""
    if not isinstance(value, list):
        return float(value)
    steps = [s for s in value if s.date <= when]
    return float((steps[-1] if steps else value[0]).value) if value else 0.0


def _info(name: str) -> ScenarioInfo:
    from datetime import timedelta

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
    forecast = _forecast_info(folder)
    lo = forecast.start if forecast is not None else sc.period.start
    hub_start = min(max(hub_start, lo), sc.period.end)
    cutoff_day = forecast.start - timedelta(days=1) if forecast is not None else sc.period.start
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
        interception=None if forecast is not None else interception,
        interception_paths=() if forecast is not None else paths,
        forecast=forecast,
        caseworkers_at_start=_schedule_at(sc.asylum.caseworkers, cutoff_day)
        if forecast is not None
        else 0.0,
    )


_INFO: Memo[str, ScenarioInfo] = Memo(32)


def scenario_info(name: str) -> ScenarioInfo:
    """:class:`ScenarioInfo` of shipped scenario ``name`` (cached)."""
    return _INFO.get(name, lambda: _info(name))


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
                lo = info.forecast.start if info.forecast is not None else info.start
                if not lo <= start <= info.end:
                    what = "the forecast" if info.forecast is not None else "the period"
                    raise InputError(
                        f"hub start {start} is outside {what} ({lo} to {info.end})",
                        field="levers.hub_start",
                        expected=f"a date from {lo} to {info.end}",
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
        if info.forecast is not None:  # from the forecast's start: the fitted past is kept
            out["asylum.caseworkers"] = {
                "from": info.forecast.start.isoformat(),
                "value": _num(info.caseworkers_at_start * m),
            }
        elif isinstance(cw, list):
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
    if info.forecast is not None:
        for key in ("deterrence.enabled", "deterrence.elasticity"):
            if key in out:
                raise InputError(
                    f"scenario {info.name!r} forecasts with a deterrence elasticity drawn per "
                    "replicate from its prior; it has no deterrence lever",
                    field="levers." + key.replace(".", "_"),
                    expected="no value (the lever is hidden for this scenario)",
                )
    if levers.french_interception is not None:
        if info.interception is None:
            why = (
                "forecasts the Channel's prevention (choose a variant such as "
                "stronger_french_interception)"
                if info.forecast is not None
                else "has no route network with French crossings"
            )
            raise InputError(
                f"scenario {info.name!r} {why}",
                field="levers.french_interception",
                expected="no value (the lever is hidden for this scenario)",
            )
        if _num(levers.french_interception) != _num(info.interception):
            for path in info.interception_paths:
                out[path] = _num(levers.french_interception)
    if levers.agents_per_person is not None and _num(levers.agents_per_person) != _num(
        sc.agents_per_person
    ):
        if not info.sampling_lever:
            raise InputError(
                f"scenario {info.name!r} forecasts with the aggregate engine (no agents)",
                field="levers.agents_per_person",
                expected="no value (the lever is hidden for this scenario)",
            )
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
    if isinstance(cw, dict) and info.forecast is not None and info.caseworkers_at_start > 0:
        value = cw.get("value")
        if isinstance(value, int | float) and set(cw) == {"from", "value"}:
            updates["caseworkers_multiplier"] = _num(
                round(float(value) / info.caseworkers_at_start, 6)
            )
        else:
            rest["asylum.caseworkers"] = cw
    elif cw is not None and info.caseworkers_first > 0:
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
