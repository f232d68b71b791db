"""Scenario overrides: dotted parameter paths set on a copy of a loaded scenario.

Reads: a :class:`~corridor.scenario.loaded.LoadedScenario` and a mapping of dotted paths to
values, e.g. ``{"asylum.caseworkers": 2500, "deterrence.enabled": False, "hubs.hub_a.beds": 0}``
(a list item — a hub — is named by its ``id`` or its position). Produces: a copy of the loaded
scenario whose scenario is validated again (:func:`apply_overrides`); a copy without the dated
policies' settings of one path (:func:`without_policies`). Reports:
:class:`~corridor.errors.InputError` naming the override for an unknown path or an invalid
result.

Invariants: the input is never changed (values are deep-copied into a dumped copy); only
existing keys can be set. Both engines' entry points use this one implementation
(:func:`corridor.asylum.run.run_scenario`, :func:`corridor.asylum.aggregate.run_aggregate`); it
imports neither, so they need not import each other.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from corridor.errors import InputError
from corridor.scenario.loaded import LoadedScenario
from corridor.scenario.schema import Scenario

__all__ = ["apply_overrides", "without_policies"]


def apply_overrides(loaded: LoadedScenario, overrides: Mapping[str, Any]) -> LoadedScenario:
    """A copy of ``loaded`` with dotted paths of its scenario set (validated again)."""
    data = loaded.scenario.model_dump(mode="python")
    for path, value in overrides.items():
        _set_path(data, path, copy.deepcopy(value))
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:  # one line: the place and the first problem there
        errors = exc.errors()
        bounds = [e for e in errors if "than" in e["type"]]  # a schedule: the bound, if any
        first = (bounds or errors)[0]
        where = ".".join(str(p) for p in first["loc"] if not _union_tag(p))
        raise InputError(
            f"overrides make an invalid scenario: {where}: {first['msg']}", field="overrides"
        ) from exc
    return dataclasses.replace(loaded, scenario=scenario)


def _union_tag(part: object) -> bool:
    """A part of a pydantic error's place that names a union's alternative, not a field."""
    return isinstance(part, str) and ("[" in part or part.startswith("constrained-"))


def _set_path(data: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    node: Any = data
    for i, key in enumerate(parts[:-1]):
        if isinstance(node, list):
            node = node[_list_index(node, key, ".".join(parts[: i + 1]))]
        elif isinstance(node, dict) and key in node:
            node = node[key]
        else:
            raise InputError(f"no parameter {path!r}", field="overrides")
    last = parts[-1]
    if isinstance(node, list):
        node[_list_index(node, last, path)] = value
    elif isinstance(node, dict) and last in node:
        node[last] = value
    else:
        raise InputError(f"no parameter {path!r}", field="overrides")


def _list_index(node: list[Any], key: str, path: str) -> int:
    if key.isdigit() and int(key) < len(node):
        return int(key)
    for i, item in enumerate(node):
        if isinstance(item, dict) and item.get("id") == key:
            return i
    raise InputError(f"no list item {key!r} in {path!r}", field="overrides")


def without_policies(loaded: LoadedScenario, path: str) -> LoadedScenario:
    """A copy of ``loaded`` whose dated policies no longer set ``path`` (a policy setting nothing
    else is dropped): an override of the base value alone would leave them in force."""
    sc = loaded.scenario
    kept = []
    for pol in sc.policies:
        rest = {k: v for k, v in pol.set.items() if k != path}
        if rest:
            kept.append(pol.model_copy(update={"set": rest}))
    return dataclasses.replace(loaded, scenario=sc.model_copy(update={"policies": kept}))
