"""Shadow mode: its switch, and the pages a parallel run held back."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry

from opsknight.shadow import service


@strawberry.type
class ShadowMode:
    enabled: bool = strawberry.field(description="Account-wide: every service is shadowed.")
    changed_at: datetime | None
    changed_by: str | None
    service_ids: list[strawberry.ID] = strawberry.field(
        description="Services in shadow mode on their own (shadow: true)."
    )

    @classmethod
    def of(cls, state: service.ShadowState) -> ShadowMode:
        return cls(
            enabled=state.enabled,
            changed_at=state.changed_at,
            changed_by=state.changed_by,
            service_ids=[strawberry.ID(i) for i in state.service_ids],
        )


@strawberry.type
class ShadowNamed:
    id: strawberry.ID
    name: str


@strawberry.type
class ShadowIncident:
    id: strawberry.ID
    number: int
    title: str
    service: ShadowNamed


@strawberry.type
class WouldPage:
    """A page the parallel run held back: who would have been paged, through what, when."""

    notification_id: strawberry.ID
    incident: ShadowIncident
    user: ShadowNamed
    channel: str = strawberry.field(description="EMAIL, SMS, PUSH, CHAT or WEBHOOK.")
    contact_method_id: strawberry.ID | None
    step: int = strawberry.field(description="The escalation step that paged (1-based).")
    planned_at: datetime = strawberry.field(description="When the step decided to page.")
    due_at: datetime | None = strawberry.field(
        description="When the page would have gone (a person's own rules may delay it)."
    )
    outcome: str = strawberry.field(
        description="would_page (it would have gone at dueAt), answered (a later step of "
        "the person's own rules, not needed: the incident was acknowledged or resolved "
        "first) or pending (not due yet)."
    )

    @classmethod
    def from_row(cls, row: Any) -> WouldPage:
        incident, user = row.incident, row.user
        due = row.delivered_at if row.status == "shadowed" else row.next_attempt_at
        return cls(
            notification_id=strawberry.ID(row.id),
            incident=ShadowIncident(
                id=strawberry.ID(incident.id),
                number=incident.number,
                title=incident.title,
                service=ShadowNamed(
                    id=strawberry.ID(incident.service.id), name=incident.service.name
                ),
            ),
            user=ShadowNamed(id=strawberry.ID(user.id), name=user.name),
            channel=row.channel,
            contact_method_id=None
            if row.contact_method_id is None
            else strawberry.ID(row.contact_method_id),
            step=row.step,
            planned_at=row.created_at,
            due_at=due,
            outcome=service.outcome(row),
        )
