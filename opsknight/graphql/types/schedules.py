"""Schedules, layers, overrides, and on-call answers."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

import strawberry

from opsknight.graphql.context import Info
from opsknight.graphql.types.directory import Team, User, load_team, load_user
from opsknight.graphql.types.rows import from_row
from opsknight.schedules import oncall
from opsknight.schedules.rotation import Shift


@strawberry.enum
class RotationType(Enum):
    daily = "daily"
    weekly = "weekly"
    custom = "custom"


@strawberry.enum
class Weekday(Enum):
    MON = "MON"
    TUE = "TUE"
    WED = "WED"
    THU = "THU"
    FRI = "FRI"
    SAT = "SAT"
    SUN = "SUN"


@strawberry.type
class LayerRestriction:
    days: list[Weekday]
    start_time: str
    end_time: str


@strawberry.type
class ScheduleLayer:
    id: strawberry.ID
    name: str
    rotation_type: RotationType
    rotation_length_hours: int | None
    handoff_start: str = strawberry.field(description="Local date-time in the schedule's zone.")
    end: str | None
    restrictions: list[LayerRestriction]

    @classmethod
    def from_row(cls, row: Any) -> ScheduleLayer:
        return cls(
            id=strawberry.ID(row.id),
            name=row.name,
            rotation_type=RotationType(row.rotation_type),
            rotation_length_hours=row.rotation_length_hours,
            handoff_start=row.handoff_start,
            end=row.end,
            restrictions=[
                LayerRestriction(
                    days=[Weekday(d) for d in r["days"]],
                    start_time=r["start_time"],
                    end_time=r["end_time"],
                )
                for r in row.restrictions
            ],
        )

    @strawberry.field(description="In rotation order; a user may appear more than once.")
    async def users(self, info: Info) -> list[User]:
        user_ids = await info.context.loaders.layer_members.load(str(self.id))
        found = [await load_user(info, user_id) for user_id in user_ids]
        return [user for user in found if user is not None]


@strawberry.type
class LayerRef:
    id: strawberry.ID
    name: str


@strawberry.type
class ShiftEntry:
    user: User | None
    start: datetime
    end: datetime
    layer: LayerRef | None
    override: strawberry.ID | None


async def shift_entries(info: Info, shifts: list[Shift]) -> list[ShiftEntry]:
    """Shifts as GraphQL objects, their users loaded once for all of them."""
    user_ids = sorted({shift.user_id for shift in shifts})
    rows = await info.context.loaders.user.load_many(user_ids)
    users = {row.id: User.from_row(row) for row in rows if row is not None}
    return [
        ShiftEntry(
            user=users.get(shift.user_id),
            start=shift.start,
            end=shift.end,
            layer=None
            if shift.layer_id is None
            else LayerRef(id=strawberry.ID(shift.layer_id), name=shift.layer_name or ""),
            override=None if shift.override_id is None else strawberry.ID(shift.override_id),
        )
        for shift in shifts
    ]


@strawberry.type
class Gap:
    start: datetime
    end: datetime


@strawberry.type
class RenderedSchedule:
    shifts: list[ShiftEntry]
    gaps: list[Gap]


@strawberry.type
class Schedule:
    id: strawberry.ID
    name: str
    description: str | None
    time_zone: str
    created_at: datetime
    updated_at: datetime
    team_id: strawberry.Private[str | None]

    @classmethod
    def from_row(cls, row: Any) -> Schedule:
        return from_row(cls, row)

    @strawberry.field
    async def team(self, info: Info) -> Team | None:
        return await load_team(info, self.team_id)

    @strawberry.field(description="Lowest priority first; a later layer wins where it has someone.")
    async def layers(self, info: Info) -> list[ScheduleLayer]:
        rows = await info.context.loaders.schedule_layers.load(str(self.id))
        return [ScheduleLayer.from_row(row) for row in rows]

    @strawberry.field(description="The final schedule in [since, until), at most 93 days.")
    async def shifts(self, info: Info, since: datetime, until: datetime) -> RenderedSchedule:
        principal = info.context.principal()
        rendered = await oncall.render_schedule(principal, str(self.id), since, until)
        return RenderedSchedule(
            shifts=await shift_entries(info, rendered.shifts),
            gaps=[Gap(start=a, end=b) for a, b in rendered.gaps],
        )


@strawberry.type
class ScheduleOverride:
    id: strawberry.ID
    start: datetime
    end: datetime
    created_at: datetime
    schedule_id: strawberry.ID
    user_id: strawberry.Private[str]
    replaces_user_id: strawberry.Private[str | None]

    @classmethod
    def from_row(cls, row: Any) -> ScheduleOverride:
        return from_row(cls, row)

    @strawberry.field
    async def user(self, info: Info) -> User | None:
        return await load_user(info, self.user_id)

    @strawberry.field
    async def replaces_user(self, info: Info) -> User | None:
        return await load_user(info, self.replaces_user_id)


@strawberry.type
class ScheduleRef:
    id: strawberry.ID
    name: str
    time_zone: str


@strawberry.type
class ScheduleOnCall:
    schedule: ScheduleRef
    at: datetime
    on_call: list[ShiftEntry]


@strawberry.type
class OnCallEntry:
    schedule: ScheduleRef
    user: User | None
    start: datetime
    end: datetime
    layer: LayerRef | None
    override: strawberry.ID | None


@strawberry.input
class RestrictionInput:
    start_time: str
    end_time: str
    days: list[Weekday] | None = strawberry.UNSET


@strawberry.input
class LayerInput:
    rotation_type: RotationType
    handoff_start: str
    users: list[strawberry.ID]
    id: strawberry.ID | None = strawberry.UNSET
    name: str | None = strawberry.UNSET
    rotation_length_hours: int | None = strawberry.UNSET
    restrictions: list[RestrictionInput] | None = strawberry.UNSET
    end: str | None = strawberry.UNSET


@strawberry.input
class ScheduleInput:
    name: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    time_zone: str | None = strawberry.UNSET
    team_id: strawberry.ID | None = strawberry.UNSET
    layers: list[LayerInput] | None = strawberry.UNSET


@strawberry.input
class OverrideInput:
    start: datetime
    end: datetime
    user_id: strawberry.ID
    replaces_user_id: strawberry.ID | None = strawberry.UNSET
