"""Read fields for the audit log."""

from __future__ import annotations

from datetime import datetime

import strawberry

from opsknight.audit import service
from opsknight.graphql.context import Info
from opsknight.graphql.types.audit import AuditEntry
from opsknight.graphql.types.common import Connection, Pagination


@strawberry.type
class AuditQuery:
    @strawberry.field(description="Configuration changes, newest first; administrators only.")
    async def audit_log(
        self,
        info: Info,
        resource_type: str | None = None,
        resource_id: strawberry.ID | None = None,
        actor_id: strawberry.ID | None = None,
        action: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> Connection[AuditEntry]:
        page = await service.list_entries(
            info.context.principal(), resource_type=resource_type, resource_id=resource_id,
            actor_id=actor_id, action=action, since=since, until=until, limit=limit,
            offset=offset,
        )  # fmt: skip
        return Connection(
            nodes=[AuditEntry.from_row(r) for r in page.items], pagination=Pagination.of(page)
        )
