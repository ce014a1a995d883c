"""Incidents and what hangs off them: alerts, notes, timeline, change events."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

import strawberry
from strawberry.scalars import JSON

from opsknight.graphql.context import Info
from opsknight.graphql.types.directory import (
    EscalationPolicy,
    Integration,
    Service,
    Team,
    User,
    load_policy,
    load_service,
    load_team,
    load_user,
)
from opsknight.graphql.types.enums import (
    BulkItemStatus,
    Environment,
    EscalationStatus,
    IncidentStatus,
    Priority,
    Urgency,
)
from opsknight.graphql.types.rows import from_row
from opsknight.graphql.types.rules import Page
from opsknight.incidents import queries
from opsknight.incidents import timeline as timeline_rules
from opsknight.incidents.queries import etag_of
from opsknight.notifications import dispatch


@strawberry.type
class Link:
    href: str
    text: str | None = None


@strawberry.type
class Image:
    src: str
    href: str | None = None
    alt: str | None = None


@strawberry.type
class Actor:
    type: str
    id: str | None = None
    name: str | None = None


@strawberry.type
class TimelineEvent:
    id: strawberry.ID
    type: str
    timestamp: datetime
    actor: Actor
    details: JSON

    @classmethod
    def from_row(cls, row: Any) -> TimelineEvent:
        return from_row(cls, row, actor=Actor(**timeline_rules.actor_of(row)))


@strawberry.type(description="One page to one person through one contact method.")
class PageDelivery:
    id: strawberry.ID
    step: int
    channel: str
    recipient: Actor
    status: str = strawberry.field(description="pending, delivered, failed or cancelled")
    attempts: int
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    next_attempt_at: datetime | None

    @classmethod
    def from_row(cls, row: Any) -> PageDelivery:
        recipient = row.payload.get("recipient") or {}
        return cls(
            id=strawberry.ID(row.id),
            step=row.step,
            channel=row.channel,
            recipient=Actor(type="user", id=recipient.get("id"), name=recipient.get("name")),
            status=row.status,
            attempts=row.attempts,
            last_error=row.last_error,
            created_at=row.created_at,
            delivered_at=row.delivered_at,
            next_attempt_at=row.next_attempt_at,
        )


@strawberry.type
class Note:
    id: strawberry.ID
    content: str
    is_internal: bool
    created_at: datetime
    author_id: strawberry.Private[str | None]

    @classmethod
    def from_row(cls, row: Any) -> Note:
        return from_row(cls, row)

    @strawberry.field
    async def author(self, info: Info) -> User | None:
        return await load_user(info, self.author_id)


@strawberry.type
class Alert:
    id: strawberry.ID
    incident_id: strawberry.ID
    action: str
    dedup_key: str | None
    summary: str | None
    severity: str | None
    environment: Environment
    payload: JSON
    received_at: datetime
    integration_id: strawberry.ID | None
    trace: JSON = strawberry.field(
        description="How the event was handled, in order: rules matched and what they did, "
        "routes, suspend, then opened / deduplicated / acknowledged / resolved."
    )
    row: strawberry.Private[Any]

    @strawberry.field(
        description="Who was paged for the incident this alert opened (first 100); empty "
        "for an alert that folded into an incident."
    )
    async def paged(self) -> list[Page]:
        return [Page.from_row(n) for n in await queries.pages_of_alert(self.row)]

    @classmethod
    def from_row(cls, row: Any) -> Alert:
        return cls(
            id=strawberry.ID(row.id),
            incident_id=strawberry.ID(row.incident_id),
            action=row.action,
            dedup_key=row.dedup_key,
            summary=row.summary,
            severity=row.severity,
            environment=Environment(row.environment),
            payload=row.payload,
            received_at=row.received_at,
            integration_id=row.integration_id,
            trace=cast(JSON, row.trace or []),
            row=row,
        )


@strawberry.type
class ChangeEvent:
    id: strawberry.ID
    service_id: strawberry.ID
    summary: str
    source: str | None
    timestamp: datetime
    custom_details: JSON
    links: list[Link]
    created_at: datetime

    @classmethod
    def from_row(cls, row: Any) -> ChangeEvent:
        return cls(
            id=strawberry.ID(row.id),
            service_id=strawberry.ID(row.service_id),
            summary=row.summary,
            source=row.source,
            timestamp=row.timestamp,
            custom_details=row.custom_details,
            links=[Link(href=x["href"], text=x.get("text")) for x in row.links],
            created_at=row.created_at,
        )


def _escalating(row: Any) -> bool:
    """Whether a step of the incident's escalation is waiting for its due time."""
    return bool(
        row.status == "OPEN" and row.escalation_status == "ACTIVE" and row.escalation_next_step
    )


