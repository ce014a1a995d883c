"""Batch reads for DataLoaders: one query for many keys, results in key order."""

from __future__ import annotations

from typing import Any, TypeVar

from tortoise.models import Model

M = TypeVar("M", bound=Model)


async def rows_by_ids(model: type[M], keys: list[str]) -> list[M | None]:
    """``model`` rows for ``keys`` (None where missing), in key order."""
    found = {row.pk: row for row in await model.filter(pk__in=keys)}
    return [found.get(key) for key in keys]


def group_in_key_order(rows: list[M], column: str, keys: list[Any]) -> list[list[M]]:
    """Split ``rows`` by ``column`` into one list per key, in key order."""
    grouped: dict[Any, list[M]] = {key: [] for key in keys}
    for row in rows:
        grouped[getattr(row, column)].append(row)
    return [grouped[key] for key in keys]
