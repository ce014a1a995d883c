"""On-call handoff notices: when a person's shift starts on any schedule, they are told
through every contact method ("You are on call for Payments primary until Mon 09:00
Europe/Berlin"), unless they opted out (``handoff_notices``).

The sweeper looks at each schedule's current shift; a shift that started within
LOOKBACK gets a notice row, unique per (schedule, person, shift start), so two workers
noticing the same shift write one row, and a restart within LOOKBACK loses none. Rows
are delivered like pages: claimed by token, retried 10 s, 30 s, 2 min.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from zoneinfo import ZoneInfo

from tortoise.exceptions import IntegrityError

from opsknight import attempts as rows
from opsknight import clock, ids
from opsknight.directory.models import ContactMethod, User
from opsknight.notifications.models import HandoffNotice, Notification
from opsknight.notifications.notifier import NOTIFIERS
from opsknight.schedules.oncall import current_shifts
from opsknight.shadow import service as shadow

logger = logging.getLogger("opsknight.notifications")

LOOKBACK = timedelta(minutes=15)
RETRY_SCHEDULE = (10, 30, 120)


def _until(end: object, zone: ZoneInfo) -> str:
    local = end.astimezone(zone)  # type: ignore[attr-defined]
    return f"{local:%a %d %b %H:%M} {zone.key}"


async def notice_new_shifts() -> int:
    """Write a notice for each shift that started within LOOKBACK; how many were new."""
    now = clock.now()
    started = [
        (schedule, shift)
        for schedule, shift in await current_shifts(now)
        if now - LOOKBACK < shift.start <= now
    ]
    if not started:
        return 0
    wanted = {
        user.id: user
        for user in await User.filter(
            id__in=[shift.user_id for _, shift in started], status="ACTIVE", handoff_notices=True
        )
    }
    made = 0
    for schedule, shift in started:
        user = wanted.get(shift.user_id)
        if user is None:
            continue
        zone = ZoneInfo(schedule.time_zone)
        subject = f"You are on call for {schedule.name} until {_until(shift.end, zone)}"
        try:
            await HandoffNotice.create(
                schedule_id=schedule.id,
                user_id=user.id,
                shift_start=shift.start,
                shift_end=shift.end,
                token=ids.new_id("tok"),
                created_at=now,
                next_attempt_at=now,
                payload={
                    "event": "handoff",
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
