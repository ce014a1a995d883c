"""Schedules with their layers, overrides, and who is on call."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from opsknight import clock, validation
from opsknight.audit import service as audit
from opsknight.auth.principal import Principal
from opsknight.batch import group_in_key_order, rows_by_ids
from opsknight.directory.models import Team, User
from opsknight.errors import Conflict, NotFound, ValidationFailed
from opsknight.escalation.models import EscalationStep
from opsknight.paging import Page, page_of
from opsknight.records import get_or_404, matching_name
from opsknight.schedules import cache, rotation
from opsknight.schedules.models import (
    Schedule,
    ScheduleLayer,
    ScheduleLayerMember,
    ScheduleOverride,
)
from opsknight.unique import unique_field

ROTATION_TYPES = ("daily", "weekly", "custom")
MAX_RANGE = timedelta(days=93)
_LOCAL = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$")
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


async def _get(schedule_id: str) -> Schedule:
    return await get_or_404(Schedule, schedule_id, "schedule")


async def get_schedule(principal: Principal, schedule_id: str) -> Schedule:
    principal.require("schedules:read")
    return await _get(schedule_id)


async def list_schedules(
    principal: Principal, *, q: str | None, limit: int | None, offset: int | None
) -> Page[Schedule]:
    principal.require("schedules:read")
    query = Schedule.all()
    query = matching_name(query, q)
    return await page_of(query, limit, offset, "name_key", "id")


def _local_datetime(value: Any, field: str) -> datetime:
    """A wall-clock date-time without an offset, as the schedule's zone reads it."""
    if not isinstance(value, str) or not _LOCAL.match(value):
        raise ValidationFailed(
            f"{field} must be a local date-time such as 2024-01-01T09:00:00, without an offset",
            field=field,
        )
    try:
        return datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValidationFailed(f"{field} is not a valid date-time", field=field) from exc


def _clock_time(value: Any, field: str) -> time:
    match = _CLOCK.match(value) if isinstance(value, str) else None
    if match is None:
        raise ValidationFailed(f"{field} must be HH:MM", field=field)
    return time(int(match.group(1)), int(match.group(2)))


@dataclass
class _LayerDraft:
    id: str | None
    name: str
    rotation_type: str
    length_hours: int | None
    handoff_start: str
    end: str | None
    users: list[str]
    restrictions: list[dict[str, Any]]


async def _layers(raw: Any) -> list[_LayerDraft]:
    if not isinstance(raw, list):
        raise ValidationFailed("layers must be a list", field="layers", reason="invalid_type")
    drafts = []
    for i, item in enumerate(raw):
        at = f"layers[{i}]"
        if not isinstance(item, dict):
            raise ValidationFailed(f"{at} must be an object", field=at, reason="invalid_type")
        kind = validation.choice(item.get("rotation_type"), f"{at}.rotation_type", ROTATION_TYPES)
        length = None
        if kind == "custom":
            length = validation.number(
                item.get("rotation_length_hours"),
                f"{at}.rotation_length_hours",
                minimum=1,
                maximum=8760,
            )
        start = _local_datetime(item.get("handoff_start"), f"{at}.handoff_start")
        end = None
        if item.get("end") is not None:
            end = _local_datetime(item["end"], f"{at}.end")
            if end <= start:
                raise ValidationFailed(f"{at}.end must be after handoff_start", field=f"{at}.end")
        users = item.get("users")
        if not isinstance(users, list) or not users:
            raise ValidationFailed(
                f"{at}.users must list at least one user", field=f"{at}.users", reason="required"
            )
        known = {u.id for u in await User.filter(id__in=[u for u in users if isinstance(u, str)])}
        for j, user_id in enumerate(users):
            if user_id not in known:
                raise ValidationFailed(
                    f"user {user_id} does not exist", field=f"{at}.users[{j}]", reason="not_found"
                )
        restrictions = []
        for k, restriction in enumerate(item.get("restrictions") or []):
            where = f"{at}.restrictions[{k}]"
            if not isinstance(restriction, dict):
                raise ValidationFailed(f"{where} must be an object", field=where)
            days = restriction.get("days") or list(rotation.DAYS)
            for day in days:
                validation.choice(day, f"{where}.days", rotation.DAYS)
            begin = _clock_time(restriction.get("start_time"), f"{where}.start_time")
            finish = _clock_time(restriction.get("end_time"), f"{where}.end_time")
            if begin == finish:
                raise ValidationFailed(
                    f"{where}.end_time must differ from start_time", field=f"{where}.end_time"
                )
            restrictions.append(
                {"days": sorted(set(days), key=rotation.DAYS.index),
                 "start_time": begin.strftime("%H:%M"), "end_time": finish.strftime("%H:%M")}
            )  # fmt: skip
        name = validation.text(item.get("name") or f"Layer {i + 1}", f"{at}.name", max_length=100)
        drafts.append(
            _LayerDraft(
                id=item.get("id"),
                name=name,
                rotation_type=kind,
                length_hours=length,
                handoff_start=start.isoformat(),
                end=None if end is None else end.isoformat(),
                users=list(users),
                restrictions=restrictions,
            )
        )
    return drafts


