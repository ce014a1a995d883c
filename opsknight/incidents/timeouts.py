"""The sweeper's part of service behaviours: an acknowledgement that timed out returns
the incident to OPEN (it escalates again from step 1); an incident past its auto-resolve
time is resolved. Each move is made on the locked row after checking it is still due,
so two sweepers never move an incident twice."""

from __future__ import annotations

from opsknight import clock
from opsknight.escalation import engine
from opsknight.incidents import timeline
from opsknight.incidents.commands import move_status
from opsknight.incidents.models import Incident
from opsknight.incidents.states import ACTIVE
from opsknight.transaction import atomic


async def _move_due(incident_id: str, column: str, statuses: tuple[str, ...], target: str,
                    reason: str) -> bool:  # fmt: skip
    async with atomic():
        incident = await Incident.filter(id=incident_id).select_for_update().first()
        due = None if incident is None else getattr(incident, column)
        if incident is None or due is None or due > clock.now() or incident.status not in statuses:
            return False
        await move_status(incident, target, timeline.SYSTEM, {"reason": reason})
        await engine.schedule_armed(incident)
        return True


async def sweep(limit: int = 100) -> int:
    """Move every incident whose acknowledgement or auto-resolve time has come."""
    now = clock.now()
    moved = 0
    acknowledged = await Incident.filter(status="ACKNOWLEDGED", ack_timeout_at__lte=now).limit(
        limit
    ).values_list("id", flat=True)  # fmt: skip
    for incident_id in acknowledged:
        moved += await _move_due(str(incident_id), "ack_timeout_at", ("ACKNOWLEDGED",), "OPEN",
                                 "acknowledgement timed out")  # fmt: skip
    stale = await Incident.filter(status__in=ACTIVE, auto_resolve_at__lte=now).limit(
        limit
    ).values_list("id", flat=True)  # fmt: skip
    for incident_id in stale:
        moved += await _move_due(str(incident_id), "auto_resolve_at", ACTIVE, "RESOLVED",
                                 "auto-resolved after the service's timeout")  # fmt: skip
    return moved
