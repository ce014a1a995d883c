"""Subscriptions: the live incident feed."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime

import strawberry

from opsknight.graphql.context import Info
from opsknight.graphql.loaders import Loaders
from opsknight.graphql.types.enums import IncidentStatus, Urgency
from opsknight.graphql.types.incidents import Incident
from opsknight.live.feed import ChangeFilter
from opsknight.live.service import follow


@strawberry.input
class IncidentChangeFilter:
    service_ids: list[strawberry.ID] | None = None
    team_ids: list[strawberry.ID] | None = None
    statuses: list[IncidentStatus] | None = None
    urgencies: list[Urgency] | None = None


@strawberry.type
class IncidentChange:
    id: str = strawberry.field(description="The event id (as on webhooks); resume after it.")
    event: str
    occurred_at: datetime
    sequence: int = strawberry.field(description="The incident's version after the change.")
    incident: Incident


def _filter(environment: str, value: IncidentChangeFilter | None) -> ChangeFilter:
    value = value or IncidentChangeFilter()
    return ChangeFilter(
        environment=environment,
        service_ids=frozenset(value.service_ids or ()),
        team_ids=frozenset(value.team_ids or ()),
        statuses=frozenset(s.value for s in value.statuses or ()),
        urgencies=frozenset(u.value for u in value.urgencies or ()),
    )


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="Every incident change a webhook event names, after it commits, in "
        "commit order per incident. `after`: first replay what followed that event id."
    )
    async def incident_changed(
        self, info: Info, filter: IncidentChangeFilter | None = None, after: str | None = None
    ) -> AsyncGenerator[IncidentChange, None]:
        principal = info.context.principal("incidents:read")
        async for change, row in follow(principal, _filter(principal.environment, filter), after):
            # One context serves the whole connection: each event gets fresh loaders.
            info.context.loaders = Loaders()
            yield IncidentChange(
                id=change.id,
                event=change.event,
                occurred_at=datetime.fromisoformat(change.occurred_at),
                sequence=change.sequence,
                incident=Incident.from_row(row),
            )
