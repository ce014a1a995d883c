"""Read fields for event rules, held triggers and one alert with its trace."""

from __future__ import annotations

import strawberry

from opsknight.graphql.context import Info
from opsknight.graphql.types.common import Connection, Pagination
from opsknight.graphql.types.incidents import Alert
from opsknight.graphql.types.rules import EventRule, SuspendedEvent
from opsknight.incidents import queries
from opsknight.rules import service


@strawberry.type
class RuleQuery:
    @strawberry.field
    async def event_rule(self, info: Info, id: strawberry.ID) -> EventRule:
        return EventRule.from_row(await service.get_rule(info.context.principal(), id))

    @strawberry.field(
        description="A service's rules, or the global ones without `serviceId`, in the "
        "order they run."
    )
    async def event_rules(
        self,
        info: Info,
        service_id: strawberry.ID | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> Connection[EventRule]:
        page = await service.list_rules(
            info.context.principal(), service_id=service_id, limit=limit, offset=offset
        )
        return Connection(
            nodes=[EventRule.from_row(r) for r in page.items], pagination=Pagination.of(page)
        )

    @strawberry.field(description="Triggers held by suspend rules, newest first.")
    async def suspended_events(
        self,
        info: Info,
        service_id: strawberry.ID | None = None,
        status: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> Connection[SuspendedEvent]:
        page = await service.list_suspended(
            info.context.principal(), service_id=service_id, status=status, limit=limit,
            offset=offset,
        )  # fmt: skip
        return Connection(
            nodes=[SuspendedEvent.from_row(r) for r in page.items], pagination=Pagination.of(page)
        )

    @strawberry.field(description="One alert, with the trace of how its event was handled.")
    async def alert(self, info: Info, id: strawberry.ID) -> Alert:
        return Alert.from_row(await queries.get_alert(info.context.principal(), id))
