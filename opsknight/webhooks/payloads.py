"""The incident as webhook receivers and contact methods see it (SPEC §10)."""

from __future__ import annotations

from typing import Any

from opsknight import clock
from opsknight.directory.models import Service, Team, User
from opsknight.incidents.models import Incident


def _when(value: Any) -> str | None:
    return None if value is None else clock.isoformat_z(value)


async def _named(model: Any, ident: str | None) -> dict[str, str] | None:
    if ident is None:
        return None
    row = await model.filter(id=ident).values("id", "name")
    return row[0] if row else None


async def incident_payload(incident: Incident) -> dict[str, Any]:
    policy = incident.policy_snapshot
    return {
        "id": incident.id,
        "number": incident.number,
        "title": incident.title,
        "status": incident.status,
        "urgency": incident.urgency,
        "priority": incident.priority,
        "environment": incident.environment,
        "service": await _named(Service, incident.service_id),  # type: ignore[attr-defined]
        "assignee": await _named(User, incident.assignee_id),  # type: ignore[attr-defined]
        "assigned_team": await _named(Team, incident.assigned_team_id),  # type: ignore[attr-defined]
        "dedup_key": incident.dedup_key,
        "alert_count": incident.alert_count,
        "escalation_policy": None if not policy else {"id": policy["id"], "name": policy["name"]},
        "escalation_status": incident.escalation_status,
        "current_escalation_step": incident.current_escalation_step,
        "merged_into": incident.merged_into_id,  # type: ignore[attr-defined]
        "created_at": _when(incident.created_at),
        "updated_at": _when(incident.updated_at),
        "acknowledged_at": _when(incident.acknowledged_at),
        "resolved_at": _when(incident.resolved_at),
        "snoozed_until": _when(incident.snoozed_until),
    }
