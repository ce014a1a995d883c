"""Maintenance windows: create, list, change, delete; which services are in one now;
and the work at a window's end (``sweep``).

While a service is in a window, an event that would open an incident opens it
SUPPRESSED (stored with its alert, seen on the board, pages no one); later events fold
into it as usual. An incident already open keeps its state. At the end of each span,
once: with ``resolve_on_end`` the window's incidents still SUPPRESSED are resolved; with
``reopen_on_end`` they open and escalate from step 1; otherwise they stay SUPPRESSED
for a person to decide.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from typing import Any

from tortoise.expressions import Q

from opsknight import clock, validation
from opsknight.audit import service as audit
from opsknight.auth.principal import Principal
from opsknight.directory.models import Service
from opsknight.errors import ValidationFailed
from opsknight.escalation import engine
from opsknight.incidents import timeline
from opsknight.incidents.commands import move_status
from opsknight.incidents.models import Incident
from opsknight.inputs import UNSET, Unset
from opsknight.maintenance.models import MaintenanceWindow
from opsknight.maintenance.spans import DAYS, Definition, ends_between, span_at
from opsknight.paging import Page, page_of
from opsknight.records import get_or_404
from opsknight.transaction import atomic

MAX_SERVICES = 100
AUDITED = ("name", "service_ids", "starts_at", "ends_at", "days", "start_time",
           "duration_minutes", "time_zone", "until", "resolve_on_end", "reopen_on_end")  # fmt: skip
MAX_MINUTES = 7 * 24 * 60


def definition(window: MaintenanceWindow) -> Definition:
    if window.starts_at is not None:
        return Definition(starts_at=window.starts_at, ends_at=window.ends_at)
    hours, minutes = (int(part) for part in (window.start_time or "00:00").split(":"))
    return Definition(
        days=frozenset(DAYS.index(d) for d in window.days), start_time=time(hours, minutes),
        duration=timedelta(minutes=window.duration_minutes or 0), time_zone=window.time_zone,
        until=window.until,
    )  # fmt: skip


def current_span(
    window: MaintenanceWindow, at: datetime | None = None
) -> tuple[datetime, datetime] | None:
    return span_at(definition(window), at or clock.now())


async def _unfinished() -> list[MaintenanceWindow]:
    now = clock.now()
    return list(
        await MaintenanceWindow.filter(
            Q(ends_at__isnull=True, until__isnull=True)
            | Q(ends_at__gt=now)
            | Q(ends_at__isnull=True, until__gt=now - timedelta(minutes=MAX_MINUTES))
        )
    )


async def suppressing(service_ids: set[str]) -> dict[str, str]:
    """For each of these services in a window now: the window's id."""
    now = clock.now()
    found: dict[str, str] = {}
    for window in await _unfinished():
        wanted = service_ids.intersection(window.service_ids)
        if wanted and current_span(window, now) is not None:
            found.update(dict.fromkeys(wanted, window.id))
    return found


def _instant(value: Any, field: str) -> datetime:
    """A moment the schema's DateTime scalar parsed; it must carry its UTC offset."""
    if not isinstance(value, datetime):
        raise ValidationFailed(f"{field} must be a date and time with a UTC offset", field=field)
    return validation.aware(value, field)


async def _services(value: Any) -> list[str]:
    if not isinstance(value, list) or not value:
        raise ValidationFailed("service_ids must list at least one service", field="service_ids")
    if len(value) > MAX_SERVICES:
        raise ValidationFailed(f"at most {MAX_SERVICES} services", field="service_ids")
    wanted = list(dict.fromkeys(str(v) for v in value))
    found = {s.id for s in await Service.filter(id__in=wanted).only("id")}
    for service_id in wanted:
        if service_id not in found:
            raise ValidationFailed(
                f"service {service_id[:60]} does not exist", field="service_ids",
                reason="not_found",
            )  # fmt: skip
    return wanted


def _start_time(value: Any) -> str:
    try:
        parsed = time.fromisoformat(str(value))
    except ValueError:
        raise ValidationFailed("start_time must be HH:MM", field="start_time") from None
    return parsed.strftime("%H:%M")


