"""Triggers held by an event rule's ``suspend_seconds``: a transient blip never pages.

A held trigger waits in ``suspended_events`` (a timer in the database). A resolve for its
dedup key before it is due cancels it: no incident ever opens. Otherwise, when due, it
is ingested as it would have been on arrival (``events/release.py``). Later triggers for
the same key while one is held wait with it and are released with it, in order.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Any

from opsknight import clock
from opsknight.events.payload import Event
from opsknight.events.routing import Target
from opsknight.rules.models import SuspendedEvent


def _pending(target: Target, event: Event) -> Any:
    return SuspendedEvent.filter(
        service_id=target.service.id, dedup_key=event.dedup_key,
        environment=target.environment, status="PENDING",
    )  # fmt: skip


def stored(event: Event) -> dict[str, Any]:
    fields = dataclasses.asdict(event)
    fields["timestamp"] = event.timestamp.isoformat() if event.timestamp else None
    fields["suspend_seconds"] = 0  # released, it opens at once
    return fields


def rebuilt(fields: dict[str, Any]) -> Event:
    values = dict(fields)
    if values.get("timestamp"):
        values["timestamp"] = datetime.fromisoformat(values["timestamp"])
    values["notes"] = [tuple(note) for note in values.get("notes") or []]
    return Event(**values)


async def hold(target: Target, event: Event) -> None:
    """Hold a trigger (inside the event's transaction) until its key's due time."""
    now = clock.now()
    waiting = await _pending(target, event).order_by("due_at").first()
    if waiting is not None:
        due = waiting.due_at
    else:
        due = now + clock.scaled(timedelta(seconds=event.suspend_seconds))
    event.trace.append({"step": "suspended", "until": clock.isoformat_z(due)})
    await SuspendedEvent.create(
        service_id=target.service.id, environment=target.environment,
        dedup_key=event.dedup_key, integration=target.integration, actor=target.actor,
        event=stored(event), due_at=due, received_at=now,
    )  # fmt: skip


async def cancel(target: Target, event: Event) -> bool:
    """A resolve for a held key: its held triggers never open an incident."""
    cancelled: int = await _pending(target, event).update(
        status="CANCELLED", settled_at=clock.now()
    )
    return cancelled > 0
