"""Delivering outbox rows: one attempt per job, the §10 retry schedule, disabling."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tortoise.expressions import F

from opsknight import attempts as rows
from opsknight import clock, jsoncodec
from opsknight.jobs import queue
from opsknight.observability import WEBHOOK_DELIVERIES
from opsknight.transaction import atomic
from opsknight.webhooks import guard, outbox, pagerduty, transport
from opsknight.webhooks.models import Webhook, WebhookDelivery
from opsknight.webhooks.outbox import JOB
from opsknight.webhooks.signing import signed_headers

# Waits after the 1st, 2nd, … failed attempt (seconds): about 10 s, 30 s, 2 min, 10 min,
# 30 min, 1 h, 3 h, 6 h; after the ninth attempt fails the delivery is `failed`.
RETRY_SCHEDULE = (10, 30, 120, 600, 1800, 3600, 10800, 21600)
# Failed deliveries in a row that disable a webhook.
MAX_CONSECUTIVE_FAILURES = 50
# How long a delivery waits for an earlier one of the same incident to be tried first.
ORDER_WAIT = timedelta(milliseconds=100)


def body_of(payload: dict[str, Any]) -> bytes:
    return jsoncodec.encode(payload)


def signing_secrets(webhook: Webhook) -> list[str]:
    """The current secret, and the previous one while a rotation's 24 h last."""
    found = [webhook.secret]
    expires = webhook.previous_secret_expires_at
    if webhook.previous_secret and expires is not None and expires > clock.now():
        found.append(webhook.previous_secret)
    return found


async def attempt(delivery_id: str, token: str, final: bool = False) -> None:
    """The job: one attempt at one delivery, if ``token`` still names its next attempt.
    With ``final`` a failure is not retried."""
    if await _behind_an_earlier_one(delivery_id):
        # Keep order per incident: the earlier delivery goes first (a retry waiting in
        # backoff does not hold later ones up). No job id: this job still holds its own.
        await queue.enqueue(JOB, delivery_id, token, at=clock.now() + ORDER_WAIT)
        return
    lease = await rows.claim(WebhookDelivery, delivery_id, token)
    if lease is None:
        return
    delivery = await WebhookDelivery.get(id=delivery_id)
    webhook = await Webhook.get(id=delivery.webhook_id)  # type: ignore[attr-defined]
    if not webhook.enabled and delivery.event != "ping":
        result = transport.Attempt(None, "the webhook is disabled")
        await _record(delivery, webhook, lease, result, final=True)
        return
    sent_at = clock.now()
    body = body_of(delivery.payload)
    if webhook.format == pagerduty.FORMAT:
        headers = pagerduty.headers(signing_secrets(webhook), delivery.id, webhook.id, body)
    else:
        headers = signed_headers(
            signing_secrets(webhook), delivery.event_id, delivery.event, delivery.id, sent_at, body
        )
    result = await transport.post(webhook.url, headers, body, guard.private_allowed())
    await _record(delivery, webhook, lease, result, final)


async def _behind_an_earlier_one(delivery_id: str) -> bool:
    row = await WebhookDelivery.filter(id=delivery_id).values("webhook_id", "incident_id")
    if not row or row[0]["incident_id"] is None:
        return False
    return await WebhookDelivery.filter(
        webhook_id=row[0]["webhook_id"],
        incident_id=row[0]["incident_id"],
        status="pending",
        attempts=0,
        id__lt=delivery_id,
    ).exists()


async def attempt_once(delivery: WebhookDelivery) -> None:
    """Attempt a delivery now, without retries (a ping)."""
    await attempt(delivery.id, delivery.token or "", final=True)


async def _record(
    delivery: WebhookDelivery,
    webhook: Webhook,
    lease: str,
    result: transport.Attempt,
    final: bool = False,
) -> None:
    attempts = delivery.attempts + 1
    gone = result.status_code == 410
    wait = (
        None
        if (result.ok or gone or final)
        else rows.retry_wait(attempts, RETRY_SCHEDULE, result.retry_after)
    )
    outcome, done = rows.settled(result.ok, result.status_code, result.problem, attempts, wait)
    async with atomic():
        won = await WebhookDelivery.filter(id=delivery.id, token=lease).update(**done)
        if not won:
            return
        if delivery.event != "ping":
            await _count(webhook, outcome, gone)
        if outcome == "retry":
            await outbox.schedule(delivery.id, done["token"], done["next_attempt_at"])
    WEBHOOK_DELIVERIES.labels("webhook", outcome).inc()
    for name, value in done.items():
        setattr(delivery, name, value)


async def _count(webhook: Webhook, outcome: str, gone: bool) -> None:
    """Keep the run of failed deliveries; 410 or 50 failures in a row disable the webhook."""
    query = Webhook.filter(id=webhook.id)
    if outcome == "delivered":
        await query.filter(consecutive_failures__gt=0).update(consecutive_failures=0)
    elif gone:
        await query.update(
            enabled=False, disabled_reason="the receiver answered 410 Gone", updated_at=clock.now()
        )
    elif outcome == "failed":
        await query.update(consecutive_failures=F("consecutive_failures") + 1)
        await query.filter(consecutive_failures__gte=MAX_CONSECUTIVE_FAILURES).update(
            enabled=False,
            disabled_reason=f"{MAX_CONSECUTIVE_FAILURES} deliveries in a row failed",
            updated_at=clock.now(),
        )


async def sweep(limit: int = 50) -> int:
    """The sweeper's pass: attempt what is due and no job took."""
    return await rows.sweep(WebhookDelivery, attempt, limit)
