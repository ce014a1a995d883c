"""On-call handoff notices: when a person's shift starts on any schedule, they are told
through every contact method ("You are on call for Payments primary until Mon 09:00
Europe/Berlin"), unless they opted out (``handoff_notices``); people who opted in
(``shift_end_notices``) are told when it ends, too.

The sweeper looks at each schedule's current shift (and, when anyone wants end notices,
at the shifts of the last LOOKBACK); a shift that started (ended) within LOOKBACK, and
does not just continue the same person's time on call, gets a
notice row, unique per (schedule, person, shift start, kind), so two workers
noticing the same shift write one row, and a restart within LOOKBACK loses none. Rows
are delivered like pages: claimed by token, retried 10 s, 30 s, 2 min.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from tortoise.exceptions import IntegrityError

from opsknight import attempts as rows
from opsknight import clock, ids
from opsknight.directory.models import ContactMethod, User
from opsknight.notifications.models import HandoffNotice, Notification
from opsknight.notifications.notifier import NOTIFIERS
from opsknight.schedules import rotation
from opsknight.schedules.models import Schedule
from opsknight.schedules.oncall import current_shifts, final_schedule
from opsknight.shadow import service as shadow

logger = logging.getLogger("opsknight.notifications")

LOOKBACK = timedelta(minutes=15)
RETRY_SCHEDULE = (10, 30, 120)


def _until(end: object, zone: ZoneInfo) -> str:
    local = end.astimezone(zone)  # type: ignore[attr-defined]
    return f"{local:%a %d %b %H:%M} {zone.key}"


async def notice_new_shifts() -> int:
    """Write a notice for each shift that started (or, for people who asked, ended)
    within LOOKBACK; how many were new."""
    now = clock.now()
    started = []
    for schedule, shift in await current_shifts(now):
        if now - LOOKBACK < shift.start <= now and not await _continues(schedule, shift):
            started.append((schedule, shift))
    made = await _notice(started, "start", now)
    if await User.filter(status="ACTIVE", shift_end_notices=True).exists():
        made += await _notice(await _ended_shifts(now), "end", now)
    return made


async def _continues(schedule: Schedule, shift: rotation.Shift) -> bool:
    """Whether the person was on call on this schedule right before the shift (another
    layer, or an override of their own): then nothing started for them."""
    before = await current_shifts(shift.start - timedelta(microseconds=1), schedule.id)
    return bool(before) and before[0][1].user_id == shift.user_id


async def _ended_shifts(now: datetime) -> list[tuple[Schedule, rotation.Shift]]:
    """Every schedule's shifts that ended within LOOKBACK, each with its whole span."""
    ended = []
    for schedule in await Schedule.all().order_by("name_key", "id"):
        rendered = await final_schedule(schedule, now - LOOKBACK, now + timedelta(seconds=1))
        # A shift followed at once by one of the same person's (another layer, an
        # override) has not ended for them.
        starts = {(s.start, s.user_id) for s in rendered.shifts}
        for shift in rendered.shifts:
            if now - LOOKBACK < shift.end <= now and (shift.end, shift.user_id) not in starts:
                # The window cuts the shift's start; its whole span names it.
                whole = await current_shifts(shift.end - timedelta(microseconds=1), schedule.id)
                if whole and whole[0][1].user_id == shift.user_id:
                    shift = whole[0][1]
                ended.append((schedule, shift))
    return ended


async def _notice(shifts: list[tuple[Schedule, rotation.Shift]], kind: str, now: datetime) -> int:
    if not shifts:
        return 0
    opted_in = {"handoff_notices": True} if kind == "start" else {"shift_end_notices": True}
    wanted = {
        user.id: user
        for user in await User.filter(
            id__in=[shift.user_id for _, shift in shifts], status="ACTIVE", **opted_in
        )
    }
    made = 0
    for schedule, shift in shifts:
        user = wanted.get(shift.user_id)
        if user is None:
            continue
        zone = ZoneInfo(schedule.time_zone)
        if kind == "start":
            subject = f"You are on call for {schedule.name} until {_until(shift.end, zone)}"
        else:
            subject = f"Your on-call shift for {schedule.name} ended at {_until(shift.end, zone)}"
        try:
            await HandoffNotice.create(
                schedule_id=schedule.id,
                user_id=user.id,
                shift_start=shift.start,
                shift_end=shift.end,
                kind=kind,
                token=ids.new_id("tok"),
                created_at=now,
                next_attempt_at=now,
                payload={
                    "event": "handoff",
                    "kind": kind,
                    "subject": subject,
                    "text": subject + ".",
                    "recipient": {"id": user.id, "name": user.name},
                    "schedule": {"id": schedule.id, "name": schedule.name},
                    "shift": {
                        "start": clock.isoformat_z(shift.start),
                        "end": clock.isoformat_z(shift.end),
                    },
                },
            )
        except IntegrityError:
            continue  # another process wrote it first
        made += 1
    return made


async def deliver(notice_id: str, token: str) -> None:
    """One attempt at one notice: every contact method of the person; delivered when at
    least one took it."""
    lease = await rows.claim(HandoffNotice, notice_id, token)
    if lease is None:
        return
    if await shadow.account_wide():  # a parallel run: the old tool still sends these
        await HandoffNotice.filter(id=notice_id, token=lease).update(
            status="shadowed", token=None, next_attempt_at=None, delivered_at=clock.now()
        )
        return
    notice = await HandoffNotice.get(id=notice_id)
    methods = await ContactMethod.filter(
        user_id=notice.user_id,  # type: ignore[attr-defined]
    ).order_by("created_at")
    results = []
    for method in methods:
        notifier = NOTIFIERS.get(method.type)
        if notifier is None:
            continue
        message = Notification(
            user_id=notice.user_id,  # type: ignore[attr-defined]
            channel=notifier.channel,
            step=0,
            created_at=notice.created_at,
        )
        message.payload = {"id": notice.id, **notice.payload}
        results.append(await notifier.send(method, message))
    delivered = any(r.ok for r in results)
    error = (
        None
        if delivered
        else next((r.problem for r in results if r.problem), "the person has no contact method")
    )
    attempts = notice.attempts + 1
    final = not results
    wait = None if (delivered or final) else rows.retry_wait(attempts, RETRY_SCHEDULE, None)
    _, done = rows.settled(delivered, 200 if delivered else None, error, attempts, wait)
    await HandoffNotice.filter(id=notice.id, token=lease).update(**done)


async def sweep(limit: int = 50) -> int:
    """The sweeper's pass: notice new shifts, then deliver what is due."""
    made = await notice_new_shifts()
    return made + await rows.sweep(HandoffNotice, deliver, limit)
