"""Changing incidents: create, update (the state machine), notes, delete, snooze expiry."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F

from opsknight import clock, inputs, validation
from opsknight.analytics import rollups
from opsknight.auth.principal import Principal
from opsknight.directory.models import Service, Team, User
from opsknight.errors import Conflict, InvalidStatus, ValidationFailed
from opsknight.escalation import engine
from opsknight.incidents import behaviours, timeline
from opsknight.incidents.models import IdempotencyRecord, Incident, IncidentCounter, Note
from opsknight.incidents.queries import etag_of, find_incident
from opsknight.incidents.states import PRIORITIES, STATUSES, URGENCIES, can_move, timeline_type
from opsknight.inputs import UNSET, Unset, or_none
from opsknight.jobs import queue
from opsknight.transaction import atomic

MAX_SNOOZE_MINUTES = 10080
IDEMPOTENCY_WINDOW = timedelta(hours=24)
SNOOZE_JOB = "end_snooze"


async def reserve_numbers(environment: str, count: int) -> list[int]:
    """The next ``count`` incident numbers of an environment; call inside a transaction.

    The counter rows are seeded by a migration; the UPDATE's row lock serialises writers.
    """
    await IncidentCounter.filter(environment=environment).update(value=F("value") + count)
    counter = await IncidentCounter.get(environment=environment)
    return list(range(counter.value - count + 1, counter.value + 1))


async def _user(value: Any, field: str) -> User:
    found = await User.get_or_none(id=value) if isinstance(value, str) else None
    return validation.referenced(found, str(value), field, "user")


async def _team(value: Any, field: str) -> Team:
    found = await Team.get_or_none(id=value) if isinstance(value, str) else None
    return validation.referenced(found, str(value), field, "team")


@dataclass(frozen=True)
class NewIncident:
    """What opening an incident by hand takes (UNSET: not sent)."""

    title: str | Unset | None = UNSET
    service_id: str | Unset | None = UNSET
    description: str | Unset | None = UNSET
    urgency: str | Unset | None = UNSET
    priority: str | Unset | None = UNSET
    assignee_id: str | Unset | None = UNSET
    assigned_team_id: str | Unset | None = UNSET
    dedup_key: str | Unset | None = UNSET
    custom_details: dict[str, Any] | Unset | None = UNSET
    links: list[Any] | Unset | None = UNSET
    suppress_notifications: bool | Unset | None = UNSET
    source: str | Unset | None = UNSET


@dataclass(frozen=True)
class IncidentChange:
    """What a PATCH of an incident takes (UNSET: not sent; None clears where allowed)."""

    status: str | Unset | None = UNSET
    urgency: str | Unset | None = UNSET
    priority: str | Unset | None = UNSET
    assignee_id: str | Unset | None = UNSET
    assigned_team_id: str | Unset | None = UNSET
    title: str | Unset | None = UNSET
    description: str | Unset | None = UNSET
    custom_details: dict[str, Any] | Unset | None = UNSET
    snooze_duration: int | Unset | None = UNSET
    resolution_note: str | Unset | None = UNSET


@dataclass(frozen=True)
class NoteFields:
    content: str | None = None
    is_internal: bool | Unset | None = UNSET


def _request_hash(fields: NewIncident) -> str:
    # The fields sent, by name: a retry sends the same ones.
    sent = inputs.sent(fields)
    canonical = json.dumps(sent, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


async def create_incident(
    principal: Principal, fields: NewIncident, idempotency_key: str | None = None
) -> Incident:
    """Open an incident by hand. With an idempotency key, a retry returns the first incident."""
    principal.require("incidents:write")
    scope = principal.api_key_id or principal.user_id
    request_hash = _request_hash(fields)
    if idempotency_key is not None:
        idempotency_key = validation.text(idempotency_key, "Idempotency-Key", max_length=255)
        replay = await _replay(scope, idempotency_key, request_hash, principal)
        if replay is not None:
            return replay

    title = validation.text(or_none(fields.title), "title", max_length=255)
    service_id = or_none(fields.service_id)
    if service_id is None:
        raise ValidationFailed("service_id is required", field="service_id", reason="required")
    service = validation.referenced(
        await Service.get_or_none(id=service_id), service_id, "service_id", "service"
    )
    now = clock.now()
    incident = Incident(
        environment=principal.environment,
        title=title,
        description=validation.optional_text(
            or_none(fields.description), "description", max_length=65536
        ),
        status="OPEN",
        urgency=validation.choice(or_none(fields.urgency) or "LOW", "urgency", URGENCIES),
        service=service,
        source=validation.optional_text(or_none(fields.source), "source", max_length=255),
        dedup_key=validation.optional_text(or_none(fields.dedup_key), "dedup_key", max_length=255),
        custom_details=validation.json_object(
            or_none(fields.custom_details) or {}, "custom_details"
        ),
        links=validation.links(or_none(fields.links) or []),
        suppress_notifications=bool(fields.suppress_notifications),
        created_at=now,
        updated_at=now,
        last_status_change=now,
    )
    if or_none(fields.priority) is not None:
        incident.priority = validation.choice(fields.priority, "priority", PRIORITIES)
    if or_none(fields.assignee_id) is not None:
        incident.assignee = await _user(fields.assignee_id, "assignee_id")
    if or_none(fields.assigned_team_id) is not None:
        incident.assigned_team = await _team(fields.assigned_team_id, "assigned_team_id")
    behaviours.on_open(incident, service)
    try:
        async with atomic():
            (incident.number,) = await reserve_numbers(incident.environment, 1)
            first_steps = await engine.arm_new([incident])
            await incident.save()
            await timeline.record(
                incident,
                "created",
                principal.actor,
                {"title": title, "urgency": incident.urgency, "source": "api"},
            )
            await engine.page_first(first_steps)
            if idempotency_key is not None:
                await IdempotencyRecord.create(
                    scope=scope,
                    key=idempotency_key,
                    request_hash=request_hash,
                    resource_id=incident.id,
                    created_at=now,
                )
    except IntegrityError as exc:
        if idempotency_key is not None:
            replay = await _replay(scope, idempotency_key, request_hash, principal)
            if replay is not None:
                return replay
        raise Conflict(
            "an active incident with this dedup_key already exists on the service",
            {"field": "dedup_key", "reason": "duplicate"},
        ) from exc
    return incident


async def _replay(scope: str, key: str, request_hash: str, principal: Principal) -> Incident | None:
    record = await IdempotencyRecord.get_or_none(scope=scope, key=key)
    if record is None:
        return None
    if clock.now() - record.created_at > IDEMPOTENCY_WINDOW:
        await record.delete()
        return None
    if record.request_hash != request_hash:
        raise Conflict(
            "this Idempotency-Key was used with a different request body",
            {"field": "Idempotency-Key", "reason": "reused"},
        )
    return await find_incident(principal, record.resource_id)


@dataclass
class _Change:
    """The state of one update in progress: the row, its changed columns, its entries."""

    incident: Incident
    columns: set[str]
    entries: list[tuple[str, dict[str, Any]]]

    def set(self, **values: Any) -> None:
        for name, value in values.items():
            setattr(self.incident, name, value)
            self.columns.add(name)


def _apply_status(change: _Change, target: Any, snooze_minutes: Any) -> None:
    incident = change.incident
    target = validation.choice(target, "status", STATUSES)
    if target == "SNOOZED":
        if snooze_minutes is None:
            raise ValidationFailed(
                "snooze_duration is required to snooze", field="snooze_duration", reason="required"
            )
        minutes = validation.number(
            snooze_minutes, "snooze_duration", minimum=1, maximum=MAX_SNOOZE_MINUTES
        )
    elif snooze_minutes is not None:
        raise ValidationFailed(
            "snooze_duration is only allowed with status SNOOZED", field="snooze_duration"
        )
    if target == incident.status and target != "SNOOZED":
        return
    now = clock.now()
    if target == incident.status:  # re-snooze: a new end
        until = now + clock.scaled(timedelta(minutes=minutes))
        change.set(snoozed_until=until)
        change.entries.append(("snoozed", {"duration_minutes": minutes, "until": until}))
        return
    if not can_move(incident.status, target):
        raise InvalidStatus(
            f"cannot change status from {incident.status} to {target}",
            {"from": incident.status, "to": target},
        )
    details: dict[str, Any] = {"from": incident.status, "to": target}
    kind = timeline_type(incident.status, target)
    change.set(status=target, last_status_change=now, snoozed_until=None)
    change.set(**engine.on_status_change(incident, target))
    change.set(**behaviours.on_status_change(incident, target, now))
    change.set(active=None if target == "RESOLVED" else True)
    if target == "ACKNOWLEDGED":
        change.set(acknowledged_at=now)
    elif target == "RESOLVED":
        change.set(resolved_at=now)
    elif target == "OPEN":
        change.set(acknowledged_at=None, resolved_at=None)
    elif target == "SNOOZED":
        until = now + clock.scaled(timedelta(minutes=minutes))
        change.set(snoozed_until=until)
        details.update(duration_minutes=minutes, until=until)
    change.entries.append((kind, details))


async def _apply_fields(change: _Change, fields: IncidentChange) -> None:
    incident = change.incident
    if fields.urgency is not UNSET:
        urgency = validation.choice(fields.urgency, "urgency", URGENCIES)
        if urgency != incident.urgency:
            change.entries.append(("urgency_changed", {"from": incident.urgency, "to": urgency}))
            change.set(urgency=urgency)
    if fields.priority is not UNSET:
        priority = fields.priority
        if priority is not None:
            priority = validation.choice(priority, "priority", PRIORITIES)
        if priority != incident.priority:
            change.entries.append(("priority_changed", {"from": incident.priority, "to": priority}))
            change.set(priority=priority)
    if fields.assignee_id is not UNSET:
        await _assign(change, "assignee", fields.assignee_id)
    if fields.assigned_team_id is not UNSET:
        await _assign(change, "assigned_team", fields.assigned_team_id)
    if fields.title is not UNSET:
        change.set(title=validation.text(fields.title, "title", max_length=255))
    if fields.description is not UNSET:
        change.set(
            description=validation.optional_text(
                fields.description, "description", max_length=65536
            )
        )
    if or_none(fields.custom_details) is not None:
        extra = validation.json_object(fields.custom_details, "custom_details")
        change.set(custom_details={**incident.custom_details, **extra})


async def _assign(change: _Change, relation: str, value: Any) -> None:
    incident = change.incident
    field = f"{relation}_id"
    current = getattr(incident, field)
    if value == current:
        return
    if value is None:
        target_name = None
    elif relation == "assignee":
        target_name = (await _user(value, field)).name
    else:
        target_name = (await _team(value, field)).name
    kind = "assigned" if current is None else "reassigned"
    key = "user" if relation == "assignee" else "team"
    change.entries.append(
        (
            kind,
            {key: None if value is None else {"id": value, "name": target_name}, "from": current},
        )
    )
    change.set(**{field: value})


async def update_incident(
    principal: Principal,
    incident_id: str,
    fields: IncidentChange,
    if_match: str | None = None,
) -> Incident:
    """Apply a PATCH: status moves per §5.3 and field changes, each with its timeline entry."""
    principal.require("incidents:write")
    resolution_note = or_none(fields.resolution_note)
    if resolution_note is not None:
        resolution_note = validation.text(resolution_note, "resolution_note", max_length=10000)
    if fields.status is None:
        raise ValidationFailed("status may not be null", field="status", reason="required")
    async with atomic():
        incident = await find_incident(principal, incident_id, lock=True)
        if if_match is not None and if_match.strip() not in (etag_of(incident), "*"):
            raise Conflict(
                "the incident changed since it was read (If-Match does not match)",
                {"etag": etag_of(incident)},
            )
        merged_into = incident.merged_into_id  # type: ignore[attr-defined]
        if merged_into is not None:
            raise Conflict(
                f"incident {incident.id} was merged into {merged_into} and is read-only",
                {"merged_into": merged_into},
            )
        change = _Change(incident=incident, columns=set(), entries=[])
        snooze = or_none(fields.snooze_duration)
        if fields.status is not UNSET:
            _apply_status(change, fields.status, snooze)
        elif snooze is not None:
            if incident.status != "SNOOZED":
                raise ValidationFailed(
                    "snooze_duration is only allowed with status SNOOZED", field="snooze_duration"
                )
            _apply_status(change, "SNOOZED", snooze)
        await _apply_fields(change, fields)
        if resolution_note is not None:
            note = await Note.create(
                incident_id=incident.id,
                author_id=principal.user_id,
                content=resolution_note,
                is_internal=False,
                created_at=clock.now(),
            )
            change.entries.append(("note_added", {"note_id": note.id, "resolution": True}))
        await _save(change, principal.actor)
    return incident


async def _save(change: _Change, actor: dict[str, str]) -> None:
    """Write the changed columns and one timeline entry per change; nothing if unchanged."""
    incident = change.incident
    if not change.columns and not change.entries:
        return
    change.set(updated_at=clock.now(), version=incident.version + 1)
    try:
        await incident.save(update_fields=sorted(change.columns))
    except IntegrityError as exc:
        raise Conflict(
            "another active incident with this dedup_key exists on the service",
            {"field": "status", "reason": "duplicate_active"},
        ) from exc
    await timeline.record_all(
        incident, actor, [(kind, _jsonable(details)) for kind, details in change.entries]
    )
    if "escalation_token" in change.columns:
        await engine.schedule_armed(incident)
    if "snoozed_until" in change.columns and incident.snoozed_until is not None:
        until = incident.snoozed_until
        await queue.enqueue_after_commit(
            SNOOZE_JOB, incident.id, clock.isoformat_z(until), at=until
        )


async def move_status(
    incident: Incident, target: str, actor: dict[str, str], details: dict[str, Any]
) -> bool:
    """Move a locked incident to ``target`` inside the caller's transaction.

    Returns False when it is already there; raises INVALID_STATUS when §5.3 forbids it.
    """
    change = _Change(incident=incident, columns=set(), entries=[])
    _apply_status(change, target, None)
    for _, entry_details in change.entries:
        entry_details.update(details)
    await _save(change, actor)
    return bool(change.entries)


def _jsonable(details: dict[str, Any]) -> dict[str, Any]:
    return {k: clock.isoformat_z(v) if hasattr(v, "tzinfo") else v for k, v in details.items()}


async def add_note(principal: Principal, incident_id: str, fields: NoteFields) -> Note:
    principal.require("incidents:write")
    content = validation.text(fields.content, "content", max_length=10000)
    async with atomic():
        incident = await find_incident(principal, incident_id)
        if incident.merged_into_id is not None:  # type: ignore[attr-defined]
            raise Conflict(f"incident {incident.id} was merged and is read-only")
        note = await Note.create(
            incident_id=incident.id,
            author_id=principal.user_id,
            content=content,
            is_internal=bool(fields.is_internal),
            created_at=clock.now(),
        )
        await Incident.filter(id=incident.id).update(
            updated_at=clock.now(), version=F("version") + 1
        )
        await timeline.record(incident, "note_added", principal.actor, {"note_id": note.id})
    return note


async def delete_incident(principal: Principal, incident_id: str) -> str:
    """Remove an incident with its alerts, notes and timeline, for good."""
    principal.require("incidents:delete")
    incident = await find_incident(principal, incident_id)
    async with atomic():
        await Incident.filter(merged_into_id=incident.id).update(merged_into_id=None)
        await incident.delete()
        await rollups.rebuild_days_of([(incident.environment, incident.created_at)])
    return incident_id


async def expire_snoozes() -> int:
    """Return every incident whose snooze has ended to OPEN (the sweeper's pass)."""
    due = await Incident.filter(status="SNOOZED", snoozed_until__lte=clock.now()).values_list(
        "id", "snoozed_until"
    )
    moved = 0
    for incident_id, until in due:
        moved += await end_snooze(incident_id, clock.isoformat_z(until))
    return moved


async def end_snooze(incident_id: str, until: str) -> bool:
    """The job: end the snooze that was set to end at ``until``, if it still is.

    The move is a conditional update on (status, snoozed_until), so two runners never
    both end one snooze, and a snooze that was changed since is left alone. Escalation
    starts again from step 1.
    """
    end = datetime.fromisoformat(until)
    now = clock.now()
    if end > now:  # woke early
        await queue.enqueue(SNOOZE_JOB, incident_id, until, at=end)
        return False
    async with atomic():
        won = await Incident.filter(id=incident_id, status="SNOOZED", snoozed_until=end).update(
            status="OPEN",
            snoozed_until=None,
            last_status_change=now,
            updated_at=now,
            version=F("version") + 1,
        )
        if not won:
            return False
        incident = await Incident.get(id=incident_id)
        restart = engine.on_status_change(incident, "OPEN")
        if restart:
            for name, value in restart.items():
                setattr(incident, name, value)
            await incident.save(update_fields=list(restart))
        await timeline.record(
            incident,
            "unsnoozed",
            timeline.SYSTEM,
            {"from": "SNOOZED", "to": "OPEN", "reason": "snooze_expired"},
        )
        await engine.schedule_armed(incident)
    return True
