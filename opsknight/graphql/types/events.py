"""Results of the Events API."""

from __future__ import annotations

import strawberry

from opsknight.events.ingest import Outcome
from opsknight.graphql.types.incidents import Incident


@strawberry.type
class EventResult:
    action: str = strawberry.field(
        description="triggered, deduplicated, acknowledged, resolved or ignored."
    )
    dedup_key: str
    incident: Incident | None

    @classmethod
    def of(cls, outcome: Outcome) -> EventResult:
        incident = None if outcome.incident is None else Incident.from_row(outcome.incident)
        return cls(action=outcome.action, dedup_key=outcome.dedup_key, incident=incident)
