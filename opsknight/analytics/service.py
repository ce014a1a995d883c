"""Incident analytics for a date range (incidents by the time they opened).

MTTA runs from an incident's opening to its acknowledgement, MTTR to its resolution
(seconds; mean, p50 and p90 over the incidents that got there). Counts go by service,
team, urgency and UTC day; noise is alerts per incident. Pages are the notifications sent
to people in the range, per person; off-hours pages are those outside Monday to Friday
08:00 to 18:00 in the person's own time zone.

Whole UTC days of an account-wide report are read from daily rollups (``rollups``), so
a report over 100,000 incidents reads a few thousand rows (``scripts/bench analytics``);
percentiles come from duration histograms and are exact to within 2 %.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from opsknight import clock, validation
from opsknight.analytics.rollups import (
    Counts,
    Histogram,
    day_of,
    postgres,
    refresh,
    rows,
    sql_pieces,
    tally,
)
from opsknight.auth.principal import Principal
from opsknight.db import python_value
from opsknight.directory.models import Service, Team, User
from opsknight.errors import ValidationFailed
from opsknight.incidents.models import Incident

DEFAULT_RANGE = timedelta(days=30)
MAX_RANGE = timedelta(days=366)
MAX_CSV_ROWS = 200_000
WORK_START, WORK_END = 8, 18  # local hours, Monday to Friday


@dataclass(frozen=True)
class Durations:
    count: int
    mean: float | None
    p50: float | None
    p90: float | None

    @classmethod
    def of(cls, histogram: Histogram) -> Durations:
        count = histogram.count
        if not count:
            return cls(0, None, None, None)
        return cls(count, _ms(histogram.total / count), _ms(histogram.percentile(0.5)),
                   _ms(histogram.percentile(0.9)))  # fmt: skip


def _ms(seconds: float | None) -> float | None:
    # SQLite's julianday arithmetic is exact to about a millisecond.
    return None if seconds is None else round(seconds, 3)


@dataclass
class Group(Counts):
    key: str = ""
    name: str | None = None

    @property
    def mtta(self) -> float | None:
        return _ms(self.acknowledge_seconds / self.acknowledged) if self.acknowledged else None

    @property
    def mttr(self) -> float | None:
        return _ms(self.resolve_seconds / self.resolved) if self.resolved else None


@dataclass(frozen=True)
class Responder:
    user_id: str
    name: str
    time_zone: str
    pages: int
    off_hours_pages: int


@dataclass
class Report:
    since: datetime
    until: datetime
    incidents: int = 0
    alerts: int = 0
    mtta: Durations = field(default_factory=lambda: Durations.of(Histogram()))
    mttr: Durations = field(default_factory=lambda: Durations.of(Histogram()))
    by_service: list[Group] = field(default_factory=list)
    by_team: list[Group] = field(default_factory=list)
    by_urgency: list[Group] = field(default_factory=list)
    by_day: list[Group] = field(default_factory=list)
    responders: list[Responder] = field(default_factory=list)

    @property
    def alerts_per_incident(self) -> float | None:
        return self.alerts / self.incidents if self.incidents else None

    @property
    def off_hours_pages(self) -> int:
        return sum(r.off_hours_pages for r in self.responders)


@dataclass(frozen=True)
class _Range:
    since: datetime
    until: datetime
    environment: str
    service_ids: list[str] | None  # None: every service


def _where(scope: _Range, params: list[Any], table: str = "") -> str:
    params.extend([scope.environment, scope.since, scope.until])
    base = len(params)
    where = (f"{table}environment = ${base - 2} AND {table}created_at >= ${base - 1}"
             f" AND {table}created_at < ${base}")  # fmt: skip
    return where + _of_services(scope, params, f"{table}service_id")


def _of_services(scope: _Range, params: list[Any], column: str) -> str:
    """The condition keeping the scope's services (none without a filter)."""
    if scope.service_ids is None:
        return ""
    marks = []
    for service_id in scope.service_ids or [""]:  # an empty filter keeps nothing
        params.append(service_id)
        marks.append(f"${len(params)}")
    return f" AND {column} IN ({', '.join(marks)})"


