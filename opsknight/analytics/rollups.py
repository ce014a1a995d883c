"""Daily rollups of incidents, so a report reads a few thousand rows, not every incident.

One row per environment, UTC day (of opening), service and urgency holds the counts and
duration sums; one row per environment and day holds that day's acknowledge and resolve
time histograms, which the percentiles come from. Before a report reads them,
``refresh`` rebuilds from the incidents themselves every day holding an incident changed
since the last refresh (``updated_at`` is indexed): rebuilding whole days keeps the
rollups exact whatever changed (urgency, acknowledgement, a reopen, more alerts).
Deleting incidents rebuilds their days in the deleting transaction (``rebuild_days_of``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise import connections

from opsknight import clock
from opsknight.analytics.models import IncidentDayDurations, IncidentRollup, RollupRefresh
from opsknight.transaction import atomic

# A write is seen by the next refresh when it commits within this long of its
# ``updated_at`` (and the servers' clocks agree to within it).
COMMIT_LAG = timedelta(seconds=60)
# Histogram buckets are 2 % wide: a percentile is off by at most that.
BUCKET_GROWTH = 1.02
_LOG_GROWTH = math.log(BUCKET_GROWTH)
_SHORTEST = 0.001  # seconds; shorter (or negative, from clock skew) counts as this


class Histogram:
    """Durations in 2 %-wide buckets, each with its count and sum. A percentile is the
    mean of the bucket holding that rank: exact when the bucket's durations are equal
    (as in a small or synthetic set), within 2 % otherwise. The mean is exact."""

    def __init__(self) -> None:
        self.buckets: dict[int, list[float]] = {}

    def add(self, seconds: float) -> None:
        seconds = max(seconds, _SHORTEST)
        bucket = self.buckets.setdefault(math.floor(math.log(seconds) / _LOG_GROWTH), [0, 0.0])
        bucket[0] += 1
        bucket[1] += seconds

    def merge(self, encoded: dict[str, list[float]]) -> None:
        """Add an encoded histogram's durations."""
        self.add_buckets((int(key), bucket) for key, bucket in encoded.items())

    def add_buckets(self, buckets: Iterable[tuple[int, list[float]]]) -> None:
        for key, (count, total) in buckets:
            bucket = self.buckets.setdefault(key, [0, 0.0])
            bucket[0] += count
            bucket[1] += total

    def encode(self) -> dict[str, list[float]]:
        return {str(key): [int(count), total] for key, (count, total) in self.buckets.items()}

    @property
    def count(self) -> int:
        return int(sum(count for count, _ in self.buckets.values()))

    @property
    def total(self) -> float:
        return sum(total for _, total in self.buckets.values())

    def percentile(self, share: float) -> float | None:
        """The nearest-rank percentile, as its bucket's mean."""
        rank = max(math.ceil(share * self.count), 1)
        seen = 0
        for key in sorted(self.buckets):
            count, total = self.buckets[key]
            seen += int(count)
            if seen >= rank:
                return total / count
        return None


@dataclass
class Counts:
    incidents: int = 0
    alerts: int = 0
    acknowledged: int = 0
    acknowledge_seconds: float = 0.0
    resolved: int = 0
    resolve_seconds: float = 0.0

    def add(self, other: Counts) -> None:
        self.incidents += other.incidents
        self.alerts += other.alerts
        self.acknowledged += other.acknowledged
        self.acknowledge_seconds += other.acknowledge_seconds
        self.resolved += other.resolved
        self.resolve_seconds += other.resolve_seconds


@dataclass
class Tally:
    """Incidents added up by (day, service, urgency), with each day's duration histograms."""

    groups: dict[tuple[str, str, str], Counts] = field(default_factory=dict)
    durations: dict[str, tuple[Histogram, Histogram]] = field(default_factory=dict)

    def add(self, row: tuple[Any, ...]) -> None:
        service_id, urgency, day, alerts, acknowledge, resolve = row
        counts = self.groups.setdefault((str(day), service_id, urgency), Counts())
        acknowledged, resolved = self.durations.setdefault(str(day), (Histogram(), Histogram()))
        counts.incidents += 1
        counts.alerts += int(alerts or 0)
        if acknowledge is not None:
            counts.acknowledged += 1
            counts.acknowledge_seconds += float(acknowledge)
            acknowledged.add(float(acknowledge))
        if resolve is not None:
            counts.resolved += 1
            counts.resolve_seconds += float(resolve)
            resolved.add(float(resolve))


