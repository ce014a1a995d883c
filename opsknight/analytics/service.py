"""Incident analytics for a date range (incidents by the time they opened).

MTTA runs from an incident's opening to its acknowledgement, MTTR to its resolution
(seconds; mean, p50 and p90 over the incidents that got there). Counts go by service,
team, urgency and UTC day; noise is alerts per incident. Pages are the notifications sent
to people in the range, per person; off-hours pages are those outside Monday to Friday
08:00 to 18:00 in the person's own time zone.

Each figure is one scan of the range in SQL (grouped as far as the database can), so a
report over 100,000 incidents stays well under 100 ms (``scripts/bench analytics``).
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from tortoise import connections

from opsknight import clock, validation
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
    def of(cls, values: list[float]) -> Durations:
        if not values:
            return cls(0, None, None, None)
        ordered = sorted(values)
        return cls(len(ordered), _ms(sum(ordered) / len(ordered)), _ms(_percentile(ordered, 0.5)),
                   _ms(_percentile(ordered, 0.9)))  # fmt: skip


def _ms(seconds: float) -> float:
    # SQLite's julianday arithmetic is exact to about a millisecond.
    return round(seconds, 3)


def _percentile(ordered: list[float], share: float) -> float:
    """The nearest-rank percentile."""
    return ordered[max(math.ceil(share * len(ordered)) - 1, 0)]


@dataclass
class Group:
    key: str
    name: str | None
    incidents: int = 0
    alerts: int = 0
    acknowledged: int = 0
    acknowledge_seconds: float = 0.0
    resolved: int = 0
    resolve_seconds: float = 0.0

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
    mtta: Durations = field(default_factory=lambda: Durations.of([]))
    mttr: Durations = field(default_factory=lambda: Durations.of([]))
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


def _sql(postgres: bool, t: str = "") -> dict[str, str]:
    """Dialect pieces, for columns of the incidents table named ``t`` (with its dot)."""
    if postgres:
        return {
            "ack": f"EXTRACT(EPOCH FROM ({t}acknowledged_at - {t}created_at))",
            "res": f"EXTRACT(EPOCH FROM ({t}resolved_at - {t}created_at))",
            "day": f"to_char({t}created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
            "hour": "to_char(n.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24')",
        }
    return {
        "ack": f"(julianday({t}acknowledged_at) - julianday({t}created_at)) * 86400.0",
        "res": f"(julianday({t}resolved_at) - julianday({t}created_at)) * 86400.0",
        "day": f"substr({t}created_at, 1, 10)",
        "hour": "substr(n.created_at, 1, 13)",
    }


async def _rows(sql: str, params: list[Any]) -> list[Any]:
    """Rows as tuples; placeholders ``$1, $2…`` appear in the order of ``params``."""
    conn = connections.get("default")
    if conn.capabilities.dialect == "sqlite":
        sql = re.sub(r"\$\d+", "?", sql)
    _, rows = await conn.execute_query(sql, params)
    return [tuple(row.values()) if isinstance(row, dict) else tuple(row) for row in rows]


def _postgres() -> bool:
    return bool(connections.get("default").capabilities.dialect != "sqlite")


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
    sql = _sql(_postgres())
    result = Report(scope.since, scope.until)

    params: list[Any] = []
    grouped = await _rows(
        f"SELECT service_id, urgency, {sql['day']} AS day, COUNT(*), SUM(alert_count),"
        f" COUNT(acknowledged_at), SUM({sql['ack']}), COUNT(resolved_at), SUM({sql['res']})"
        f" FROM incidents WHERE {_where(scope, params)} GROUP BY 1, 2, 3",
        params,
    )
    services = {s.id: s for s in await Service.filter(id__in={r[0] for r in grouped})}
    teams = {t.id: t for t in await Team.filter(
        id__in={s.team_id for s in services.values() if s.team_id})}  # type: ignore[attr-defined]  # fmt: skip
    by: dict[str, dict[str, Group]] = defaultdict(dict)
    for service, urgency, day, count, alerts, acked, ack_sum, resolved, res_sum in grouped:
        row_service = services.get(service)
        team_id_of = row_service.team_id if row_service else None  # type: ignore[attr-defined]
        keys = {
            "service": (service, row_service.name if row_service else None),
            "team": (team_id_of or "", teams[team_id_of].name if team_id_of in teams else None),
            "urgency": (urgency, None),
            "day": (str(day), None),
        }
        for kind, (key, name) in keys.items():
            group = by[kind].setdefault(key, Group(key, name))
            group.incidents += int(count)
            group.alerts += int(alerts or 0)
            group.acknowledged += int(acked)
            group.acknowledge_seconds += float(ack_sum or 0)
            group.resolved += int(resolved)
            group.resolve_seconds += float(res_sum or 0)
        result.incidents += int(count)
        result.alerts += int(alerts or 0)
    result.by_service = sorted(by["service"].values(), key=lambda g: (-g.incidents, g.key))
    result.by_team = sorted(by["team"].values(), key=lambda g: (-g.incidents, g.key))
    result.by_urgency = sorted(by["urgency"].values(), key=lambda g: g.key)
    result.by_day = sorted(by["day"].values(), key=lambda g: g.key)

    params = []
    durations = await _rows(
        f"SELECT {sql['ack']}, {sql['res']} FROM incidents WHERE {_where(scope, params)}"
        " AND (acknowledged_at IS NOT NULL OR resolved_at IS NOT NULL)",
        params,
    )
    result.mtta = Durations.of([float(a) for a, _ in durations if a is not None])
    result.mttr = Durations.of([float(r) for _, r in durations if r is not None])
    result.responders = await _responders(scope, sql)
    return result


def _off_hours(hour_text: str, zone: ZoneInfo) -> bool:
    local = datetime.strptime(hour_text, "%Y-%m-%d %H").replace(tzinfo=UTC).astimezone(zone)
    return local.weekday() >= 5 or not WORK_START <= local.hour < WORK_END


async def _responders(scope: _Range, sql: dict[str, str]) -> list[Responder]:
    """Pages per person in the range, by UTC hour so each hour is judged in their zone."""
    params: list[Any] = [scope.environment, scope.since, scope.until]
    where = "i.environment = $1 AND n.created_at >= $2 AND n.created_at < $3"
    where += _of_services(scope, params, "i.service_id")
    hours = await _rows(
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
    sql = _sql(_postgres(), "i.")
    params: list[Any] = []
    where = _where(scope, params, "i.")
    rows = await _rows(
        f"SELECT i.number, i.id, i.title, i.service_id, s.name, i.urgency, i.priority, i.status,"
        f" i.created_at, i.acknowledged_at, i.resolved_at, {sql['ack']}, {sql['res']},"
        f" i.alert_count FROM incidents i JOIN services s ON s.id = i.service_id"
        f" WHERE {where} ORDER BY i.created_at, i.id LIMIT {MAX_CSV_ROWS + 1}",
        params,
    )
    if len(rows) > MAX_CSV_ROWS:
        raise ValidationFailed(
            f"the range holds more than {MAX_CSV_ROWS} incidents: export a shorter one",
            field="since", reason="too_many",
        )  # fmt: skip
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        cells = list(row)
        for index in (8, 9, 10):  # SQLite returns its datetimes as text
            cells[index] = python_value(Incident, CSV_COLUMNS[index], cells[index])
        writer.writerow([_cell(value) for value in cells])
    return out.getvalue()


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return clock.isoformat_z(value.astimezone(UTC))
    if isinstance(value, float | Decimal):  # PostgreSQL's EXTRACT gives a Decimal
        return round(float(value), 3)
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value  # a title a spreadsheet would run as a formula
    return value
