from __future__ import annotations

from typing import Any

from tortoise import fields

from opsknight.db import PrefixedModel, json_field


class Webhook(PrefixedModel):
    id_prefix = "whk"
    name = fields.CharField(max_length=100, null=True)
    url = fields.CharField(max_length=2048)
    events: list[str] = json_field(default=list)
    enabled = fields.BooleanField(default=True)
    include_test = fields.BooleanField(default=False)
    service_ids: list[str] | None = json_field(null=True)
    # The body and headers receivers expect: "opsknight" (SPEC §10) or "pagerduty-v3".
    format = fields.CharField(max_length=16, default="opsknight", db_default="opsknight")
    secret = fields.CharField(max_length=128)
    previous_secret = fields.CharField(max_length=128, null=True)
    previous_secret_expires_at = fields.DatetimeField(null=True)
    consecutive_failures = fields.IntField(default=0)
    disabled_reason = fields.CharField(max_length=255, null=True)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "webhooks"


# An outbox row: written with the change, delivered after commit.
class WebhookDelivery(PrefixedModel):
    id_prefix = "dlv"
    webhook = fields.ForeignKeyField(
        "models.Webhook", related_name="deliveries", on_delete=fields.CASCADE
    )
    event = fields.CharField(max_length=64)
    event_id = fields.CharField(max_length=40)
    incident_id = fields.CharField(max_length=40, null=True)
    payload: dict[str, Any] = json_field()
    status = fields.CharField(max_length=16, default="pending")
    attempts = fields.IntField(default=0)
    last_status_code = fields.IntField(null=True)
    last_error = fields.TextField(null=True)
    token = fields.CharField(max_length=40, null=True)
    created_at = fields.DatetimeField()
    delivered_at = fields.DatetimeField(null=True)
    next_attempt_at = fields.DatetimeField(null=True)

    class Meta:
        table = "webhook_deliveries"
        indexes = (("status", "next_attempt_at"), ("webhook_id", "created_at"))
