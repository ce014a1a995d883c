"""Notification rows: queued by an escalation step, delivered after commit, retried.

A delivered notification writes `notification_sent` on the incident's timeline (with
the channel); one that cannot be delivered after its retries writes
`notification_failed`. Paging retries are short (10 s, 30 s, 2 min): a page that is
later than that helps less than the escalation's next step.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from opsknight import attempts as rows
from opsknight import clock, ids
from opsknight.directory.models import ContactMethod, User
from opsknight.incidents import timeline
from opsknight.incidents.models import Incident
from opsknight.jobs import queue
from opsknight.notifications import links
from opsknight.notifications.models import Notification
from opsknight.notifications.notifier import NOTIFIERS
from opsknight.observability import WEBHOOK_DELIVERIES
from opsknight.transaction import atomic
from opsknight.webhooks import transport
from opsknight.webhooks.payloads import incident_payload

RETRY_SCHEDULE = (10, 30, 120)
JOB = "deliver_notification"


def _usable(methods: list[ContactMethod], channels: list[str] | None) -> list[ContactMethod]:
    usable = [m for m in methods if m.type in NOTIFIERS]
    if channels:
        usable = [m for m in usable if NOTIFIERS[m.type].channel in channels]
    return usable


async def queue_notifications(
    incident: Incident,
    user: User,
    methods: list[ContactMethod],
    step: int,
    channels: list[str] | None,
) -> int:
    """Inside the step's transaction: one row per usable contact method; how many."""
    usable = _usable(methods, channels)
    if not usable:
        return 0
    now = clock.now()
    snapshot = await incident_payload(incident)
    created = []
    for method in usable:
        secret, link_digest = links.new_secret()
        notification = Notification(
            incident_id=incident.id,
            user_id=user.id,
            contact_method_id=method.id,
            channel=NOTIFIERS[method.type].channel,
            step=step,
            token=ids.new_id("tok"),
            created_at=now,
            next_attempt_at=now,
            payload={},
            link_digest=link_digest,
        )
        notification.payload = {
            "id": notification.id,
            "event": "notification",
            "timestamp": clock.isoformat_z(now),
            "step": step,
            "recipient": {"id": user.id, "name": user.name},
            "incident": snapshot,
            # Acknowledge or resolve as the recipient, without an API key.
            "links": links.links_for(secret),
        }
        created.append(notification)
    await Notification.bulk_create(created)
    for notification in created:
        await _schedule(notification.id, notification.token or "")
    return len(created)


async def _schedule(notification_id: str, token: str, at: datetime | None = None) -> None:
    await queue.enqueue_after_commit(JOB, notification_id, token, at=at, job_id=f"ntf:{token}")


async def deliver(notification_id: str, token: str) -> None:
    """The job: one attempt at one notification, if ``token`` is still current."""
    lease = await rows.claim(Notification, notification_id, token)
    if lease is None:
        return
    notification = await Notification.get(id=notification_id)
    contact = await ContactMethod.get_or_none(id=notification.contact_method_id)  # type: ignore[attr-defined]
    if contact is None or contact.type not in NOTIFIERS:
        result = transport.Attempt(None, "the contact method was removed")
        await _record(notification, lease, result, final=True)
        return
    result = await NOTIFIERS[contact.type].send(contact, notification)
    await _record(notification, lease, result)


async def _record(
    notification: Notification, lease: str, result: transport.Attempt, final: bool = False
) -> None:
    attempts = notification.attempts + 1
    error = result.problem
    wait = None if (result.ok or final) else rows.retry_wait(attempts, RETRY_SCHEDULE, None)
    outcome, done = rows.settled(result.ok, result.status_code, error, attempts, wait)
    async with atomic():
        won = await Notification.filter(id=notification.id, token=lease).update(**done)
        if not won:
            return
        if outcome != "retry":
            await _write_entry(notification, outcome, error)
        else:
            await _schedule(notification.id, done["token"], done["next_attempt_at"])
    WEBHOOK_DELIVERIES.labels("notification", outcome).inc()


async def _write_entry(notification: Notification, outcome: str, error: str | None) -> None:
    incident = await Incident.get_or_none(id=notification.incident_id)  # type: ignore[attr-defined]
    if incident is None:
        return
    details: dict[str, Any] = {
        "step": notification.step,
        "user": notification.payload.get("recipient"),
        "channel": notification.channel,
        "contact_method_id": notification.contact_method_id,  # type: ignore[attr-defined]
        "notification_id": notification.id,
    }
    if outcome == "delivered":
        await timeline.record(incident, "notification_sent", timeline.SYSTEM, details)
    else:
        details["reason"] = error
        await timeline.record(incident, "notification_failed", timeline.SYSTEM, details)


async def sweep(limit: int = 50) -> int:
    """The sweeper's pass: attempt what is due and no job took."""
    return await rows.sweep(Notification, deliver, limit)
