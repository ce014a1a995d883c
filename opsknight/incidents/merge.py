"""Merging incidents into one, and bulk updates with per-item results."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from opsknight import clock, inputs
from opsknight.auth.principal import Principal
from opsknight.errors import Conflict, OpsKnightError, ValidationFailed
from opsknight.incidents import timeline
from opsknight.incidents.commands import IncidentChange, update_incident
from opsknight.incidents.models import Alert, Incident
from opsknight.incidents.queries import find_incident
from opsknight.transaction import atomic

MAX_MERGE = 50
MAX_BULK = 100
# What a bulk update may change: the rest of a PATCH is about one incident.
BULK_FIELDS = frozenset(
    {"status", "urgency", "priority", "assignee_id", "assigned_team_id", "snooze_duration"}
)


@dataclass(frozen=True)
class MergeResult:
    id: str
    merged_incidents: list[str]
    merged_at: datetime


def _id_list(values: Any, field: str, maximum: int) -> list[str]:
    if not isinstance(values, list) or not values:
        raise ValidationFailed(f"{field} must list at least one id", field=field, reason="required")
    if len(values) > maximum:
        raise ValidationFailed(
            f"{field} may list at most {maximum} ids",
            field=field,
            reason="too_many",
            maximum=maximum,
        )
    unique = list(dict.fromkeys(values))
    return unique


async def merge_incidents(
    principal: Principal, target_id: str, source_ids: list[str]
) -> MergeResult:
    """Fold the source incidents into the target: they resolve, keep ``merged_into``,
    and their alerts move to the target."""
    principal.require("incidents:write")
    sources = _id_list(source_ids, "source_incident_ids", MAX_MERGE)
    if target_id in sources:
        raise ValidationFailed(
            "an incident cannot be merged into itself", field="source_incident_ids"
        )
    now = clock.now()
    async with atomic():
        target = await find_incident(principal, target_id)
        if target.merged_into_id is not None:  # type: ignore[attr-defined]
            raise Conflict(f"incident {target.id} was merged and is read-only")
        rows = [await find_incident(principal, source_id) for source_id in sources]
        for row in rows:
            if row.merged_into_id is not None:  # type: ignore[attr-defined]
                raise Conflict(f"incident {row.id} was already merged", {"id": row.id})
        moved_alerts = 0
        for row in rows:
            moved_alerts += await Alert.filter(incident_id=row.id).update(incident_id=target.id)
            await Incident.filter(id=row.id).update(
                status="RESOLVED",
                active=None,
                resolved_at=row.resolved_at or now,
                last_status_change=now if row.status != "RESOLVED" else row.last_status_change,
                merged_into_id=target.id,
                merged_at=now,
                alert_count=0,
                updated_at=now,
                version=row.version + 1,
                snoozed_until=None,
            )
            await timeline.record(
                row, "merged", principal.actor, {"into": target.id, "from_status": row.status}
            )
        target.alert_count += moved_alerts
        target.related_incidents = list(dict.fromkeys([*target.related_incidents, *sources]))
        target.updated_at = now
        target.version += 1
        await target.save(
            update_fields=["alert_count", "related_incidents", "updated_at", "version"]
        )
        await timeline.record(
            target, "merged", principal.actor, {"sources": sources, "alerts_moved": moved_alerts}
        )
    return MergeResult(id=target.id, merged_incidents=sources, merged_at=now)


@dataclass(frozen=True)
class BulkItem:
    id: str
    ok: bool
    error: OpsKnightError | None = None


async def bulk_update(
    principal: Principal, incident_ids: list[str], updates: IncidentChange
) -> list[BulkItem]:
    """Apply the same update to each incident under PATCH's rules; one failure stops nothing."""
    principal.require("incidents:write")
    ids = _id_list(incident_ids, "incident_ids", MAX_BULK)
    sent = inputs.sent(updates)
    others = sorted(set(sent) - BULK_FIELDS)
    if others:
        raise ValidationFailed(
            f"{others[0]} cannot be changed in bulk", field=f"updates.{others[0]}"
        )
    fields = updates
    if not sent:
        raise ValidationFailed(
            "updates must change at least one field", field="updates", reason="required"
        )
    results = []
    for incident_id in ids:
        try:
            await update_incident(principal, incident_id, fields)
        except OpsKnightError as exc:
            results.append(BulkItem(id=incident_id, ok=False, error=exc))
        else:
            results.append(BulkItem(id=incident_id, ok=True))
    return results
