"""When a maintenance window is on: pure functions over its definition, no I/O.

A window is either one span (``starts_at`` … ``ends_at``) or weekly: on the given days,
from ``start_time`` wall-clock in ``time_zone`` for ``duration`` (which may run past
midnight), optionally only up to ``until``. Wall-clock starts that do not exist (a
spring-forward gap) are taken with the offset before the change, as schedules do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")


@dataclass(frozen=True)
class Definition:
    starts_at: datetime | None = None  # one-off
    ends_at: datetime | None = None
    days: frozenset[int] = frozenset()  # weekly: 0 = Monday
    start_time: time | None = None
    duration: timedelta = timedelta()
    time_zone: str = "UTC"
    until: datetime | None = None

    @property
    def weekly(self) -> bool:
        return self.starts_at is None


def _weekly_starts(window: Definition, first_day: datetime, days: int) -> list[datetime]:
    """The window's starts (in UTC) on ``days`` local dates from ``first_day``'s date on;
    a duration then runs in elapsed time, whatever the clocks do meanwhile."""
    zone = ZoneInfo(window.time_zone)
    assert window.start_time is not None
    starts = []
    for offset in range(days):
        day = (first_day + timedelta(days=offset)).date()
        if day.weekday() in window.days:
            wall = datetime.combine(day, window.start_time)
            # fold=0: an ambiguous start is the first one; a missing one keeps the old offset.
            starts.append(wall.replace(tzinfo=zone).astimezone(UTC))
    return starts


def span_at(window: Definition, at: datetime) -> tuple[datetime, datetime] | None:
    """The span of the window that contains ``at`` (start inclusive, end exclusive)."""
    if not window.weekly:
        assert window.starts_at is not None and window.ends_at is not None
        inside = window.starts_at <= at < window.ends_at
        return (window.starts_at, window.ends_at) if inside else None
    local = at.astimezone(ZoneInfo(window.time_zone))
    reach = window.duration.days + 2  # starts far enough back to cover ``at``
    for start in reversed(_weekly_starts(window, local - timedelta(days=reach), reach + 1)):
        if window.until is not None and start >= window.until:
            continue
        end = start + window.duration
        if start <= at < end:
            return start, end
    return None


def ends_between(window: Definition, after: datetime, upto: datetime) -> list[datetime]:
    """The ends of the window's spans in (``after``, ``upto``], oldest first."""
    if not window.weekly:
        assert window.ends_at is not None
        return [window.ends_at] if after < window.ends_at <= upto else []
    local = (after - window.duration).astimezone(ZoneInfo(window.time_zone))
    days = (upto - after + window.duration).days + 2
    ends = []
    for start in _weekly_starts(window, local - timedelta(days=1), min(days, 400) + 1):
        if window.until is not None and start >= window.until:
            continue
        end = start + window.duration
        if after < end <= upto:
            ends.append(end)
    return sorted(set(ends))
