"""Write fields for maintenance windows."""

from __future__ import annotations

import strawberry

from opsknight import inputs
from opsknight.graphql.context import Info
from opsknight.graphql.types.common import Deleted, provided
from opsknight.graphql.types.maintenance import MaintenanceWindow, MaintenanceWindowInput
from opsknight.maintenance import service


@strawberry.type
class MaintenanceMutation:
    @strawberry.mutation
    async def create_maintenance_window(
        self, info: Info, input: MaintenanceWindowInput
    ) -> MaintenanceWindow:
        row = await service.create_window(
            info.context.principal(), inputs.of(service.WindowFields, provided(input))
        )
        return MaintenanceWindow.from_row(row)

    @strawberry.mutation
    async def update_maintenance_window(
        self, info: Info, id: strawberry.ID, input: MaintenanceWindowInput
    ) -> MaintenanceWindow:
        row = await service.update_window(
            info.context.principal(), id, inputs.of(service.WindowFields, provided(input))
        )
        return MaintenanceWindow.from_row(row)

    @strawberry.mutation(description="Its incidents stay as they are.")
    async def delete_maintenance_window(self, info: Info, id: strawberry.ID) -> Deleted:
        deleted = await service.delete_window(info.context.principal(), id)
        return Deleted(id=strawberry.ID(deleted))
