"""Typed inputs of the domain's use cases.

Each use case that takes fields declares a frozen dataclass of them. A field the caller
did not send is ``UNSET``: a PATCH changes only what it names, and an explicit None
clears. Transports build one with ``of`` from the fields they received.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Final, TypeVar


class Unset:
    """The value of an input field that was not sent."""

    _instance: Unset | None = None

    def __new__(cls) -> Unset:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = Unset()

T = TypeVar("T")


def of(cls: type[T], values: Mapping[str, Any]) -> T:
    """The input ``cls`` with the fields in ``values``; the others stay UNSET. A name that
    is not a field of ``cls`` is a programming error (TypeError)."""
    return cls(**values)


def sent(value: Any) -> dict[str, Any]:
    """The fields of an input that were sent (not UNSET), by name."""
    return {
        item.name: getattr(value, item.name)
        for item in dataclasses.fields(value)
        if getattr(value, item.name) is not UNSET
    }


def or_none(value: T | Unset) -> T | None:
    """The value sent, or None when it was not sent."""
    return None if isinstance(value, Unset) else value
