"""Notification rows: queued by an escalation step, delivered after commit, retried.

A delivered notification writes `notification_sent` on the incident's timeline (with
the channel); one that cannot be delivered after its retries writes
`notification_failed`. Paging retries are short (10 s, 30 s, 2 min): a page that is
later than that helps less than the escalation's next step.
"""

from __future__ import annotations

import asyncio
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

RETRY_SCHEDULE = (10, 30, 120)
JOB = "deliver_notification"


def planned_methods(
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


def plan_notifications(
    incident: Incident,
    user: User,
    methods: list[ContactMethod],
    step: int,
    channels: list[str] | None,
    rules: list[NotificationRule],
    snapshot: dict[str, Any],
    held_back: bool,
    now: datetime,
) -> list[Notification]:
    """The unsaved rows for one person paged by one step at ``now``: one per contact
    method to use, due when their rules say (``queue_all`` saves and starts them, one job
    per due time). ``snapshot`` is the incident's payload, ``held_back`` whether shadow
    mode holds its pages now."""
    plan = planned_methods(methods, channels, rules, incident.urgency)
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
            shadow=held_back,
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
    return created


# The most notifications one delivery job attempts: an alert storm's pages go out in
# a few jobs, each settling its rows in one transaction, and with several workers the
# jobs spread over them.
JOB_SIZE = 100


async def queue_all(notifications: list[Notification]) -> None:
    """Inside the step's transaction: save the rows; after commit, one job per due time
    (and per JOB_SIZE rows) delivers the rows due then, whichever incidents they page for."""
    if not notifications:
        return
    await Notification.bulk_create(notifications)
    by_due: dict[datetime | None, list[Notification]] = {}
    for notification in notifications:
        by_due.setdefault(notification.next_attempt_at, []).append(notification)
    for due, group in by_due.items():
        for start in range(0, len(group), JOB_SIZE):
            chunk = group[start : start + JOB_SIZE]
            await _schedule([n.id for n in chunk], [n.token or "" for n in chunk], due)


async def _schedule(notification_ids: list[str], tokens: list[str], at: datetime | None) -> None:
    await queue.enqueue_after_commit(
        JOB, ",".join(notification_ids), ",".join(tokens), at=at, job_id=f"ntf:{tokens[0]}"
    )


async def deliver(notification_ids: str, tokens: str) -> None:
    """The job: one attempt at each of the notifications (comma-separated ids, with
    their tokens) whose token is still current."""
    lease = ids.new_id("tok")
    wanted = notification_ids.split(",")
    won = await Notification.filter(
        id__in=wanted, token__in=tokens.split(","), status="pending"
    ).update(token=lease, next_attempt_at=clock.now() + rows.LEASE)
    if not won:
        return
    claimed = await Notification.filter(id__in=wanted, token=lease).select_related("contact_method")
    if not claimed:
        return
    incident_ids = {n.incident_id for n in claimed}  # type: ignore[attr-defined]
    incidents = {i.id: i for i in await Incident.filter(id__in=incident_ids)}
    answered = {i.id for i in incidents.values() if i.status in ("ACKNOWLEDGED", "RESOLVED")} | (
        incident_ids - set(incidents)
    )
    cancelled = [
        n.id
        for n in claimed
        if n.payload.get("rule_delay_minutes") and n.incident_id in answered  # type: ignore[attr-defined]
    ]
    if cancelled:
        # Later steps of people's own rules: they have answered already.
        await Notification.filter(id__in=cancelled, token=lease).update(
            status="cancelled", token=None, next_attempt_at=None
        )
    due = [n for n in claimed if n.id not in cancelled]
    sending = [n for n in due if not n.shadow]
    results = await asyncio.gather(*(_send(n) for n in sending))
    held_back = [n for n in due if n.shadow]
    await _record(incidents, lease, list(zip(sending, results, strict=True)), held_back)


async def _send(notification: Notification) -> tuple[transport.Attempt, bool]:
    """One attempt, and whether it is final (no retry can help)."""
    contact = notification.contact_method
    if contact is None or contact.type not in NOTIFIERS:
        return transport.Attempt(None, "the contact method was removed"), True
    return await NOTIFIERS[contact.type].send(contact, notification), False


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


async def _record(
    incidents: dict[str, Incident],
    lease: str,
    outcomes: list[tuple[Notification, tuple[transport.Attempt, bool]]],
    held_back: list[Notification],
) -> None:
    """Settle the attempts in one transaction, with their timeline entries; pages held
    back by shadow mode are recorded as the page that would have gone now. Rows that
    settle alike (most of a storm's: delivered at the first attempt) share one UPDATE."""
    settled: list[tuple[Notification, str, str | None, dict[str, Any]]] = []
    for notification in held_back:
        settled.append((notification, "shadowed", None, {
            "status": "shadowed", "token": None, "next_attempt_at": None,
            "delivered_at": clock.now()}))  # fmt: skip
    for notification, (result, final) in outcomes:
        attempts = notification.attempts + 1
        wait = None if (result.ok or final) else rows.retry_wait(attempts, RETRY_SCHEDULE, None)
        outcome, done = rows.settled(result.ok, result.status_code, result.problem, attempts, wait)
        settled.append((notification, outcome, result.problem, done))
    entries: list[tuple[Incident, dict[str, Any]]] = []
    counted: list[str] = []
    async with atomic():
        # Rows still leased to this job (all of them, unless it ran past the lease).
        leased = await Notification.filter(
            id__in=[notification.id for notification, *_ in settled], token=lease
        ).values_list("id", flat=True)
        ours = {str(notification_id) for notification_id in leased}
        alike: dict[str, tuple[dict[str, Any], list[str]]] = {}
        for notification, outcome, problem, done in settled:
            if notification.id not in ours:
                continue
            if outcome != "shadowed":
                counted.append(outcome)
            if outcome == "retry":
                await _schedule([notification.id], [done["token"]], done["next_attempt_at"])
            else:
                incident = incidents.get(notification.incident_id)  # type: ignore[attr-defined]
                if incident is not None:
                    entries.append((incident, _entry(notification, outcome, problem)))
            columns = repr(sorted(done.items()))
            alike.setdefault(columns, (done, []))[1].append(notification.id)
        for done, notification_ids in alike.values():
            await Notification.filter(id__in=notification_ids, token=lease).update(**done)
        await timeline.record_rows(entries)
    for outcome in counted:
        WEBHOOK_DELIVERIES.labels("notification", outcome).inc()


def _entry(notification: Notification, outcome: str, error: str | None) -> dict[str, Any]:
    details: dict[str, Any] = {
        "step": notification.step,
        "user": notification.payload.get("recipient"),
        "channel": notification.channel,
        "contact_method_id": notification.contact_method_id,  # type: ignore[attr-defined]
        "notification_id": notification.id,
    }
    if outcome == "delivered":
        kind = "notification_sent"
    elif outcome == "shadowed":
        kind = "notification_shadowed"
    else:
        kind = "notification_failed"
        details["reason"] = error
    return timeline.entry_row(notification.incident_id, kind, timeline.SYSTEM, details)  # type: ignore[attr-defined]


async def sweep(limit: int = 50) -> int:
    """The sweeper's pass: attempt what is due and no job took."""
    return await rows.sweep(Notification, deliver, limit)
