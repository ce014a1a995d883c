"""The outbox: a delivery row for every webhook that wants a change, written with it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from opsknight import clock, ids
from opsknight.incidents.models import Incident, TimelineEvent
from opsknight.jobs import queue
from opsknight.shadow import service as shadow
from opsknight.webhooks import pagerduty
from opsknight.webhooks.models import Webhook, WebhookDelivery
from opsknight.webhooks.payloads import incident_payload

# The webhook event each kind of timeline entry announces; other kinds announce none.
EVENT_OF_ENTRY = {
    "created": "incident.triggered",
    "acknowledged": "incident.acknowledged",
    "resolved": "incident.resolved",
    "escalation": "incident.escalated",
    "assigned": "incident.assigned",
    "reassigned": "incident.assigned",
    "reopened": "incident.reopened",
    "snoozed": "incident.snoozed",
    "unsnoozed": "incident.unsnoozed",
    "suppressed": "incident.suppressed",
    "urgency_changed": "incident.urgency_changed",
    "priority_changed": "incident.priority_changed",
    "note_added": "incident.note_added",
    "merged": "incident.merged",
}
EVENTS = tuple(dict.fromkeys(EVENT_OF_ENTRY.values()))
JOB = "deliver_webhook"


def wants(webhook: Webhook, event: str, incident: Incident) -> bool:
    if not webhook.enabled:
        return False
    if incident.environment == "test" and not webhook.include_test:
        return False
    if "*" not in webhook.events and event not in webhook.events:
        return False
    service_id = incident.service_id  # type: ignore[attr-defined]
    return not webhook.service_ids or service_id in webhook.service_ids


def named_events(
    changes: list[tuple[Incident, TimelineEvent]],
) -> list[tuple[Incident, TimelineEvent, str]]:
    """The changes that announce a webhook event, with the event's name."""
    return [(i, e, EVENT_OF_ENTRY[e.type]) for i, e in changes if e.type in EVENT_OF_ENTRY]


def _event_for(webhook: Webhook, entry: TimelineEvent) -> str | None:
    """The event ``entry`` announces to ``webhook``, in the webhook's format; or None."""
    if webhook.format == pagerduty.FORMAT:
        return pagerduty.EVENT_OF_ENTRY.get(entry.type)
    return EVENT_OF_ENTRY.get(entry.type)


async def record(changes: list[tuple[Incident, TimelineEvent]]) -> None:
    """Inside the change's transaction: write the deliveries the changes call for and
    enqueue them after commit. One query when no webhook is enabled."""
    if not any(e.type in EVENT_OF_ENTRY or e.type in pagerduty.EVENT_OF_ENTRY
               for _, e in changes):  # fmt: skip
        return
    webhooks = await Webhook.filter(enabled=True)
    if not webhooks:
        return
    # A parallel run (shadow mode) sends no webhook; nothing is kept to send later.
    held_back = await shadow.shadowed({i.service_id for i, _ in changes})  # type: ignore[attr-defined]
    now = clock.now()
    deliveries: list[WebhookDelivery] = []
    payloads: dict[str, dict[str, Any]] = {}
    for incident, entry in changes:
        if incident.service_id in held_back:  # type: ignore[attr-defined]
            continue
        for webhook in webhooks:
            event = _event_for(webhook, entry)
            if event is None or not wants(webhook, event, incident):
                continue
            if incident.id not in payloads:
                payloads[incident.id] = await incident_payload(incident)
            if webhook.format == pagerduty.FORMAT:
                body = await pagerduty.event_body(event, entry, payloads[incident.id])
            else:
                body = {
                    "id": entry.id,
                    "event": event,
                    "timestamp": clock.isoformat_z(entry.timestamp),
                    "incident": payloads[incident.id],
                }
            deliveries.append(
                WebhookDelivery(
                    webhook_id=webhook.id,
                    event=event,
                    event_id=entry.id,
                    incident_id=incident.id,
                    payload=body,
                    token=ids.new_id("tok"),
                    created_at=now,
                    next_attempt_at=now,
                )
            )
    if deliveries:
        await WebhookDelivery.bulk_create(deliveries)
        for delivery in deliveries:
            await schedule(delivery.id, delivery.token or "")


async def schedule(delivery_id: str, token: str, at: datetime | None = None) -> None:
    """Start the delivery's attempt ``token`` at ``at`` once the transaction commits."""
    await queue.enqueue_after_commit(JOB, delivery_id, token, at=at, job_id=f"dlv:{token}")
