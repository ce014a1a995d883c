"""Scopes and what each role may do with them (SPEC §2)."""

from __future__ import annotations

from enum import Enum

ALL_SCOPES: tuple[str, ...] = (
    "events:write",
    "incidents:read",
    "incidents:write",
    "incidents:delete",
    "services:read",
    "services:write",
    "schedules:read",
    "schedules:write",
    "users:read",
    "users:write",
    "teams:read",
    "teams:write",
    "escalation_policies:read",
    "escalation_policies:write",
    "webhooks:read",
    "webhooks:write",
    "api_keys:read",
    "api_keys:write",
    "maintenance:read",
    "maintenance:write",
    "audit:read",
)


class Role(Enum):
    ADMIN = "ADMIN"
    RESPONDER = "RESPONDER"
    USER = "USER"


ROLES = tuple(r.value for r in Role)

# Writes that manage configuration: administrators only.
_ADMIN_ONLY = frozenset(
    {
        "users:write",
        "teams:write",
        "services:write",
        "escalation_policies:write",
        "webhooks:write",
        "api_keys:write",
    }
)


# Reads of what only administrators may see.
_ADMIN_ONLY_READS = frozenset({"audit:read"})


def role_allows(role: str, scope: str) -> bool:
    """Whether a user with ``role`` may act under ``scope`` at all."""
    if role == "ADMIN":
        return True
    if scope in _ADMIN_ONLY_READS:
        return False
    if scope.endswith(":read"):
        return True
    if role == "RESPONDER":
        return scope not in _ADMIN_ONLY
    return False
