from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model

from opsknight.db import PrefixedModel, json_field


class User(PrefixedModel):
    id_prefix = "usr"
    name = fields.CharField(max_length=255)
    email = fields.CharField(max_length=320)
    # Lower-cased email: uniqueness is case-insensitive on every database.
    email_key = fields.CharField(max_length=320, unique=True)
    role = fields.CharField(max_length=16)
    status = fields.CharField(max_length=16, default="ACTIVE")
    time_zone = fields.CharField(max_length=64, default="UTC")
    # Tell this person when an on-call shift of theirs starts.
    handoff_notices = fields.BooleanField(default=True, db_default=True)
    shift_end_notices = fields.BooleanField(default=False, db_default=False)
    password_hash = fields.CharField(max_length=255, null=True)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "users"


class ContactMethod(PrefixedModel):
    id_prefix = "cm"
    user = fields.ForeignKeyField(
        "models.User", related_name="contact_methods", on_delete=fields.CASCADE
    )
    type = fields.CharField(max_length=16)
    address = fields.CharField(max_length=2048)
    secret = fields.CharField(max_length=128, null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "contact_methods"


# A person's own order of being reached: this contact method, this many minutes after
# they are paged, for incidents of this urgency (ANY for all). Without rules, every
# contact method is used at once.
class NotificationRule(PrefixedModel):
    id_prefix = "nrl"
    user = fields.ForeignKeyField(
        "models.User", related_name="notification_rules", on_delete=fields.CASCADE
    )
    contact_method = fields.ForeignKeyField(
        "models.ContactMethod", related_name="rules", on_delete=fields.CASCADE
    )
    position = fields.IntField()
    delay_minutes = fields.IntField()
    urgency = fields.CharField(max_length=8)
    created_at = fields.DatetimeField()

    class Meta:
        table = "notification_rules"


class Team(PrefixedModel):
    id_prefix = "team"
    name = fields.CharField(max_length=100)
    name_key = fields.CharField(max_length=100, unique=True)
    description = fields.TextField(null=True)
    lead = fields.ForeignKeyField(
        "models.User", related_name="led_teams", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "teams"


class TeamMember(Model):
    id = fields.IntField(primary_key=True)
    team = fields.ForeignKeyField(
        "models.Team", related_name="memberships", on_delete=fields.CASCADE
    )
    user = fields.ForeignKeyField(
        "models.User", related_name="memberships", on_delete=fields.CASCADE
    )
    role = fields.CharField(max_length=16, default="MEMBER")
    receive_team_notifications = fields.BooleanField(default=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "team_members"
        unique_together = (("team", "user"),)


class Service(PrefixedModel):
    id_prefix = "svc"
    name = fields.CharField(max_length=100)
    name_key = fields.CharField(max_length=100, unique=True)
    description = fields.TextField(null=True)
    team = fields.ForeignKeyField(
        "models.Team", related_name="services", null=True, on_delete=fields.SET_NULL
    )
    escalation_policy = fields.ForeignKeyField(
        "models.EscalationPolicy", related_name="services", null=True, on_delete=fields.SET_NULL
    )
    region = fields.CharField(max_length=64, null=True)
    sla_tier = fields.CharField(max_length=64, null=True)
    runbook_url = fields.CharField(max_length=2048, null=True)
    # Minutes after which an acknowledged incident opens again / any is resolved.
    acknowledgement_timeout = fields.IntField(null=True)
    auto_resolve_timeout = fields.IntField(null=True)
    # SEVERITY (from the event), HIGH, LOW or SUPPORT_HOURS (HIGH inside, LOW outside).
    urgency_rule = fields.CharField(max_length=16, default="SEVERITY", db_default="SEVERITY")
    support_hours: dict[str, Any] | None = json_field(null=True)
    # Shadow mode (shadow/service.py): its pages and webhooks are recorded, not sent.
    shadow = fields.BooleanField(default=False, db_default=False)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "services"


# Room for the keys of the tools teams switch from: PagerDuty's 32 characters and
# Opsgenie's 36-character UUIDs (issued keys are 32 hex characters).
MAX_INTEGRATION_KEY = 64


class Integration(PrefixedModel):
    id_prefix = "int"
    service = fields.ForeignKeyField(
        "models.Service", related_name="integrations", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=100)
    type = fields.CharField(max_length=16, default="events_api")
    key = fields.CharField(max_length=MAX_INTEGRATION_KEY, unique=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "integrations"
