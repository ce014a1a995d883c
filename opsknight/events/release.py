"""Releasing held triggers (``events/suspend.py``) when they are due, exactly once."""

from __future__ import annotations

from opsknight import clock
from opsknight.directory.models import Service
from opsknight.events.ingest import ingest
from opsknight.events.routing import Target
from opsknight.events.suspend import rebuilt
from opsknight.rules.models import SuspendedEvent
from opsknight.transaction import atomic


async def sweep(limit: int = 100) -> int:
    """Ingest the held triggers that are due, oldest first; how many were released.

    Each is claimed (PENDING → OPENED) in the transaction that ingests it, so whichever
    process's sweeper sees it first releases it, and only once.
    """
    now = clock.now()
    due = (
        await SuspendedEvent.filter(status="PENDING", due_at__lte=now)
        .order_by("received_at", "id")
        .limit(limit)
        .prefetch_related("service", "integration")
    )
    released = 0
    for row in due:
        async with atomic():
            claimed = await SuspendedEvent.filter(id=row.id, status="PENDING").update(
                status="OPENED", settled_at=now
            )
            if not claimed:
                continue
            service: Service = row.service
            target = Target(service, row.integration, row.environment, row.actor)
            event = rebuilt(row.event)
            event.trace.append({"step": "released"})
            outcome = await ingest(target, event)
            if outcome.incident is not None:
                await SuspendedEvent.filter(id=row.id).update(incident_id=outcome.incident.id)
        released += 1
    return released
