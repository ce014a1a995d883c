"""Writing and reading the audit log.

``record`` is called by the domain functions that change configuration, inside the
transaction that makes the change, so the entry exists exactly when the change does.
Each entry names the person (and the API key or console session, and the client's
address) and, for each changed field, the value before and after; secret fields are
masked. Only administrators read it. Entries older than the retention setting
(``OPSKNIGHT_AUDIT_RETENTION_DAYS``, default 365) are removed by the sweeper.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from opsknight import clock, validation
from opsknight.audit.models import AuditEntry
from opsknight.auth.principal import Principal
from opsknight.config import get_settings
from opsknight.paging import Page, page_of

MASKED = "••••••"
# Fields whose values never reach the log, whatever the resource.
SECRET_FIELDS = frozenset({"key", "token", "secret", "digest", "password", "password_hash"})


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return clock.isoformat_z(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def snapshot(row: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    """The audited fields of a row, as JSON values."""
    return {name: _plain(getattr(row, name, None)) for name in fields}


def changes(before: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, Any]:
    """Each field that differs: ``{"before", "after"}`` (secrets masked)."""
    old, new = before or {}, after or {}
    changed: dict[str, Any] = {}
    for name in sorted(set(old) | set(new)):
        if old.get(name) == new.get(name):
            continue
        if name in SECRET_FIELDS:
            changed[name] = {"before": MASKED if old.get(name) else None,
                             "after": MASKED if new.get(name) else None}  # fmt: skip
        else:
            changed[name] = {"before": old.get(name), "after": new.get(name)}
    return changed


async def record(
    principal: Principal | None,
    action: str,
    resource_type: str,
    resource_id: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append an entry; call it inside the change's transaction."""
    entry = AuditEntry(
        at=clock.now(), action=action, resource_type=resource_type, resource_id=resource_id,
        actor_type="user" if principal is not None else "system",
        actor_id=principal.user_id if principal else None,
        actor_name=principal.user_name if principal else None,
        api_key_id=principal.api_key_id if principal else None,
        session_id=principal.session_id if principal else None,
        ip=principal.ip if principal else None, changes=changes(before, after),
    )  # fmt: skip
    await entry.save()
    return entry


async def list_entries(
    principal: Principal,
    *,
    resource_type: str | None,
    resource_id: str | None,
    actor_id: str | None,
    action: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int | None,
    offset: int | None,
) -> Page[AuditEntry]:
    """Newest first; administrators only."""
    principal.require("audit:read")
    query = AuditEntry.all()
    for name, value in (("resource_type", resource_type), ("resource_id", resource_id),
                        ("actor_id", actor_id), ("action", action)):  # fmt: skip
        if value:
            query = query.filter(**{name: value})
    if since is not None:
        query = query.filter(at__gte=validation.aware(since, "since"))
    if until is not None:
        query = query.filter(at__lt=validation.aware(until, "until"))
    return await page_of(query, limit, offset, "-at", "-id")


async def sweep(limit: int = 1000) -> int:
    """Remove entries older than the retention; how many went."""
    cutoff = clock.now() - timedelta(days=get_settings().audit_retention_days)
    old = await AuditEntry.filter(at__lt=cutoff).limit(limit).values_list("id", flat=True)
    if not old:
        return 0
    return int(await AuditEntry.filter(id__in=list(old)).delete())
