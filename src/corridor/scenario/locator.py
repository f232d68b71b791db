"""Where a problem of the merged scenario comes from, and pydantic's errors as located problems.

Reads: the layers of an ``extends`` chain (with the line of every key) and the overrides applied
(key path → dotted path as given). Produces: :class:`Locator`, which finds the file and line of
the chain that define a key path and builds an :class:`~corridor.errors.InputError` there
(:meth:`Locator.error`); :func:`describe` (message and expected text of one pydantic error) and
:func:`validation_errors` (a ``ValidationError`` of the merged YAML as located problems).
Invariants: a path set by an override is reported as set by it, without a file; otherwise the
layer nearest the child that defines the path (or replaced a mapping above it) is named; union
branches that failed at the top are dropped when another failed deeper; problems at the same
place with the same message are merged, their expected texts joined with "or".
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from corridor.errors import InputError
from corridor.scenario.key_paths import MISSING, child, model_at
from corridor.scenario.yaml_file import Key, KeyPath, Layer, line_of, short

__all__ = ["Locator", "describe", "validation_errors"]


class Locator:
    """Which file and line defined a key path of the merged scenario."""

    def __init__(self, layers: list[Layer], overrides: dict[KeyPath, str]) -> None:
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
                nxt = child(cur, seg)
                if nxt is MISSING:
                    break  # ``cur`` stays the value this layer holds at ``depth``
                cur = nxt
                depth += 1
            here = (layer.file, line_of(layer.lines, path[:depth]) if depth else None)
            if depth == len(path) or (depth > 0 and not isinstance(cur, dict)):
                return here  # this layer defines the path (or replaced everything above it)
            if depth > best_depth:
                best, best_depth = here, depth
        if best[0] is None and self.layers:
            return self.layers[0].file, None
        return best

    def error(
        self,
        path: KeyPath,
        message: str,
        expected: str | None = None,
        *,
        field: str | None = None,
        overridable: bool = False,
    ) -> InputError:
        """A problem at ``path``, located at the file and line of the chain that define it; if
        ``overridable`` and an override set the path, said to be set by it instead (no file).
        ``field`` defaults to the dotted ``path``."""
        dotted = field if field is not None else (".".join(map(str, path)) or None)
        opath = self.override_for(path) if overridable else None
        if opath is not None:
            message = f"{message} (set by override {opath!r})"
            return InputError(message, field=dotted, expected=expected)
        file, line = self.locate(path)
        return InputError(message, file=file, line=line, field=dotted, expected=expected)


def _clean_loc(loc: tuple[Any, ...], data: Any, kind: str) -> tuple[KeyPath, bool]:
    """The data path of a pydantic ``loc`` (union branch tags dropped) and whether a tag was."""
    cur = data
    out: list[Key] = []
    tagged = False
    for i, seg in enumerate(loc):
        nxt = child(cur, seg)
        if nxt is MISSING and not (kind == "missing" and i == len(loc) - 1):
            tagged = True
            continue
        cur = nxt
        out.append(seg)
    return tuple(out), tagged


def describe(err: Mapping[str, Any], path: KeyPath) -> tuple[str, str | None]:
    """Message and expected text for one pydantic error."""
    kind = err["type"]
    msg = str(err["msg"])
    key = str(path[-1]) if path else ""
    if kind == "missing":
        return f"required key {key!r} is missing", "a value for " + repr(key)
    if kind == "extra_forbidden":
        model = model_at(path[:-1])
        allowed = ", ".join(model.model_fields) if model is not None else None
        return f"unknown key {key!r}", ("one of: " + allowed) if allowed else None
    if msg.startswith("Value error, "):
        return msg[len("Value error, ") :], None
    if msg.startswith("Input should be "):
        expected, _, detail = msg[len("Input should be ") :].partition(", ")
        return f"got {short(err.get('input'))}", expected + (f" ({detail})" if detail else "")
    return f"{msg} (got {short(err.get('input'))})", None


def validation_errors(exc: ValidationError, data: Any, locator: Locator) -> list[InputError]:
    """The problems of a pydantic ``exc`` about ``data`` (the merged YAML), located in the chain
    or attributed to the override that set them; one per place and message."""
    items: list[tuple[KeyPath, bool, str, str | None]] = []
    for e in exc.errors(include_url=False):
        path, tagged = _clean_loc(tuple(e["loc"]), data, e["type"])
        message, expected = describe(e, path)
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
    return [
        locator.error(path, message, " or ".join(expected_list) or None, overridable=True)
        for (path, message), expected_list in merged.items()
    ]
