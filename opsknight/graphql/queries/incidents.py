"""Read fields for incidents and what hangs off them."""

from __future__ import annotations

import strawberry

from opsknight.graphql.context import Info
from opsknight.graphql.types.common import Connection, Pagination, plain
from opsknight.graphql.types.enums import IncidentSort, SortOrder
from opsknight.graphql.types.incidents import (
    Alert,
    Incident,
    IncidentFilterInput,
    Note,
    TimelineEvent,
)
from opsknight.incidents import queries
from opsknight.incidents.queries import IncidentFilter


def _filter_of(value: IncidentFilterInput | None) -> IncidentFilter:
    spec = IncidentFilter()
    if value is None:
        return spec
    for name in IncidentFilter.__dataclass_fields__:
        given = getattr(value, name, strawberry.UNSET)
        if given is not strawberry.UNSET and given is not None:
            setattr(spec, name, plain(given))
    return spec


@strawberry.type
class IncidentQuery:
    @strawberry.field
    async def incident(self, info: Info, id: strawberry.ID) -> Incident:
        return Incident.from_row(await queries.get_incident(info.context.principal(), id))

    @strawberry.field
    async def incidents(
        self,
        info: Info,
        filter: IncidentFilterInput | None = None,
        sort: IncidentSort | None = None,
        order: SortOrder | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> Connection[Incident]:
        page = await queries.list_incidents(
            info.context.principal(),
            _filter_of(filter),
            sort=sort.value if sort else None,
            order=order.value if order else None,
            limit=limit,
            offset=offset,
        )
        return Connection(
            nodes=[Incident.from_row(r) for r in page.items], pagination=Pagination.of(page)
        )

    @strawberry.field
    async def incident_notes(
        self,
        info: Info,
        incident_id: strawberry.ID,
        limit: int | None = None,
        offset: int | None = None,
    ) -> Connection[Note]:
        page = await queries.list_notes(info.context.principal(), incident_id, limit, offset)
        return Connection(
            nodes=[Note.from_row(r) for r in page.items], pagination=Pagination.of(page)
        )

    @strawberry.field(description="Oldest first.")
    async def incident_timeline(
        self, info: Info, incident_id: strawberry.ID
    ) -> list[TimelineEvent]:
        rows = await queries.list_timeline(info.context.principal(), incident_id)
        return [TimelineEvent.from_row(r) for r in rows]

    @strawberry.field
    async def incident_alerts(
        self,
        info: Info,
        incident_id: strawberry.ID,
        limit: int | None = None,
        offset: int | None = None,
    ) -> Connection[Alert]:
        page = await queries.list_alerts(info.context.principal(), incident_id, limit, offset)
        return Connection(
            nodes=[Alert.from_row(r) for r in page.items], pagination=Pagination.of(page)
        )
