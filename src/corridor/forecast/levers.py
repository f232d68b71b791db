"""Levers: the one way a policy changes a scenario, from a date on.

A lever is a dotted path into the validated scenario and a value. Every policy is said this way:
``--set`` on the command line, ``--policy NAME=path=value``, a variant's ``levers:`` in
``scenario.yaml``, the dashboard's controls. On a forecast a lever takes effect from the
forecast's start (the day after the cut-off) unless it names its own date, so the fitted past is
never rewritten: before that day every variant reproduces the same history.

Forms (:func:`apply_levers`):

* ``path: value`` — a path a dated policy can set (``corridor.asylum.params.POLICY_PATHS``, or
  ``hubs.<id>.<field>`` of ``HUB_POLICY_FIELDS``) becomes a policy dated ``start``;
* ``path: {from: date, value: value}`` — the same, from that date (not before ``start``);
* ``path: [{date, value}, ...]`` on a schedule — the scenario's steps before ``start`` are kept
  and the lever's steps from ``start`` on replace the rest (the lever's value in force on
  ``start`` included);
* any other path (structure: a hub's ``agreement`` steps, beds, rules) is set as it is.

Reads: a :class:`~corridor.scenario.loaded.LoadedScenario`, levers, the start date. Produces:
a new LoadedScenario (validated again by the schema). Invariants: pure; a lever never changes a
day before ``start``, except a structural path, whose own dates say when it acts.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

from corridor.asylum.run import apply_overrides
from corridor.errors import InputError
from corridor.scenario.forecast_schema import Variant
from corridor.scenario.loaded import LoadedScenario
from corridor.scenario.policy_paths import HUB_POLICY_FIELDS, POLICY_PATHS

__all__ = ["apply_levers", "apply_variant", "is_dated_path"]


def is_dated_path(path: str) -> bool:
    """Whether a dated policy can set ``path`` (so a lever on it can start on a date)."""
    parts = path.split(".")
    is_hub = len(parts) == 3 and parts[0] == "hubs" and parts[2] in HUB_POLICY_FIELDS
    return path in POLICY_PATHS or is_hub


def _day(value: Any, path: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise InputError(
            f"lever {path!r}: {value!r} is not a date", field=path, expected="YYYY-MM-DD"
        ) from exc


def _steps_from(current: Any, steps: list[Any], start: date, path: str) -> list[dict[str, Any]]:
    """A schedule: ``current``'s steps before ``start``, then the lever's from ``start``."""
    lever = sorted(
        ({"date": _day(s["date"], path), "value": s["value"]} for s in steps),
        key=lambda s: s["date"],
    )
    old = current if isinstance(current, list) else [{"date": date(1900, 1, 1), "value": current}]
    kept = [dict(s) for s in old if _day(s["date"], path) < start]
    before = [s for s in lever if s["date"] <= start]
    head = [{"date": start, "value": before[-1]["value"]}] if before else []
    return [*kept, *head, *[s for s in lever if s["date"] > start]]


def _current(data: dict[str, Any], path: str) -> Any:
    node: Any = data
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def apply_levers(loaded: LoadedScenario, levers: dict[str, Any], start: date) -> LoadedScenario:
    """``loaded`` with ``levers`` from ``start`` on (the forms are in the module docstring)."""
    from corridor.scenario.schema import Policy

    policies: dict[date, dict[str, Any]] = {}
    plain: dict[str, Any] = {}
    data = loaded.scenario.model_dump(mode="python")
    for path, value in levers.items():
        if not is_dated_path(path):
            plain[path] = value
        elif isinstance(value, dict) and set(value) == {"from", "value"}:
            when = max(_day(value["from"], path), start)
            policies.setdefault(when, {})[path] = value["value"]
        elif isinstance(value, list):
            plain[path] = _steps_from(_current(data, path), value, start, path)
        else:
            policies.setdefault(start, {})[path] = value
    if plain:
        loaded = apply_overrides(loaded, plain)
    if policies:
        sc = loaded.scenario
        added = [
            Policy(date=when, set=sets, note="lever") for when, sets in sorted(policies.items())
        ]
        loaded = dataclasses.replace(
            loaded, scenario=sc.model_copy(update={"policies": [*sc.policies, *added]})
        )
    return loaded


def apply_variant(loaded: LoadedScenario, variant: Variant, start: date) -> LoadedScenario:
    """A variant's structure (added hubs and inadmissibility rules) and its levers from
    ``start``; its levers on the flows (prevention, railway, EU hubs) act in
    :func:`corridor.forecast.model.flow_paths`."""
    from corridor.scenario.schema import Scenario

    if variant.add_hubs or variant.inadmissibility:
        data = loaded.scenario.model_dump(mode="python")
        data["hubs"] = list(data.get("hubs") or []) + [dict(h) for h in variant.add_hubs]
        data["inadmissibility"] = list(data.get("inadmissibility") or []) + [
            dict(r) for r in variant.inadmissibility
        ]
        loaded = dataclasses.replace(loaded, scenario=Scenario.model_validate(data))
    return apply_levers(loaded, variant.levers, start) if variant.levers else loaded
