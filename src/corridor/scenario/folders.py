"""Finding a scenario's folder and reading its ``extends`` chain.

Reads: a scenario reference (a folder, its ``scenario.yaml``, or the name of a scenario shipped
in ``corridor/data/scenarios``) and the ``scenario.yaml`` of each folder up the chain.
Produces: :func:`resolve_scenario` and :func:`shipped_scenarios`; :func:`read_chain`, the
layers child first, the problems and the chain's folders; :func:`merge_layers`, the merged YAML
(a deep copy: mappings merge key by key, the child's keys win, lists and scalars replace);
:func:`nearest_file`, the file of a name nearest the child up the chain, and
:func:`searched`, the folders listed for a "missing" message. Invariants: ``extends`` is a path
relative to the child's folder; a chain ends (cycles are refused) and every folder in it holds
a ``scenario.yaml``; every problem is an :class:`~corridor.errors.InputError` located at the
``extends`` key that caused it.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from corridor.errors import InputError
from corridor.scenario.yaml_file import Layer, read_yaml, short

__all__ = [
    "SCENARIO_FILE",
    "merge",
    "merge_layers",
    "nearest_file",
    "read_chain",
    "resolve_scenario",
    "searched",
    "shipped_scenarios",
]

SCENARIO_FILE = "scenario.yaml"


def _scenarios_dir() -> Path:
    from corridor.data import data_dir

    return data_dir() / "scenarios"


def shipped_scenarios() -> list[str]:
    """Names of the scenarios shipped in the package (``corridor/data/scenarios/<name>/``)."""
    root = _scenarios_dir()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / SCENARIO_FILE).is_file())


def resolve_scenario(ref: str | Path) -> Path:
    """The folder of scenario ``ref``: a folder path (or its ``scenario.yaml``), or the name of a
    scenario shipped in the package."""
    path = Path(ref)
    if path.is_file() and path.name == SCENARIO_FILE:
        path = path.parent
    if path.is_dir():
        if not (path / SCENARIO_FILE).is_file():
            raise InputError(
                f"no {SCENARIO_FILE} in this folder",
                file=path,
                expected=f"a scenario folder holding {SCENARIO_FILE}",
            )
        return path.resolve()
    name = str(ref)
    shipped = shipped_scenarios()
    if name in shipped:
        return (_scenarios_dir() / name).resolve()
    names = ", ".join(shipped) if shipped else "(none shipped)"
    raise InputError(
        f"no scenario folder or shipped scenario named {name!r}",
        file=path,
        expected=f"a folder holding {SCENARIO_FILE}, or a shipped scenario: {names}",
    )


def read_chain(folder: Path) -> tuple[list[Layer], list[InputError], list[Path]]:
    """The ``extends`` chain from ``folder`` (child first) up to its root ancestor, the
    problems found, and the folders of the chain that exist (even where reading stopped)."""
    layers: list[Layer] = []
    seen = [folder.resolve()]
    current = folder
    while True:
        layer, errors = read_yaml(current / SCENARIO_FILE)
        if layer is None:
            return layers, errors, seen
        layers.append(layer)
        ext = layer.data.get("extends")
        if ext is None:
            return layers, [], seen

        def stop(message: str, expected: str, at: Layer = layer) -> list[InputError]:
            line = at.lines.get(("extends",))
            return [
                InputError(message, file=at.file, line=line, field="extends", expected=expected)
            ]

        if not isinstance(ext, str) or not ext.strip():
            msg = f"extends must be a folder path, got {short(ext)}"
            return layers, stop(msg, "a relative path to the parent folder, e.g. ../base"), seen
        parent = (current / ext).resolve()
        if parent in seen:
            chain = " -> ".join(str(p) for p in [*seen, parent])
            return layers, stop(f"extends makes a cycle: {chain}", "a chain that ends"), seen
        if not (parent / SCENARIO_FILE).is_file():
            msg = f"parent scenario {ext!r} not found (no {parent / SCENARIO_FILE})"
            return layers, stop(msg, "a relative path to a folder holding scenario.yaml"), seen
        seen.append(parent)
        current = parent


def merge(base: Any, over: Any) -> Any:
    """Deep merge: mappings merge key by key, anything else in ``over`` replaces ``base``."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            out[k] = merge(base[k], v) if k in base else v
        return out
    return over


# Keys a child does not inherit: a forecast is fitted to its own folder's data (fitted/).
NOT_INHERITED: tuple[str, ...] = ("forecast", "variants")


def merge_layers(layers: Sequence[Layer]) -> dict[str, Any]:
    """The YAML of a chain (child first) merged, root first, into a fresh copy; the parents'
    :data:`NOT_INHERITED` keys are left out."""
    merged: dict[str, Any] = {}
    for i in reversed(range(len(layers))):
        data = layers[i].data
        if i > 0 and isinstance(data, dict):
            data = {k: v for k, v in data.items() if k not in NOT_INHERITED}
        merged = merge(merged, data)
    return copy.deepcopy(merged)


def nearest_file(folders: Sequence[Path], filename: str) -> Path | None:
    """``filename`` in the first of ``folders`` (the chain, child first) that has it."""
    return next((f / filename for f in folders if (f / filename).is_file()), None)


def searched(folders: Sequence[Path]) -> str:
    """The folders of a chain, for a message saying where a file was looked for."""
    return ", ".join(str(f) for f in folders)
