"""Creating, listing and revoking API keys."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from opsknight import clock, validation
from opsknight.audit import service as audit
from opsknight.auth import keys
from opsknight.auth.models import ApiKey
from opsknight.auth.principal import Principal
from opsknight.auth.scopes import ALL_SCOPES
from opsknight.directory.models import User
from opsknight.errors import Forbidden, NotFound, ValidationFailed
from opsknight.paging import Page, page_of
from opsknight.transaction import atomic

AUDITED = ("name", "scopes", "environment", "user_id", "revoked_at")


@dataclass(frozen=True)
class IssuedKey:
    """A new key row and its secret, which exists only in this value."""

    row: ApiKey
    secret: str


def check_scopes(scopes: Sequence[str]) -> list[str]:
    if not scopes:
        raise ValidationFailed(
            "scopes must name at least one scope", field="scopes", reason="required"
        )
    unknown = [s for s in scopes if s not in ALL_SCOPES]
    if unknown:
        raise ValidationFailed(
            f"unknown scope {unknown[0]}",
            field="scopes",
            reason="invalid_enum",
            allowed=list(ALL_SCOPES),
        )
    return sorted(set(scopes), key=ALL_SCOPES.index)


async def issue(owner: User, name: str, scopes: Sequence[str], environment: str) -> IssuedKey:
    """Store a new key for ``owner``; the secret is returned once and never stored."""
    name = validation.text(name, "name", max_length=100)
    environment = validation.choice(environment, "environment", ("live", "test"))
    checked = check_scopes(scopes)
    secret = keys.generate(environment)
    row = await ApiKey.create(
        name=name,
        prefix=f"sk_{environment}_",
        last4=secret[-4:],
        digest=keys.digest(secret),
        scopes=checked,
        environment=environment,
        user=owner,
        created_at=clock.now(),
    )
    return IssuedKey(row=row, secret=secret)


async def create_api_key(
    principal: Principal,
    *,
    name: str,
    scopes: Sequence[str],
    environment: str | None = None,
    user_id: str | None = None,
) -> IssuedKey:
    """A new key; by default in the caller's environment."""
    principal.require("api_keys:write")
    environment = validation.choice(
        environment or principal.environment, "environment", ("live", "test")
    )
    # A key can hand out only what it holds itself, and a sandbox key only sandbox keys:
    # otherwise a key limited to api_keys:write, or a test key, would open everything.
    checked = check_scopes(scopes)
    beyond = [scope for scope in checked if scope not in principal.scopes]
    if beyond:
        raise Forbidden(
            f"this API key cannot grant scopes it does not hold: {', '.join(beyond)}",
            {"field": "scopes", "scopes": beyond},
        )
    if principal.environment == "test" and environment != "test":
        raise Forbidden(
            "a test key can only create test keys", {"field": "environment", "environment": "test"}
        )
    owner_id = user_id or principal.user_id
    owner = await User.get_or_none(id=owner_id)
    owner = validation.referenced(owner, owner_id, "user_id", "user")
    async with atomic():
        issued = await issue(owner, name, scopes, environment)
        await audit.record(principal, "api_key.created", "api_key", issued.row.id, None,
                           audit.snapshot(issued.row, AUDITED))  # fmt: skip
    return issued


async def list_api_keys(
    principal: Principal, limit: int | None, offset: int | None
) -> Page[ApiKey]:
    """Live (unrevoked) keys; administrators see everyone's, others their own."""
    principal.require("api_keys:read")
    query = ApiKey.filter(revoked_at__isnull=True)
    if principal.role != "ADMIN":
        query = query.filter(user_id=principal.user_id)
    return await page_of(query, limit, offset, "-created_at", "-id")


async def revoke_api_key(principal: Principal, key_id: str) -> str:
    principal.require("api_keys:write")
    row = await ApiKey.get_or_none(id=key_id, revoked_at__isnull=True)
    if row is None:
        raise NotFound.of("API key", key_id)
    before = audit.snapshot(row, AUDITED)
    row.revoked_at = clock.now()
    async with atomic():
        await row.save(update_fields=["revoked_at"])
        await audit.record(principal, "api_key.revoked", "api_key", row.id, before,
                           audit.snapshot(row, AUDITED))  # fmt: skip
    return key_id
