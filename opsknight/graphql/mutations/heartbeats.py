"""Write fields for heartbeats, and the ping."""

from __future__ import annotations

import strawberry

from opsknight import inputs
from opsknight.graphql.context import Info
from opsknight.graphql.types.common import Deleted, provided
from opsknight.graphql.types.heartbeats import Heartbeat, HeartbeatInput, Ping
from opsknight.heartbeats import service


@strawberry.type
class HeartbeatMutation:
    @strawberry.mutation
    async def create_heartbeat(self, info: Info, input: HeartbeatInput) -> Heartbeat:
        fields = inputs.of(service.HeartbeatFields, provided(input))
        row = await service.create_heartbeat(info.context.principal(), fields)
        return Heartbeat.from_row(row)

    @strawberry.mutation
    async def update_heartbeat(
        self, info: Info, id: strawberry.ID, input: HeartbeatInput
    ) -> Heartbeat:
        fields = inputs.of(service.HeartbeatFields, provided(input))
        row = await service.update_heartbeat(info.context.principal(), id, fields)
        return Heartbeat.from_row(row)

    @strawberry.mutation(description="An incident it opened stays open.")
    async def delete_heartbeat(self, info: Info, id: strawberry.ID) -> Deleted:
        return Deleted(
            id=strawberry.ID(await service.delete_heartbeat(info.context.principal(), id))
        )

    @strawberry.mutation(
        description="A sign of life; the token is the credential (no API key needed). It "
        "resolves the incident a missed ping opened."
    )
    async def ping_heartbeat(self, token: str) -> Ping:
        row = await service.ping(token)
        return Ping(id=strawberry.ID(row.id), status=row.status, due_at=row.due_at)
