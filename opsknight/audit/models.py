from __future__ import annotations

from typing import Any

from tortoise import fields

from opsknight.db import PrefixedModel, json_field


# One change of configuration, written in the transaction that makes it; never updated.
class AuditEntry(PrefixedModel):
    id_prefix = "aud"
    at = fields.DatetimeField()
    action = fields.CharField(max_length=64)  # e.g. service.updated
    resource_type = fields.CharField(max_length=32)
    resource_id = fields.CharField(max_length=40)
    actor_type = fields.CharField(max_length=16)  # user | system
    actor_id = fields.CharField(max_length=40, null=True)
    actor_name = fields.CharField(max_length=255, null=True)
    api_key_id = fields.CharField(max_length=40, null=True)
    session_id = fields.CharField(max_length=40, null=True)
    ip = fields.CharField(max_length=64, null=True)
    # {field: {"before": …, "after": …}}, secrets masked.
    changes: dict[str, Any] = json_field(default=dict)

    class Meta:
        table = "audit_entries"
        indexes = (("at",), ("resource_type", "resource_id"), ("actor_id", "at"))
