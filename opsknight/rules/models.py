from __future__ import annotations

from typing import Any

from tortoise import fields

from opsknight.db import PrefixedModel, json_field


# An event rule: of a service, or global (service NULL, run before the service's own).
# Within a set the first enabled rule, by position, whose conditions hold applies.
class EventRule(PrefixedModel):
    id_prefix = "rul"
    service = fields.ForeignKeyField(
        "models.Service", related_name="event_rules", null=True, on_delete=fields.CASCADE
    )
    position = fields.IntField()
    description = fields.CharField(max_length=255, default="")
    conditions: list[dict[str, Any]] = json_field(default=list)
    actions: dict[str, Any] = json_field(default=dict)
    disabled = fields.BooleanField(default=False)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "event_rules"
        indexes = (("service_id", "position"),)


# A trigger held by a rule's suspend action until due_at: PENDING until then, then
# OPENED (ingested, claimed once) — or CANCELLED by a resolve for its dedup key first.
class SuspendedEvent(PrefixedModel):
    id_prefix = "sus"
    service = fields.ForeignKeyField(
        "models.Service", related_name="suspended_events", on_delete=fields.CASCADE
    )
    environment = fields.CharField(max_length=8, default="live")
    dedup_key = fields.CharField(max_length=255)
    integration = fields.ForeignKeyField(
        "models.Integration", related_name="suspended_events", null=True,
        on_delete=fields.SET_NULL,
    )  # fmt: skip
    actor: dict[str, Any] = json_field(default=dict)
    # The event as the rules left it (events/suspend.py rebuilds it), and its trace.
    event: dict[str, Any] = json_field(default=dict)
    status = fields.CharField(max_length=16, default="PENDING")
    due_at = fields.DatetimeField()
    received_at = fields.DatetimeField()
    settled_at = fields.DatetimeField(null=True)
    incident_id = fields.CharField(max_length=40, null=True)

    class Meta:
        table = "suspended_events"
        indexes = (("status", "due_at"), ("service_id", "dedup_key", "environment"))
