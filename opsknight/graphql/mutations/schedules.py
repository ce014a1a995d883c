"""Write fields for schedules and overrides."""

from __future__ import annotations

import strawberry

from opsknight import inputs
from opsknight.graphql.context import Info
from opsknight.graphql.types.common import Deleted, provided
from opsknight.graphql.types.schedules import (
    OverrideInput,
    Schedule,
    ScheduleInput,
    ScheduleOverride,
)
from opsknight.schedules import service as schedules


@strawberry.type
class ScheduleMutation:
    @strawberry.mutation
    async def create_schedule(self, info: Info, input: ScheduleInput) -> Schedule:
        fields = inputs.of(schedules.ScheduleFields, provided(input))
        row = await schedules.create_schedule(info.context.principal(), fields)
        return Schedule.from_row(row)

    @strawberry.mutation(
        description="`layers`, when given, replaces all layers (keep one by its id)."
    )
    async def update_schedule(
        self, info: Info, id: strawberry.ID, input: ScheduleInput
    ) -> Schedule:
        fields = inputs.of(schedules.ScheduleFields, provided(input))
        row = await schedules.update_schedule(info.context.principal(), id, fields)
        return Schedule.from_row(row)

    @strawberry.mutation
    async def delete_schedule(self, info: Info, id: strawberry.ID) -> Deleted:
        return Deleted(
            id=strawberry.ID(await schedules.delete_schedule(info.context.principal(), id))
        )

    @strawberry.mutation
    async def create_override(
        self, info: Info, schedule_id: strawberry.ID, input: OverrideInput
    ) -> ScheduleOverride:
        fields = inputs.of(schedules.OverrideFields, provided(input))
        row = await schedules.create_override(info.context.principal(), schedule_id, fields)
        return ScheduleOverride.from_row(row)

    @strawberry.mutation
    async def delete_override(
        self, info: Info, schedule_id: strawberry.ID, id: strawberry.ID
    ) -> Deleted:
        deleted = await schedules.delete_override(info.context.principal(), schedule_id, id)
        return Deleted(id=strawberry.ID(deleted))
