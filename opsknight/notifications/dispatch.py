"""Notification rows: queued by an escalation step, delivered after commit, retried.

A delivered notification writes `notification_sent` on the incident's timeline (with
the channel); one that cannot be delivered after its retries writes
`notification_failed`. Paging retries are short (10 s, 30 s, 2 min): a page that is
later than that helps less than the escalation's next step.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from opsknight import attempts as rows
from opsknight import clock, ids
from opsknight.auth.principal import Principal
from opsknight.directory import contact_methods
from opsknight.directory.models import ContactMethod, NotificationRule, User
from opsknight.directory.notification_rules import applies
from opsknight.errors import NotFound
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


def _plan(
    methods: list[ContactMethod],
    channels: list[str] | None,
    rules: list[NotificationRule],
    urgency: str,
) -> list[tuple[ContactMethod, int]]:
    """(contact method, minutes to wait) for one person paged by one step: their rules
    for this urgency in order, or — without any that apply — every method at once."""
    by_id = {m.id: m for m in methods}
    plan = [
        (by_id[r.contact_method_id], r.delay_minutes)  # type: ignore[attr-defined]
        for r in rules
        if applies(r, urgency) and r.contact_method_id in by_id  # type: ignore[attr-defined]
    ]
    if not plan:
        plan = [(m, 0) for m in methods]
    plan = [(m, delay) for m, delay in plan if m.type in NOTIFIERS]
    if channels:
        plan = [(m, delay) for m, delay in plan if NOTIFIERS[m.type].channel in channels]
    return plan


async def queue_notifications(
    incident: Incident,
    user: User,
    methods: list[ContactMethod],
    step: int,
    channels: list[str] | None,
    rules: list[NotificationRule] | None = None,
) -> int:
    """Inside the step's transaction: one row per contact method to use; how many."""
    plan = _plan(methods, channels, rules or [], incident.urgency)
    if not plan:
        return 0
    now = clock.now()
    snapshot = await incident_payload(incident)
    created = []
    for method, delay in plan:
        due = now + clock.scaled(timedelta(minutes=delay))
        secret, link_digest = links.new_secret()
        notification = Notification(
            incident_id=incident.id,
            user_id=user.id,
            contact_method_id=method.id,
            channel=NOTIFIERS[method.type].channel,
            step=step,
            token=ids.new_id("tok"),
            created_at=now,
            next_attempt_at=due,
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
        if delay:
            notification.payload["rule_delay_minutes"] = delay
        created.append(notification)
    await Notification.bulk_create(created)
    for notification in created:
        await _schedule(notification.id, notification.token or "", notification.next_attempt_at)
    return len(created)


async def _schedule(notification_id: str, token: str, at: datetime | None = None) -> None:
    await queue.enqueue_after_commit(JOB, notification_id, token, at=at, job_id=f"ntf:{token}")


async def deliver(notification_id: str, token: str) -> None:
    """The job: one attempt at one notification, if ``token`` is still current."""
    lease = await rows.claim(Notification, notification_id, token)
    if lease is None:
        return
    notification = await Notification.get(id=notification_id)
    if notification.payload.get("rule_delay_minutes") and await _answered(notification):
        # A later step of the person's own rules: they have answered already.
        await Notification.filter(id=notification.id, token=lease).update(
            status="cancelled", token=None, next_attempt_at=None
        )
        return
    contact = await ContactMethod.get_or_none(id=notification.contact_method_id)  # type: ignore[attr-defined]
    if contact is None or contact.type not in NOTIFIERS:
        result = transport.Attempt(None, "the contact method was removed")
        await _record(notification, lease, result, final=True)
        return
    result = await NOTIFIERS[contact.type].send(contact, notification)
    await _record(notification, lease, result)


async def for_incident(incident_id: str) -> list[Notification]:
    """The incident's pages, oldest first."""
    return list(await Notification.filter(incident_id=incident_id).order_by("created_at", "id"))


async def send_test(principal: Principal, user_id: str, method_id: str) -> transport.Attempt:
    """One test message through a person's contact method, sent now; its outcome."""
    contact_methods.may_manage(principal, user_id)
    contact = await ContactMethod.get_or_none(id=method_id, user_id=user_id)
    if contact is None:
        raise NotFound.of("contact method", method_id)
    user = await User.get(id=user_id)
    notifier = NOTIFIERS.get(contact.type)
    if notifier is None:
        return transport.Attempt(None, f"{contact.type} contact methods cannot be tested")
    test = Notification(user_id=user.id, channel=notifier.channel, step=0, created_at=clock.now())
    test.payload = {
        "id": test.id,
        "event": "notification.test",
        "timestamp": clock.isoformat_z(test.created_at),
        "recipient": {"id": user.id, "name": user.name},
        "incident": {"number": 0, "urgency": "LOW", "status": "OPEN",
                     "title": "Test page from OpsKnight: this contact method works",
                     "service": {"name": "OpsKnight"}},
    }  # fmt: skip
    return await notifier.send(contact, test)


async def _answered(notification: Notification) -> bool:
    incident = await Incident.get_or_none(id=notification.incident_id).only("id", "status")  # type: ignore[attr-defined]
    return incident is None or incident.status in ("ACKNOWLEDGED", "RESOLVED")


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
