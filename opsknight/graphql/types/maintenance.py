"""Maintenance windows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry

from opsknight.maintenance.service import current_span


@strawberry.type
class MaintenanceWindow:
    id: strawberry.ID
    name: str
    service_ids: list[strawberry.ID]
    starts_at: datetime | None = strawberry.field(description="One-off windows: the start.")
    ends_at: datetime | None = strawberry.field(description="One-off windows: the end.")
    days: list[str] = strawberry.field(description="Weekly windows: MON … SUN.")
    start_time: str | None = strawberry.field(description="Weekly windows: HH:MM local.")
    duration_minutes: int | None
    time_zone: str
    until: datetime | None = strawberry.field(description="Weekly windows: no span starts after.")
    resolve_on_end: bool
    reopen_on_end: bool
    created_at: datetime
    updated_at: datetime
    in_effect: bool = strawberry.field(description="Whether a span of it is on now.")
    current_end: datetime | None = strawberry.field(description="When the span on now ends.")

    @classmethod
    def from_row(cls, row: Any) -> MaintenanceWindow:
        span = current_span(row)
        return cls(
            id=strawberry.ID(row.id), name=row.name,
            service_ids=[strawberry.ID(s) for s in row.service_ids], starts_at=row.starts_at,
            ends_at=row.ends_at, days=list(row.days), start_time=row.start_time,
            duration_minutes=row.duration_minutes, time_zone=row.time_zone, until=row.until,
            resolve_on_end=row.resolve_on_end, reopen_on_end=row.reopen_on_end,
            created_at=row.created_at, updated_at=row.updated_at, in_effect=span is not None,
            current_end=span[1] if span else None,
        )  # fmt: skip


@strawberry.input
class MaintenanceWindowInput:
    name: str | None = strawberry.UNSET
    service_ids: list[strawberry.ID] | None = strawberry.UNSET
    starts_at: datetime | None = strawberry.UNSET
    ends_at: datetime | None = strawberry.UNSET
    days: list[str] | None = strawberry.UNSET
    start_time: str | None = strawberry.UNSET
    duration_minutes: int | None = strawberry.UNSET
    time_zone: str | None = strawberry.UNSET
    until: datetime | None = strawberry.UNSET
    resolve_on_end: bool | None = strawberry.UNSET
    reopen_on_end: bool | None = strawberry.UNSET