async def _write_layers(schedule: Schedule, drafts: list[_LayerDraft]) -> None:
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


async def _apply(schedule: Schedule, fields: dict[str, Any]) -> list[str]:
    changed = []
    if "name" in fields:
        schedule.name = validation.text(fields["name"], "name", max_length=100)
        schedule.name_key = schedule.name.lower()
        changed += ["name", "name_key"]
    if "description" in fields:
        schedule.description = validation.optional_text(  # type: ignore[assignment]
            fields["description"], "description", max_length=5000
        )
        changed.append("description")
    if "time_zone" in fields:
        schedule.time_zone = validation.time_zone(fields["time_zone"])
        changed.append("time_zone")
    if "team_id" in fields:
        team_id = fields["team_id"]
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
        for layer in await _layers_of(schedule)
    ]  # fmt: skip
    return {**audit.snapshot(schedule, AUDITED), "layers": layers}


async def create_schedule(principal: Principal, fields: dict[str, Any]) -> Schedule:
    principal.require("schedules:write")
    if fields.get("time_zone") is None:
        raise ValidationFailed("time_zone is required", field="time_zone", reason="required")
    now = clock.now()
    schedule = Schedule(created_at=now, updated_at=now)
    await _apply(schedule, {"name": fields.get("name"), **fields})
    drafts = await _layers(fields.get("layers") or [])
    async with in_transaction(), unique_field("name", schedule.name):
        await schedule.save()
        await _write_layers(schedule, drafts)
        await audit.record(principal, "schedule.created", "schedule", schedule.id, None,
                           await audited(schedule))  # fmt: skip
    return schedule


async def update_schedule(
    principal: Principal, schedule_id: str, fields: dict[str, Any]
) -> Schedule:
    principal.require("schedules:write")
    schedule = await _get(schedule_id)
    before = await audited(schedule)
    changed = await _apply(schedule, fields)
    drafts = None if fields.get("layers") is None else await _layers(fields["layers"])
    schedule.updated_at = clock.now()
    async with in_transaction(), unique_field("name", schedule.name):
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
    schedule = await _get(schedule_id)
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
    async with in_transaction():
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
    schedule = await _get(schedule_id)
    return await page_of(
        ScheduleOverride.filter(schedule_id=schedule.id), limit, offset, "start", "id"
    )


async def create_override(
    principal: Principal, schedule_id: str, fields: dict[str, Any]
) -> ScheduleOverride:
    principal.require("schedules:write")
    schedule = await _get(schedule_id)
    for name in ("start", "end", "user_id"):
        if fields.get(name) is None:
            raise ValidationFailed(f"{name} is required", field=name, reason="required")
    start = validation.aware(fields["start"], "start")
    end = validation.aware(fields["end"], "end")
    if end <= start:
        raise ValidationFailed("end must be after start", field="end")
    user = validation.referenced(
        await User.get_or_none(id=fields["user_id"]), fields["user_id"], "user_id", "user"
    )
    replaces = fields.get("replaces_user_id")
    if replaces is not None:
        validation.referenced(
            await User.get_or_none(id=replaces), replaces, "replaces_user_id", "user"
        )
    async with in_transaction():
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
    async with in_transaction():
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


# --- on call -------------------------------------------------------------------------------


def _restriction(raw: dict[str, Any]) -> rotation.Restriction:
    return rotation.Restriction(
        days=frozenset(rotation.DAYS.index(d) for d in raw["days"]),
        start=time.fromisoformat(raw["start_time"]),
        end=time.fromisoformat(raw["end_time"]),
    )


