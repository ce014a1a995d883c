from __future__ import annotations

from tortoise import fields

from opsknight.db import PrefixedModel, json_field


# A maintenance window: one span (starts_at..ends_at) or weekly (days, start_time,
# duration_minutes in time_zone, optionally until). handled_until is the end of the last
# span whose end-of-window work (resolve_on_end / reopen_on_end) is done: claimed once.
class MaintenanceWindow(PrefixedModel):
    id_prefix = "mnt"
    name = fields.CharField(max_length=255)
    service_ids: list[str] = json_field(default=list)
    starts_at = fields.DatetimeField(null=True)
    ends_at = fields.DatetimeField(null=True)
    days: list[str] = json_field(default=list)
    start_time = fields.CharField(max_length=5, null=True)
    duration_minutes = fields.IntField(null=True)
    time_zone = fields.CharField(max_length=64, default="UTC")
    until = fields.DatetimeField(null=True)
    resolve_on_end = fields.BooleanField(default=False)
    reopen_on_end = fields.BooleanField(default=False)
    handled_until = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "maintenance_windows"
