from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model

from opsknight.db import json_field


# Incidents that opened on one UTC day for one service and urgency, counted (rebuilt
# from the incidents whenever one of that day changes; see analytics.rollups).
class IncidentRollup(Model):
    id = fields.BigIntField(primary_key=True)
    environment = fields.CharField(max_length=8)
    day = fields.CharField(max_length=10)  # YYYY-MM-DD, UTC
    service_id = fields.CharField(max_length=40)
    urgency = fields.CharField(max_length=8)
    incidents = fields.IntField()
    alerts = fields.IntField()
    acknowledged = fields.IntField()
    acknowledge_seconds = fields.FloatField()
    resolved = fields.IntField()
    resolve_seconds = fields.FloatField()

    class Meta:
        table = "incident_rollups"
        indexes = (("environment", "day"),)


# The acknowledge and resolve times of one day's incidents (every service), as histograms.
class IncidentDayDurations(Model):
    id = fields.BigIntField(primary_key=True)
    environment = fields.CharField(max_length=8)
    day = fields.CharField(max_length=10)
    acknowledge: dict[str, Any] = json_field()
    resolve: dict[str, Any] = json_field()

    class Meta:
        table = "incident_day_durations"
        unique_together = (("environment", "day"),)


# How far the rollups of an environment have been brought up to date.
class RollupRefresh(Model):
    environment = fields.CharField(primary_key=True, max_length=8)
    through = fields.DatetimeField()

    class Meta:
        table = "rollup_refreshes"