def sql_pieces(postgres: bool, t: str = "") -> dict[str, str]:
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


def postgres() -> bool:
    return bool(connections.get("default").capabilities.dialect != "sqlite")


async def rows(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    """Rows as tuples; placeholders ``$1, $2…`` appear in the order of ``params``."""
    conn = connections.get("default")
    if conn.capabilities.dialect == "sqlite":
        sql = re.sub(r"\$\d+", "?", sql)
    _, found = await conn.execute_query(sql, params)
    return [tuple(row.values()) if isinstance(row, dict) else tuple(row) for row in found]


async def tally(where: str, params: list[Any]) -> Tally:
    """The incidents matching ``where`` (on the incidents table), added up."""
    sql = sql_pieces(postgres())
    result = Tally()
    for row in await rows(
        f"SELECT service_id, urgency, {sql['day']}, alert_count, {sql['ack']}, {sql['res']}"
        f" FROM incidents WHERE {where}",
        params,
    ):
        result.add(row)
    return result


def day_of(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d")


async def refresh(environment: str) -> None:
    """Rebuild the days whose incidents changed since the last refresh (every day, the
    first time)."""
    mark = await RollupRefresh.get_or_none(environment=environment)
    started = clock.now()
    days: set[str] | None = None
    if mark is not None:
        changed = await rows(
            f"SELECT DISTINCT {sql_pieces(postgres())['day']} FROM incidents"
            " WHERE environment = $1 AND updated_at >= $2",
            [environment, mark.through - COMMIT_LAG],
        )
        days = {str(day) for (day,) in changed}
        if not days:
            return
    async with atomic():
        await _rebuild(environment, days)
        await RollupRefresh.update_or_create(defaults={"through": started}, environment=environment)


async def rebuild_days_of(opened: Iterable[tuple[str, datetime]]) -> None:
    """Rebuild the days of these (environment, created_at) incidents; called in the
    transaction that deleted them."""
    days: dict[str, set[str]] = {}
    for environment, created_at in opened:
        days.setdefault(environment, set()).add(day_of(created_at))
    for environment, of_environment in days.items():
        await _rebuild(environment, of_environment)


async def _rebuild(environment: str, days: set[str] | None) -> None:
    """Recount ``days`` (None: all) of an environment from its incidents. Runs inside a
    transaction; on PostgreSQL rebuilds of one environment take turns, so the last to
    write has read the last committed incidents."""
    if postgres():
        await rows("SELECT pg_advisory_xact_lock(hashtext($1))", [f"rollups:{environment}"])
    ordered = [] if days is None else sorted(days)
    chunks = [None] if days is None else [ordered[i : i + 100] for i in range(0, len(ordered), 100)]
    for chunk in chunks:
        params: list[Any] = [environment]
        where = "environment = $1"
        if chunk is not None:
            spans = []
            for day in chunk:
                start = datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=UTC)
                params.extend([start, start + timedelta(days=1)])
                spans.append(f"(created_at >= ${len(params) - 1} AND created_at < ${len(params)})")
            where += f" AND ({' OR '.join(spans)})"
        counted = await tally(where, params)
        rollups = IncidentRollup.filter(environment=environment)
        durations = IncidentDayDurations.filter(environment=environment)
        if chunk is not None:
            rollups, durations = rollups.filter(day__in=chunk), durations.filter(day__in=chunk)
        await rollups.delete()
        await durations.delete()
        await IncidentRollup.bulk_create(
            [IncidentRollup(environment=environment, day=day, service_id=service_id,
                            urgency=urgency, **vars(counts))
             for (day, service_id, urgency), counts in counted.groups.items()],
            batch_size=1000,
        )  # fmt: skip
        await IncidentDayDurations.bulk_create(
            [IncidentDayDurations(environment=environment, day=day, acknowledge=ack.encode(),
                                  resolve=res.encode())
             for day, (ack, res) in counted.durations.items()],
            batch_size=1000,
        )  # fmt: skip
