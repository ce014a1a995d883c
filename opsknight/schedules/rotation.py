"""The on-call math: layers, restrictions and overrides in, final shifts and gaps out.

Pure functions, no database. Times in and out are aware UTC datetimes; a layer's
``handoff_start`` and ``end`` are naive wall-clock times in the schedule's zone.

- Daily and weekly rotations hand off at the same local wall-clock time every day or
  week, whatever DST does; custom rotations hand off every ``length_hours`` of elapsed
  time. Elapsed-time arithmetic is done in UTC, wall-clock boundaries in the zone.
- A wall-clock time that does not exist on a DST change day (the spring-forward gap) is
  taken with the offset in force before the change, so 02:30 becomes 03:30 local; a
  wall-clock time that occurs twice (fall-back) is its first occurrence.
- Restrictions limit a layer to weekly windows that start on the given days; a window
  whose end is not after its start runs past midnight into the next day.
- Layers are ordered lowest priority first: where several have someone, the last wins.
- Pass every instant with ``datetime.timezone.utc``: comparing datetimes whose tzinfo
  objects differ is correct but several times slower.
- An override beats every layer for its span; with ``replaces_user_id`` it replaces only
  that person, where the layers have them on call. Of overlapping overrides, the later
  one (by id, so by creation) wins.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

DAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")


@dataclass(frozen=True)
class Restriction:
    days: frozenset[int]  # 0 = Monday … 6 = Sunday
    start: time
    end: time


@dataclass(frozen=True)
class Layer:
    id: str
    name: str
    rotation_type: str  # daily | weekly | custom
    handoff_start: datetime  # naive, local to the schedule
    users: tuple[str, ...]
    length_hours: int | None = None
    restrictions: tuple[Restriction, ...] = ()
    end: datetime | None = None  # naive, local to the schedule


@dataclass(frozen=True)
class Override:
    id: str
    user_id: str
    start: datetime
    end: datetime
    replaces_user_id: str | None = None


@dataclass(frozen=True)
class Shift:
    user_id: str
    start: datetime
    end: datetime
    layer_id: str | None = None
    override_id: str | None = None
    layer_name: str | None = None


@dataclass(frozen=True)
class Rendered:
    shifts: list[Shift] = field(default_factory=list)
    gaps: list[tuple[datetime, datetime]] = field(default_factory=list)


def to_utc(local: datetime, zone: ZoneInfo) -> datetime:
    """A naive wall-clock time in ``zone`` as UTC, by the DST rule above (fold=0)."""
    return local.replace(tzinfo=zone, fold=0).astimezone(UTC)


def _boundary(layer: Layer, zone: ZoneInfo, index: int) -> datetime:
    if layer.rotation_type == "custom":
        assert layer.length_hours is not None
        return to_utc(layer.handoff_start, zone) + timedelta(hours=layer.length_hours * index)
    days = 1 if layer.rotation_type == "daily" else 7
    return to_utc(layer.handoff_start + timedelta(days=days * index), zone)


def _first_index(layer: Layer, zone: ZoneInfo, since: datetime) -> int:
    """The index of the rotation period that contains ``since`` (0 if before the start)."""
    start = to_utc(layer.handoff_start, zone)
    if since <= start:
        return 0
    if layer.rotation_type == "custom":
        assert layer.length_hours is not None
        index = int((since - start) / timedelta(hours=layer.length_hours))
    else:
        days = 1 if layer.rotation_type == "daily" else 7
        local_since = since.astimezone(zone).replace(tzinfo=None)
        index = int((local_since - layer.handoff_start) / timedelta(days=days))
    # The estimate can be one off around DST changes: settle it on the real boundaries.
    while index > 0 and _boundary(layer, zone, index) > since:
        index -= 1
    while _boundary(layer, zone, index + 1) <= since:
        index += 1
    return index


def _rotation(
    layer: Layer, zone: ZoneInfo, since: datetime, until: datetime
) -> list[tuple[datetime, datetime, str]]:
    """The layer's rotation periods inside [since, until), before restrictions."""
    if not layer.users:
        return []
    stop = until if layer.end is None else min(until, to_utc(layer.end, zone))
    periods = []
    index = _first_index(layer, zone, since)
    start = _boundary(layer, zone, index)
    while start < stop:
        end = _boundary(layer, zone, index + 1)
        lo, hi = max(start, since), min(end, stop)
        if lo < hi:
            periods.append((lo, hi, layer.users[index % len(layer.users)]))
        index += 1
        start = end
    return periods