@strawberry.type
class Incident:
    id: strawberry.ID
    number: int
    title: str
    description: str | None
    status: IncidentStatus
    urgency: Urgency
    priority: Priority | None
    environment: Environment
    dedup_key: str | None
    source: str | None
    current_escalation_step: int | None
    escalation_status: EscalationStatus
    alert_count: int
    custom_details: JSON
    links: list[Link]
    images: list[Image]
    merged_into: strawberry.ID | None
    related_incidents: list[strawberry.ID]
    component: str | None
    group: str | None
    class_: str | None = strawberry.field(name="class")
    client: str | None
    client_url: str | None
    created_at: datetime
    updated_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    snoozed_until: datetime | None
    last_status_change: datetime
    next_escalation_at: datetime | None = strawberry.field(
        description="When the escalation runs its next step (null when none is waiting)."
    )
    next_escalation_step: int | None = strawberry.field(
        description="The step that runs at nextEscalationAt (1-based)."
    )
    etag: str = strawberry.field(description="Changes with every change; send as If-Match.")
    service_id: strawberry.Private[str]
    assignee_id: strawberry.Private[str | None]
    assigned_team_id: strawberry.Private[str | None]
    integration_id: strawberry.Private[str | None]
    policy_id: strawberry.Private[str | None]

    @classmethod
    def from_row(cls, row: Any) -> Incident:
        return cls(
            id=strawberry.ID(row.id),
            number=row.number,
            title=row.title,
            description=row.description,
            status=IncidentStatus(row.status),
            urgency=Urgency(row.urgency),
            priority=None if row.priority is None else Priority(row.priority),
            environment=Environment(row.environment),
            dedup_key=row.dedup_key,
            source=row.source,
            current_escalation_step=row.current_escalation_step,
            escalation_status=EscalationStatus(row.escalation_status),
            alert_count=row.alert_count,
            custom_details=row.custom_details,
            links=[Link(href=x["href"], text=x.get("text")) for x in row.links],
            images=[Image(src=x["src"], href=x.get("href"), alt=x.get("alt")) for x in row.images],
            merged_into=row.merged_into_id,
            related_incidents=[strawberry.ID(x) for x in row.related_incidents],
            component=row.component,
            group=row.alert_group,
            class_=row.alert_class,
            client=row.client,
            client_url=row.client_url,
            created_at=row.created_at,
            updated_at=row.updated_at,
            acknowledged_at=row.acknowledged_at,
            resolved_at=row.resolved_at,
            snoozed_until=row.snoozed_until,
            last_status_change=row.last_status_change,
            next_escalation_at=row.escalation_due_at if _escalating(row) else None,
            next_escalation_step=row.escalation_next_step if _escalating(row) else None,
            etag=etag_of(row),
            service_id=row.service_id,
            assignee_id=row.assignee_id,
            assigned_team_id=row.assigned_team_id,
            integration_id=row.integration_id,
            policy_id=row.escalation_policy_id,
        )

    @strawberry.field
    async def service(self, info: Info) -> Service:
        found = await load_service(info, self.service_id)
        assert found is not None  # incidents cannot outlive their service
        return found

    @strawberry.field
    async def assignee(self, info: Info) -> User | None:
        return await load_user(info, self.assignee_id)

    @strawberry.field
    async def assigned_team(self, info: Info) -> Team | None:
        return await load_team(info, self.assigned_team_id)

    @strawberry.field
    async def escalation_policy(self, info: Info) -> EscalationPolicy | None:
        return await load_policy(info, self.policy_id)

    @strawberry.field
    async def integration(self, info: Info) -> Integration | None:
        if self.integration_id is None:
            return None
        row = await info.context.loaders.integration.load(self.integration_id)
        return None if row is None else Integration.from_row(row)

    @strawberry.field(description="Oldest first.")
    async def timeline(self, info: Info) -> list[TimelineEvent]:
        rows = await info.context.loaders.timeline.load(str(self.id))
        return [TimelineEvent.from_row(r) for r in rows]

    @strawberry.field(description="Oldest first.")
    async def notes(self, info: Info) -> list[Note]:
        rows = await info.context.loaders.notes.load(str(self.id))
        return [Note.from_row(r) for r in rows]

    @strawberry.field(
        description="Every page sent for this incident (oldest first): to whom, through "
        "which channel, and how its delivery went."
    )
    async def notifications(self, info: Info) -> list[PageDelivery]:
        rows = await dispatch.for_incident(str(self.id))
        return [PageDelivery.from_row(r) for r in rows]

    @strawberry.field(description="The service's changes in the hour before it opened.")
    async def recent_changes(self, info: Info) -> list[ChangeEvent]:
        rows = await info.context.loaders.recent_changes.load((self.service_id, self.created_at))
        return [ChangeEvent.from_row(r) for r in rows]


