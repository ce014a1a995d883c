from __future__ import annotations

from typing import Any

from tortoise import fields

from opsknight.db import PrefixedModel, json_field


class ChangeEvent(PrefixedModel):
    id_prefix = "chg"
    service = fields.ForeignKeyField(
        "models.Service", related_name="change_events", on_delete=fields.CASCADE
    )
    summary = fields.CharField(max_length=1024)
    source = fields.CharField(max_length=255, null=True)
    timestamp = fields.DatetimeField()
    custom_details: dict[str, Any] = json_field(default=dict)
    links: list[dict[str, Any]] = json_field(default=list)
    created_at = fields.DatetimeField()

    class Meta:
        table = "change_events"
        indexes = (("service_id", "timestamp"),)