def _windows(
    restrictions: Sequence[Restriction], zone: ZoneInfo, since: datetime, until: datetime
) -> list[tuple[datetime, datetime]]:
    """The union of a layer's restriction windows inside [since, until), in order."""
    first = since.astimezone(zone).date() - timedelta(days=1)
    last = until.astimezone(zone).date() + timedelta(days=1)
    raw = []
    day: date = first
    while day <= last:
        for restriction in restrictions:
            if day.weekday() not in restriction.days:
                continue
            end_day = day + timedelta(days=1) if restriction.end <= restriction.start else day
            start = to_utc(datetime.combine(day, restriction.start), zone)
            end = to_utc(datetime.combine(end_day, restriction.end), zone)
            lo, hi = max(start, since), min(end, until)
            if lo < hi:
                raw.append((lo, hi))
        day += timedelta(days=1)
    raw.sort()
    merged: list[tuple[datetime, datetime]] = []
    for start, end in raw:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def layer_intervals(
    layer: Layer, zone: ZoneInfo, since: datetime, until: datetime
) -> list[tuple[datetime, datetime, str]]:
    """Who the layer has on call inside [since, until), restrictions applied."""
    periods = _rotation(layer, zone, since, until)
    if not layer.restrictions:
        return periods
    windows = _windows(layer.restrictions, zone, since, until)
    result = []
    for start, end, user in periods:
        for w_start, w_end in windows:
            lo, hi = max(start, w_start), min(end, w_end)
            if lo < hi:
                result.append((lo, hi, user))
    return result


class _Coverage:
    """One layer's intervals, searchable by instant."""

    def __init__(self, layer_id: str, intervals: list[tuple[datetime, datetime, str]]) -> None:
        self.layer_id = layer_id
        self.intervals = intervals
        self.starts = [start for start, _, _ in intervals]

    def user_at(self, instant: datetime) -> str | None:
        position = bisect.bisect_right(self.starts, instant) - 1
        if position >= 0:
            start, end, user = self.intervals[position]
            if start <= instant < end:
                return user
        return None


def render(
    zone: ZoneInfo,
    layers: Sequence[Layer],
    overrides: Sequence[Override],
    since: datetime,
    until: datetime,
) -> Rendered:
    """The final schedule inside [since, until): non-overlapping shifts and the gaps,
    together tiling the range exactly."""
    if until <= since:
        return Rendered()
    layer_names = {layer.id: layer.name for layer in layers}
    coverage = [_Coverage(layer.id, layer_intervals(layer, zone, since, until)) for layer in layers]
    active = sorted((o for o in overrides if o.start < until and o.end > since), key=lambda o: o.id)
    points = {since, until}
    for layer in coverage:
        for start, end, _ in layer.intervals:
            points.update((start, end))
    for override in active:
        points.update((max(override.start, since), min(override.end, until)))
    ordered = sorted(points)

    shifts: list[Shift] = []
    gaps: list[tuple[datetime, datetime]] = []
    # Sweep the segments in time order, keeping only the overrides in force (by id).
    by_start = sorted(active, key=lambda o: o.start)
    upcoming = 0
    in_force: list[Override] = []
    for start, end in pairwise(ordered):
        while upcoming < len(by_start) and by_start[upcoming].start <= start:
            in_force.append(by_start[upcoming])
            in_force.sort(key=lambda o: o.id)
            upcoming += 1
        in_force = [o for o in in_force if o.end > start]
        who = _who(coverage, in_force, start)
        if who is None:
            if gaps and gaps[-1][1] == start:
                gaps[-1] = (gaps[-1][0], end)
            else:
                gaps.append((start, end))
            continue
        user, layer_id, override_id = who
        last = shifts[-1] if shifts else None
        if (
            last is not None
            and last.end == start
            and (last.user_id, last.layer_id, last.override_id) == who
        ):
            shifts[-1] = replace(last, end=end)
        else:
            name = None if layer_id is None else layer_names[layer_id]
            shifts.append(Shift(user, start, end, layer_id, override_id, name))
    return Rendered(shifts=shifts, gaps=gaps)


