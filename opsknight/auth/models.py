from __future__ import annotations

from tortoise import fields

from opsknight.db import PrefixedModel, json_field


# An API key; only the SHA-256 digest of the secret is stored.
class ApiKey(PrefixedModel):
    id_prefix = "key"
    name = fields.CharField(max_length=100)
    prefix = fields.CharField(max_length=16)
    last4 = fields.CharField(max_length=4)
    digest = fields.CharField(max_length=64, unique=True)
    scopes: list[str] = json_field(default=list)
    environment = fields.CharField(max_length=8)
    user = fields.ForeignKeyField("models.User", related_name="api_keys", on_delete=fields.CASCADE)
    created_at = fields.DatetimeField()
    last_used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "api_keys"
