"""The account-wide shadow switch (per-service switches are `Service.shadow`)."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


# One row (id 1) once the switch was first set; no row means off.
class ShadowMode(Model):
    id = fields.IntField(primary_key=True)
    enabled = fields.BooleanField(default=False)
    changed_at = fields.DatetimeField()
    changed_by = fields.CharField(max_length=255, null=True)

    class Meta:
        table = "shadow_mode"
