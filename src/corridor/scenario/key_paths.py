"""Dotted paths into a scenario: checking them against the schema and following them in data.

Reads: the :class:`~corridor.scenario.schema.Scenario` models (their fields' annotations) and
the merged YAML as plain dicts and lists. Produces: :func:`schema_path` (dotted segments → a
key path, if the schema has that place and the data its list items), :func:`model_at` (the
model class at a key path), :func:`set_path` (set a value at a key path, making missing
mappings), :func:`child` (one step down, or :data:`MISSING`) and :func:`data_path` (the longest
key path of data that dotted segments name, for keys that hold dots). Invariants: pure
functions of their arguments, except that :func:`set_path` changes the data it is given; list
items are named by index or, for items with an ``id`` (hubs), by that id.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Sequence
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel

from corridor.scenario.schema import Scenario
from corridor.scenario.yaml_file import Key, KeyPath

__all__ = ["MISSING", "child", "data_path", "model_at", "schema_path", "set_path"]


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


def schema_path(tp: Any, segments: Sequence[str], data: Any) -> KeyPath | None:
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
            tail = schema_path(fields[seg].annotation, rest, sub)
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
            tail = schema_path(get_args(alt)[0], rest, data[index])
            if tail is not None:
                return (index, *tail)
        elif origin is dict:
            sub = data.get(seg) if isinstance(data, dict) else None
            tail = schema_path(get_args(alt)[1], rest, sub)
            if tail is not None:
                return (seg, *tail)
    return None


def model_at(path: KeyPath) -> type[BaseModel] | None:
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


def set_path(data: Any, path: KeyPath, value: Any) -> str | None:
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


MISSING = object()


def child(cur: Any, seg: Any) -> Any:
    """``cur[seg]`` for a text key of a mapping or an index of a list, else ``MISSING``."""
    if isinstance(cur, dict) and isinstance(seg, str) and seg in cur:
        return cur[seg]
    if isinstance(cur, list) and isinstance(seg, int) and 0 <= seg < len(cur):
        return cur[seg]
    return MISSING


def data_path(data: Any, segments: Sequence[str]) -> KeyPath:
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
