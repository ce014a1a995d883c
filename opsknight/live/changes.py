"""Turning committed incident changes into live feed changes."""

from __future__ import annotations

import functools

from opsknight import clock
from opsknight.directory.models import Service
from opsknight.incidents.models import Incident, TimelineEvent
from opsknight.live.feed import Change, publish
from opsknight.transaction import after_commit


async def record(changes: list[tuple[Incident, TimelineEvent, str]]) -> None:
    """Inside the change's transaction: publish (incident, entry, event) once it commits."""
    if not changes:
        return
    service_ids = {i.service_id for i, _, _ in changes}  # type: ignore[attr-defined]
    teams = dict(await Service.filter(id__in=service_ids).values_list("id", "team_id"))
    feed = [
        Change(
            id=entry.id,
            event=event,
            occurred_at=clock.isoformat_z(entry.timestamp),
            incident_id=incident.id,
            sequence=incident.version,
            environment=incident.environment,
            service_id=incident.service_id,  # type: ignore[attr-defined]
            team_id=teams.get(incident.service_id),  # type: ignore[attr-defined]
            status=incident.status,
            urgency=incident.urgency,
        )
        for incident, entry, event in changes
    ]
    await after_commit(functools.partial(publish, feed))
