"""Schedules with their layers and overrides: reading, creating, changing, deleting.
Checking the input is in parsing.py, who is on call in oncall.py."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from tortoise.expressions import F, Q

from opsknight import clock, validation
from opsknight.audit import service as audit
from opsknight.auth.principal import Principal
from opsknight.batch import group_in_key_order, rows_by_ids
from opsknight.directory.models import Team, User
from opsknight.errors import Conflict, NotFound, ValidationFailed
from opsknight.escalation.models import EscalationStep
from opsknight.inputs import UNSET, Unset, or_none
from opsknight.paging import Page, page_of
from opsknight.records import get_or_404, matching_name
from opsknight.schedules import parsing, rotation
from opsknight.schedules.models import (
    Schedule,
    ScheduleLayer,
    ScheduleLayerMember,
    ScheduleOverride,
)
from opsknight.transaction import atomic
from opsknight.unique import unique_field


async def get_or_404_schedule(schedule_id: str) -> Schedule:
    return await get_or_404(Schedule, schedule_id, "schedule")


async def get_schedule(principal: Principal, schedule_id: str) -> Schedule:
    principal.require("schedules:read")
    return await get_or_404_schedule(schedule_id)


async def list_schedules(
    principal: Principal, *, q: str | None, limit: int | None, offset: int | None
) -> Page[Schedule]:
    principal.require("schedules:read")
    query = Schedule.all()
    query = matching_name(query, q)
    return await page_of(query, limit, offset, "name_key", "id")


async def _write_layers(schedule: Schedule, drafts: list[parsing.LayerDraft]) -> None:
    """Replace the schedule's layers, keeping the ids of layers the caller named."""
    existing = {layer.id for layer in await ScheduleLayer.filter(schedule_id=schedule.id)}
    await ScheduleLayer.filter(schedule_id=schedule.id).delete()
    for position, draft in enumerate(drafts, start=1):
        kept: dict[str, Any] = {"id": draft.id} if draft.id in existing else {}
        layer = await ScheduleLayer.create(
            **kept,
            schedule=schedule,
            position=position,
            name=draft.name,
            rotation_type=draft.rotation_type,
            rotation_length_hours=draft.length_hours,
            handoff_start=draft.handoff_start,
            end=draft.end,
            restrictions=draft.restrictions,
        )
        await ScheduleLayerMember.bulk_create(
            [
                ScheduleLayerMember(layer=layer, position=slot, user_id=user_id)
                for slot, user_id in enumerate(draft.users, start=1)
            ]
        )


@dataclass(frozen=True)
class ScheduleFields:
    """What creating or changing a schedule takes (UNSET: not sent). ``layers`` are
    checked one by one (errors name ``layers[i]``); when sent, they replace all layers."""

    name: str | Unset | None = UNSET
    description: str | Unset | None = UNSET
    time_zone: str | Unset | None = UNSET
    team_id: str | Unset | None = UNSET
    layers: list[Any] | Unset | None = UNSET


@dataclass(frozen=True)
class OverrideFields:
    """Who covers a schedule, from when until when, and in whose place (optional)."""

    user_id: str | None = None
    start: Any = None
    end: Any = None
    replaces_user_id: str | None = None


async def _apply(schedule: Schedule, fields: ScheduleFields) -> list[str]:
    changed = []
    if fields.name is not UNSET:
        schedule.name = validation.text(fields.name, "name", max_length=100)
        schedule.name_key = schedule.name.lower()
        changed += ["name", "name_key"]
    if fields.description is not UNSET:
        schedule.description = validation.optional_text(  # type: ignore[assignment]
            fields.description, "description", max_length=5000
        )
        changed.append("description")
    if fields.time_zone is not UNSET:
        schedule.time_zone = validation.time_zone(fields.time_zone)
        changed.append("time_zone")
    if fields.team_id is not UNSET:
        team_id = or_none(fields.team_id)
        if team_id is not None:
            validation.referenced(await Team.get_or_none(id=team_id), team_id, "team_id", "team")
        schedule.team_id = team_id
        changed.append("team_id")
    return changed


AUDITED = ("name", "description", "time_zone", "team_id")
_OVERRIDE_FIELDS = ("schedule_id", "user_id", "replaces_user_id", "start", "end")


async def audited(schedule: Schedule) -> dict[str, Any]:
    layers = [
        {"name": layer.name, "rotation_type": layer.rotation_type, "users": list(layer.users),
         "handoff_start": layer.handoff_start.isoformat(), "length_hours": layer.length_hours}
        for layer in await layers_of(schedule)
    ]  # fmt: skip
    return {**audit.snapshot(schedule, AUDITED), "layers": layers}


async def create_schedule(principal: Principal, fields: ScheduleFields) -> Schedule:
    principal.require("schedules:write")
    if or_none(fields.time_zone) is None:
        raise ValidationFailed("time_zone is required", field="time_zone", reason="required")
    now = clock.now()
    schedule = Schedule(created_at=now, updated_at=now)
    await _apply(schedule, replace(fields, name=or_none(fields.name)))  # a name is required
    drafts = await parsing.checked_layers(or_none(fields.layers) or [])
    async with atomic(), unique_field("name", schedule.name):
        await schedule.save()
        await _write_layers(schedule, drafts)
        await audit.record(principal, "schedule.created", "schedule", schedule.id, None,
                           await audited(schedule))  # fmt: skip
    return schedule


