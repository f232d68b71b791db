"""Checks of a validated scenario that its models cannot make alone: dated lists in order, hub
ids unique, policies that set known parameters to values that keep the scenario valid, and
nationalities and hosts named in the YAML that exist in the tables.

Reads: a :class:`~corridor.scenario.schema.Scenario` (validated, without its network), the
tables read (:class:`~corridor.scenario.tables.TableRead`) and a
:class:`~corridor.scenario.locator.Locator`. Produces: :func:`cross_check`, every problem as
an :class:`~corridor.errors.InputError` at the file and line of the chain that define it.
Invariants: never raises for bad content; a table that had problems of its own is not used for
checks; the parameters a policy may set are those of :mod:`corridor.scenario.policy_paths`
(``POLICY_PATHS`` and ``HUB_POLICY_FIELDS``, which the engines apply); policies are applied in
date order, one on top of the other.
"""

from __future__ import annotations

from typing import Any, get_args

from pydantic import BaseModel, ValidationError

from corridor.errors import InputError
from corridor.scenario.key_paths import schema_path, set_path
from corridor.scenario.locator import Locator, validation_errors
from corridor.scenario.policy_paths import HUB_POLICY_FIELDS, POLICY_PATHS
from corridor.scenario.schema import HubStatus, Scenario, Step
from corridor.scenario.tables import TableRead
from corridor.scenario.yaml_file import KeyPath, short

__all__ = ["cross_check"]


def _step_lists(obj: Any, path: KeyPath) -> list[tuple[KeyPath, list[Step]]]:
    out: list[tuple[KeyPath, list[Step]]] = []
    if isinstance(obj, BaseModel):
        for name in type(obj).model_fields:
            out += _step_lists(getattr(obj, name), (*path, name))
    elif isinstance(obj, list | tuple):
        if obj and all(isinstance(x, Step) for x in obj):
            out.append((path, list(obj)))
        else:
            for i, x in enumerate(obj):
                out += _step_lists(x, (*path, i))
    return out


def _policy_target(key: str, data: dict[str, Any]) -> tuple[KeyPath | None, str]:
    """Where policy parameter ``key`` lives in the scenario ``data`` (a model dump), or None and
    what would have been accepted. Hubs are addressed by id: ``hubs.<id>.<field>``, where field
    ``status`` overrides the agreement status."""
    parts = key.split(".")
    if parts[0] == "hubs":
        hubs = data.get("hubs") or []
        ids = [h.get("id") for h in hubs]
        expected = (
            "hubs.<id>.<field> with a hub id of this scenario ("
            + (", ".join(map(str, ids)) or "none")
            + ") and a field among "
            + ", ".join(HUB_POLICY_FIELDS)
        )
        if len(parts) != 3 or parts[1] not in ids or parts[2] not in HUB_POLICY_FIELDS:
            return None, expected
        if parts[2] == "status":
            return ("hubs", ids.index(parts[1]), "status"), expected
        target = schema_path(Scenario, ["hubs", str(ids.index(parts[1])), parts[2]], data)
        return target, expected
    expected = "one of " + ", ".join(POLICY_PATHS) + ", or hubs.<id>.<field>"
    if key not in POLICY_PATHS:
        return None, expected
    target = schema_path(Scenario, parts, {})  # no list indexes
    return (target or None), expected


def _related(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    n = min(len(a), len(b))
    return a[:n] == b[:n]


def _copy_along(tree: dict[str, Any], path: KeyPath) -> None:
    """Replace each dict or list on ``path`` below ``tree``'s top (itself a copy) by a shallow
    copy, so that setting the leaf changes nothing another trial shares (cheaper than copying
    the whole scenario for each policy)."""
    node: Any = tree
    for key in path[:-1]:
        present = (isinstance(node, dict) and key in node) or (
            isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node)
        )
        if not present:
            return  # set_path makes what is missing (fresh) or reports the bad path
        child = node[key]
        if isinstance(child, dict):
            child = dict(child)
        elif isinstance(child, list):
            child = list(child)
        else:
            return
        node[key] = child
        node = child


def _inherited(locator: Locator, k: int) -> bool:
    """Whether policy ``k`` comes from a scenario this one extends (not its own file)."""
    file, _ = locator.locate(("policies", k, "date"))
    own = locator.layers[0].file if locator.layers else None
    return file is not None and own is not None and file != own


