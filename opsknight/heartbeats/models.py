from __future__ import annotations

from tortoise import fields

from opsknight.db import PrefixedModel


# A heartbeat of a service: pinged with its token at least every interval_seconds (plus
# grace_seconds). due_at is when it is missed; status NEW (never pinged), UP or DOWN.
class Heartbeat(PrefixedModel):
    id_prefix = "hb"
    service = fields.ForeignKeyField(
        "models.Service", related_name="heartbeats", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=255)
    token = fields.CharField(max_length=32, unique=True)
    interval_seconds = fields.IntField()
    grace_seconds = fields.IntField(default=0)
    status = fields.CharField(max_length=8, default="NEW")
    last_ping_at = fields.DatetimeField(null=True)
    due_at = fields.DatetimeField()
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "heartbeats"
        indexes = (("status", "due_at"),)
