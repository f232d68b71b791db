"""A value set by a dotted path (``--set``, a policy, a variant's lever) checked against the
bounds of the scenario parameter it sets.

Reads: the :class:`~corridor.scenario.schema.Scenario` models (a field's type and its
``Field`` constraints, :mod:`corridor.scenario.types`). Produces: :func:`bound_problem` (what
is wrong with a value for a path, or None) and :func:`check_bounds` (an
:class:`~corridor.errors.InputError` for the first value out of bounds). Invariants: a path the
schema does not know, and a value that is not a number, are left to the loader and the engines
(which name unknown paths); a list's item is addressed by its index or its id and skipped over
(``hubs.hub_kosovo.beds``, ``asylum.productivity.0.value``), so the value is checked against the
item's field; the check is the schema's own (the same bounds as a scenario file), so a value
refused here would be refused in ``scenario.yaml`` too.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Annotated, Any, get_args, get_origin

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo

from corridor.errors import InputError
from corridor.scenario.schema import Scenario

__all__ = ["bound_problem", "check_bounds"]


def bound_problem(path: str, value: object) -> str | None:
    """What is wrong with number ``value`` for the parameter at dotted ``path`` (None: nothing,
    not a number, or a path the schema does not know)."""
    if isinstance(value, str):  # text the schema would read as a number
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    adapter = _adapter(path)
    if adapter is None:
        return None
    try:
        adapter.validate_python(value)
    except ValidationError as exc:
        errors = exc.errors()  # a schedule's: one per alternative; the bound is the one to say
        bounds = [e for e in errors if "than" in e["type"]]
        return str((bounds or errors)[0]["msg"])
    return None


def check_bounds(values: Mapping[str, object], field: str) -> None:
    """Raise an :class:`InputError` (on ``field``, e.g. ``--set``) for the first value of
    ``values`` (dotted path → value) outside its parameter's bounds."""
    for path, value in values.items():
        problem = bound_problem(str(path), value)
        if problem is not None:
            raise InputError(
                f"{path} = {value!r} is out of bounds: {problem}",
                field=field,
                expected="a value within the parameter's bounds (corridor schema lists them)",
            )


@functools.cache
def _adapter(path: str) -> TypeAdapter[Any] | None:
    """A validator of the numbers the field at dotted ``path`` takes, or None."""
    model: Any = Scenario
    parts = path.split(".")
    info: FieldInfo | None = None
    i = 0
    while i < len(parts):
        fields = getattr(model, "model_fields", None)
        if fields is None or parts[i] not in fields:
            return None
        info = fields[parts[i]]
        i += 1
        model, in_list = _inner_model(info.annotation)
        if in_list and i < len(parts):
            i += 1  # the item's index or id
    if info is None:
        return None
    adapter: TypeAdapter[Any] = TypeAdapter(Annotated[info.annotation, info])  # type: ignore[arg-type]
    try:  # only fields that take a number (a schedule does; a date does not)
        if not isinstance(adapter.validate_python(0.0), int | float):
            return None
    except ValidationError:
        return None
    return adapter


def _inner_model(annotation: Any) -> tuple[Any, bool]:
    """The model class inside ``annotation`` (``M``, ``M | None``, ``list[M]``, ``x | list[M]``)
    and whether it is a list's item; ``(None, False)`` for a plain value."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    for arg in get_args(annotation):
        inner, in_list = _inner_model(arg)
        if inner is not None:
            return inner, in_list or get_origin(annotation) is list
    return None, False
