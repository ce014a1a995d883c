"""Who is on call: a schedule's final shifts over a range, and the shift at an instant
(from the windows kept per day, rendering wider ones when a day does not settle it)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from opsknight import clock, runtime, validation
from opsknight.auth.principal import Principal
from opsknight.errors import ValidationFailed
from opsknight.schedules import rotation
from opsknight.schedules.models import Schedule, ScheduleOverride
from opsknight.schedules.service import get_or_404_schedule, layers_of

MAX_RANGE = timedelta(days=93)


async def _overrides_of(
    schedule: Schedule, since: datetime, until: datetime
) -> list[rotation.Override]:
    """The schedule's overrides that overlap [since, until)."""
    rows = await ScheduleOverride.filter(schedule_id=schedule.id, start__lt=until, end__gt=since)
    # The database's datetimes carry their own UTC tzinfo; the on-call math wants one.
    return [
        rotation.Override(
            o.id,
            o.user_id,  # type: ignore[attr-defined]
            o.start.astimezone(UTC),
            o.end.astimezone(UTC),
            o.replaces_user_id,  # type: ignore[attr-defined]
        )
        for o in rows
    ]


async def render_schedule(
    principal: Principal, schedule_id: str, since: datetime, until: datetime
) -> rotation.Rendered:
    """The final shifts and gaps of a schedule in [since, until) (at most 93 days)."""
    principal.require("schedules:read")
    validation.aware(since, "since")
    validation.aware(until, "until")
    if until <= since:
        raise ValidationFailed("until must be after since", field="until")
    if until - since > MAX_RANGE:
        raise ValidationFailed(
            "the range may span at most 93 days", field="until", reason="out_of_range"
        )
    return await final_schedule(await get_or_404_schedule(schedule_id), since, until)


async def final_schedule(schedule: Schedule, since: datetime, until: datetime) -> rotation.Rendered:
    """The final shifts and gaps of a schedule in [since, until)."""
    layers = await layers_of(schedule)
    overrides = await _overrides_of(schedule, since, until)
    return rotation.render(ZoneInfo(schedule.time_zone), layers, overrides, since, until)


async def _current(schedule: Schedule, at: datetime) -> rotation.Shift | None:
    """The shift containing ``at``: from the window kept for its day when that settles
    it, else rendering wider windows (loading only their overrides) until one does.

    Lookups on the same UTC day (every "who is on call now?" of that day) reuse the
    window the first rendered. Windows are kept by the schedule's revision, which every
    change to it, its layers or overrides bumps in the same transaction and which each
    lookup reads with the schedule row, so a change committed through any process is
    seen by the next lookup in every process."""
    at = at.astimezone(UTC)
    key = (schedule.id, schedule.revision, rotation.utc_day(at))
    windows = runtime.current().schedule_windows
    window = windows.get(key)
    current, settled = (None, False) if window is None else window.shift_at(at)
    if not settled:
        zone, layers = ZoneInfo(schedule.time_zone), await layers_of(schedule)
        for since, until, widest in rotation.lookup_windows(layers, at, MAX_RANGE):
            if window is not None and window.covers(since, until):
                continue
            overrides = await _overrides_of(schedule, since, until)
            window = rotation.render_window(zone, layers, overrides, since, until, widest=widest)
            current, settled = window.shift_at(at)
            if settled:
                break
        assert window is not None
        windows.put(key, window)
    return rotation.clipped(current, at, MAX_RANGE)


async def schedule_on_call(
    principal: Principal, schedule_id: str, at: datetime | None
) -> tuple[Schedule, datetime, rotation.Shift | None]:
    principal.require("schedules:read")
    instant = clock.now() if at is None else validation.aware(at, "at")
    schedule = await get_or_404_schedule(schedule_id)
    return schedule, instant, await _current(schedule, instant)


async def on_call(
    principal: Principal, at: datetime | None, schedule_id: str | None, user_id: str | None
) -> list[tuple[Schedule, rotation.Shift]]:
    """Who is on call at ``at`` across schedules (optionally one schedule or one user)."""
    principal.require("schedules:read")
    instant = clock.now() if at is None else validation.aware(at, "at")
    return [
        (schedule, shift)
        for schedule, shift in await current_shifts(instant, schedule_id)
        if user_id is None or shift.user_id == user_id
    ]


async def current_shifts(
    at: datetime, schedule_id: str | None = None
) -> list[tuple[Schedule, rotation.Shift]]:
    """Every schedule's shift at ``at`` (schedules in a gap left out), by name."""
    query = Schedule.all() if schedule_id is None else Schedule.filter(id=schedule_id)
    entries = []
    for schedule in await query.order_by("name_key", "id"):
        shift = await _current(schedule, at)
        if shift is not None:
            entries.append((schedule, shift))
    return entries


async def on_call_user_ids(schedule_id: str, at: datetime) -> list[str]:
    """Who is on call on one schedule at ``at`` (no one if it is gone or in a gap)."""
    schedule = await Schedule.get_or_none(id=schedule_id)
    if schedule is None:
        return []
    shift = await _current(schedule, at)
    return [] if shift is None else [shift.user_id]
