"""Outbox rows (webhook deliveries, notifications): claiming one, the retry wait, settling.

An outbox row is ``pending`` with a token and a ``next_attempt_at``. A runner claims it
with a conditional update that swaps the token for a lease and pushes
``next_attempt_at`` past the request timeout, so no other runner takes it meanwhile and
the sweeper retries it if this runner dies mid-attempt.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from opsknight import clock, ids

logger = logging.getLogger("opsknight.outbox")

# Longer than the 10 s request cut, in real time: an in-flight attempt is never retaken.
LEASE = timedelta(seconds=60)
# The longest Retry-After honoured; a receiver cannot park a delivery for days.
MAX_RETRY_AFTER = 6 * 3600.0


async def claim(model: Any, row_id: str, token: str) -> str | None:
    """Take the row for one attempt: the lease token, or None if someone else has it."""
    lease = ids.new_id("tok")
    won = await model.filter(id=row_id, token=token, status="pending").update(
        token=lease, next_attempt_at=clock.now() + LEASE
    )
    return lease if won else None


def retry_wait(
    attempts: int, schedule: tuple[int, ...], retry_after: float | None
) -> timedelta | None:
    """How long to wait after the ``attempts``-th failed attempt (scaled), or None when
    the schedule is used up. A receiver's Retry-After replaces the scheduled wait."""
    if attempts > len(schedule):
        return None
    seconds = float(schedule[attempts - 1])
    if retry_after is not None:
        seconds = min(retry_after, MAX_RETRY_AFTER)
    return clock.scaled(timedelta(seconds=seconds))


async def sweep(model: Any, attempt: Callable[[str, str], Awaitable[None]], limit: int) -> int:
    """Attempt up to ``limit`` pending rows whose next attempt is due and that no job
    took (lost, or Redis was down). Attempts run side by side, so one hanging receiver
    holds up none of the others. Returns how many were due."""
    due = (
        await model.filter(status="pending", next_attempt_at__lte=clock.now())
        .order_by("next_attempt_at")
        .limit(limit)
        .values_list("id", "token")
    )
    results = await asyncio.gather(*(attempt(i, t) for i, t in due), return_exceptions=True)
    for result in results:
        if isinstance(result, Exception):
            logger.error("%s attempt failed unexpectedly", model.__name__, exc_info=result)
    return len(due)


def settled(
    ok: bool, status_code: int | None, error: str | None, attempts: int, wait: timedelta | None
) -> tuple[str, dict[str, Any]]:
    """The outcome of an attempt (`delivered`, `retry` or `failed`) and the row's new
    columns; ``wait`` is the retry wait, None when there is no retry left."""
    now = clock.now()
    columns: dict[str, Any] = {
        "attempts": attempts,
        "last_status_code": status_code,
        "last_error": error,
    }
    if ok:
        columns.update(status="delivered", delivered_at=now, token=None, next_attempt_at=None)
        return "delivered", columns
    if wait is not None:
        columns.update(token=ids.new_id("tok"), next_attempt_at=now + wait)
        return "retry", columns
    columns.update(status="failed", token=None, next_attempt_at=None)
    return "failed", columns
