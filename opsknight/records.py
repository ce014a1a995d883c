"""Small lookups every domain package shares."""

from __future__ import annotations

from typing import Any, TypeVar

from tortoise.models import Model

from opsknight import validation
from opsknight.errors import NotFound

M = TypeVar("M", bound=Model)


async def get_or_404(model: type[M], ident: str, kind: str) -> M:
    """The row with this id, or NOT_FOUND naming the kind of thing asked for."""
    row = await model.get_or_none(pk=ident)
    if row is None:
        raise NotFound.of(kind, ident)
    return row


def matching_name(query: Any, q: str | None) -> Any:
    """Narrow a queryset to names containing ``q``, case-insensitively (``name_key``)."""
    q = validation.search(q)
    return query.filter(name_key__icontains=q.lower()) if q else query
