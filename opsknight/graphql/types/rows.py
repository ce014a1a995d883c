"""GraphQL objects read from database rows, field by field, derived from the type.

A Strawberry type lists its fields once; ``from_row`` reads each from the row's attribute
of the same name, converted as the field's type says (ids as ``ID``, enums by value, lists
copied), so a mapper is not a second hand-kept list of the same names. Fields the row
does not hold as they are (a masked address, an actor built from several columns) are
given by the caller.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from enum import Enum
from typing import Any, TypeVar

import strawberry

T = TypeVar("T")

# For each type: its fields and how each is converted (None: taken as it is).
_plans: dict[type[Any], list[tuple[str, Callable[[Any], Any] | None]]] = {}


def _converter(annotation: Any) -> Callable[[Any], Any] | None:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        annotation = options[0] if len(options) == 1 else annotation
    if annotation is strawberry.ID:
        return strawberry.ID
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return annotation
    if typing.get_origin(annotation) is list:
        return list
    return None


def _plan(cls: type[Any]) -> list[tuple[str, Callable[[Any], Any] | None]]:
    hints = typing.get_type_hints(cls)
    return [
        (field.name, _converter(hints[field.name]))
        for field in dataclasses.fields(cls)
        if field.init
    ]


def from_row(cls: type[T], row: Any, **given: Any) -> T:
    """An instance of the Strawberry type ``cls`` with every field read from ``row``
    (None stays None), except those in ``given``."""
    plan = _plans.get(cls)
    if plan is None:
        plan = _plans[cls] = _plan(cls)
    values: dict[str, Any] = {}
    for name, convert in plan:
        if name in given:
            continue
        value = getattr(row, name)
        values[name] = value if value is None or convert is None else convert(value)
    return cls(**values, **given)
