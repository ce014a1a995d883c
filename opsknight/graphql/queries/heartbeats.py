"""Read fields for heartbeats."""

from __future__ import annotations

import strawberry

from opsknight.graphql.context import Info
from opsknight.graphql.types.common import Connection, Pagination
from opsknight.graphql.types.heartbeats import Heartbeat
from opsknight.heartbeats import service


@strawberry.type
class HeartbeatQuery:
    @strawberry.field
    async def heartbeat(self, info: Info, id: strawberry.ID) -> Heartbeat:
        return Heartbeat.from_row(await service.get_heartbeat(info.context.principal(), id))

    @strawberry.field(description="Oldest first; `serviceId` keeps a service's heartbeats.")
    async def heartbeats(
        self,
        info: Info,
        service_id: strawberry.ID | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> Connection[Heartbeat]:
        page = await service.list_heartbeats(
            info.context.principal(), service_id=service_id, limit=limit, offset=offset
        )
        return Connection(
            nodes=[Heartbeat.from_row(r) for r in page.items], pagination=Pagination.of(page)
        )