async def _scope(
    principal: Principal,
    since: datetime | None,
    until: datetime | None,
    service_id: str | None,
    team_id: str | None,
) -> _Range:
    principal.require("incidents:read")
    end = clock.now() if until is None else validation.aware(until, "until")
    start = end - DEFAULT_RANGE if since is None else validation.aware(since, "since")
    if end <= start:
        raise ValidationFailed("until must be after since", field="until")
    if end - start > MAX_RANGE:
        raise ValidationFailed("the range may span at most 366 days", field="until",
                               reason="out_of_range")  # fmt: skip
    service_ids: list[str] | None = None
    if team_id is not None:
        service_ids = [
            str(i) for i in await Service.filter(team_id=team_id).values_list("id", flat=True)
        ]
    if service_id is not None:
        service_ids = [service_id] if service_ids is None or service_id in service_ids else []
    return _Range(start.astimezone(UTC), end.astimezone(UTC), principal.environment,
                  service_ids)  # fmt: skip


async def report(
    principal: Principal,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    service_id: str | None = None,
    team_id: str | None = None,
) -> Report:
    scope = await _scope(principal, since, until, service_id, team_id)
    result = Report(scope.since, scope.until)
    by, acknowledge, resolve = await _counted(scope)
    services = {s.id: s for s in await Service.filter(id__in=set(by["service"]))}
    teams = {t.id: t for t in await Team.filter(
        id__in={s.team_id for s in services.values() if s.team_id})}  # type: ignore[attr-defined]  # fmt: skip
    by_team: dict[str, Group] = {}
    for group in by["service"].values():
        service = services.get(group.key)
        group.name = service.name if service else None
        team_id_of = (service.team_id if service else None) or ""  # type: ignore[attr-defined]
        team = teams.get(team_id_of)
        by_team.setdefault(team_id_of, Group(key=team_id_of, name=team.name if team else None))
        by_team[team_id_of].add(group)
        result.incidents += group.incidents
        result.alerts += group.alerts
    result.by_service = sorted(by["service"].values(), key=lambda g: (-g.incidents, g.key))
    result.by_team = sorted(by_team.values(), key=lambda g: (-g.incidents, g.key))
    result.by_urgency = sorted(by["urgency"].values(), key=lambda g: g.key)
    result.by_day = sorted(by["day"].values(), key=lambda g: g.key)
    result.mtta, result.mttr = Durations.of(acknowledge), Durations.of(resolve)
    result.responders = await _responders(scope, sql_pieces(postgres()))
    return result


_KINDS = {"service": "service_id", "urgency": "urgency", "day": "day"}


async def _counted(scope: _Range) -> tuple[dict[str, dict[str, Group]], Histogram, Histogram]:
    """The range's incidents counted by service, urgency and UTC day, and their acknowledge
    and resolve times. Whole days of an unfiltered report come from the daily rollups
    (added up in SQL); the partial days at its ends, and reports of some services, from
    the incidents."""
    by: dict[str, dict[str, Group]] = {kind: {} for kind in _KINDS}
    acknowledge, resolve = Histogram(), Histogram()

    def add(kind: str, key: str, counts: Counts) -> None:
        by[kind].setdefault(key, Group(key=key)).add(counts)

    first_whole = (scope.since - timedelta(microseconds=1)).replace(
        hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)  # fmt: skip
    after_whole = scope.until.replace(hour=0, minute=0, second=0, microsecond=0)
    whole_days = scope.service_ids is None and first_whole < after_whole
    params: list[Any] = []
    where = _where(scope, params)
    if whole_days:
        await refresh(scope.environment)
        params = [scope.environment, scope.since, first_whole, after_whole, scope.until]
        where = ("environment = $1 AND ((created_at >= $2 AND created_at < $3)"
                 " OR (created_at >= $4 AND created_at < $5))")  # fmt: skip
    counted = await tally(where, params)
    for (day, service, urgency), counts in counted.groups.items():
        for kind, key in (("service", service), ("urgency", urgency), ("day", day)):
            add(kind, key, counts)
    for day_acknowledge, day_resolve in counted.durations.values():
        acknowledge.add_buckets(day_acknowledge.buckets.items())
        resolve.add_buckets(day_resolve.buckets.items())
    if not whole_days:
        return by, acknowledge, resolve

    days = [scope.environment, day_of(first_whole), day_of(after_whole)]
    for kind, column in _KINDS.items():
        for key, incidents, alerts, acked, ack_seconds, resolved, res_seconds in await rows(
            f"SELECT {column}, SUM(incidents), SUM(alerts), SUM(acknowledged),"
            " SUM(acknowledge_seconds), SUM(resolved), SUM(resolve_seconds)"
            " FROM incident_rollups WHERE environment = $1 AND day >= $2 AND day < $3"
            f" GROUP BY {column}",
            days,
        ):
            counts = Counts(int(incidents), int(alerts), int(acked), float(ack_seconds),
                            int(resolved), float(res_seconds))  # fmt: skip
            add(kind, str(key), counts)
    for day_acknowledge, day_resolve in await rows(
        "SELECT acknowledge, resolve FROM incident_day_durations"
        " WHERE environment = $1 AND day >= $2 AND day < $3",
        days,
    ):
        acknowledge.merge(_json(day_acknowledge))
        resolve.merge(_json(day_resolve))
    return by, acknowledge, resolve


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value  # asyncpg leaves it text


