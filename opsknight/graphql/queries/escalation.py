"""Read fields for escalation policies."""

from __future__ import annotations

import strawberry

from opsknight.escalation import policies
from opsknight.graphql.context import Info
from opsknight.graphql.types.common import Connection, Pagination
from opsknight.graphql.types.directory import EscalationPolicy


@strawberry.type
class EscalationQuery:
    @strawberry.field
    async def escalation_policy(self, info: Info, id: strawberry.ID) -> EscalationPolicy:
        return EscalationPolicy.from_row(await policies.get_policy(info.context.principal(), id))

    @strawberry.field
    async def escalation_policies(
        self, info: Info, q: str | None = None, limit: int | None = None, offset: int | None = None
    ) -> Connection[EscalationPolicy]:
        page = await policies.list_policies(
            info.context.principal(), q=q, limit=limit, offset=offset
        )
        return Connection(
            nodes=[EscalationPolicy.from_row(r) for r in page.items], pagination=Pagination.of(page)
        )
