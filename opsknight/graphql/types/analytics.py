"""Incident analytics."""

from __future__ import annotations

from datetime import datetime

import strawberry

from opsknight.analytics import service


@strawberry.type
class Durations:
    count: int
    mean: float | None = strawberry.field(description="Seconds.")
    p50: float | None
    p90: float | None

    @classmethod
    def of(cls, value: service.Durations) -> Durations:
        return cls(count=value.count, mean=value.mean, p50=value.p50, p90=value.p90)


@strawberry.type
class AnalyticsGroup:
    key: str = strawberry.field(
        description="The service id, team id (empty: no team), urgency or UTC day."
    )
    name: str | None
    incidents: int
    alerts: int
    mtta: float | None = strawberry.field(description="Mean seconds to acknowledge.")
    mttr: float | None = strawberry.field(description="Mean seconds to resolve.")

    @classmethod
    def of(cls, group: service.Group) -> AnalyticsGroup:
        return cls(key=group.key, name=group.name, incidents=group.incidents,
                   alerts=group.alerts, mtta=group.mtta, mttr=group.mttr)  # fmt: skip


@strawberry.type
class ResponderPages:
    user_id: strawberry.ID
    name: str
    time_zone: str
    pages: int
    off_hours_pages: int = strawberry.field(
        description="Outside Monday to Friday 08:00-18:00 in their time zone."
    )


@strawberry.type
class Analytics:
    since: datetime
    until: datetime
    incidents: int
    alerts: int
    alerts_per_incident: float | None = strawberry.field(description="Noise: alerts per incident.")
    mtta: Durations
    mttr: Durations
    by_service: list[AnalyticsGroup]
    by_team: list[AnalyticsGroup]
    by_urgency: list[AnalyticsGroup]
    by_day: list[AnalyticsGroup]
    responders: list[ResponderPages]
    off_hours_pages: int

    @classmethod
    def of(cls, report: service.Report) -> Analytics:
        def groups(values: list[service.Group]) -> list[AnalyticsGroup]:
            return [AnalyticsGroup.of(g) for g in values]

        return cls(
            since=report.since, until=report.until, incidents=report.incidents,
            alerts=report.alerts, alerts_per_incident=report.alerts_per_incident,
            mtta=Durations.of(report.mtta), mttr=Durations.of(report.mttr),
            by_service=groups(report.by_service), by_team=groups(report.by_team),
            by_urgency=groups(report.by_urgency), by_day=groups(report.by_day),
            responders=[
                ResponderPages(user_id=strawberry.ID(r.user_id), name=r.name,
                               time_zone=r.time_zone, pages=r.pages,
                               off_hours_pages=r.off_hours_pages)
                for r in report.responders
            ],
            off_hours_pages=report.off_hours_pages,
        )  # fmt: skip
