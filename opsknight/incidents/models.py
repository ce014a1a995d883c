from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model

from opsknight.db import PrefixedModel, json_field


class Incident(PrefixedModel):
    id_prefix = "inc"
    number = fields.IntField()
    environment = fields.CharField(max_length=8, default="live")
    # 1024: an event's summary becomes the title (the REST create limit is 255).
    title = fields.CharField(max_length=1024)
    description = fields.TextField(null=True)
    status = fields.CharField(max_length=16, default="OPEN")
    urgency = fields.CharField(max_length=8, default="LOW")
    priority = fields.CharField(max_length=2, null=True)
    service = fields.ForeignKeyField(
        "models.Service", related_name="incidents", on_delete=fields.RESTRICT
    )
    assignee = fields.ForeignKeyField(
        "models.User", related_name="assigned_incidents", null=True, on_delete=fields.SET_NULL
    )
    assigned_team = fields.ForeignKeyField(
        "models.Team", related_name="assigned_incidents", null=True, on_delete=fields.SET_NULL
    )
    dedup_key = fields.CharField(max_length=255, null=True)
    # TRUE while the incident is active, NULL once resolved: the unique index below then
    # allows one active incident per (service, dedup_key, environment) and any number of
    # resolved ones, on SQLite and PostgreSQL alike.
    active = fields.BooleanField(null=True, default=True)
    source = fields.CharField(max_length=255, null=True)
    integration = fields.ForeignKeyField(
        "models.Integration", related_name="incidents", null=True, on_delete=fields.SET_NULL
    )
    escalation_policy = fields.ForeignKeyField(
        "models.EscalationPolicy", related_name="incidents", null=True, on_delete=fields.SET_NULL
    )
    policy_snapshot: dict[str, Any] | None = json_field(null=True)
    current_escalation_step = fields.IntField(null=True)
    escalation_status = fields.CharField(max_length=16, default="NONE")
    escalation_round = fields.IntField(default=0)
    escalation_token = fields.CharField(max_length=40, null=True)
    escalation_due_at = fields.DatetimeField(null=True)
    # The step the due time runs (1-based); 0 ends the escalation (COMPLETED/EXHAUSTED).
    escalation_next_step = fields.IntField(null=True)
    # Steps run in the incident's whole life: every run after the first is an `escalation`.
    escalation_runs = fields.IntField(null=True, default=0)  # NULL on rows older than it
    # The next reminder (policy reminder_minutes / ack_reminder_minutes), and how many
    # were sent since the last status change.
    reminder_due_at = fields.DatetimeField(null=True)
    reminders_sent = fields.IntField(default=0, db_default=0)
    alert_count = fields.IntField(default=0)
    custom_details: dict[str, Any] = json_field(default=dict)
    links: list[dict[str, Any]] = json_field(default=list)
    images: list[dict[str, Any]] = json_field(default=list)
    component = fields.CharField(max_length=255, null=True)
    alert_group = fields.CharField(max_length=255, null=True)
    alert_class = fields.CharField(max_length=255, null=True)
    client = fields.CharField(max_length=255, null=True)
    client_url = fields.CharField(max_length=2048, null=True)
    suppress_notifications = fields.BooleanField(default=False)
    # The maintenance window it opened in (SUPPRESSED), for that window's end.
    maintenance_window_id = fields.CharField(max_length=40, null=True)
    # The service's timeouts, copied when it opened, and when they run out.
    ack_timeout_minutes = fields.IntField(null=True)
    ack_timeout_at = fields.DatetimeField(null=True)
    auto_resolve_at = fields.DatetimeField(null=True)
    merged_into = fields.ForeignKeyField(
        "models.Incident", related_name="merged_incidents", null=True, on_delete=fields.SET_NULL
    )
    merged_at = fields.DatetimeField(null=True)
    related_incidents: list[str] = json_field(default=list)
    version = fields.IntField(default=1)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()
    acknowledged_at = fields.DatetimeField(null=True)
    resolved_at = fields.DatetimeField(null=True)
    snoozed_until = fields.DatetimeField(null=True)
    last_status_change = fields.DatetimeField()

    class Meta:
        table = "incidents"
        unique_together = (
            ("service", "dedup_key", "environment", "active"),
            ("environment", "number"),
        )
        indexes = (
            ("environment", "created_at"),
            ("environment", "updated_at"),  # what analytics rollups must recount
            ("status", "snoozed_until"),
            ("escalation_status", "escalation_due_at"),
            ("reminder_due_at",),
            ("ack_timeout_at",),
            ("auto_resolve_at",),
        )


# The per-environment incident number sequence.
class IncidentCounter(Model):
    environment = fields.CharField(primary_key=True, max_length=8)
    value = fields.IntField(default=0)

    class Meta:
        table = "incident_counters"


# One event as received, folded into an incident.
class Alert(PrefixedModel):
    id_prefix = "alr"
    incident = fields.ForeignKeyField(
        "models.Incident", related_name="alerts", on_delete=fields.CASCADE
    )
    environment = fields.CharField(max_length=8, default="live")
    action = fields.CharField(max_length=16)
    dedup_key = fields.CharField(max_length=255, null=True)
    summary = fields.CharField(max_length=1024, null=True)
    severity = fields.CharField(max_length=16, null=True)
    integration = fields.ForeignKeyField(
        "models.Integration", related_name="alerts", null=True, on_delete=fields.SET_NULL
    )
    payload: dict[str, Any] = json_field(default=dict)
    # How the event was handled: rules matched, route, dedup, maintenance, suspend.
    trace: list[dict[str, Any]] | None = json_field(null=True, default=list)
    received_at = fields.DatetimeField()

    class Meta:
        table = "alerts"


class Note(PrefixedModel):
    id_prefix = "note"
    incident = fields.ForeignKeyField(
        "models.Incident", related_name="notes", on_delete=fields.CASCADE
    )
    author = fields.ForeignKeyField(
        "models.User", related_name="notes", null=True, on_delete=fields.SET_NULL
    )
    content = fields.TextField()
    is_internal = fields.BooleanField(default=False)
    created_at = fields.DatetimeField()

    class Meta:
        table = "notes"


class TimelineEvent(PrefixedModel):
    id_prefix = "evt"
    incident = fields.ForeignKeyField(
        "models.Incident", related_name="timeline", on_delete=fields.CASCADE
    )
    type = fields.CharField(max_length=32)
    timestamp = fields.DatetimeField()
    actor_type = fields.CharField(max_length=16)
    actor_id = fields.CharField(max_length=40, null=True)
    actor_name = fields.CharField(max_length=255, null=True)
    details: dict[str, Any] = json_field(default=dict)

    class Meta:
        table = "timeline_events"


# The first result of a create made with an ``Idempotency-Key``, kept for 24 h.
class IdempotencyRecord(Model):
    id = fields.IntField(primary_key=True)
    scope = fields.CharField(max_length=80)
    key = fields.CharField(max_length=255)
    request_hash = fields.CharField(max_length=64)
    resource_id = fields.CharField(max_length=40)
    created_at = fields.DatetimeField()

    class Meta:
        table = "idempotency_records"
        unique_together = (("scope", "key"),)
