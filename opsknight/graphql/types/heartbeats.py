"""Heartbeats."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry

from opsknight.graphql.context import Info
from opsknight.graphql.types.rows import from_row


@strawberry.type
class Heartbeat:
    id: strawberry.ID
    service_id: strawberry.ID
    name: str
    interval_seconds: int
    grace_seconds: int
    status: str = strawberry.field(description="NEW (never pinged), UP or DOWN (missed).")
    last_ping_at: datetime | None
    due_at: datetime = strawberry.field(description="When it counts as missed without a ping.")
    created_at: datetime
    updated_at: datetime
    token_value: strawberry.Private[str]

    @strawberry.field(
        description="The ping credential (POST or GET /api/heartbeats/{token}/ping); null "
        "unless the caller may manage services (services:write)."
    )
    def token(self, info: Info) -> str | None:
        return self.token_value if info.context.principal().may("services:write") else None

    @classmethod
    def from_row(cls, row: Any) -> Heartbeat:
        return from_row(cls, row, token_value=row.token)


@strawberry.input
class HeartbeatInput:
    service_id: strawberry.ID | None = strawberry.UNSET
    name: str | None = strawberry.UNSET
    interval_seconds: int | None = strawberry.UNSET
    grace_seconds: int | None = strawberry.UNSET


@strawberry.type
class Ping:
    id: strawberry.ID
    status: str
    due_at: datetime
