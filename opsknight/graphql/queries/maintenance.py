"""Read fields for maintenance windows."""

from __future__ import annotations

import strawberry

from opsknight.graphql.context import Info
from opsknight.graphql.types.common import Connection, Pagination
from opsknight.graphql.types.maintenance import MaintenanceWindow
from opsknight.maintenance import service


@strawberry.type
class MaintenanceQuery:
    @strawberry.field
    async def maintenance_window(self, info: Info, id: strawberry.ID) -> MaintenanceWindow:
        row = await service.get_window(info.context.principal(), id)
        return MaintenanceWindow.from_row(row)

    @strawberry.field(description="Oldest first; `serviceId` keeps the windows of a service.")
    async def maintenance_windows(
        self,
        info: Info,
        service_id: strawberry.ID | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> Connection[MaintenanceWindow]:
        page = await service.list_windows(
            info.context.principal(), service_id=service_id, limit=limit, offset=offset
        )
        return Connection(
            nodes=[MaintenanceWindow.from_row(r) for r in page.items],
            pagination=Pagination.of(page),
        )