@dataclass(frozen=True)
class WindowFields:
    """What creating or changing a maintenance window takes (UNSET: not sent; None
    clears ``until`` and the one-off span)."""

    name: str | Unset | None = UNSET
    service_ids: list[str] | Unset | None = UNSET
    starts_at: datetime | Unset | None = UNSET
    ends_at: datetime | Unset | None = UNSET
    days: list[str] | Unset | None = UNSET
    start_time: str | Unset | None = UNSET
    duration_minutes: int | Unset | None = UNSET
    time_zone: str | Unset | None = UNSET
    until: datetime | Unset | None = UNSET
    resolve_on_end: bool | Unset | None = UNSET
    reopen_on_end: bool | Unset | None = UNSET


async def _apply(window: MaintenanceWindow, fields: WindowFields) -> None:
    """Check and set the given fields, then the whole window's consistency."""
    if fields.name is not UNSET:
        window.name = validation.text(fields.name, "name", max_length=255)
    if fields.service_ids is not UNSET:
        window.service_ids = await _services(fields.service_ids)
    for name in ("starts_at", "ends_at", "until"):
        value = getattr(fields, name)
        if value is not UNSET:
            setattr(window, name, None if value is None else _instant(value, name))
    if fields.days is not UNSET and fields.days is not None:
        days = fields.days
        if not isinstance(days, list) or not days:
            raise ValidationFailed("days must list at least one of " + ", ".join(DAYS),
                                   field="days")  # fmt: skip
        window.days = [validation.choice(str(d).upper(), "days", DAYS) for d in days]
    if fields.start_time is not UNSET and fields.start_time is not None:
        window.start_time = _start_time(fields.start_time)
    if fields.duration_minutes is not UNSET and fields.duration_minutes is not None:
        window.duration_minutes = validation.number(
            fields.duration_minutes, "duration_minutes", minimum=1, maximum=MAX_MINUTES
        )
    if fields.time_zone is not UNSET and fields.time_zone is not None:
        window.time_zone = validation.time_zone(fields.time_zone)
    for name in ("resolve_on_end", "reopen_on_end"):
        value = getattr(fields, name)
        if value is not UNSET and value is not None:
            setattr(window, name, bool(value))
    _check_whole(window)


def _check_whole(window: MaintenanceWindow) -> None:
    if window.resolve_on_end and window.reopen_on_end:
        raise ValidationFailed(
            "choose resolve_on_end or reopen_on_end, not both", field="reopen_on_end"
        )
    if window.starts_at is not None or window.ends_at is not None:  # one span
        if window.starts_at is None or window.ends_at is None:
            field = "ends_at" if window.ends_at is None else "starts_at"
            raise ValidationFailed(f"{field} is required with a one-off window", field=field)
        if window.ends_at <= window.starts_at:
            raise ValidationFailed("ends_at must be after starts_at", field="ends_at")
        if window.days or window.start_time or window.duration_minutes:
            raise ValidationFailed(
                "a window is one-off (starts_at, ends_at) or weekly (days, start_time, "
                "duration_minutes), not both", field="days",
            )  # fmt: skip
        return
    for name in ("days", "start_time", "duration_minutes"):
        if not getattr(window, name):
            raise ValidationFailed(
                f"{name} is required (or starts_at and ends_at for a one-off window)",
                field=name,
            )  # fmt: skip


async def _no_overlap(window: MaintenanceWindow) -> None:
    """One-off windows of a service may not overlap (weekly ones are not compared)."""
    if window.starts_at is None:
        return
    others = await MaintenanceWindow.filter(
        starts_at__lt=window.ends_at, ends_at__gt=window.starts_at
    ).exclude(id=window.id)
    for other in others:
        shared = set(other.service_ids).intersection(window.service_ids)
        if shared:
            raise ValidationFailed(
                f"it overlaps maintenance window {other.id} ({other.name}) on service "
                f"{sorted(shared)[0]}", field="starts_at", reason="overlap",
            )  # fmt: skip


