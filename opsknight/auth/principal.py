"""The credential of one request, resolved once and checked per field."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from opsknight import clock
from opsknight.auth import keys
from opsknight.auth.models import ApiKey
from opsknight.auth.scopes import role_allows
from opsknight.db import Statement, python_value
from opsknight.errors import Forbidden, Unauthorized

# Every authenticated request runs this: a fixed statement rather than an ORM query.
_KEY_WITH_OWNER = Statement(
    "SELECT k.id, k.digest, k.scopes, k.environment, k.revoked_at, k.last_used_at,"
    " u.id AS user_id, u.name AS user_name, u.role AS user_role, u.status AS user_status"
    " FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.digest = $1"
)

# last_used_at is refreshed at most this often, so reads do not each cost a write.
_LAST_USED_RESOLUTION = timedelta(seconds=60)


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's owner, role, scopes and sandbox environment."""

    user_id: str
    user_name: str
    role: str
    scopes: frozenset[str]
    environment: str
    api_key_id: str | None = None
    # The channel a person acts through without a key (a page's response link).
    via: str | None = None
    # A person signed in to the console: their session (it ends open streams too).
    session_id: str | None = None
    # The client's address, for the audit log.
    ip: str | None = None

    def require(self, scope: str) -> Principal:
        """Raise FORBIDDEN unless both the key's scopes and the owner's role allow ``scope``."""
        if scope not in self.scopes:
            raise Forbidden(f"this API key lacks the {scope} scope", {"scope": scope})
        if not role_allows(self.role, scope):
            raise Forbidden(
                f"the {self.role} role may not use {scope}", {"scope": scope, "role": self.role}
            )
        return self

    def may(self, scope: str) -> bool:
        """Whether ``require(scope)`` would pass."""
        return scope in self.scopes and role_allows(self.role, scope)

    @property
    def actor(self) -> dict[str, str]:
        """How this principal appears on timeline entries."""
        if self.api_key_id:
            return {"type": "api_key", "id": self.api_key_id, "name": self.user_name}
        actor = {"type": "user", "id": self.user_id, "name": self.user_name}
        if self.via:
            actor["via"] = self.via
        return actor


@dataclass(frozen=True)
class Credential:
    """What a request presented, before it is checked; ``problem`` explains a bad one."""

    principal: Principal | None = None
    problem: str | None = None
    presented: bool = field(default=False)
    # An integration key from `Authorization: Token token=<key>` or Opsgenie's
    # `Authorization: GenieKey <key>` (Events API only).
    integration_key: str | None = None
    # PagerDuty's legacy `X-Routing-Key` header: the routing key of a body without one.
    routing_key: str | None = None


ANONYMOUS = Credential()


def require(credential: Credential, scope: str | None = None) -> Principal:
    """The authenticated principal, or UNAUTHORIZED / FORBIDDEN."""
    if credential.principal is None:
        raise Unauthorized(credential.problem or "an API key is required")
    if scope is not None:
        credential.principal.require(scope)
    return credential.principal


def integration_key_from_headers(headers: Mapping[str, str]) -> str | None:
    """The key of ``Authorization: Token token=<key>`` or ``GenieKey <key>``, or None."""
    scheme, _, value = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "geniekey":
        return value.strip() or None
    if scheme.lower() != "token":
        return None
    name, _, key = value.strip().partition("=")
    if name.strip().lower() != "token":
        return None
    return key.strip().strip('"') or None


def api_key_from_headers(headers: Mapping[str, str]) -> str | None:
    """The API key in any of the three header forms, or None. ``Token token=`` is not one."""
    explicit = headers.get("x-api-key")
    if explicit:
        return explicit.strip()
    authorization = headers.get("authorization", "")
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() in ("bearer", "api-key") and value.strip():
        return value.strip()
    return None


def authorization_problem(headers: Mapping[str, str]) -> str | None:
    """Why an Authorization header that carries no usable credential is wrong, or None."""
    authorization = headers.get("authorization", "").strip()
    if not authorization or headers.get("x-api-key"):
        return None
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() in ("bearer", "api-key", "token", "geniekey") and value.strip():
        return None
    if not value.strip() and scheme.startswith(("sk_live_", "sk_test_")):
        return "the Authorization header needs a scheme: 'Authorization: Bearer <key>'"
    return (
        "unsupported Authorization header: use 'Authorization: Bearer <key>', "
        "'Authorization: Api-Key <key>' or 'X-API-Key: <key>'"
    )


# Keys share a handful of scope sets; each WebSocket connection keeps its principal for
# as long as it lives, so equal sets are one object rather than ~700 B per connection.
_scope_sets: dict[frozenset[str], frozenset[str]] = {}


def _shared_scopes(scopes: list[str]) -> frozenset[str]:
    wanted = frozenset(scopes)
    if len(_scope_sets) >= 1024:
        _scope_sets.clear()
    return _scope_sets.setdefault(wanted, wanted)


async def authenticate(raw_key: str | None) -> Credential:
    """Resolve a presented API key to a principal, or say why it is refused."""
    if raw_key is None:
        return ANONYMOUS
    environment = keys.environment_of(raw_key)
    if environment is None:
        return Credential(problem="malformed API key", presented=True)
    wanted = keys.digest(raw_key)
    rows = await _KEY_WITH_OWNER.rows(wanted)
    row = rows[0] if rows else None
    if row is None or not hmac.compare_digest(row["digest"], wanted):
        return Credential(problem="unknown API key", presented=True)
    if row["revoked_at"] is not None:
        return Credential(problem="this API key has been revoked", presented=True)
    if row["user_status"] != "ACTIVE":
        return Credential(problem="the owner of this API key is disabled", presented=True)
    now = clock.now()
    last_used_at = python_value(ApiKey, "last_used_at", row["last_used_at"])
    if last_used_at is None or now - last_used_at > _LAST_USED_RESOLUTION:
        await ApiKey.filter(id=row["id"]).update(last_used_at=now)
    principal = Principal(
        user_id=row["user_id"],
        user_name=row["user_name"],
        role=row["user_role"],
        scopes=_shared_scopes(python_value(ApiKey, "scopes", row["scopes"])),
        environment=row["environment"],
        api_key_id=row["id"],
    )
    return Credential(principal=principal, presented=True)
