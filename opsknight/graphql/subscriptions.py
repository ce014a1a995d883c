"""Subscriptions: the live incident feed."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Any

import strawberry

from opsknight import runtime
from opsknight.graphql.context import Info
from opsknight.graphql.loaders import Loaders
from opsknight.graphql.types.enums import IncidentStatus, Urgency
from opsknight.graphql.types.incidents import Incident
from opsknight.live.feed import Change, ChangeFilter
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
    # Subscribers of this process who would get the same answer share one execution.
    share_key: strawberry.Private[str]


def _payload(change: Change, row: Any) -> IncidentChange:
    # One payload per change for all subscribers of this app (their results are shared
    # too, see graphql/shared_events.py).
    payloads = runtime.current().change_payloads
    payload: IncidentChange | None = payloads.get(change.id)
    if payload is None:
        payload = payloads.put(
            change.id,
            IncidentChange(
                id=change.id,
                event=change.event,
                occurred_at=datetime.fromisoformat(change.occurred_at),
                sequence=change.sequence,
                incident=Incident.from_row(row),
                share_key=change.id,
            ),
        )
    return payload


_ANY: frozenset[str] = frozenset()


def _set(values: list[Any] | None) -> frozenset[str]:
    # Most filters leave most fields out: those share one empty set (each would be 216 B
    # for as long as the subscription lives).
    if not values:
        return _ANY
    return frozenset(getattr(v, "value", v) for v in values)


def _filter(environment: str, value: IncidentChangeFilter | None) -> ChangeFilter:
    value = value or IncidentChangeFilter()
    return ChangeFilter(
        environment=environment,
        service_ids=_set(value.service_ids),
        team_ids=_set(value.team_ids),
        statuses=_set(value.statuses),
        urgencies=_set(value.urgencies),
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
            # One context serves the whole connection: each event gets fresh loaders
            # (new ones only when the last event used them).
            if info.context.loaders.used:
                info.context.loaders = Loaders()
            yield _payload(change, row)
