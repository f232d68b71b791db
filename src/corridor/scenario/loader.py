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
  (``corridor.asylum.params.POLICY_PATHS``, or ``hubs.<id>.<field>``) to values that keep the
  scenario valid.
* The ``network:`` section (routes; see :mod:`corridor.routes.schema`) holds each of its tables
  (places, links, crossings, origins) inline or names a CSV file; a table left out is read from
  ``<table>.csv`` when there is one. Files follow the rule above: the nearest file of that name
  up the ``extends`` chain. :func:`~corridor.routes.schema.load_network` reads them, and its
  problems (file, line, column) are listed with all the others; problems of the YAML part are
  located in the file of the chain that holds them. Overrides reach the network's parameters by
  their dotted paths (``network.conditions.0.met`` or ``network.conditions.me_rail.met``,
  ``network.choice.logit_scale``, ``network.speeds.rail``) and the cells of its tables, inline or
  CSV, by ``network.<table>.<row>.<column>``: the row by index or by key (a place; a link id,
  ``from-to`` by default; a crossing's link id, every dated row, or ``country:<C>``, every
  crossing that starts in C; an origin, every row).
* ``content_hash`` is the SHA-256 of the validated model (canonical JSON, after overrides) and
  of the bytes of every table file used, the network's included.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import reprlib
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union, get_args, get_origin

import pandas as pd
import yaml
from pydantic import BaseModel, ValidationError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from corridor.errors import InputError, InputErrors
from corridor.routes.schema import TABLES as NETWORK_TABLES
from corridor.routes.schema import Network, load_network
from corridor.scenario.loaded import REQUIRED_TABLES, TABLE_COLUMNS, LoadedScenario
from corridor.scenario.schema import Hub, HubStatus, Scenario, Step
from corridor.scenario.tables import TableRead, empty_table, read_table

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

SCENARIO_FILE = "scenario.yaml"
SCHEMA_ID = "urn:corridor:scenario:1"

Key = str | int
KeyPath = tuple[Key, ...]

_MAX_NODES = 200_000  # YAML alias bombs: stop recording lines after this many nodes


# ---------------------------------------------------------------------------------------------
# Finding a scenario
# ---------------------------------------------------------------------------------------------
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


# ---------------------------------------------------------------------------------------------
# Reading scenario.yaml with line numbers
# ---------------------------------------------------------------------------------------------
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml


class _Loader(_SafeLoader):  # type: ignore[misc, valid-type]
    """The safe loader, with values that fail to construct reported at their position."""

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except yaml.YAMLError:
            raise
        except Exception as exc:  # e.g. '!!int' on an empty value raises IndexError
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read value {_short(node.value)}: {exc}", node.start_mark
            ) from None


@dataclass
class _Layer:
    """One ``scenario.yaml`` of an ``extends`` chain."""

    folder: Path
    file: Path
    data: dict[str, Any]
    lines: dict[KeyPath, int]


_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxlist, _REPR.maxdict, _REPR.maxtuple = 2, 4, 4, 4
_REPR.maxstring = _REPR.maxother = 60


def _short(value: Any, width: int = 60) -> str:
    """A short repr (bounded work, even for huge nested values)."""
    text = _REPR.repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def _yaml_error(exc: yaml.YAMLError, file: Path, text: str) -> InputError:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        what = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.problem:
            what = f"{exc.context}, {exc.problem}"
        if mark is not None:
            return InputError(
                f"YAML error at column {mark.column + 1}: {what}",
                file=file,
                line=mark.line + 1,
                expected="valid YAML",
            )
        return InputError(f"YAML error: {what}", file=file, expected="valid YAML")
    if isinstance(exc, yaml.reader.ReaderError):
        # libyaml counts the position in UTF-8 bytes, the Python reader in characters
        pos = max(exc.position, 0)
        if isinstance(exc.character, int):
            line = text.encode("utf-8")[:pos].count(b"\n")
        else:
            line = text[:pos].count("\n")
        char = exc.character
        shown = f"U+{char:04X}" if isinstance(char, int) else f"U+{ord(char[:1] or '?'):04X}"
        return InputError(
            f"character {shown} is not allowed in YAML",
            file=file,
            line=line + 1,
            expected="printable text",
        )
    return InputError(f"YAML error: {exc}", file=file, expected="valid YAML")


_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"


