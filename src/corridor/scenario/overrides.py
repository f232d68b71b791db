"""Overrides: dotted paths set in the merged YAML before it is validated.

Reads: the merged YAML (changed in place) and the overrides (dotted path → value), e.g.
``asylum.caseworkers``, ``hubs.0.beds``, ``hubs.hub_kosovo.beds``, ``network.choice.k``,
``network.links.Istanbul-Edirne.km``. Produces: :func:`apply_overrides`: the problems, the key
paths set (key path → dotted path as given, so that problems there are attributed to the
override) and the overrides of cells of network tables that only the network's reader can
apply (:class:`~corridor.scenario.network_section.RowOverride`). Invariants: a path must be a
place of the :class:`~corridor.scenario.schema.Scenario` schema (a number segment indexes an
existing list item; a hub may be named by its id), or ``network.<table>.<row>.<column>``;
values are deep-copied; a ``network.`` path needs a ``network:`` section.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from corridor.errors import InputError
from corridor.scenario.key_paths import schema_path, set_path
from corridor.scenario.network_section import NETWORK_TABLES, RowOverride
from corridor.scenario.schema import Scenario
from corridor.scenario.yaml_file import KeyPath

__all__ = ["apply_overrides"]


def apply_overrides(
    merged: dict[str, Any],
    overrides: Mapping[str, object],
    applied: dict[KeyPath, str],
    rows: list[RowOverride],
) -> list[InputError]:
    """Set each dotted path of ``overrides`` in ``merged``; record them in ``applied``. A path
    into a row of a network table (``network.<table>.<row>.<column>``) that is not in the YAML
    (a CSV table, or a row named by its key) goes to ``rows``, applied once the network is
    read."""
    errors: list[InputError] = []
    for dotted, value in overrides.items():
        segments = str(dotted).split(".")
        if segments[0] == "network" and not isinstance(merged.get("network"), dict):
            errors.append(
                InputError(
                    f"override {str(dotted)!r}: the scenario has no network section",
                    field=str(dotted),
                    expected="a scenario with a network: section",
                )
            )
            continue
        target = schema_path(Scenario, segments, merged) if all(segments) else None
        table = segments[1] if len(segments) == 4 and segments[0] == "network" else None
        if not target and table in NETWORK_TABLES and all(segments):
            _, _, row, column = segments
            rows.append(RowOverride(str(dotted), table, row, column, copy.deepcopy(value)))
            continue
        if not target:
            errors.append(
                InputError(
                    f"override {str(dotted)!r} is not a parameter of the scenario",
                    field=str(dotted),
                    expected="a dotted path such as asylum.caseworkers or hubs.0.beds",
                )
            )
            continue
        problem = set_path(merged, target, copy.deepcopy(value))
        if problem is not None:
            errors.append(InputError(f"cannot apply override: {problem}", field=str(dotted)))
            continue
        applied[target] = str(dotted)
    return errors
