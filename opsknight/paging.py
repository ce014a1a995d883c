"""Offset pagination shared by every list (SPEC §4)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from opsknight.errors import ValidationFailed

T = TypeVar("T")
DEFAULT_LIMIT = 25
MAX_LIMIT = 100


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int

    @property
    def has_more(self) -> bool:
        return self.offset + len(self.items) < self.total


def check_window(limit: int | None, offset: int | None) -> tuple[int, int]:
    """Validated (limit, offset) with the defaults applied."""
    limit = DEFAULT_LIMIT if limit is None else limit
    offset = 0 if offset is None else offset
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed(
            f"limit must be between 1 and {MAX_LIMIT}", field="limit", reason="out_of_range"
        )
    if offset < 0:
        raise ValidationFailed("offset must be 0 or more", field="offset", reason="out_of_range")
    return limit, offset


async def page_of(query: Any, limit: int | None, offset: int | None, *order: str) -> Page[Any]:
    """One page of a Tortoise queryset in the given order, with the total count."""
    limit, offset = check_window(limit, offset)
    total = await query.count()
    items = await query.order_by(*order).offset(offset).limit(limit)
    return Page(items=list(items), total=total, limit=limit, offset=offset)
