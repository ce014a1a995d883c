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


# A signed-in browser: the cookie holds a random secret, the table its SHA-256. The role
# and a fingerprint of the password hash at sign-in are kept, so a demotion or a new
# password ends every session at once.
class WebSession(PrefixedModel):
    id_prefix = "ses"
    digest = fields.CharField(max_length=64, unique=True)
    user = fields.ForeignKeyField(
        "models.User", related_name="web_sessions", on_delete=fields.CASCADE
    )
    role = fields.CharField(max_length=16)
    password_mark = fields.CharField(max_length=16)
    csrf_token = fields.CharField(max_length=64)
    user_agent = fields.CharField(max_length=200, default="")
    ip = fields.CharField(max_length=64, default="")
    created_at = fields.DatetimeField()
    last_seen_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    ended_at = fields.DatetimeField(null=True)

    class Meta:
        table = "web_sessions"
        indexes = (("user_id", "ended_at"),)


# Failed sign-ins per account and per client address: each failure past the third
# doubles the wait before the next try is even checked.
class SignInFailures(PrefixedModel):
    id_prefix = "sif"
    key = fields.CharField(max_length=300, unique=True)  # "account:<email>" or "ip:<addr>"
    failures = fields.IntField(default=0)
    last_failure_at = fields.DatetimeField()
    blocked_until = fields.DatetimeField(null=True)

    class Meta:
        table = "sign_in_failures"
