"""Results of the Events API."""

from __future__ import annotations

import strawberry

from opsknight.events.ingest import Outcome
from opsknight.graphql.types.enums import IncidentStatus, Urgency


@strawberry.type(description="The incident an event reached (query `incident(id)` for more).")
class EventIncident:
    id: strawberry.ID
    number: int
    title: str
    status: IncidentStatus
    urgency: Urgency


@strawberry.type
class EventResult:
    action: str = strawberry.field(
        description="triggered, deduplicated, suspended (held by an event rule), "
        "acknowledged, resolved or ignored."
    )
    dedup_key: str
    incident: EventIncident | None

    @classmethod
    def of(cls, outcome: Outcome) -> EventResult:
        row = outcome.incident
        incident = None
        if row is not None:
            incident = EventIncident(
                id=strawberry.ID(row.id),
                number=row.number,
                title=row.title,
                status=IncidentStatus(row.status),
                urgency=Urgency(row.urgency),
            )
        return cls(action=outcome.action, dedup_key=outcome.dedup_key, incident=incident)
