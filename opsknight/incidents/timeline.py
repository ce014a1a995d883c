"""Timeline entries: one per change, written in the change's transaction."""

from __future__ import annotations

from typing import Any

from opsknight import clock, ids
from opsknight.db import insert_rows
from opsknight.incidents.announce import announce
from opsknight.incidents.models import Incident, TimelineEvent

TYPES = (
    "created", "alert_added", "acknowledged", "unacknowledged", "resolved", "reopened",
    "snoozed", "unsnoozed", "suppressed", "unsuppressed", "escalation", "notification_sent",
    "notification_failed", "assigned", "reassigned", "urgency_changed", "priority_changed",
    "note_added", "merged", "linked", "reminder", "notification_shadowed",
)  # fmt: skip

SYSTEM: dict[str, str] = {"type": "system"}


async def record(
    incident: Incident, kind: str, actor: dict[str, str], details: dict[str, Any] | None = None
) -> TimelineEvent:
    """Append one entry, and the webhook deliveries it calls for; call it inside the
    transaction that makes the change."""
    event = entry(incident.id, kind, actor, details)
    await event.save()
    await announce([(incident, event)])
    return event


async def record_all(
    incident: Incident, actor: dict[str, str], changes: list[tuple[str, dict[str, Any]]]
) -> None:
    """``record`` for the several changes of one update: one insert, one announcement."""
    events = [entry(incident.id, kind, actor, details) for kind, details in changes]
    if events:
        await TimelineEvent.bulk_create(events)
        await announce([(incident, event) for event in events])


async def record_rows(changes: list[tuple[Incident, dict[str, Any]]]) -> None:
    """Entries made by ``entry_row`` for any incidents: one insert, one announcement."""
    if changes:
        await insert_rows(TimelineEvent, [row for _, row in changes])
        await announce([(incident, TimelineEvent(**row)) for incident, row in changes])


def entry(
    incident_id: str, kind: str, actor: dict[str, str], details: dict[str, Any] | None = None
) -> TimelineEvent:
    """An unsaved entry, for callers that write many at once (``bulk_create``); they
    pass the saved entries to ``incidents.announce.announce`` themselves."""
    return TimelineEvent(**entry_row(incident_id, kind, actor, details))


def entry_row(
    incident_id: str, kind: str, actor: dict[str, str], details: dict[str, Any] | None = None
) -> dict[str, Any]:
    """An entry as a plain row (``db.insert_rows``), its id made."""
    if kind not in TYPES:
        raise ValueError(f"unknown timeline type {kind}")
    if actor.get("via"):  # a person acting through a page's link: which channel
        details = {**(details or {}), "via": actor["via"]}
    return {
        "id": ids.new_id(TimelineEvent.id_prefix),
        "incident_id": incident_id,
        "type": kind,
        "timestamp": clock.now(),
        "actor_type": actor["type"],
        "actor_id": actor.get("id"),
        "actor_name": actor.get("name"),
        "details": details or {},
    }


def actor_of(event: TimelineEvent) -> dict[str, str]:
    actor = {"type": event.actor_type}
    if event.actor_id:
        actor["id"] = event.actor_id
    if event.actor_name:
        actor["name"] = event.actor_name
    return actor