async def create_window(principal: Principal, fields: WindowFields) -> MaintenanceWindow:
    principal.require("maintenance:write")
    now = clock.now()
    window = MaintenanceWindow(created_at=now, updated_at=now)
    # A window always has a name and services: ones not sent are checked as missing.
    required = {k: None for k in ("name", "service_ids") if getattr(fields, k) is UNSET}
    await _apply(window, replace(fields, **required))
    async with atomic():
        await _no_overlap(window)
        # Spans that ended before the window existed have nothing to do.
        window.handled_until = now
        await window.save()
        after = audit.snapshot(window, AUDITED)
        await audit.record(principal, "maintenance_window.created", "maintenance_window",
                           window.id, None, after)  # fmt: skip
    return window


async def update_window(
    principal: Principal, window_id: str, fields: WindowFields
) -> MaintenanceWindow:
    principal.require("maintenance:write")
    async with atomic():
        window = await get_or_404(MaintenanceWindow, window_id, "maintenance window")
        before = audit.snapshot(window, AUDITED)
        await _apply(window, fields)
        await _no_overlap(window)
        window.updated_at = clock.now()
        await window.save()
        await audit.record(principal, "maintenance_window.updated", "maintenance_window",
                           window.id, before, audit.snapshot(window, AUDITED))  # fmt: skip
    return window


async def delete_window(principal: Principal, window_id: str) -> str:
    """Delete a window; its incidents stay as they are."""
    principal.require("maintenance:write")
    async with atomic():
        window = await get_or_404(MaintenanceWindow, window_id, "maintenance window")
        await window.delete()
        await audit.record(principal, "maintenance_window.deleted", "maintenance_window",
                           window.id, audit.snapshot(window, AUDITED), None)  # fmt: skip
    return window_id


async def get_window(principal: Principal, window_id: str) -> MaintenanceWindow:
    principal.require("maintenance:read")
    return await get_or_404(MaintenanceWindow, window_id, "maintenance window")


async def list_windows(
    principal: Principal, *, service_id: str | None, limit: int | None, offset: int | None
) -> Page[MaintenanceWindow]:
    principal.require("maintenance:read")
    query = MaintenanceWindow.all()
    if service_id:
        # Windows are few; JSON containment differs between the databases.
        ids = [w.id for w in await MaintenanceWindow.all().only("id", "service_ids")
               if service_id in w.service_ids]  # fmt: skip
        query = query.filter(id__in=ids)
    return await page_of(query, limit, offset, "created_at", "id")


async def _end_span(window: MaintenanceWindow, end: datetime) -> int:
    """Claim the span ending at ``end`` and do its end-of-window work; how many incidents
    changed (0 when another process claimed it first)."""
    async with atomic():
        claimed = await MaintenanceWindow.filter(
            Q(handled_until__isnull=True) | Q(handled_until__lt=end), id=window.id
        ).update(handled_until=end)
        if not claimed or not (window.resolve_on_end or window.reopen_on_end):
            return 0
        target = "RESOLVED" if window.resolve_on_end else "OPEN"
        incidents = await Incident.filter(
            maintenance_window_id=window.id, status="SUPPRESSED", created_at__lt=end
        ).select_for_update()
        for incident in incidents:
            details = {"maintenance_window_id": window.id, "reason": "window ended"}
            await move_status(incident, target, timeline.SYSTEM, details)
            await engine.schedule_armed(incident)
        return len(incidents)


async def sweep(limit: int = 1000) -> int:
    """Run the end-of-window work of every span that ended since it was last done (ends
    missed for more than a week, e.g. while nothing ran, are let go)."""
    now = clock.now()
    changed = 0
    recent = await MaintenanceWindow.filter(
        Q(ends_at__isnull=True) | Q(ends_at__gt=now - timedelta(days=7))
    ).limit(limit)
    for window in recent:
        since = window.handled_until or window.created_at
        for end in ends_between(definition(window), since, now):
            changed += await _end_span(window, end)
    return changed