def _record_lines(
    node: Node, file: Path, lines: dict[KeyPath, int], errors: list[InputError]
) -> None:
    """Record the 1-based line of every key path; report keys that appear twice."""
    count = 0
    active: set[int] = set()

    def walk(n: Node, path: KeyPath) -> None:
        nonlocal count
        count += 1
        if count > _MAX_NODES or id(n) in active:
            return
        active.add(id(n))
        if isinstance(n, MappingNode):
            seen: dict[str, int] = {}
            for k, v in n.value:
                key = str(k.value) if isinstance(k, ScalarNode) else "?"
                line = k.start_mark.line + 1
                if not isinstance(k, ScalarNode) or k.tag not in (_STR_TAG, _MERGE_TAG):
                    kind = str(k.tag).rsplit(":", 1)[-1]
                    errors.append(
                        InputError(
                            f"key {key!r} is not text (YAML reads it as {kind})",
                            file=file,
                            line=line,
                            field=".".join(map(str, (*path, key))),
                            expected="a text key (quote it: '...')",
                        )
                    )
                elif key in seen and key != "<<":
                    errors.append(
                        InputError(
                            f"key {key!r} appears twice (first on line {seen[key]})",
                            file=file,
                            line=line,
                            field=".".join(map(str, (*path, key))),
                            expected="each key once",
                        )
                    )
                seen.setdefault(key, line)
                lines.setdefault((*path, key), line)
                walk(v, (*path, key))
        elif isinstance(n, SequenceNode):
            for i, item in enumerate(n.value):
                lines.setdefault((*path, i), item.start_mark.line + 1)
                walk(item, (*path, i))
        active.discard(id(n))

    walk(node, ())


def _check_plain(data: Any, file: Path, lines: dict[KeyPath, int]) -> list[InputError]:
    """Refuse keys that are not text and recursive aliases (the YAML must be a plain tree)."""
    errors: list[InputError] = []
    active: set[int] = set()
    done: set[int] = set()  # values reached again through an alias are checked once

    def walk(obj: Any, path: KeyPath) -> None:
        if isinstance(obj, dict | list):
            if id(obj) in done:
                return
            if id(obj) in active:
                errors.append(
                    InputError(
                        "a YAML alias refers to the value that holds it",
                        file=file,
                        line=_line_of(lines, path),
                        field=".".join(map(str, path)) or None,
                        expected="no recursive aliases",
                    )
                )
                return
            active.add(id(obj))
            if isinstance(obj, dict):
                for k, v in obj.items():
                    if not isinstance(k, str):
                        errors.append(
                            InputError(
                                f"key {_short(k)} is not text",
                                file=file,
                                line=_line_of(lines, (*path, str(k))),
                                field=".".join(map(str, (*path, k))),
                                expected="a text key (quote it: '...')",
                            )
                        )
                    else:
                        walk(v, (*path, k))
            else:
                for i, v in enumerate(obj):
                    walk(v, (*path, i))
            active.discard(id(obj))
            done.add(id(obj))

    walk(data, ())
    return errors


def _line_of(lines: Mapping[KeyPath, int], path: KeyPath) -> int | None:
    """The line of ``path`` or of its nearest recorded ancestor."""
    for n in range(len(path), 0, -1):
        got = lines.get(path[:n])
        if got is not None:
            return got
    return None


def _read_yaml(file: Path) -> tuple[_Layer | None, list[InputError]]:
    try:
        raw = file.read_bytes()
    except OSError as exc:
        return None, [InputError(f"cannot read: {exc.strerror or exc}", file=file)]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        err = InputError(
            f"not valid UTF-8 (byte 0x{raw[exc.start]:02x})",
            file=file,
            line=line,
            expected="a UTF-8 encoded YAML file",
        )
        return None, [err]

    errors: list[InputError] = []
    lines: dict[KeyPath, int] = {}
    loader: _Loader | None = None
    try:
        loader = _Loader(text)
        node = loader.get_single_node()
        if node is not None:
            _record_lines(node, file, lines, errors)
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        return None, [_yaml_error(exc, file, text)]
    except RecursionError:
        return None, [InputError("nested too deeply", file=file, expected="a scenario mapping")]
    finally:
        if loader is not None:
            loader.dispose()

    if not isinstance(data, dict):
        what = "empty" if data is None else f"a {type(data).__name__}, not a mapping"
        errors.append(
            InputError(
                f"the file is {what}",
                file=file,
                line=1,
                expected="a mapping of keys (name:, period:, asylum:, ...)",
            )
        )
        return None, errors
    if errors:
        return None, errors
    try:
        errors += _check_plain(data, file, lines)
    except RecursionError:
        errors.append(InputError("nested too deeply", file=file, expected="a scenario mapping"))
    if errors:
        return None, errors
    return _Layer(file.parent, file, data, lines), []


def _read_chain(folder: Path) -> tuple[list[_Layer], list[InputError], list[Path]]:
    """The ``extends`` chain from ``folder`` (child first) up to its root ancestor, the
    problems found, and the folders of the chain that exist (even where reading stopped)."""
    layers: list[_Layer] = []
    seen = [folder.resolve()]
    current = folder
    while True:
        layer, errors = _read_yaml(current / SCENARIO_FILE)
        if layer is None:
            return layers, errors, seen
        layers.append(layer)
        ext = layer.data.get("extends")
        if ext is None:
            return layers, [], seen

        def stop(message: str, expected: str, at: _Layer = layer) -> list[InputError]:
            line = at.lines.get(("extends",))
            return [
                InputError(message, file=at.file, line=line, field="extends", expected=expected)
            ]

        if not isinstance(ext, str) or not ext.strip():
            msg = f"extends must be a folder path, got {_short(ext)}"
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