@strawberry.type
class MergeResult:
    id: strawberry.ID
    merged_incidents: list[strawberry.ID]
    merged_at: datetime


@strawberry.type
class BulkItemError:
    code: str
    message: str


@strawberry.type
class BulkItemResult:
    id: strawberry.ID
    status: BulkItemStatus
    error: BulkItemError | None = None


@strawberry.type
class BulkResult:
    updated: int
    failed: int
    results: list[BulkItemResult]


@strawberry.input
class LinkInput:
    href: str
    text: str | None = strawberry.UNSET


@strawberry.input
class IncidentFilterInput:
    statuses: list[IncidentStatus] | None = strawberry.UNSET
    urgencies: list[Urgency] | None = strawberry.UNSET
    priorities: list[Priority] | None = strawberry.UNSET
    service_ids: list[strawberry.ID] | None = strawberry.UNSET
    team_ids: list[strawberry.ID] | None = strawberry.UNSET
    assignee_ids: list[strawberry.ID] | None = strawberry.UNSET
    created_after: datetime | None = strawberry.UNSET
    created_before: datetime | None = strawberry.UNSET
    q: str | None = strawberry.UNSET
    include_merged: bool | None = strawberry.UNSET


@strawberry.input
class CreateIncidentInput:
    title: str
    service_id: strawberry.ID
    description: str | None = strawberry.UNSET
    urgency: Urgency | None = strawberry.UNSET
    priority: Priority | None = strawberry.UNSET
    assignee_id: strawberry.ID | None = strawberry.UNSET
    assigned_team_id: strawberry.ID | None = strawberry.UNSET
    dedup_key: str | None = strawberry.UNSET
    custom_details: JSON | None = strawberry.UNSET
    links: list[LinkInput] | None = strawberry.UNSET
    suppress_notifications: bool | None = strawberry.UNSET


@strawberry.input
class UpdateIncidentInput:
    status: IncidentStatus | None = strawberry.UNSET
    urgency: Urgency | None = strawberry.UNSET
    priority: Priority | None = strawberry.UNSET
    assignee_id: strawberry.ID | None = strawberry.UNSET
    assigned_team_id: strawberry.ID | None = strawberry.UNSET
    title: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    custom_details: JSON | None = strawberry.UNSET
    snooze_duration: int | None = strawberry.field(
        default=strawberry.UNSET, description="Minutes, 1..10080; required with SNOOZED."
    )
    resolution_note: str | None = strawberry.UNSET


@strawberry.input
class BulkUpdateInput:
    status: IncidentStatus | None = strawberry.UNSET
    urgency: Urgency | None = strawberry.UNSET
    priority: Priority | None = strawberry.UNSET
    assignee_id: strawberry.ID | None = strawberry.UNSET
    assigned_team_id: strawberry.ID | None = strawberry.UNSET
    snooze_duration: int | None = strawberry.UNSET


@strawberry.input
class NoteInput:
    content: str
    is_internal: bool | None = strawberry.UNSET
