"""Reading one ``scenario.yaml`` safely, with the line of every key.

Reads: a file's bytes (UTF-8, a BOM allowed). Produces: :func:`read_yaml`, a :class:`Layer`
(its folder, file, the data as plain dicts/lists/scalars, and the 1-based line of every key
path, :data:`KeyPath`) or the problems found; :func:`line_of` (the line of a path or of its
nearest recorded ancestor) and :func:`short` (a bounded repr for messages). Invariants: only
YAML's safe tags are constructed; every problem (undecodable bytes, bad YAML, a value that
fails to construct, duplicate keys, keys that are not text, recursive aliases, a top level that
is not a mapping, nesting too deep) is an :class:`~corridor.errors.InputError` naming the file
and line, never another exception; alias bombs stop the line recording after
:data:`_MAX_NODES` nodes rather than exhausting memory.
"""

from __future__ import annotations

import reprlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from corridor.errors import InputError

__all__ = ["Key", "KeyPath", "Layer", "line_of", "read_yaml", "short"]

Key = str | int
KeyPath = tuple[Key, ...]

_MAX_NODES = 200_000  # YAML alias bombs: stop recording lines after this many nodes


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
                None, None, f"cannot read value {short(node.value)}: {exc}", node.start_mark
            ) from None


@dataclass
class Layer:
    """One ``scenario.yaml`` of an ``extends`` chain."""

    folder: Path
    file: Path
    data: dict[str, Any]
    lines: dict[KeyPath, int]


_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxlist, _REPR.maxdict, _REPR.maxtuple = 2, 4, 4, 4
_REPR.maxstring = _REPR.maxother = 60


def short(value: Any, width: int = 60) -> str:
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
                        line=line_of(lines, path),
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
                                f"key {short(k)} is not text",
                                file=file,
                                line=line_of(lines, (*path, str(k))),
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


def line_of(lines: Mapping[KeyPath, int], path: KeyPath) -> int | None:
    """The line of ``path`` or of its nearest recorded ancestor."""
    for n in range(len(path), 0, -1):
        got = lines.get(path[:n])
        if got is not None:
            return got
    return None


def read_yaml(file: Path) -> tuple[Layer | None, list[InputError]]:
    """The layer read from ``file``, or None and every problem found."""
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
    return Layer(file.parent, file, data, lines), []
