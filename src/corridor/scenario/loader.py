"""Loading a scenario folder: ``scenario.yaml`` (with ``extends:`` chains and overrides) plus
its CSV tables, validated into a :class:`~corridor.scenario.loaded.LoadedScenario`.

Every problem is reported as an :class:`~corridor.errors.InputError` naming the file, the
1-based line, the dotted field path and what was expected. All problems found (YAML, every
table, the cross-checks) are reported together: :func:`load_scenario` raises
:class:`~corridor.errors.InputErrors` when there are several, a single ``InputError`` when there
is one; :func:`validate_scenario` returns them as a list. No other exception escapes for bad
input.

Rules:

* ``extends: ../parent`` names a parent folder relative to the child's folder; chains may be
  any length, cycles are refused. YAML mappings merge deeply (the child's keys win); lists and
  scalars replace. A table file of the same name in the child replaces the parent's; otherwise
  the nearest ancestor's file is used.
* ``overrides`` are dotted paths into the merged YAML (``"asylum.caseworkers"``,
  ``"hubs.0.beds"``); a number segment indexes a list, and a hub may also be named by its id
  (``"hubs.hub_kosovo.beds"``). They are applied after merging and before validation; a path
  that is not in the schema is refused.
* Cross-checks: nationalities of ``arrivals.csv``, ``grant_rates.csv`` (which may use ``*``) and
  of the YAML exist in ``nationalities.csv``, and each has a grant rate (or a ``*`` row); every
  hub's host is in ``hosts.csv`` when that file exists; hub ids are unique; agreement and
  schedule steps are in ascending date order; policies set parameters the engines know
  (``corridor.scenario.policy_paths.POLICY_PATHS``, or ``hubs.<id>.<field>``) to values that
  keep the scenario valid.
* The ``network:`` section (routes; see :mod:`corridor.scenario.network`) holds each of its tables
  (places, links, crossings, origins) inline or names a CSV file; a table left out is read from
  ``<table>.csv`` when there is one. Files follow the rule above: the nearest file of that name
  up the ``extends`` chain. :func:`~corridor.scenario.network.load.load_network` reads them, and its
  problems (file, line, column) are listed with all the others; problems of the YAML part are
  located in the file of the chain that holds them. Overrides reach the network's parameters by
  their dotted paths (``network.conditions.0.met`` or ``network.conditions.me_rail.met``,
  ``network.choice.logit_scale``, ``network.speeds.rail``) and the cells of its tables, inline or
  CSV, by ``network.<table>.<row>.<column>``: the row by index or by key (a place; a link id,
  ``from-to`` by default; a crossing's link id, every dated row, or ``country:<C>``, every
  crossing that starts in C; an origin, every row).
* ``content_hash`` is the SHA-256 of the validated model (canonical JSON, after overrides) and
  of the bytes of every table file used, the network's included.

This module is the public entry point; the work is done by:

* :mod:`~corridor.scenario.folders`: finding a scenario, its ``extends`` chain, merging;
* :mod:`~corridor.scenario.yaml_file`: reading one ``scenario.yaml`` with its lines;
* :mod:`~corridor.scenario.overrides` and :mod:`~corridor.scenario.key_paths`: overrides
  and the dotted paths of the schema;
* :mod:`~corridor.scenario.locator`: locating problems in the chain;
* :mod:`~corridor.scenario.network_section`: the ``network:`` section;
* :mod:`~corridor.scenario.table_files`: the CSV tables and the checks between them;
* :mod:`~corridor.scenario.cross_checks`: checks between the YAML and the tables;
* :mod:`~corridor.scenario.content_hash` and :mod:`~corridor.scenario.json_schema`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from pydantic import ValidationError

from corridor.errors import InputError, InputErrors
from corridor.scenario.content_hash import content_hash
from corridor.scenario.cross_checks import cross_check
from corridor.scenario.folders import (
    SCENARIO_FILE,
    merge_layers,
    read_chain,
    resolve_scenario,
    shipped_scenarios,
)
from corridor.scenario.json_schema import SCHEMA_ID, scenario_json_schema
from corridor.scenario.loaded import TABLE_COLUMNS, LoadedScenario
from corridor.scenario.locator import Locator, validation_errors
from corridor.scenario.network_section import NetworkRead, RowOverride, read_network
from corridor.scenario.overrides import apply_overrides
from corridor.scenario.schema import Scenario
from corridor.scenario.table_files import read_tables
from corridor.scenario.tables import empty_table
from corridor.scenario.yaml_file import KeyPath

__all__ = [
    "SCENARIO_FILE",
    "SCHEMA_ID",
    "ScenarioCheck",
    "check_scenario",
    "load_scenario",
    "resolve_scenario",
    "scenario_json_schema",
    "shipped_scenarios",
    "validate_scenario",
]


@dataclass
class ScenarioCheck:
    """Everything :func:`check_scenario` found: the scenario (None if there were errors), every
    problem, and the table files used (table name → path)."""

    loaded: LoadedScenario | None
    errors: list[InputError]
    table_files: dict[str, Path] = field(default_factory=dict)


def check_scenario(ref: str | Path, overrides: Mapping[str, object] | None = None) -> ScenarioCheck:
    """Load scenario ``ref`` and collect every problem instead of raising."""
    try:
        folder = resolve_scenario(ref)
    except InputError as exc:
        return ScenarioCheck(None, [exc])
    layers, errors, folders = read_chain(folder)
    yaml_ok = not errors  # if not, the tables are still checked, and the YAML no further
    merged = merge_layers(layers)

    scenario: Scenario | None = None
    override_paths: dict[KeyPath, str] = {}
    row_overrides: list[RowOverride] = []
    if yaml_ok:
        errors += apply_overrides(merged, overrides or {}, override_paths, row_overrides)
    locator = Locator(layers, override_paths)
    if yaml_ok:
        try:  # the network section (tables named by file) is read on its own, below
            scenario = Scenario.model_validate({k: v for k, v in merged.items() if k != "network"})
        except ValidationError as exc:
            errors += validation_errors(exc, merged, locator)
    net = NetworkRead()
    if yaml_ok and merged.get("network") is not None:
        net = read_network(merged, folders, locator, row_overrides)
        errors += net.errors

    read = read_tables(merged, folders, folder, require=yaml_ok)
    errors += read.errors
    if scenario is not None:
        errors += cross_check(scenario, read.tables, locator)
    files = {**read.files, **{f"network.{name}": path for name, path in net.files.items()}}
    if errors or scenario is None:
        return ScenarioCheck(None, errors, files)
    if net.network is not None:
        scenario = scenario.model_copy(update={"network": net.network})

    frames: dict[str, pd.DataFrame] = {
        name: read.tables[name].frame if name in read.tables else empty_table(name)
        for name in TABLE_COLUMNS
    }
    loaded = LoadedScenario(
        scenario=scenario,
        tables=frames,
        folder=folder,
        content_hash=content_hash(scenario, read.raws, net.raws),
    )
    return ScenarioCheck(loaded, [], files)


def load_scenario(ref: str | Path, overrides: Mapping[str, object] | None = None) -> LoadedScenario:
    """Load and validate scenario ``ref`` (a folder or a shipped name), applying ``overrides``
    (dotted path → value). Raises :class:`InputError` (one problem) or :class:`InputErrors`."""
    result = check_scenario(ref, overrides)
    if result.errors:
        if len(result.errors) == 1:
            raise result.errors[0]
        raise InputErrors(result.errors)
    assert result.loaded is not None
    return result.loaded


def validate_scenario(ref: str | Path) -> list[InputError]:
    """Every problem of scenario ``ref``; empty if it is valid."""
    return check_scenario(ref).errors
