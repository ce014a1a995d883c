"""Shared shapes: pagination, connections, delete results, and input helpers."""

from __future__ import annotations

import dataclasses
from enum import Enum
from typing import Any, Generic, TypeVar

import strawberry

from opsknight.paging import Page

T = TypeVar("T")


@strawberry.type
class Pagination:
    page: strawberry.Private[Page[Any]]

    @strawberry.field
    async def total(self) -> int:
        return await self.page.total()

    @strawberry.field
    def limit(self) -> int:
        return self.page.limit

    @strawberry.field
    def offset(self) -> int:
        return self.page.offset

    @strawberry.field
    async def has_more(self) -> bool:
        return await self.page.has_more()

    @classmethod
    def of(cls, page: Page[Any]) -> Pagination:
        return cls(page=page)


@strawberry.type
class Connection(Generic[T]):
    nodes: list[T]
    pagination: Pagination


@strawberry.type
class Deleted:
    id: strawberry.ID
    deleted: bool = True


def provided(value: Any) -> dict[str, Any]:
    """The fields of an input object that the caller actually sent, as plain values.

    Omitted fields are left out; an explicit null stays as None (PATCH uses it to clear).
    """
    result: dict[str, Any] = {}
    for item in dataclasses.fields(value):
        raw = getattr(value, item.name)
        if raw is strawberry.UNSET:
            continue
        result[item.name] = plain(raw)
    return result


def plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, list):
        return [plain(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return provided(value)
    return value