def _check_policies(sc: Scenario, locator: Locator) -> list[InputError]:
    """Policy parameters must exist, and the scenario must stay valid once each policy is
    applied (policies applied in date order, one on top of the other)."""
    errors: list[InputError] = []
    current: dict[str, Any] = sc.model_dump(exclude={"network"})  # policies are the asylum's
    statuses = get_args(HubStatus)
    for k in sorted(range(len(sc.policies)), key=lambda i: sc.policies[i].date):
        policy = sc.policies[k]
        if policy.date > sc.period.end and _inherited(locator, k):
            continue  # a parent's policy past a child's shorter period: the child's choice
        if policy.date > sc.period.end:  # it would never apply: refused, not dropped
            errors.append(
                locator.error(
                    ("policies", k, "date"),
                    f"policy dated {policy.date} is after the period's end {sc.period.end}"
                    " and would never apply",
                    f"a date up to {sc.period.end} (or a later period.end)",
                )
            )
            continue
        trial = dict(current)  # containers along each set path are copied before they change
        keys: dict[KeyPath, str] = {}
        ok = True
        for key, value in policy.set.items():
            at: KeyPath = ("policies", k, "set", key)
            target, expected = _policy_target(key, trial)
            if target is None:
                msg = f"policy of {policy.date} sets unknown parameter {key!r}"
                errors.append(locator.error(at, msg, expected))
                ok = False
            elif target[-1] == "status" and target[0] == "hubs":
                if value not in statuses:
                    msg = f"policy of {policy.date} sets {key} to {short(value)}"
                    errors.append(locator.error(at, msg, "one of " + ", ".join(statuses)))
                    ok = False
            else:
                keys[target] = key
                _copy_along(trial, target)
                problem = set_path(trial, target, value)
                if problem is not None:  # pragma: no cover - targets come from the dump
                    errors.append(locator.error(at, problem))
                    ok = False
        if not ok:
            continue
        try:
            Scenario.model_validate(trial)
        except ValidationError as exc:
            for e in validation_errors(exc, trial, Locator([], {})):
                path = tuple(str(e.field or "").split("."))
                set_key = next(  # the parameter at, under or above the error's place
                    (v for t, v in keys.items() if _related(tuple(map(str, t)), path)), None
                )
                where: KeyPath = ("policies", k, "set") + ((set_key,) if set_key else ())
                msg = f"policy of {policy.date} makes {e.field or 'the scenario'} invalid: "
                errors.append(locator.error(where, msg + e.message, e.expected))
            continue
        current = trial
    return errors


def cross_check(sc: Scenario, tables: dict[str, TableRead], locator: Locator) -> list[InputError]:
    errors: list[InputError] = []

    def yaml_error(path: KeyPath, message: str, expected: str) -> None:
        errors.append(locator.error(path, message, expected))

    # Dated lists in ascending order.
    for i, hub in enumerate(sc.hubs):
        for j in range(1, len(hub.agreement)):
            if hub.agreement[j].date <= hub.agreement[j - 1].date:
                yaml_error(
                    ("hubs", i, "agreement", j, "date"),
                    f"hub {hub.id!r}: agreement date {hub.agreement[j].date} is not after "
                    f"{hub.agreement[j - 1].date}",
                    "agreement steps in ascending date order",
                )
    for path, steps in _step_lists(sc, ()):
        for j in range(1, len(steps)):
            if steps[j].date <= steps[j - 1].date:
                yaml_error(
                    (*path, j, "date"),
                    f"step date {steps[j].date} is not after {steps[j - 1].date}",
                    "schedule steps in ascending date order",
                )
    seen_ids: dict[str, int] = {}
    for i, hub in enumerate(sc.hubs):
        if hub.id in seen_ids:
            yaml_error(
                ("hubs", i, "id"),
                f"hub id {hub.id!r} is used twice (also hub {seen_ids[hub.id]})",
                "a different id for each hub",
            )
        seen_ids.setdefault(hub.id, i)

    errors += _check_policies(sc, locator)

    # Nationalities named in the YAML.
    nat = tables.get("nationalities")
    if nat is not None and not nat.errors:
        known = set(nat.frame["nationality"])
        lists: list[tuple[KeyPath, list[str] | None]] = [
            (("hubs", i, "nationalities"), h.nationalities) for i, h in enumerate(sc.hubs)
        ]
        lists += [
            (("asylum", "priority_classes", i, "nationalities"), c.nationalities)
            for i, c in enumerate(sc.asylum.priority_classes)
        ]
        lists += [
            (("inadmissibility", i, "nationalities"), x.nationalities)
            for i, x in enumerate(sc.inadmissibility)
        ]
        for path, names in lists:
            for j, value in enumerate(names or []):
                if value not in known:
                    yaml_error(
                        (*path, j),
                        f"nationality {value!r} is not in {nat.path.name}",
                        "a nationality listed in " + nat.path.name,
                    )

    # Hosts.
    hosts = tables.get("hosts")
    if hosts is not None and not hosts.errors:
        known_hosts = set(hosts.frame["host"])
        for i, hub in enumerate(sc.hubs):
            if hub.host not in known_hosts:
                yaml_error(
                    ("hubs", i, "host"),
                    f"host {hub.host!r} of hub {hub.id!r} is not in {hosts.path.name}",
                    "a host listed in " + hosts.path.name,
                )
    return errors
