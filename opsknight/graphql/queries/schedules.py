"""Read fields for schedules and on-call."""

from __future__ import annotations

from datetime import datetime

import strawberry

from opsknight.graphql.context import Info
from opsknight.graphql.types.common import Connection, Pagination
from opsknight.graphql.types.schedules import (
    Gap,
    OnCallEntry,
    RenderedSchedule,
    Schedule,
    ScheduleOnCall,
    ScheduleOverride,
    ScheduleRef,
    shift_entries,
)
from opsknight.schedules import oncall
from opsknight.schedules import service as schedules


def _ref(row: object) -> ScheduleRef:
    return ScheduleRef(id=strawberry.ID(row.id), name=row.name, time_zone=row.time_zone)  # type: ignore[attr-defined]


@strawberry.type
class ScheduleQuery:
    @strawberry.field
    async def schedule(self, info: Info, id: strawberry.ID) -> Schedule:
        return Schedule.from_row(await schedules.get_schedule(info.context.principal(), id))

    @strawberry.field
    async def schedules(
        self, info: Info, q: str | None = None, limit: int | None = None, offset: int | None = None
    ) -> Connection[Schedule]:
        page = await schedules.list_schedules(
            info.context.principal(), q=q, limit=limit, offset=offset
        )
        return Connection(
            nodes=[Schedule.from_row(r) for r in page.items], pagination=Pagination.of(page)
        )

    @strawberry.field
    async def schedule_overrides(
        self,
        info: Info,
        schedule_id: strawberry.ID,
        limit: int | None = None,
        offset: int | None = None,
    ) -> Connection[ScheduleOverride]:
        page = await schedules.list_overrides(info.context.principal(), schedule_id, limit, offset)
        return Connection(
            nodes=[ScheduleOverride.from_row(r) for r in page.items], pagination=Pagination.of(page)
        )

    @strawberry.field(description="The final schedule in [since, until), at most 93 days.")
    async def schedule_shifts(
        self, info: Info, schedule_id: strawberry.ID, since: datetime, until: datetime
    ) -> RenderedSchedule:
        rendered = await oncall.render_schedule(info.context.principal(), schedule_id, since, until)
        return RenderedSchedule(
            shifts=await shift_entries(info, rendered.shifts),
            gaps=[Gap(start=a, end=b) for a, b in rendered.gaps],
        )

    @strawberry.field(description="Who is on call in one schedule at `at` (default now).")
    async def schedule_on_call(
        self, info: Info, schedule_id: strawberry.ID, at: datetime | None = None
    ) -> ScheduleOnCall:
        schedule, instant, shift = await oncall.schedule_on_call(
            info.context.principal(), schedule_id, at
        )
        on_call = [] if shift is None else await shift_entries(info, [shift])
        return ScheduleOnCall(schedule=_ref(schedule), at=instant, on_call=on_call)

    @strawberry.field(description="Who is on call at `at` (default now) across schedules.")
    async def on_call(
        self,
        info: Info,
        at: datetime | None = None,
        schedule_id: strawberry.ID | None = None,
        user_id: strawberry.ID | None = None,
    ) -> list[OnCallEntry]:
        entries = await oncall.on_call(info.context.principal(), at, schedule_id, user_id)
        result = []
        for schedule, shift in entries:
            (entry,) = await shift_entries(info, [shift])
            result.append(
                OnCallEntry(
                    schedule=_ref(schedule),
                    user=entry.user,
                    start=shift.start,
                    end=shift.end,
                    layer=entry.layer,
                    override=entry.override,
                )
            )
        return result
