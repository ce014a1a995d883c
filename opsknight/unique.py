"""Turning a unique-index violation into a CONFLICT that names the field."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from tortoise.exceptions import IntegrityError

from opsknight.errors import Conflict


@asynccontextmanager
async def unique_field(field: str, value: str) -> AsyncIterator[None]:
    """Inside this block, a duplicate-key error becomes CONFLICT on ``field``."""
    try:
        yield
    except IntegrityError as exc:
        raise Conflict(
            f"{field} {value!r} is already taken", {"field": field, "reason": "duplicate"}
        ) from exc