async def update_schedule(
    principal: Principal, schedule_id: str, fields: ScheduleFields
) -> Schedule:
    principal.require("schedules:write")
    schedule = await get_or_404_schedule(schedule_id)
    before = await audited(schedule)
    changed = await _apply(schedule, fields)
    layers = or_none(fields.layers)
    drafts = None if layers is None else await parsing.checked_layers(layers)
    schedule.updated_at = clock.now()
    async with atomic(), unique_field("name", schedule.name):
        await schedule.save(update_fields=[*changed, "updated_at"])
        if drafts is not None:
            await _write_layers(schedule, drafts)
        await revised([schedule.id])
        await audit.record(principal, "schedule.updated", "schedule", schedule.id, before,
                           await audited(schedule))  # fmt: skip
    return schedule


async def delete_schedule(principal: Principal, schedule_id: str) -> str:
    """Delete a schedule; one an escalation step targets is CONFLICT naming the policies."""
    principal.require("schedules:write")
    schedule = await get_or_404_schedule(schedule_id)
    steps = await EscalationStep.filter(
        target_type="SCHEDULE", target_id=schedule.id
    ).select_related("policy")
    if steps:
        used_by = [
            {
                "escalation_policy_id": s.policy.id,
                "escalation_policy": s.policy.name,
                "step": s.position,
            }
            for s in steps
        ]
        names = ", ".join(sorted({s.policy.name for s in steps}))
        raise Conflict(
            f"schedule {schedule.id} is used by escalation policy {names}", {"used_by": used_by}
        )
    async with atomic():
        before = await audited(schedule)
        await schedule.delete()
        await audit.record(principal, "schedule.deleted", "schedule", schedule.id, before, None)
    return schedule_id


async def schedules_by_ids(schedule_ids: list[str]) -> list[Schedule | None]:
    return await rows_by_ids(Schedule, schedule_ids)


async def layers_by_schedule(schedule_ids: list[str]) -> list[list[ScheduleLayer]]:
    rows = await ScheduleLayer.filter(schedule_id__in=schedule_ids).order_by("position")
    return group_in_key_order(list(rows), "schedule_id", schedule_ids)


async def members_by_layer(layer_ids: list[str]) -> list[list[str]]:
    rows = await ScheduleLayerMember.filter(layer_id__in=layer_ids).order_by("position")
    groups = group_in_key_order(list(rows), "layer_id", layer_ids)
    return [[member.user_id for member in group] for group in groups]  # type: ignore[attr-defined]


# --- overrides -------------------------------------------------------------------------


async def list_overrides(
    principal: Principal, schedule_id: str, limit: int | None, offset: int | None
) -> Page[ScheduleOverride]:
    principal.require("schedules:read")
    schedule = await get_or_404_schedule(schedule_id)
    return await page_of(
        ScheduleOverride.filter(schedule_id=schedule.id), limit, offset, "start", "id"
    )


async def create_override(
    principal: Principal, schedule_id: str, fields: OverrideFields
) -> ScheduleOverride:
    principal.require("schedules:write")
    schedule = await get_or_404_schedule(schedule_id)
    for name in ("start", "end", "user_id"):
        if getattr(fields, name) is None:
            raise ValidationFailed(f"{name} is required", field=name, reason="required")
    start = validation.aware(fields.start, "start")
    end = validation.aware(fields.end, "end")
    if end <= start:
        raise ValidationFailed("end must be after start", field="end")
    user_id = str(fields.user_id)
    user = validation.referenced(await User.get_or_none(id=user_id), user_id, "user_id", "user")
    replaces = fields.replaces_user_id
    if replaces is not None:
        validation.referenced(
            await User.get_or_none(id=replaces), replaces, "replaces_user_id", "user"
        )
    async with atomic():
        override = await ScheduleOverride.create(
            schedule=schedule,
            user=user,
            replaces_user_id=replaces,
            start=start,
            end=end,
            created_at=clock.now(),
        )
        await revised([schedule.id])
        await audit.record(principal, "schedule.override_created", "schedule", schedule.id,
                           None, audit.snapshot(override, _OVERRIDE_FIELDS))  # fmt: skip
    return override


async def delete_override(principal: Principal, schedule_id: str, override_id: str) -> str:
    principal.require("schedules:write")
    async with atomic():
        override = await ScheduleOverride.get_or_none(id=override_id, schedule_id=schedule_id)
        if override is None:
            raise NotFound.of("override", override_id)
        await override.delete()
        await revised([schedule_id])
        await audit.record(principal, "schedule.override_deleted", "schedule", schedule_id,
                           audit.snapshot(override, _OVERRIDE_FIELDS), None)  # fmt: skip
    return override_id


async def revised(schedule_ids: list[str]) -> None:
    """Bump the schedules' revision (inside the transaction of the change), so that no
    process uses a window it rendered before the change."""
    if schedule_ids:
        await Schedule.filter(id__in=schedule_ids).update(revision=F("revision") + 1)


async def schedules_with_overrides_of(user_id: str) -> list[str]:
    rows = await ScheduleOverride.filter(
        Q(user_id=user_id) | Q(replaces_user_id=user_id)
    ).values_list("schedule_id", flat=True)
    return sorted(set(rows))  # type: ignore[arg-type]


async def layers_of(schedule: Schedule) -> list[rotation.Layer]:
    """The schedule's layers as the rotation math takes them."""
    layer_rows = await ScheduleLayer.filter(schedule_id=schedule.id).order_by("position")
    members = await members_by_layer([row.id for row in layer_rows])
    return [
        rotation.Layer(
            id=row.id,
            name=row.name,
            rotation_type=row.rotation_type,
            handoff_start=datetime.fromisoformat(row.handoff_start),
            users=tuple(users),
            length_hours=row.rotation_length_hours,
            restrictions=tuple(parsing.restriction(r) for r in row.restrictions),
            end=None if row.end is None else datetime.fromisoformat(row.end),
        )
        for row, users in zip(layer_rows, members, strict=True)
    ]
