"""Event rules, and the triggers their suspend action holds."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

import strawberry
from strawberry.scalars import JSON

from opsknight.graphql.types.rows import from_row


@strawberry.type
class EventRule:
    id: strawberry.ID
    service_id: strawberry.ID | None = strawberry.field(description="Null for a global rule.")
    position: int = strawberry.field(description="Its place in its set, from 1; it runs in order.")
    description: str
    conditions: JSON = strawberry.field(
        description="[{field, operator, value}], all must hold; [] matches every event."
    )
    actions: JSON = strawberry.field(
        description="severity, urgency, priority, route_to, suppress, suspend_seconds, "
        "annotate, extract [{source, regex, target}]."
    )
    disabled: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: Any) -> EventRule:
        return from_row(cls, row)


@strawberry.input
class EventRuleInput:
    service_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="On create only; omitted for a global rule."
    )
    position: int | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    conditions: JSON | None = strawberry.UNSET
    actions: JSON | None = strawberry.UNSET
    disabled: bool | None = strawberry.UNSET


@strawberry.type
class SuspendedEvent:
    id: strawberry.ID
    service_id: strawberry.ID
    dedup_key: str
    summary: str | None
    status: str = strawberry.field(description="PENDING, OPENED (released) or CANCELLED.")
    due_at: datetime
    received_at: datetime
    settled_at: datetime | None
    incident_id: strawberry.ID | None
    trace: JSON

    @classmethod
    def from_row(cls, row: Any) -> SuspendedEvent:
        return cls(
            id=strawberry.ID(row.id), service_id=strawberry.ID(row.service_id),
            dedup_key=row.dedup_key, summary=row.event.get("summary"), status=row.status,
            due_at=row.due_at, received_at=row.received_at, settled_at=row.settled_at,
            incident_id=strawberry.ID(row.incident_id) if row.incident_id else None,
            trace=cast(JSON, row.event.get("trace") or []),
        )  # fmt: skip


@strawberry.type
class Page:
    """One notification sent for an incident."""

    user_id: strawberry.ID
    user_name: str
    channel: str
    step: int
    status: str
    created_at: datetime

    @classmethod
    def from_row(cls, row: Any) -> Page:
        return cls(
            user_id=strawberry.ID(row.user_id), user_name=row.user.name, channel=row.channel,
            step=row.step, status=row.status, created_at=row.created_at,
        )  # fmt: skip
