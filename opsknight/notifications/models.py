from __future__ import annotations

from typing import Any

from tortoise import fields

from opsknight.db import PrefixedModel, json_field


# Telling a person that an on-call shift of theirs has started (or ended): one row per
# (schedule, person, shift start, kind), so however many processes notice the shift, it
# is told once.
class HandoffNotice(PrefixedModel):
    id_prefix = "hnd"
    schedule = fields.ForeignKeyField(
        "models.Schedule", related_name="handoff_notices", on_delete=fields.CASCADE
    )
    user = fields.ForeignKeyField(
        "models.User", related_name="handoff_notices_sent", on_delete=fields.CASCADE
    )
    shift_start = fields.DatetimeField()
    shift_end = fields.DatetimeField()
    kind = fields.CharField(max_length=8, default="start", db_default="start")  # start | end
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
        table = "handoff_notices"
        unique_together = (("schedule", "user", "shift_start", "kind"),)
        indexes = (("status", "next_attempt_at"),)


# One message to one person through one contact method: an outbox row written by the
# escalation step that decided to notify them, delivered after commit.
class Notification(PrefixedModel):
    id_prefix = "ntf"
    incident = fields.ForeignKeyField(
        "models.Incident", related_name="notifications", on_delete=fields.CASCADE
    )
    user = fields.ForeignKeyField(
        "models.User", related_name="notifications", on_delete=fields.CASCADE
    )
    contact_method = fields.ForeignKeyField(
        "models.ContactMethod", related_name="notifications", null=True, on_delete=fields.SET_NULL
    )
    channel = fields.CharField(max_length=16)
    step = fields.IntField()
    payload: dict[str, Any] = json_field()
    status = fields.CharField(max_length=16, default="pending")
    attempts = fields.IntField(default=0)
    last_status_code = fields.IntField(null=True)
    last_error = fields.TextField(null=True)
    token = fields.CharField(max_length=40, null=True)
    # SHA-256 of the secret in the notification's response links (acknowledge, resolve):
    # the recipient acts through them without an API key.
    link_digest = fields.CharField(max_length=64, null=True, unique=True)
    # Planned while its service was in shadow mode: recorded when due, never sent.
    shadow = fields.BooleanField(default=False, db_default=False)
    created_at = fields.DatetimeField()
    delivered_at = fields.DatetimeField(null=True)
    next_attempt_at = fields.DatetimeField(null=True)

    class Meta:
        table = "notifications"
        indexes = (("status", "next_attempt_at"),)
