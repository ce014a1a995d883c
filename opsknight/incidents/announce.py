"""Announcing committed changes: webhook outbox rows and the live feed, together."""

from __future__ import annotations

from opsknight.incidents.models import Incident, TimelineEvent
from opsknight.live import changes as live
from opsknight.webhooks import outbox


async def announce(changes: list[tuple[Incident, TimelineEvent]]) -> None:
    """Inside the change's transaction, for entries just written: every entry that names
    a webhook event gets its deliveries (outbox), in each webhook's format, and a live
    change, both after commit."""
    await outbox.record(changes)
    named = outbox.named_events(changes)
    if named:
        await live.record(named)
