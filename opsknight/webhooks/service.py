"""Webhook subscriptions: CRUD, secret rotation, deliveries, redeliver and ping."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from opsknight import clock, ids, validation
from opsknight.audit import service as audit
from opsknight.auth.principal import Principal
from opsknight.directory.models import Service
from opsknight.errors import NotFound, ValidationFailed
from opsknight.inputs import UNSET, Unset
from opsknight.paging import Page, page_of
from opsknight.records import get_or_404
from opsknight.transaction import atomic
from opsknight.webhooks import delivery, guard, outbox, pagerduty
from opsknight.webhooks.models import Webhook, WebhookDelivery
from opsknight.webhooks.outbox import EVENTS
from opsknight.webhooks.signing import new_secret

ROTATION_OVERLAP = timedelta(hours=24)
MAX_SERVICE_FILTER = 100


@dataclass(frozen=True)
class IssuedSecret:
    """A webhook with its secret, shown once: on create and on rotation."""

    webhook: Webhook
    secret: str


FORMATS = ("opsknight", pagerduty.FORMAT)
_SECRET = re.compile(r"^[\x21-\x7e]{16,128}$")


def _events(raw: Any, format_: str) -> list[str]:
    """The event types a webhook wants, named as its format names them."""
    if not isinstance(raw, list) or not raw:
        raise ValidationFailed(
            'events must list at least one event (or ["*"])', field="events", reason="required"
        )
    known = pagerduty.EVENTS if format_ == pagerduty.FORMAT else EVENTS
    for i, event in enumerate(raw):
        if event != "*":
            validation.choice(event, f"events[{i}]", known)
    return ["*"] if "*" in raw else list(dict.fromkeys(raw))


def _secret(raw: Any) -> str:
    """A signing secret an administrator brings (e.g. the PagerDuty subscription's)."""
    if not isinstance(raw, str) or not _SECRET.match(raw):
        raise ValidationFailed(
            "secret must be 16 to 128 printable characters without spaces", field="secret"
        )
    return raw


async def _service_ids(raw: Any) -> list[str] | None:
    if raw is None:
        return None
    if not isinstance(raw, list) or len(raw) > MAX_SERVICE_FILTER:
        raise ValidationFailed(
            f"service_ids must be a list of at most {MAX_SERVICE_FILTER} ids", field="service_ids"
        )
    wanted = list(dict.fromkeys(raw))
    found = set(await Service.filter(id__in=wanted).values_list("id", flat=True))
    for i, service_id in enumerate(wanted):
        validation.referenced(
            service_id if service_id in found else None, str(service_id), f"service_ids[{i}]",
            "service",
        )  # fmt: skip
    return wanted or None


@dataclass(frozen=True)
class WebhookFields:
    """What creating or changing a webhook takes (UNSET: not sent)."""

    url: str | Unset | None = UNSET
    name: str | Unset | None = UNSET
    format: str | Unset | None = UNSET
    secret: str | Unset | None = UNSET  # on create only
    events: list[str] | Unset | None = UNSET
    enabled: bool | Unset | None = UNSET
    include_test: bool | Unset | None = UNSET
    service_ids: list[str] | Unset | None = UNSET


async def _apply(webhook: Webhook, fields: WebhookFields) -> None:
    if fields.url is not UNSET:
        url = validation.http_url(fields.url, "url")
        webhook.url = await guard.checked_url(url, "url")
    if fields.name is not UNSET:
        webhook.name = validation.optional_text(fields.name, "name", max_length=100)
    if fields.format is not UNSET and fields.format is not None:
        webhook.format = validation.choice(fields.format, "format", FORMATS)
        if fields.events is UNSET:
            webhook.events = _events(webhook.events, webhook.format)
    if fields.events is not UNSET:
        webhook.events = _events(fields.events, webhook.format)
    if fields.service_ids is not UNSET:
        webhook.service_ids = await _service_ids(fields.service_ids)
    if fields.include_test is not UNSET and fields.include_test is not None:
        webhook.include_test = bool(fields.include_test)
    if fields.enabled is not UNSET and fields.enabled is not None:
        enabled = bool(fields.enabled)
        if enabled and not webhook.enabled:  # re-enabled: a fresh run of failures
            webhook.consecutive_failures = 0
            webhook.disabled_reason = None
        webhook.enabled = enabled


AUDITED = (
    "name", "url", "format", "events", "enabled", "include_test", "service_ids", "secret"
)  # fmt: skip


async def create_webhook(principal: Principal, fields: WebhookFields) -> IssuedSecret:
    principal.require("webhooks:write")
    if fields.url is UNSET or fields.url is None:
        raise ValidationFailed("url is required", field="url", reason="required")
    now = clock.now()
    given_secret = None if fields.secret is UNSET else fields.secret
    secret = new_secret() if given_secret is None else _secret(given_secret)
    webhook = Webhook(secret=secret, created_at=now, updated_at=now, events=["*"])
    await _apply(webhook, replace(fields, events=["*"]) if fields.events is UNSET else fields)
    async with atomic():
        await webhook.save()
        await audit.record(principal, "webhook.created", "webhook", webhook.id, None,
                           audit.snapshot(webhook, AUDITED))  # fmt: skip
    return IssuedSecret(webhook, webhook.secret)


async def get_webhook(principal: Principal, webhook_id: str) -> Webhook:
    principal.require("webhooks:read")
    return await get_or_404(Webhook, webhook_id, "webhook")


async def list_webhooks(
    principal: Principal, limit: int | None, offset: int | None
) -> Page[Webhook]:
    principal.require("webhooks:read")
    return await page_of(Webhook.all(), limit, offset, "created_at", "id")


async def update_webhook(principal: Principal, webhook_id: str, fields: WebhookFields) -> Webhook:
    principal.require("webhooks:write")
    if fields.secret is not UNSET and fields.secret is not None:
        raise ValidationFailed(
            "secret is set on create; change it with POST /api/webhooks/{id}/rotate-secret",
            field="secret",
        )
    webhook = await get_or_404(Webhook, webhook_id, "webhook")
    before = audit.snapshot(webhook, AUDITED)
    await _apply(webhook, fields)
    webhook.updated_at = clock.now()
    async with atomic():
        await webhook.save()
        await audit.record(principal, "webhook.updated", "webhook", webhook.id, before,
                           audit.snapshot(webhook, AUDITED))  # fmt: skip
    return webhook


async def delete_webhook(principal: Principal, webhook_id: str) -> str:
    principal.require("webhooks:write")
    webhook = await get_or_404(Webhook, webhook_id, "webhook")
    async with atomic():
        await webhook.delete()
        await audit.record(principal, "webhook.deleted", "webhook", webhook.id,
                           audit.snapshot(webhook, AUDITED), None)  # fmt: skip
    return webhook_id


async def rotate_secret(
    principal: Principal, webhook_id: str, secret: str | None = None
) -> IssuedSecret:
    """A new secret (``secret``, or a generated one); the old one keeps signing alongside
    it for 24 hours."""
    principal.require("webhooks:write")
    new = new_secret() if secret is None else _secret(secret)
    webhook = await get_or_404(Webhook, webhook_id, "webhook")
    before = audit.snapshot(webhook, AUDITED)
    now = clock.now()
    webhook.previous_secret = webhook.secret
    webhook.previous_secret_expires_at = now + ROTATION_OVERLAP
    webhook.secret = new
    webhook.updated_at = now
    async with atomic():
        await webhook.save()
        await audit.record(principal, "webhook.secret_rotated", "webhook", webhook.id, before,
                           audit.snapshot(webhook, AUDITED))  # fmt: skip
    return IssuedSecret(webhook, webhook.secret)


async def list_deliveries(
    principal: Principal, webhook_id: str, limit: int | None, offset: int | None
) -> Page[WebhookDelivery]:
    principal.require("webhooks:read")
    await get_or_404(Webhook, webhook_id, "webhook")
    query = WebhookDelivery.filter(webhook_id=webhook_id)
    return await page_of(query, limit, offset, "-created_at", "-id")


async def redeliver(principal: Principal, webhook_id: str, delivery_id: str) -> WebhookDelivery:
    """Send a past delivery again as a new delivery with the same event id (receivers
    that dedupe on the event id see it once)."""
    principal.require("webhooks:write")
    await get_or_404(Webhook, webhook_id, "webhook")
    original = await WebhookDelivery.get_or_none(id=delivery_id, webhook_id=webhook_id)
    if original is None:
        raise NotFound.of("delivery", delivery_id)
    now = clock.now()
    copy = WebhookDelivery(
        webhook_id=webhook_id,
        event=original.event,
        event_id=original.event_id,
        incident_id=original.incident_id,
        payload=original.payload,
        token=ids.new_id("tok"),
        created_at=now,
        next_attempt_at=now,
    )
    async with atomic():
        await copy.save()
        await outbox.schedule(copy.id, copy.token or "")
    return copy


async def ping(principal: Principal, webhook_id: str) -> WebhookDelivery:
    """Send a `ping` event now and answer with how it went (one attempt, no retries)."""
    principal.require("webhooks:write")
    webhook = await get_or_404(Webhook, webhook_id, "webhook")
    now = clock.now()
    event_id = ids.new_id("evt")
    payload = {
        "id": event_id,
        "event": "ping",
        "timestamp": clock.isoformat_z(now),
        "webhook": {"id": webhook.id, "url": webhook.url},
    }
    if webhook.format == pagerduty.FORMAT:
        payload = pagerduty.ping_body(event_id, now)
    row = await WebhookDelivery.create(
        webhook_id=webhook.id,
        event="ping",
        event_id=event_id,
        payload=payload,
        token=ids.new_id("tok"),
        created_at=now,
        next_attempt_at=None,
    )
    await delivery.attempt_once(row)
    return await WebhookDelivery.get(id=row.id)
