"""Read fields for incident analytics."""

from __future__ import annotations

from datetime import datetime

import strawberry

from opsknight.analytics import service
from opsknight.graphql.context import Info
from opsknight.graphql.types.analytics import Analytics


@strawberry.type
class AnalyticsQuery:
    @strawberry.field(
        description="Response times, counts, noise and pages for incidents opened in "
        "[since, until) (default: the last 30 days; at most 366)."
    )
    async def analytics(
        self,
        info: Info,
        since: datetime | None = None,
        until: datetime | None = None,
        service_id: strawberry.ID | None = None,
        team_id: strawberry.ID | None = None,
    ) -> Analytics:
        report = await service.report(
            info.context.principal(), since=since, until=until, service_id=service_id,
            team_id=team_id,
        )  # fmt: skip
        return Analytics.of(report)

    @strawberry.field(description="The incidents of the range as CSV, one row each.")
    async def analytics_csv(
        self,
        info: Info,
        since: datetime | None = None,
        until: datetime | None = None,
        service_id: strawberry.ID | None = None,
        team_id: strawberry.ID | None = None,
    ) -> str:
        return await service.incidents_csv(
            info.context.principal(), since=since, until=until, service_id=service_id,
            team_id=team_id,
        )  # fmt: skip
