"""Shadow mode for a parallel run: incidents open, deduplicate and escalate as usual, and
who would be paged is worked out, but no page and no webhook leaves. Each page that would
have gone is kept (`Notification.shadow`) and written on the timeline as
`notification_shadowed`, so the run can be compared with what the old tool did.

Whether a page is shadowed is decided when its step plans it: turning shadow mode off
sends what is planned from then on and replays nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from opsknight import clock
from opsknight.audit import service as audit
from opsknight.auth.principal import Principal
from opsknight.directory.models import Service
from opsknight.errors import ValidationFailed
from opsknight.notifications.models import Notification
from opsknight.paging import Page, page_of
from opsknight.shadow.models import ShadowMode
from opsknight.transaction import atomic

_ROW = 1


@dataclass(frozen=True)
class ShadowState:
    enabled: bool
    changed_at: datetime | None
    changed_by: str | None
    service_ids: list[str]  # services in shadow mode on their own


async def account_wide() -> bool:
    row = await ShadowMode.get_or_none(id=_ROW)
    return row is not None and row.enabled


async def shadowed(service_ids: set[str]) -> set[str]:
    """Those of ``service_ids`` whose pages and webhooks are held back now."""
    if not service_ids:
        return set()
    if await account_wide():
        return set(service_ids)
    found = await Service.filter(id__in=service_ids, shadow=True).values_list("id", flat=True)
    return {str(service_id) for service_id in found}


async def state(principal: Principal) -> ShadowState:
    principal.require("services:read")
    row = await ShadowMode.get_or_none(id=_ROW)
    service_ids = (
        await Service.filter(shadow=True).order_by("name_key").values_list("id", flat=True)
    )
    return ShadowState(
        enabled=row is not None and row.enabled,
        changed_at=None if row is None else row.changed_at,
        changed_by=None if row is None else row.changed_by,
        service_ids=[str(service_id) for service_id in service_ids],
    )


async def set_account_wide(principal: Principal, enabled: Any) -> ShadowState:
    """Turn account-wide shadow mode on or off (administrators: it silences every page)."""
    principal.require("services:write")
    if not isinstance(enabled, bool):
        raise ValidationFailed("enabled must be true or false", field="enabled")
    now = clock.now()
    async with atomic():
        before = await account_wide()
        await ShadowMode.update_or_create(
            id=_ROW, defaults={"enabled": enabled, "changed_at": now,
                               "changed_by": principal.user_name},
        )  # fmt: skip
        await audit.record(principal, "shadow_mode.changed", "shadow_mode", "account",
                           {"enabled": before}, {"enabled": enabled})  # fmt: skip
    return await state(principal)


def outcome(notification: Notification) -> str:
    """would_page (it would have gone when it was due), answered (a later step of the
    person's own rules, not needed: the incident was acknowledged or resolved first) or
    pending (not due yet)."""
    return {"shadowed": "would_page", "cancelled": "answered"}.get(notification.status, "pending")


async def report(
    principal: Principal,
    since: datetime | None,
    until: datetime | None,
    service_id: str | None,
    limit: int | None,
    offset: int | None,
) -> Page[Notification]:
    """The pages the parallel run held back, oldest first."""
    principal.require("incidents:read")
    query = Notification.filter(shadow=True)
    if since is not None:
        query = query.filter(created_at__gte=since)
    if until is not None:
        query = query.filter(created_at__lt=until)
    if service_id is not None:
        query = query.filter(incident__service_id=service_id)
    query = query.select_related("incident", "incident__service", "user", "contact_method")
    return await page_of(query, limit, offset, "created_at", "id")