def _who(
    coverage: Sequence[_Coverage], overrides: Sequence[Override], instant: datetime
) -> tuple[str, str | None, str | None] | None:
    layer_user: str | None = None
    layer_id: str | None = None
    for layer in reversed(coverage):
        user = layer.user_at(instant)
        if user is not None:
            layer_user, layer_id = user, layer.layer_id
            break
    for override in reversed(overrides):
        if not override.start <= instant < override.end:
            continue
        if override.replaces_user_id is None or override.replaces_user_id == layer_user:
            return override.user_id, None, override.id
    if layer_user is None:
        return None
    return layer_user, layer_id, None


def longest_period(layers: Sequence[Layer]) -> timedelta:
    periods = [timedelta(days=7)]
    for layer in layers:
        if layer.rotation_type == "custom" and layer.length_hours:
            periods.append(timedelta(hours=layer.length_hours))
    return max(periods)


@dataclass(frozen=True)
class Window:
    """A render of [since, until), searchable by instant. ``widest`` marks the last
    window a lookup searches: a shift reaching its edge is reported up to there."""

    since: datetime
    until: datetime
    rendered: Rendered
    widest: bool = False

    def covers(self, since: datetime, until: datetime) -> bool:
        return self.since <= since and until <= self.until

    def shift_at(self, at: datetime) -> tuple[Shift | None, bool]:
        """The shift containing ``at`` (None in a gap) and whether it is settled: its
        bounds are its own, or this is the widest window searched."""
        shifts = self.rendered.shifts
        position = bisect.bisect_right(shifts, at, key=_start_of) - 1
        if position < 0 or not at < shifts[position].end:
            return None, True
        shift = shifts[position]
        own_bounds = shift.start != self.since and shift.end != self.until
        return shift, own_bounds or self.widest


def _start_of(shift: Shift) -> datetime:
    return shift.start


def render_window(
    zone: ZoneInfo,
    layers: Sequence[Layer],
    overrides: Sequence[Override],
    since: datetime,
    until: datetime,
    *,
    widest: bool = False,
) -> Window:
    return Window(since, until, render(zone, layers, overrides, since, until), widest)


def utc_day(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def lookup_windows(
    layers: Sequence[Layer], at: datetime, horizon: timedelta
) -> Iterator[tuple[datetime, datetime, bool]]:
    """The windows to search for the shift containing ``at``: its UTC day widened by
    one rotation period (and a day) either side first, then four times wider each time,
    up to ``horizon``; the last is flagged. Lookups on the same UTC day share windows."""
    day = utc_day(at)
    span = min(longest_period(layers) + timedelta(days=1), horizon)
    while True:
        widest = span >= horizon
        yield day - span, day + timedelta(days=1) + span, widest
        if widest:
            return
        span = min(span * 4, horizon)


def clipped(shift: Shift | None, at: datetime, horizon: timedelta) -> Shift | None:
    """The shift with its bounds limited to ``horizon`` either side of ``at``."""
    if shift is None:
        return None
    earliest, latest = at - horizon, at + horizon
    if shift.start >= earliest and shift.end <= latest:
        return shift
    return replace(shift, start=max(shift.start, earliest), end=min(shift.end, latest))


def on_call_at(
    zone: ZoneInfo,
    layers: Sequence[Layer],
    overrides: Sequence[Override],
    at: datetime,
    *,
    horizon: timedelta = timedelta(days=93),
) -> Shift | None:
    """The shift that contains ``at``, with its full bounds (searched up to ``horizon``
    either side; a shift that reaches beyond is reported up to there)."""
    current = None
    for since, until, widest in lookup_windows(layers, at, horizon):
        window = render_window(zone, layers, overrides, since, until, widest=widest)
        current, settled = window.shift_at(at)
        if settled:
            break
    return clipped(current, at, horizon)
