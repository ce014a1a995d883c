"""Change events as shown on incidents: the service's changes in the hour before it opened."""

from __future__ import annotations

from datetime import datetime, timedelta

from opsknight.events.models import ChangeEvent

RECENT_WINDOW = timedelta(hours=1)
RECENT_LIMIT = 5


async def recent_changes_for(keys: list[tuple[str, datetime]]) -> list[list[ChangeEvent]]:
    """For each (service_id, opened_at): up to 5 changes, newest first, from one query."""
    if not keys:
        return []
    service_ids = sorted({service_id for service_id, _ in keys})
    earliest = min(opened for _, opened in keys) - RECENT_WINDOW
    latest = max(opened for _, opened in keys)
    rows = await ChangeEvent.filter(
        service_id__in=service_ids, timestamp__gte=earliest, timestamp__lte=latest
    ).order_by("-timestamp", "-id")
    result = []
    for service_id, opened in keys:
        window_start = opened - RECENT_WINDOW
        matching = [
            row
            for row in rows
            if row.service_id == service_id  # type: ignore[attr-defined]
            and window_start <= row.timestamp <= opened
        ]
        result.append(matching[:RECENT_LIMIT])
    return result