def _off_hours(hour_text: str, zone: ZoneInfo) -> bool:
    local = datetime.strptime(hour_text, "%Y-%m-%d %H").replace(tzinfo=UTC).astimezone(zone)
    return local.weekday() >= 5 or not WORK_START <= local.hour < WORK_END


async def _responders(scope: _Range, sql: dict[str, str]) -> list[Responder]:
    """Pages per person in the range, by UTC hour so each hour is judged in their zone."""
    params: list[Any] = [scope.environment, scope.since, scope.until]
    where = "i.environment = $1 AND n.created_at >= $2 AND n.created_at < $3"
    where += _of_services(scope, params, "i.service_id")
    hours = await rows(
        f"SELECT n.user_id, {sql['hour']} AS hour, COUNT(*) FROM notifications n"
        f" JOIN incidents i ON i.id = n.incident_id WHERE {where} GROUP BY 1, 2",
        params,
    )
    users = {u.id: u for u in await User.filter(id__in={row[0] for row in hours})}
    pages: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for user_id, hour, count in hours:
        user = users.get(user_id)
        if user is None:
            continue
        pages[user_id][0] += int(count)
        if _off_hours(str(hour), ZoneInfo(user.time_zone)):
            pages[user_id][1] += int(count)
    return sorted(
        (Responder(u, users[u].name, users[u].time_zone, total, off)
         for u, (total, off) in pages.items()),
        key=lambda r: (-r.pages, r.name),
    )  # fmt: skip


CSV_COLUMNS = (
    "number", "id", "title", "service_id", "service", "urgency", "priority", "status",
    "created_at", "acknowledged_at", "resolved_at", "seconds_to_acknowledge",
    "seconds_to_resolve", "alert_count",
)  # fmt: skip


async def incidents_csv(
    principal: Principal,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    service_id: str | None = None,
    team_id: str | None = None,
) -> str:
    """One row per incident of the range (oldest first), for a spreadsheet."""
    scope = await _scope(principal, since, until, service_id, team_id)
    sql = sql_pieces(postgres(), "i.")
    params: list[Any] = []
    where = _where(scope, params, "i.")
    found = await rows(
        f"SELECT i.number, i.id, i.title, i.service_id, s.name, i.urgency, i.priority, i.status,"
        f" i.created_at, i.acknowledged_at, i.resolved_at, {sql['ack']}, {sql['res']},"
        f" i.alert_count FROM incidents i JOIN services s ON s.id = i.service_id"
        f" WHERE {where} ORDER BY i.created_at, i.id LIMIT {MAX_CSV_ROWS + 1}",
        params,
    )
    if len(found) > MAX_CSV_ROWS:
        raise ValidationFailed(
            f"the range holds more than {MAX_CSV_ROWS} incidents: export a shorter one",
            field="since", reason="too_many",
        )  # fmt: skip
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for number, id_, title, service, name, urgency, priority, status, *times, alerts in found:
        writer.writerow((
            number, id_, _text(title), service, _text(name), urgency, priority or "", status,
            *(_timestamp(value, column)
              for value, column in zip(times[:3], CSV_COLUMNS[8:11], strict=True)),
            *("" if value is None else round(float(value), 3) for value in times[3:]),
            alerts,
        ))  # fmt: skip
    return out.getvalue()


def _timestamp(value: Any, column: str) -> str:
    if value is None:
        return ""
    if isinstance(value, str) and value.endswith("+00:00"):
        # SQLite's stored UTC text ("2026-12-05 09:30:00.5+00:00"), rewritten without
        # parsing: thousands of rows export several times faster.
        return f"{value[:10]}T{value[11:-6]}Z"
    return clock.isoformat_z(python_value(Incident, column, value))


def _text(value: str | None) -> str:
    if value is None:
        return ""
    if value[:1] in ("=", "+", "-", "@"):
        return "'" + value  # a title a spreadsheet would run as a formula
    return value
