from __future__ import annotations

from tortoise import fields

from opsknight.db import PrefixedModel, json_field


class EscalationPolicy(PrefixedModel):
    id_prefix = "pol"
    name = fields.CharField(max_length=100)
    name_key = fields.CharField(max_length=100, unique=True)
    description = fields.TextField(null=True)
    repeat = fields.BooleanField(default=False)
    repeat_limit = fields.IntField(default=0)
    # Re-page the current step's people while the incident stays OPEN this many minutes,
    # and while it stays ACKNOWLEDGED (unresolved) that many; null: no reminders.
    reminder_minutes = fields.IntField(null=True)
    ack_reminder_minutes = fields.IntField(null=True)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "escalation_policies"


class EscalationStep(PrefixedModel):
    id_prefix = "stp"
    policy = fields.ForeignKeyField(
        "models.EscalationPolicy", related_name="steps", on_delete=fields.CASCADE
    )
    position = fields.IntField()
    target_type = fields.CharField(max_length=16)
    target_id = fields.CharField(max_length=40)
    delay_minutes = fields.IntField(default=0)
    notify_team_lead_only = fields.BooleanField(default=False)
    channels: list[str] | None = json_field(null=True)

    class Meta:
        table = "escalation_steps"
        unique_together = (("policy", "position"),)
        indexes = (("target_type", "target_id"),)
