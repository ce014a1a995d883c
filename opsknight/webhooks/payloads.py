"""The incident as webhook receivers and contact methods see it (SPEC §10)."""

from __future__ import annotations

from typing import Any

from opsknight import clock
from opsknight.directory.models import Service, Team, User
from opsknight.incidents.models import Incident


def _when(value: Any) -> str | None:
    return None if value is None else clock.isoformat_z(value)


async def incident_payload(incident: Incident) -> dict[str, Any]:
    return (await incident_payloads([incident]))[incident.id]


async def incident_payloads(incidents: list[Incident]) -> dict[str, dict[str, Any]]:
    """The payload of each incident, by id; the names they refer to read once for all."""
    services = await _names(Service, {i.service_id for i in incidents})  # type: ignore[attr-defined]
    users = await _names(User, {i.assignee_id for i in incidents})  # type: ignore[attr-defined]
    teams = await _names(Team, {i.assigned_team_id for i in incidents})  # type: ignore[attr-defined]
    return {
        incident.id: _payload(
            incident,
            services.get(incident.service_id),  # type: ignore[attr-defined]
            users.get(incident.assignee_id),  # type: ignore[attr-defined]
            teams.get(incident.assigned_team_id),  # type: ignore[attr-defined]
        )
        for incident in incidents
    }


async def _names(model: Any, idents: set[str | None]) -> dict[str | None, dict[str, str]]:
    wanted = [ident for ident in idents if ident is not None]
    if not wanted:
        return {}
    return {row["id"]: row for row in await model.filter(id__in=wanted).values("id", "name")}


def _payload(
    incident: Incident,
    service: dict[str, str] | None,
    assignee: dict[str, str] | None,
    team: dict[str, str] | None,
) -> dict[str, Any]:
    policy = incident.policy_snapshot
    return {
        "id": incident.id,
        "number": incident.number,
        "title": incident.title,
        "status": incident.status,
        "urgency": incident.urgency,
        "priority": incident.priority,
        "environment": incident.environment,
        "service": service,
        "assignee": assignee,
        "assigned_team": team,
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
