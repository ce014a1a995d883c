"""The audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

import strawberry
from strawberry.scalars import JSON


@strawberry.type
class AuditEntry:
    id: strawberry.ID
    at: datetime
    action: str = strawberry.field(description="e.g. service.updated, api_key.revoked.")
    resource_type: str
    resource_id: strawberry.ID
    actor_type: str = strawberry.field(description="user or system.")
    actor_id: strawberry.ID | None
    actor_name: str | None
    api_key_id: strawberry.ID | None
    session_id: strawberry.ID | None
    ip: str | None
    changes: JSON = strawberry.field(
        description="{field: {before, after}} for each changed field; secrets masked."
    )

    @classmethod
    def from_row(cls, row: Any) -> AuditEntry:
        def ident(value: str | None) -> strawberry.ID | None:
            return strawberry.ID(value) if value else None

        return cls(
            id=strawberry.ID(row.id), at=row.at, action=row.action,
            resource_type=row.resource_type, resource_id=strawberry.ID(row.resource_id),
            actor_type=row.actor_type, actor_id=ident(row.actor_id), actor_name=row.actor_name,
            api_key_id=ident(row.api_key_id), session_id=ident(row.session_id), ip=row.ip,
            changes=cast(JSON, row.changes),
        )  # fmt: skip