def _merge(base: Any, over: Any) -> Any:
    """Deep merge: mappings merge key by key, anything else in ``over`` replaces ``base``."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            out[k] = _merge(base[k], v) if k in base else v
        return out
    return over


# ---------------------------------------------------------------------------------------------
# Paths in the schema
# ---------------------------------------------------------------------------------------------
def _unwrap(tp: Any) -> Any:
    while get_origin(tp) is typing.Annotated:
        tp = get_args(tp)[0]
    return tp


def _alternatives(tp: Any) -> list[Any]:
    tp = _unwrap(tp)
    if get_origin(tp) in (Union, types.UnionType):
        out: list[Any] = []
        for alt in get_args(tp):
            out += _alternatives(alt)
        return out
    return [tp]


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _schema_path(tp: Any, segments: Sequence[str], data: Any) -> KeyPath | None:
    """``segments`` as a key path (list indexes as int) if it names a place in type ``tp``,
    else None. A list item is named by its index or, for items with an ``id`` (hubs), by that
    id; either must exist in ``data`` (the values at that place)."""
    if not segments:
        return ()
    seg, rest = segments[0], segments[1:]
    for alt in _alternatives(tp):
        origin = get_origin(alt)
        if _is_model(alt):
            fields = alt.model_fields
            if seg not in fields:
                continue
            sub = data.get(seg) if isinstance(data, dict) else None
            tail = _schema_path(fields[seg].annotation, rest, sub)
            if tail is not None:
                return (seg, *tail)
        elif origin is list:
            if not isinstance(data, list):
                continue
            ids = [x.get("id") if isinstance(x, dict) else None for x in data]
            if seg.isdigit() and int(seg) < len(data):
                index = int(seg)
            elif seg in ids:  # items with an id (hubs) may be named by it
                index = ids.index(seg)
            else:
                continue
            tail = _schema_path(get_args(alt)[0], rest, data[index])
            if tail is not None:
                return (index, *tail)
        elif origin is dict:
            sub = data.get(seg) if isinstance(data, dict) else None
            tail = _schema_path(get_args(alt)[1], rest, sub)
            if tail is not None:
                return (seg, *tail)
    return None


def _model_at(path: KeyPath) -> type[BaseModel] | None:
    """The model class at ``path`` of a scenario (list indexes step into items)."""
    candidates: list[Any] = [Scenario]
    for seg in path:
        nxt: list[Any] = []
        for tp in candidates:
            for alt in _alternatives(tp):
                if _is_model(alt) and isinstance(seg, str) and seg in alt.model_fields:
                    nxt.append(alt.model_fields[seg].annotation)
                elif get_origin(alt) is list and isinstance(seg, int):
                    nxt.append(get_args(alt)[0])
                elif get_origin(alt) is dict and isinstance(seg, str):
                    nxt.append(get_args(alt)[1])
        candidates = nxt
    for tp in candidates:
        for alt in _alternatives(tp):
            if _is_model(alt):
                return typing.cast(type[BaseModel], alt)
    return None


def _set_path(data: Any, path: KeyPath, value: Any) -> str | None:
    """Set ``value`` at ``path`` in nested dicts/lists, making missing mappings; an error
    message if the path cannot be followed."""
    cur = data
    for i, seg in enumerate(path):
        last = i == len(path) - 1
        where = ".".join(map(str, path[:i])) or "the scenario"
        if isinstance(seg, int):
            if not isinstance(cur, list) or seg >= len(cur):
                n = len(cur) if isinstance(cur, list) else 0
                return f"{where} has no item {seg} ({n} items)"
            if last:
                cur[seg] = value
            else:
                cur = cur[seg]
        else:
            if not isinstance(cur, dict):
                return f"{where} is not a mapping"
            if last:
                cur[seg] = value
            else:
                if cur.get(seg) is None:
                    cur[seg] = {}
                cur = cur[seg]
    return None


# ---------------------------------------------------------------------------------------------
# Pydantic errors → InputError
# ---------------------------------------------------------------------------------------------
_MISSING = object()


def _child(cur: Any, seg: Any) -> Any:
    """``cur[seg]`` for a text key of a mapping or an index of a list, else ``_MISSING``."""
    if isinstance(cur, dict) and isinstance(seg, str) and seg in cur:
        return cur[seg]
    if isinstance(cur, list) and isinstance(seg, int) and 0 <= seg < len(cur):
        return cur[seg]
    return _MISSING


class _Locator:
    """Which file and line defined a key path of the merged scenario."""

    def __init__(self, layers: list[_Layer], overrides: dict[KeyPath, str]) -> None:
        self.layers = layers
        self.overrides = overrides

    def override_for(self, path: KeyPath) -> str | None:
        for opath, dotted in self.overrides.items():
            if path[: len(opath)] == opath:
                return dotted
        return None

    def locate(self, path: KeyPath) -> tuple[Path | None, int | None]:
        best: tuple[Path | None, int | None] = (None, None)
        best_depth = -1
        for layer in self.layers:  # child first
            cur: Any = layer.data
            depth = 0
            for seg in path:
                nxt = _child(cur, seg)
                if nxt is _MISSING:
                    break  # ``cur`` stays the value this layer holds at ``depth``
                cur = nxt
                depth += 1
            here = (layer.file, _line_of(layer.lines, path[:depth]) if depth else None)
            if depth == len(path) or (depth > 0 and not isinstance(cur, dict)):
                return here  # this layer defines the path (or replaced everything above it)
            if depth > best_depth:
                best, best_depth = here, depth
        if best[0] is None and self.layers:
            return self.layers[0].file, None
        return best


def _clean_loc(loc: tuple[Any, ...], data: Any, kind: str) -> tuple[KeyPath, bool]:
    """The data path of a pydantic ``loc`` (union branch tags dropped) and whether a tag was."""
    cur = data
    out: list[Key] = []
    tagged = False
    for i, seg in enumerate(loc):
        nxt = _child(cur, seg)
        if nxt is _MISSING and not (kind == "missing" and i == len(loc) - 1):
            tagged = True
            continue
        cur = nxt
        out.append(seg)
    return tuple(out), tagged


def _describe(err: Mapping[str, Any], path: KeyPath) -> tuple[str, str | None]:
    """Message and expected text for one pydantic error."""
    kind = err["type"]
    msg = str(err["msg"])
    key = str(path[-1]) if path else ""
    if kind == "missing":
        return f"required key {key!r} is missing", "a value for " + repr(key)
    if kind == "extra_forbidden":
        model = _model_at(path[:-1])
        allowed = ", ".join(model.model_fields) if model is not None else None
        return f"unknown key {key!r}", ("one of: " + allowed) if allowed else None
    if msg.startswith("Value error, "):
        return msg[len("Value error, ") :], None
    if msg.startswith("Input should be "):
        expected, _, detail = msg[len("Input should be ") :].partition(", ")
        return f"got {_short(err.get('input'))}", expected + (f" ({detail})" if detail else "")
    return f"{msg} (got {_short(err.get('input'))})", None


def _validation_errors(
    exc: ValidationError, data: Any, locator: _Locator, prefix: str = ""
) -> list[InputError]:
    items: list[tuple[KeyPath, bool, str, str | None]] = []
    for e in exc.errors(include_url=False):
        path, tagged = _clean_loc(tuple(e["loc"]), data, e["type"])
        message, expected = _describe(e, path)
        items.append((path, tagged, message, expected))
    # A union branch that failed at the top is noise when another branch failed deeper down.
    paths = {p for p, *_ in items}
    items = [
        it
        for it in items
        if not (it[1] and any(len(q) > len(it[0]) and q[: len(it[0])] == it[0] for q in paths))
    ]
    merged: dict[tuple[KeyPath, str], list[str]] = {}
    for path, _, message, expected in items:
        got = merged.setdefault((path, message), [])
        if expected and expected not in got:
            got.append(expected)
    out: list[InputError] = []
    for (path, message), expected_list in merged.items():
        dotted = ".".join(map(str, path)) or None
        opath = locator.override_for(path)
        if opath is not None:
            out.append(
                InputError(
                    f"{prefix}{message} (set by override {opath!r})",
                    field=dotted,
                    expected=" or ".join(expected_list) or None,
                )
            )
            continue
        file, line = locator.locate(path)
        out.append(
            InputError(
                prefix + message,
                file=file,
                line=line,
                field=dotted,
                expected=" or ".join(expected_list) or None,
            )
        )
    return out


# ---------------------------------------------------------------------------------------------
# Cross-checks between the YAML and the tables
# ---------------------------------------------------------------------------------------------
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


def _engine_policy_paths() -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """The parameters the engines let a policy set (``corridor.asylum.params``), if present."""
    try:
        from corridor.asylum.params import HUB_POLICY_FIELDS, POLICY_PATHS
    except ImportError:  # pragma: no cover - the engines are optional for reading scenarios
        return None
    return tuple(POLICY_PATHS), tuple(HUB_POLICY_FIELDS)


def _policy_target(key: str, data: dict[str, Any]) -> tuple[KeyPath | None, str]:
    """Where policy parameter ``key`` lives in the scenario ``data`` (a model dump), or None and
    what would have been accepted. Hubs are addressed by id: ``hubs.<id>.<field>``, where field
    ``status`` overrides the agreement status."""
    engine = _engine_policy_paths()
    parts = key.split(".")
    if parts[0] == "hubs":
        hubs = data.get("hubs") or []
        ids = [h.get("id") for h in hubs]
        fields = engine[1] if engine else ("status", *Hub.model_fields)
        expected = (
            "hubs.<id>.<field> with a hub id of this scenario ("
            + (", ".join(map(str, ids)) or "none")
            + ") and a field among "
            + ", ".join(fields)
        )
        if len(parts) != 3 or parts[1] not in ids or parts[2] not in fields:
            return None, expected
        if parts[2] == "status":
            return ("hubs", ids.index(parts[1]), "status"), expected
        target = _schema_path(Scenario, ["hubs", str(ids.index(parts[1])), parts[2]], data)
        return target, expected
    if engine is not None:
        expected = "one of " + ", ".join(engine[0]) + ", or hubs.<id>.<field>"
        if key not in engine[0]:
            return None, expected
    else:
        expected = "a dotted parameter such as asylum.caseworkers, or hubs.<id>.<field>"
    target = _schema_path(Scenario, parts, {})  # no list indexes
    return (target or None), expected


def _related(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    n = min(len(a), len(b))
    return a[:n] == b[:n]


def _check_policies(sc: Scenario, locator: _Locator) -> list[InputError]:
    """Policy parameters must exist, and the scenario must stay valid once each policy is
    applied (policies applied in date order, one on top of the other)."""
    errors: list[InputError] = []
    current: dict[str, Any] = sc.model_dump(exclude={"network"})  # policies are the asylum's
    statuses = get_args(HubStatus)
    for k in sorted(range(len(sc.policies)), key=lambda i: sc.policies[i].date):
        policy = sc.policies[k]
        trial = copy.deepcopy(current)
        keys: dict[KeyPath, str] = {}
        ok = True
        for key, value in policy.set.items():
            file, line = locator.locate(("policies", k, "set", key))
            field = f"policies.{k}.set.{key}"
            target, expected = _policy_target(key, trial)
            if target is None:
                msg = f"policy of {policy.date} sets unknown parameter {key!r}"
                errors.append(InputError(msg, file=file, line=line, field=field, expected=expected))
                ok = False
            elif target[-1] == "status" and target[0] == "hubs":
                if value not in statuses:
                    errors.append(
                        InputError(
                            f"policy of {policy.date} sets {key} to {_short(value)}",
                            file=file,
                            line=line,
                            field=field,
                            expected="one of " + ", ".join(statuses),
                        )
                    )
                    ok = False
            else:
                keys[target] = key
                problem = _set_path(trial, target, value)
                if problem is not None:  # pragma: no cover - targets come from the dump
                    errors.append(InputError(problem, file=file, line=line, field=field))
                    ok = False
        if not ok:
            continue
        try:
            Scenario.model_validate(trial)
        except ValidationError as exc:
            for e in _validation_errors(exc, trial, _Locator([], {})):
                path = tuple(str(e.field or "").split("."))
                set_key = next(  # the parameter at, under or above the error's place
                    (v for t, v in keys.items() if _related(tuple(map(str, t)), path)), None
                )
                where: KeyPath = ("policies", k, "set") + ((set_key,) if set_key else ())
                file, line = locator.locate(where)
                errors.append(
                    InputError(
                        f"policy of {policy.date} makes {e.field or 'the scenario'} invalid: "
                        f"{e.message}",
                        file=file,
                        line=line,
                        field=".".join(map(str, where)),
                        expected=e.expected,
                    )
                )
            continue
        current = trial
    return errors


def _check_tables(tables: dict[str, TableRead]) -> list[InputError]:
    """Checks between tables: nationalities of arrivals and grant rates are known, and each
    nationality has a grant rate."""
    errors: list[InputError] = []
    nat = tables.get("nationalities")
    if nat is not None and not nat.errors:
        known = set(nat.frame["nationality"])
        for name in ("arrivals", "grant_rates"):
            t = tables.get(name)
            if t is None:
                continue
            for value, line in zip(t.frame["nationality"], t.lines, strict=True):
                if value not in known and not (name == "grant_rates" and value == "*"):
                    errors.append(
                        InputError(
                            f"nationality {value!r} is not in {nat.path.name}",
                            file=t.path,
                            line=line,
                            field="nationality",
                            expected="a nationality listed in "
                            + nat.path.name
                            + (" or *" if name == "grant_rates" else ""),
                        )
                    )
        gr = tables.get("grant_rates")
        if gr is not None and not gr.errors:
            rated = set(gr.frame["nationality"])
            if "*" not in rated:
                for value, line in zip(nat.frame["nationality"], nat.lines, strict=True):
                    if value not in rated:
                        errors.append(
                            InputError(
                                f"nationality {value!r} has no grant rate in {gr.path.name}",
                                file=nat.path,
                                line=line,
                                field="nationality",
                                expected=f"rows for it in {gr.path.name}, or a '*' row",
                            )
                        )
    return errors


def _cross_check(sc: Scenario, tables: dict[str, TableRead], locator: _Locator) -> list[InputError]:
    errors: list[InputError] = []

    def yaml_error(path: KeyPath, message: str, expected: str) -> None:
        file, line = locator.locate(path)
        errors.append(
            InputError(
                message, file=file, line=line, field=".".join(map(str, path)), expected=expected
            )
        )

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


# ---------------------------------------------------------------------------------------------
# The network section
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _RowOverride:
    """An override of a column of network table rows: ``network.<table>.<row>.<column>``, the
    row named by its index or its key (see :func:`_select_rows`)."""

    dotted: str
    table: str
    row: str
    column: str
    value: Any


@dataclass
class _NetworkRead:
    """The network read from the YAML and its CSV tables: the model (None if there were
    errors), every problem, and the files used (table name → path, and their bytes)."""

    network: Network | None = None
    errors: list[InputError] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)
    raws: dict[str, bytes] = field(default_factory=dict)


def _data_path(data: Any, segments: Sequence[str]) -> KeyPath:
    """The longest key path of ``data`` that the dotted ``segments`` name (keys may hold dots,
    like the parameters of a policy's ``set``)."""
    out: list[Key] = []
    cur, i = data, 0
    while i < len(segments):
        if isinstance(cur, dict):
            for j in range(len(segments), i, -1):
                key = ".".join(segments[i:j])
                if key in cur:
                    out.append(key)
                    cur, i = cur[key], j
                    break
            else:
                break
        elif isinstance(cur, list) and segments[i].isdigit() and int(segments[i]) < len(cur):
            out.append(int(segments[i]))
            cur, i = cur[int(segments[i])], i + 1
        else:
            break
    return tuple(out)


def _locate_network_error(err: InputError, merged: Any, locator: _Locator) -> InputError:
    """An error of the ``network:`` section (no file) at its place in the YAML chain."""
    dotted = err.field or "network"
    path = _data_path(merged, dotted.split("."))
    opath = locator.override_for(path) if len(path) > 1 else None
    if opath is not None:
        return InputError(
            f"{err.message} (set by override {opath!r})", field=dotted, expected=err.expected
        )
    file, line = locator.locate(path or ("network",))
    return InputError(err.message, file=file, line=line, field=dotted, expected=err.expected)


def _select_rows(table: str, row: str, rows: list[dict[str, Any]]) -> list[int]:
    """Rows of a network table named by index, or by key: places by place, links by id
    (``from-to`` by default), crossings by link id (every dated row), origins by origin (every
    row)."""
    if row.isdigit():
        return [int(row)] if int(row) < len(rows) else []
    if table == "places":
        return [i for i, r in enumerate(rows) if r["place"] == row]
    if table == "links":
        return [i for i, r in enumerate(rows) if (r["id"] or f"{r['from']}-{r['to']}") == row]
    if table == "origins":
        return [i for i, r in enumerate(rows) if r["origin"] == row]
    return [i for i, r in enumerate(rows) if r["link"] == row]


def _apply_row_overrides(
    net: Network, overrides: Sequence[_RowOverride]
) -> tuple[Network | None, list[InputError]]:
    """``net`` with the row overrides applied (validated again), or the problems. A crossing
    may also be named ``country:<C>``: every crossing that starts in country C."""
    data = net.model_dump(by_alias=True)
    countries = {p.place: p.country for p in net.places}
    starts = {lk.key: countries.get(lk.from_) for lk in net.links}
    errors: list[InputError] = []
    for ov in overrides:
        model = NETWORK_TABLES[ov.table]
        rows: list[dict[str, Any]] = data[ov.table]
        if ov.table == "crossings" and ov.row.startswith("country:"):
            land = ov.row[len("country:") :]
            chosen = [i for i, r in enumerate(rows) if starts.get(r["link"]) == land]
        else:
            chosen = _select_rows(ov.table, ov.row, rows)
        if not chosen:
            errors.append(
                InputError(
                    f"override {ov.dotted!r}: no row {ov.row!r} in the network's {ov.table}",
                    field=ov.dotted,
                    expected=_ROW_NAMES[ov.table],
                )
            )
            continue
        for i in chosen:
            trial = {**rows[i], ov.column: ov.value}
            try:
                rows[i] = model.model_validate(trial).model_dump(by_alias=True)
            except ValidationError as exc:
                for e in exc.errors(include_url=False):
                    errors.append(
                        InputError(
                            f"{_describe(e, (ov.column,))[0]} (set by override {ov.dotted!r})",
                            field=ov.dotted,
                            expected=_describe(e, (ov.column,))[1],
                        )
                    )
                break
    if errors:
        return None, errors
    try:
        return Network.model_validate(data), []
    except ValidationError as exc:
        names = ", ".join(repr(ov.dotted) for ov in overrides)
        return None, [
            InputError(
                f"overrides {names} make the network invalid: {_describe(e, ())[0]}",
                field=overrides[0].dotted,
            )
            for e in exc.errors(include_url=False)
        ]


_ROW_NAMES = {
    "places": "a row index or a place",
    "links": "a row index or a link id (from-to by default)",
    "crossings": "a row index, a crossing's link id or country:<country>",
    "origins": "a row index or an origin",
}


def _check_row_columns(overrides: Sequence[_RowOverride]) -> list[InputError]:
    """Overrides of a column that the table does not have (checked before reading it)."""
    errors: list[InputError] = []
    for ov in overrides:
        model = NETWORK_TABLES[ov.table]
        columns = [f.alias or name for name, f in model.model_fields.items() if name != "source"]
        if ov.column not in columns:
            errors.append(
                InputError(
                    f"override {ov.dotted!r}: {ov.table} has no column {ov.column!r}",
                    field=ov.dotted,
                    expected="one of " + ", ".join(columns),
                )
            )
    return errors


def _read_network(
    merged: dict[str, Any],
    folders: Sequence[Path],
    locator: _Locator,
    overrides: Sequence[_RowOverride],
) -> _NetworkRead:
    """Read the ``network:`` section of the merged YAML and its CSV tables.

    A table named by a file (``places: places.csv``), or left out while a file ``<table>.csv``
    exists, is the nearest such file up the ``extends`` chain, as for the other tables.
    """
    out = _NetworkRead()
    section = merged.get("network")
    if not isinstance(section, dict):
        file, line = locator.locate(("network",))
        out.errors.append(
            InputError(
                f"network must be a mapping, got {_short(section)}",
                file=file,
                line=line,
                field="network",
                expected="a mapping of tables and parameters (places:, links:, crossings:, ...)",
            )
        )
        return out
    section = dict(section)
    missing: dict[Path, InputError] = {}
    for name in NETWORK_TABLES:
        value = section.get(name)
        if value is None:
            filename = f"{name}.csv"
        elif isinstance(value, str) and value.strip():
            filename = value
        else:
            continue  # rows inline, or something load_network refuses with its place
        found = next((f / filename for f in folders if (f / filename).is_file()), None)
        if found is None:
            if value is not None:
                searched = ", ".join(str(f) for f in folders)
                absent = (folders[0] / filename).resolve()
                file, line = locator.locate(("network", name))
                missing[absent] = InputError(
                    f"network table {filename} is missing (looked in {searched})",
                    file=file,
                    line=line,
                    field=f"network.{name}",
                    expected="a CSV file with columns "
                    + ", ".join(f.alias or n for n, f in NETWORK_TABLES[name].model_fields.items()),
                )
                section[name] = str(absent)
            continue
        found = found.resolve()
        section[name] = str(found)
        out.files[name] = found
        with contextlib.suppress(OSError):  # load_network reports it
            out.raws[name] = found.read_bytes()
    try:
        net: Network | None = load_network(folders[0], section)
    except InputErrors as exc:
        raised = exc.errors
        net = None
    except InputError as exc:
        raised = [exc]
        net = None
    else:
        raised = []
    for err in raised:
        if err.file is not None and Path(err.file) in missing:
            continue  # reported as a missing table
        if err.file is None or (err.field in NETWORK_TABLES and Path(err.file).is_dir()):
            if err.file is not None:  # "no <table> table": name it in the YAML
                err = InputError(
                    f"the network has no {err.field} table",
                    field=f"network.{err.field}",
                    expected=f"network.{err.field} rows, or a file {err.field}.csv in the "
                    "scenario's folder or a parent's",
                )
            err = _locate_network_error(err, merged, locator)
        out.errors.append(err)
    out.errors += missing.values()
    bad_columns = _check_row_columns(overrides)
    out.errors += bad_columns
    if net is not None and overrides and not bad_columns:
        net, errs = _apply_row_overrides(net, overrides)
        out.errors += errs
    out.network = net if not out.errors else None
    return out


# ---------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------
@dataclass
class ScenarioCheck:
    """Everything :func:`check_scenario` found: the scenario (None if there were errors), every
    problem, and the table files used (table name → path)."""

    loaded: LoadedScenario | None
    errors: list[InputError]
    table_files: dict[str, Path] = field(default_factory=dict)


def _table_file_names(merged: Mapping[str, Any]) -> dict[str, str | None]:
    names: dict[str, str | None] = {n: f"{n}.csv" for n in TABLE_COLUMNS}
    arrivals = merged.get("arrivals")
    if isinstance(arrivals, dict) and isinstance(arrivals.get("table"), str):
        names["arrivals"] = arrivals["table"]
    costs = merged.get("costs")
    if isinstance(costs, dict) and "table" in costs:
        value = costs["table"]
        names["costs"] = value if isinstance(value, str) else None
    return names


def _apply_overrides(
    merged: dict[str, Any],
    overrides: Mapping[str, object],
    applied: dict[KeyPath, str],
    rows: list[_RowOverride],
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
        target = _schema_path(Scenario, segments, merged) if all(segments) else None
        table = segments[1] if len(segments) == 4 and segments[0] == "network" else None
        if not target and table in NETWORK_TABLES and all(segments):
            _, _, row, column = segments
            rows.append(_RowOverride(str(dotted), table, row, column, copy.deepcopy(value)))
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
        problem = _set_path(merged, target, copy.deepcopy(value))
        if problem is not None:
            errors.append(InputError(f"cannot apply override: {problem}", field=str(dotted)))
            continue
        applied[target] = str(dotted)
    return errors


def check_scenario(ref: str | Path, overrides: Mapping[str, object] | None = None) -> ScenarioCheck:
    """Load scenario ``ref`` and collect every problem instead of raising."""
    try:
        folder = resolve_scenario(ref)
    except InputError as exc:
        return ScenarioCheck(None, [exc])
    layers, errors, folders = _read_chain(folder)
    yaml_ok = not errors  # if not, the tables are still checked, and the YAML no further

    merged: dict[str, Any] = layers[-1].data if layers else {}
    for layer in reversed(layers[:-1]):
        merged = _merge(merged, layer.data)
    merged = copy.deepcopy(merged)

    scenario: Scenario | None = None
    override_paths: dict[KeyPath, str] = {}
    row_overrides: list[_RowOverride] = []
    if yaml_ok:
        errors += _apply_overrides(merged, overrides or {}, override_paths, row_overrides)
    locator = _Locator(layers, override_paths)
    if yaml_ok:
        try:  # the network section (tables named by file) is read on its own, below
            scenario = Scenario.model_validate({k: v for k, v in merged.items() if k != "network"})
        except ValidationError as exc:
            errors += _validation_errors(exc, merged, locator)
    net = _NetworkRead()
    if yaml_ok and merged.get("network") is not None:
        net = _read_network(merged, folders, locator, row_overrides)
        errors += net.errors

    # Tables: the nearest file of each name up the chain.
    tables: dict[str, TableRead] = {}
    files: dict[str, Path] = {}
    raws: dict[str, bytes] = {}
    for name, filename in _table_file_names(merged).items():
        if filename is None:
            continue
        found = next((f / filename for f in folders if (f / filename).is_file()), None)
        if found is None:
            if name in REQUIRED_TABLES and yaml_ok:
                searched = ", ".join(str(f) for f in folders)
                errors.append(
                    InputError(
                        f"required table {filename} is missing (looked in {searched})",
                        file=folder / filename,
                        field=name,
                        expected="a CSV file with columns " + ", ".join(TABLE_COLUMNS[name]),
                    )
                )
            continue
        try:
            raw = found.read_bytes()
        except OSError as exc:
            errors.append(InputError(f"cannot read table: {exc.strerror or exc}", file=found))
            continue
        t = read_table(name, found, raw)
        errors += t.errors
        tables[name], files[name], raws[name] = t, found, raw

    errors += _check_tables(tables)
    if scenario is not None:
        errors += _cross_check(scenario, tables, locator)
    files.update({f"network.{name}": path for name, path in net.files.items()})
    if errors or scenario is None:
        return ScenarioCheck(None, errors, files)
    if net.network is not None:
        scenario = scenario.model_copy(update={"network": net.network})

    digest = hashlib.sha256()
    dump = scenario.model_dump(mode="json", exclude={"network"} if net.network is None else None)
    model_json = json.dumps(dump, sort_keys=True, separators=(",", ":"), allow_nan=True)
    digest.update(b"scenario\0" + model_json.encode("utf-8"))
    for name in TABLE_COLUMNS:
        if name in raws:
            digest.update(f"\0table\0{name}\0{len(raws[name])}\0".encode())
            digest.update(raws[name])
        else:
            digest.update(f"\0table\0{name}\0absent\0".encode())
    for name in NETWORK_TABLES if net.network is not None else ():
        content = net.raws.get(name)
        size = "inline" if content is None else str(len(content))
        digest.update(f"\0network\0{name}\0{size}\0".encode() + (content or b""))
    frames: dict[str, pd.DataFrame] = {
        name: tables[name].frame if name in tables else empty_table(name) for name in TABLE_COLUMNS
    }
    loaded = LoadedScenario(
        scenario=scenario, tables=frames, folder=folder, content_hash=digest.hexdigest()
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


def scenario_json_schema() -> dict[str, Any]:
    """The JSON Schema of ``scenario.yaml`` (draft 2020-12), with a title and ``$id``."""
    schema = Scenario.model_json_schema()
    out: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **schema,
    }
    out["title"] = "Corridor scenario"
    net = out.get("$defs", {}).get("Network")
    if isinstance(net, dict):  # tables may name a CSV file, and may be left out for <table>.csv
        props = net.get("properties", {})
        for name in NETWORK_TABLES:
            if name in props:
                rows = props[name]
                props[name] = {
                    "title": rows.pop("title", name.title()),
                    "anyOf": [
                        rows,
                        {"type": "string", "description": "a CSV file in the scenario folder"},
                    ],
                }
        net.pop("required", None)
    out.setdefault(
        "description", "scenario.yaml of a Corridor scenario folder (see corridor.scenario.schema)"
    )
    return out