async def _layers_of(schedule: Schedule) -> list[rotation.Layer]:
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
            restrictions=tuple(_restriction(r) for r in row.restrictions),
            end=None if row.end is None else datetime.fromisoformat(row.end),
        )
        for row, users in zip(layer_rows, members, strict=True)
    ]


async def _overrides_of(
    schedule: Schedule, since: datetime, until: datetime
) -> list[rotation.Override]:
    """The schedule's overrides that overlap [since, until)."""
    rows = await ScheduleOverride.filter(schedule_id=schedule.id, start__lt=until, end__gt=since)
    # The database's datetimes carry their own UTC tzinfo; the on-call math wants one.
    return [
        rotation.Override(
            o.id,
            o.user_id,  # type: ignore[attr-defined]
            o.start.astimezone(UTC),
            o.end.astimezone(UTC),
            o.replaces_user_id,  # type: ignore[attr-defined]
        )
        for o in rows
    ]


async def render_schedule(
    principal: Principal, schedule_id: str, since: datetime, until: datetime
) -> rotation.Rendered:
    """The final shifts and gaps of a schedule in [since, until) (at most 93 days)."""
    principal.require("schedules:read")
    validation.aware(since, "since")
    validation.aware(until, "until")
    if until <= since:
        raise ValidationFailed("until must be after since", field="until")
    if until - since > MAX_RANGE:
        raise ValidationFailed(
            "the range may span at most 93 days", field="until", reason="out_of_range"
        )
    return await final_schedule(await _get(schedule_id), since, until)


async def final_schedule(schedule: Schedule, since: datetime, until: datetime) -> rotation.Rendered:
    """The final shifts and gaps of a schedule in [since, until)."""
    layers = await _layers_of(schedule)
    overrides = await _overrides_of(schedule, since, until)
    return rotation.render(ZoneInfo(schedule.time_zone), layers, overrides, since, until)


async def _current(schedule: Schedule, at: datetime) -> rotation.Shift | None:
    """The shift containing ``at``: from the window kept for its day when that settles
    it, else rendering wider windows (loading only their overrides) until one does."""
    at = at.astimezone(UTC)
    key = (schedule.id, schedule.revision, rotation.utc_day(at))
    window = cache.windows.get(key)
    current, settled = (None, False) if window is None else window.shift_at(at)
    if not settled:
        zone, layers = ZoneInfo(schedule.time_zone), await _layers_of(schedule)
        for since, until, widest in rotation.lookup_windows(layers, at, MAX_RANGE):
            if window is not None and window.covers(since, until):
                continue
            overrides = await _overrides_of(schedule, since, until)
            window = rotation.render_window(zone, layers, overrides, since, until, widest=widest)
            current, settled = window.shift_at(at)
            if settled:
                break
        assert window is not None
        cache.windows.put(key, window)
    return rotation.clipped(current, at, MAX_RANGE)


async def schedule_on_call(
    principal: Principal, schedule_id: str, at: datetime | None
) -> tuple[Schedule, datetime, rotation.Shift | None]:
    principal.require("schedules:read")
    instant = clock.now() if at is None else validation.aware(at, "at")
    schedule = await _get(schedule_id)
    return schedule, instant, await _current(schedule, instant)


async def on_call(
    principal: Principal, at: datetime | None, schedule_id: str | None, user_id: str | None
) -> list[tuple[Schedule, rotation.Shift]]:
    """Who is on call at ``at`` across schedules (optionally one schedule or one user)."""
    principal.require("schedules:read")
    instant = clock.now() if at is None else validation.aware(at, "at")
    return [
        (schedule, shift)
        for schedule, shift in await current_shifts(instant, schedule_id)
        if user_id is None or shift.user_id == user_id
    ]


async def current_shifts(
    at: datetime, schedule_id: str | None = None
) -> list[tuple[Schedule, rotation.Shift]]:
    """Every schedule's shift at ``at`` (schedules in a gap left out), by name."""
    query = Schedule.all() if schedule_id is None else Schedule.filter(id=schedule_id)
    entries = []
    for schedule in await query.order_by("name_key", "id"):
        shift = await _current(schedule, at)
        if shift is not None:
            entries.append((schedule, shift))
    return entries


async def on_call_user_ids(schedule_id: str, at: datetime) -> list[str]:
    """Who is on call on one schedule at ``at`` (no one if it is gone or in a gap)."""
    schedule = await Schedule.get_or_none(id=schedule_id)
    if schedule is None:
        return []
    shift = await _current(schedule, at)
    return [] if shift is None else [shift.user_id]
