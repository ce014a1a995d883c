"""Following the change feed as a caller: their environment, their filter, fresh rows."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from opsknight import runtime
from opsknight.auth.principal import Principal
from opsknight.errors import RateLimited
from opsknight.incidents.models import Incident
from opsknight.live.feed import Change, ChangeFilter, SlowConsumer


async def follow(
    principal: Principal, wanted: ChangeFilter, after: str | None = None
) -> AsyncIterator[tuple[Change, Incident]]:
    """Every change the caller may see, with the incident as it is when delivered.

    With ``after`` (an event id), first the buffered changes that followed it. A test
    key sees only test incidents. An incident deleted since its change is skipped.
    """
    principal.require("incidents:read")
    async with runtime.current().hub.subscribe(wanted, after) as subscriber:
        while True:
            try:
                change = await subscriber.next()
            except SlowConsumer as exc:
                raise RateLimited(
                    f"{exc}; resubscribe (with `after`) to catch up", {"reason": "slow_consumer"}
                ) from exc
            incident = await _fresh(change)
            if incident is not None:
                yield change, incident


async def _fresh(change: Change) -> Incident | None:
    """The incident as it is once the change has committed (read once per change)."""
    # Read once for every subscriber of this app: with a thousand subscribers a change
    # costs one read, not a thousand.
    rows = runtime.current().change_rows
    pending = rows.get(change.id)
    if pending is None:
        pending = rows.put(
            change.id,
            asyncio.ensure_future(
                Incident.get_or_none(id=change.incident_id, environment=change.environment)
            ),
        )
    return await asyncio.shield(pending)
