"""Reading incidents: one, a filtered and sorted page, and what hangs off one."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from tortoise.expressions import Case, Q, RawSQL, When

from opsknight import validation
from opsknight.auth.principal import Principal
from opsknight.batch import group_in_key_order
from opsknight.errors import NotFound
from opsknight.incidents.models import Alert, Incident, Note, TimelineEvent
from opsknight.incidents.states import PRIORITIES, STATUSES, URGENCIES
from opsknight.notifications.models import Notification
from opsknight.paging import Page, page_of

SORTS = ("created_at", "updated_at", "urgency", "status", "priority")
ORDERS = ("asc", "desc")

# Rank of each value for the rank-ordered sorts; a higher rank sorts first in `desc`.
_RANKS: dict[str, dict[str, int]] = {
    "urgency": {"LOW": 1, "MEDIUM": 2, "HIGH": 3},
    # Lifecycle order: `asc` starts at OPEN.
    "status": {"OPEN": 1, "ACKNOWLEDGED": 2, "SNOOZED": 3, "SUPPRESSED": 4, "RESOLVED": 5},
    "priority": {"P1": 1, "P2": 2, "P3": 3, "P4": 4, "P5": 5},
}


@dataclass
class IncidentFilter:
    statuses: list[str] = field(default_factory=list)
    urgencies: list[str] = field(default_factory=list)
    priorities: list[str] = field(default_factory=list)
    service_ids: list[str] = field(default_factory=list)
    team_ids: list[str] = field(default_factory=list)
    assignee_ids: list[str] = field(default_factory=list)
    created_after: datetime | None = None
    created_before: datetime | None = None
    q: str | None = None
    include_merged: bool = False


def _checked_values(values: list[str], allowed: tuple[str, ...], name: str) -> list[str]:
    for value in values:
        validation.choice(value, name, allowed)
    return values


def _filtered(principal: Principal, spec: IncidentFilter) -> Any:
    query = Incident.filter(environment=principal.environment)
    if spec.statuses:
        query = query.filter(status__in=_checked_values(spec.statuses, STATUSES, "status"))
    if spec.urgencies:
        query = query.filter(urgency__in=_checked_values(spec.urgencies, URGENCIES, "urgency"))
    if spec.priorities:
        query = query.filter(priority__in=_checked_values(spec.priorities, PRIORITIES, "priority"))
    if spec.service_ids:
        query = query.filter(service_id__in=spec.service_ids)
    if spec.team_ids:
        query = query.filter(
            Q(service__team_id__in=spec.team_ids) | Q(assigned_team_id__in=spec.team_ids)
        )
    if spec.assignee_ids:
        query = query.filter(assignee_id__in=spec.assignee_ids)
    if spec.created_after is not None:
        query = query.filter(created_at__gte=validation.aware(spec.created_after, "created_after"))
    if spec.created_before is not None:
        query = query.filter(created_at__lt=validation.aware(spec.created_before, "created_before"))
    q = validation.search(spec.q)
    if q:
        query = query.filter(Q(title__icontains=q) | Q(description__icontains=q))
    if not spec.include_merged:
        query = query.filter(merged_into_id__isnull=True)
    return query


async def list_incidents(
    principal: Principal,
    spec: IncidentFilter,
    *,
    sort: str | None = None,
    order: str | None = None,
    limit: int | None = None,
    offset: int | None = None,
) -> Page[Incident]:
    """A page of the caller's environment's incidents; ties always break on id."""
    principal.require("incidents:read")
    sort = validation.choice(sort or "created_at", "sort", SORTS)
    order = validation.choice(order or "desc", "order", ORDERS)
    query = _filtered(principal, spec)
    sign = "-" if order == "desc" else ""
    if sort in _RANKS:
        # Incidents without a priority come last in either order.
        missing = 0 if order == "desc" else 99
        column = {"urgency": "urgency", "status": "status", "priority": "priority"}[sort]
        # Literal SQL integers: bound parameters here would be typed as text by asyncpg.
        whens = [
            When(**cast(dict[str, Any], {column: value}), then=cast(Any, RawSQL(str(r))))
            for value, r in _RANKS[sort].items()
        ]
        rank = Case(*whens, default=cast(Any, RawSQL(str(missing))))
        query = query.annotate(sort_rank=rank)
        return await page_of(query, limit, offset, f"{sign}sort_rank", f"{sign}id")
    return await page_of(query, limit, offset, f"{sign}{sort}", f"{sign}id")


async def find_incident(principal: Principal, incident_id: str, *, lock: bool = False) -> Incident:
    """An incident of the caller's environment; others are NOT_FOUND (the sandbox).

    With ``lock``, the row is read FOR UPDATE (call inside a transaction)."""
    query = Incident.select_for_update() if lock else Incident
    incident = await query.get_or_none(id=incident_id, environment=principal.environment)
    if incident is None:
        raise NotFound.of("incident", incident_id)
    return incident


async def get_incident(principal: Principal, incident_id: str) -> Incident:
    principal.require("incidents:read")
    return await find_incident(principal, incident_id)


def etag_of(incident: Incident) -> str:
    return f'"{incident.id}.{incident.version}"'


async def list_notes(
    principal: Principal, incident_id: str, limit: int | None, offset: int | None
) -> Page[Note]:
    principal.require("incidents:read")
    incident = await find_incident(principal, incident_id)
    return await page_of(Note.filter(incident_id=incident.id), limit, offset, "created_at", "id")


async def list_timeline(principal: Principal, incident_id: str) -> list[TimelineEvent]:
    principal.require("incidents:read")
    incident = await find_incident(principal, incident_id)
    return list(await TimelineEvent.filter(incident_id=incident.id).order_by("timestamp", "id"))


async def list_alerts(
    principal: Principal, incident_id: str, limit: int | None, offset: int | None
) -> Page[Alert]:
    principal.require("incidents:read")
    incident = await find_incident(principal, incident_id)
    query = Alert.filter(incident_id=incident.id)
    return await page_of(query, limit, offset, "received_at", "id")


async def timelines_by_incident(incident_ids: list[str]) -> list[list[TimelineEvent]]:
    """Batch load for DataLoaders, in key order."""
    rows = await TimelineEvent.filter(incident_id__in=incident_ids).order_by("timestamp", "id")
    return group_in_key_order(list(rows), "incident_id", incident_ids)


async def notes_by_incident(incident_ids: list[str]) -> list[list[Note]]:
    rows = await Note.filter(incident_id__in=incident_ids).order_by("created_at", "id")
    return group_in_key_order(list(rows), "incident_id", incident_ids)


async def get_alert(principal: Principal, alert_id: str) -> Alert:
    """One alert of the caller's environment, with its decision trace."""
    principal.require("incidents:read")
    alert = await Alert.get_or_none(id=alert_id, environment=principal.environment)
    if alert is None:
        raise NotFound.of("alert", alert_id)
    return alert


async def pages_of_alert(alert: Alert) -> list[Notification]:
    """Who was paged for the incident this alert opened, first 100 in order; an alert
    that folded into an incident (or changed its status) paged no one itself."""
    if not alert.trace or alert.trace[-1].get("step") != "opened":
        return []
    query = Notification.filter(incident_id=alert.incident_id).order_by("created_at", "id")  # type: ignore[attr-defined]
    return list(await query.limit(100).prefetch_related("user"))
