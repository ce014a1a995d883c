from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model

from opsknight.db import PrefixedModel, json_field


class Schedule(PrefixedModel):
    id_prefix = "sch"
    name = fields.CharField(max_length=100)
    name_key = fields.CharField(max_length=100, unique=True)
    description = fields.TextField(null=True)
    time_zone = fields.CharField(max_length=64)
    team = fields.ForeignKeyField(
        "models.Team", related_name="schedules", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()
    # Bumped in the transaction of every change to the schedule, its layers or overrides,
    # so a process can tell whether the renders it keeps are current (schedules/oncall.py).
    revision = fields.IntField(default=0, db_default=0)

    class Meta:
        table = "schedules"


class ScheduleLayer(PrefixedModel):
    id_prefix = "lay"
    schedule = fields.ForeignKeyField(
        "models.Schedule", related_name="layers", on_delete=fields.CASCADE
    )
    position = fields.IntField()
    name = fields.CharField(max_length=100)
    rotation_type = fields.CharField(max_length=8)
    rotation_length_hours = fields.IntField(null=True)
    # Local wall-clock date-times in the schedule's zone, ISO 8601 without an offset.
    handoff_start = fields.CharField(max_length=19)
    end = fields.CharField(max_length=19, null=True)
    restrictions: list[dict[str, Any]] = json_field(default=list)

    class Meta:
        table = "schedule_layers"


# One slot of a layer's rotation; a user may hold several slots.
class ScheduleLayerMember(Model):
    id = fields.IntField(primary_key=True)
    layer = fields.ForeignKeyField(
        "models.ScheduleLayer", related_name="members", on_delete=fields.CASCADE
    )
    position = fields.IntField()
    user = fields.ForeignKeyField(
        "models.User", related_name="rotation_slots", on_delete=fields.RESTRICT
    )

    class Meta:
        table = "schedule_layer_members"
        unique_together = (("layer", "position"),)


class ScheduleOverride(PrefixedModel):
    id_prefix = "ovr"
    schedule = fields.ForeignKeyField(
        "models.Schedule", related_name="overrides", on_delete=fields.CASCADE
    )
    user = fields.ForeignKeyField("models.User", related_name="overrides", on_delete=fields.CASCADE)
    replaces_user = fields.ForeignKeyField(
        "models.User", related_name="replaced_overrides", null=True, on_delete=fields.CASCADE
    )
    start = fields.DatetimeField()
    end = fields.DatetimeField()
    created_at = fields.DatetimeField()

    class Meta:
        table = "schedule_overrides"
        indexes = (("schedule_id", "start"),)
