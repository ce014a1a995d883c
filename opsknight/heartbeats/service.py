"""Heartbeats: each belongs to a service and expects a ping (its token is the
credential, like an integration key) at least every interval plus grace. When one is
missed, an incident opens on the service (dedup key ``heartbeat:<id>``, so it opens
once); the next ping resolves it. The due time is a column, claimed by a conditional
update together with the incident it opens, so the miss is reported exactly once
whichever process's sweeper sees it first.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

from opsknight import clock, validation
from opsknight.audit import service as audit
from opsknight.auth import keys
from opsknight.auth.principal import Principal
from opsknight.directory.models import Service
from opsknight.errors import NotFound
from opsknight.events.ingest import Outcome, ingest
from opsknight.events.payload import parse_event
from opsknight.events.routing import Target
from opsknight.heartbeats.models import Heartbeat
from opsknight.inputs import UNSET, Unset
from opsknight.paging import Page, page_of
from opsknight.records import get_or_404
from opsknight.transaction import atomic

MIN_INTERVAL = 10
AUDITED = ("service_id", "name", "interval_seconds", "grace_seconds", "token")
MAX_INTERVAL = 7 * 24 * 3600
MAX_GRACE = 24 * 3600


def dedup_key(heartbeat: Heartbeat) -> str:
    return f"heartbeat:{heartbeat.id}"


def _window(heartbeat: Heartbeat) -> timedelta:
    return clock.scaled(timedelta(seconds=heartbeat.interval_seconds + heartbeat.grace_seconds))


@dataclass(frozen=True)
class HeartbeatFields:
    """What creating or changing a heartbeat takes (UNSET: not sent)."""

    service_id: str | Unset | None = UNSET  # on create only
    name: str | Unset | None = UNSET
    interval_seconds: int | Unset | None = UNSET
    grace_seconds: int | Unset | None = UNSET


def _apply(heartbeat: Heartbeat, fields: HeartbeatFields) -> None:
    if fields.name is not UNSET:
        heartbeat.name = validation.text(fields.name, "name", max_length=255)
    if fields.interval_seconds is not UNSET and fields.interval_seconds is not None:
        heartbeat.interval_seconds = validation.number(
            fields.interval_seconds, "interval_seconds", minimum=MIN_INTERVAL,
            maximum=MAX_INTERVAL,
        )  # fmt: skip
    if fields.grace_seconds is not UNSET and fields.grace_seconds is not None:
        heartbeat.grace_seconds = validation.number(
            fields.grace_seconds, "grace_seconds", minimum=0, maximum=MAX_GRACE
        )


async def create_heartbeat(principal: Principal, fields: HeartbeatFields) -> Heartbeat:
    principal.require("services:write")
    service_id = str(fields.service_id or "")
    service = validation.referenced(
        await Service.get_or_none(id=service_id), service_id or "None", "service_id", "service"
    )
    now = clock.now()
    heartbeat = Heartbeat(service=service, token=keys.integration_key(), created_at=now,
                          updated_at=now, interval_seconds=0)  # fmt: skip
    interval = None if fields.interval_seconds is UNSET else fields.interval_seconds
    validation.number(interval, "interval_seconds", minimum=MIN_INTERVAL, maximum=MAX_INTERVAL)
    # A heartbeat always has a name: one not sent is checked as missing.
    _apply(heartbeat, replace(fields, name=None) if fields.name is UNSET else fields)
    heartbeat.due_at = now + _window(heartbeat)
    async with atomic():
        await heartbeat.save()
        await audit.record(principal, "heartbeat.created", "heartbeat", heartbeat.id, None,
                           audit.snapshot(heartbeat, AUDITED))  # fmt: skip
    return heartbeat


async def update_heartbeat(
    principal: Principal, heartbeat_id: str, fields: HeartbeatFields
) -> Heartbeat:
    principal.require("services:write")
    async with atomic():
        heartbeat = await get_or_404(Heartbeat, heartbeat_id, "heartbeat")
        before = audit.snapshot(heartbeat, AUDITED)
        _apply(heartbeat, fields)
        if heartbeat.status != "DOWN":  # a new interval counts from the last sign of life
            heartbeat.due_at = (heartbeat.last_ping_at or heartbeat.created_at) + _window(heartbeat)
        heartbeat.updated_at = clock.now()
        await heartbeat.save()
        await audit.record(principal, "heartbeat.updated", "heartbeat", heartbeat.id, before,
                           audit.snapshot(heartbeat, AUDITED))  # fmt: skip
    return heartbeat


async def delete_heartbeat(principal: Principal, heartbeat_id: str) -> str:
    """Delete a heartbeat; an incident it opened stays open for a person to resolve."""
    principal.require("services:write")
    async with atomic():
        heartbeat = await get_or_404(Heartbeat, heartbeat_id, "heartbeat")
        await heartbeat.delete()
        await audit.record(principal, "heartbeat.deleted", "heartbeat", heartbeat.id,
                           audit.snapshot(heartbeat, AUDITED), None)  # fmt: skip
    return heartbeat_id


async def get_heartbeat(principal: Principal, heartbeat_id: str) -> Heartbeat:
    principal.require("services:read")
    return await get_or_404(Heartbeat, heartbeat_id, "heartbeat")


async def list_heartbeats(
    principal: Principal, *, service_id: str | None, limit: int | None, offset: int | None
) -> Page[Heartbeat]:
    principal.require("services:read")
    query = Heartbeat.all()
    if service_id:
        query = query.filter(service_id=service_id)
    return await page_of(query, limit, offset, "created_at", "id")


def _target(heartbeat: Heartbeat, service: Service) -> Target:
    actor = {"type": "heartbeat", "id": heartbeat.id, "name": heartbeat.name}
    return Target(service, None, "live", actor)


async def ping(token: str) -> Heartbeat:
    """A sign of life: the heartbeat is due again one interval (plus grace) from now, and
    the incident a miss opened is resolved."""
    async with atomic():
        heartbeat = None
        if len(token) <= 64:  # anything longer is no token: the database need not look
            heartbeat = (
                await Heartbeat.filter(token=token)
                .select_for_update()
                .prefetch_related("service")
                .first()
            )
        if heartbeat is None:
            raise NotFound("no heartbeat has this token")
        now = clock.now()
        was_down = heartbeat.status == "DOWN"
        heartbeat.status, heartbeat.last_ping_at = "UP", now
        heartbeat.due_at = now + _window(heartbeat)
        await heartbeat.save(update_fields=["status", "last_ping_at", "due_at"])
        if was_down:
            event = parse_event({"event_action": "resolve", "dedup_key": dedup_key(heartbeat)})
            await ingest(_target(heartbeat, heartbeat.service), event)
    return heartbeat


async def _miss(heartbeat: Heartbeat) -> Outcome | None:
    """Claim this miss and open its incident, in one transaction; None when another
    process claimed it (or a ping came) first."""
    async with atomic():
        claimed = await Heartbeat.filter(
            id=heartbeat.id, due_at=heartbeat.due_at, status__in=("NEW", "UP")
        ).update(status="DOWN")
        if not claimed:
            return None
        since = heartbeat.last_ping_at or heartbeat.created_at
        event = parse_event({
            "event_action": "trigger", "dedup_key": dedup_key(heartbeat),
            "payload": {
                "summary": f"Heartbeat {heartbeat.name} missed: no ping since "
                           f"{clock.isoformat_z(since)}",
                "source": "opsknight heartbeat", "severity": "critical",
                "custom_details": {"heartbeat_id": heartbeat.id,
                                   "interval_seconds": heartbeat.interval_seconds,
                                   "grace_seconds": heartbeat.grace_seconds},
            },
        })  # fmt: skip
        return await ingest(_target(heartbeat, heartbeat.service), event)


async def sweep(limit: int = 100) -> int:
    """Open the incident of every heartbeat past its due time; how many opened."""
    due = (
        await Heartbeat.filter(status__in=("NEW", "UP"), due_at__lte=clock.now())
        .prefetch_related("service")
        .limit(limit)
    )
    opened = 0
    for heartbeat in due:
        if await _miss(heartbeat) is not None:
            opened += 1
    return opened
