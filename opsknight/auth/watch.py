"""Long-lived connections (WebSockets, server-sent event streams) and the credential each
was opened with. A request checks its key once; a connection lives for hours, so every
WATCH_SECONDS one query per process re-reads the keys of all open connections: a revoked
or deleted key, a disabled owner or a changed role ends the connections within seconds,
whichever process serves them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from opsknight.auth.models import ApiKey
from opsknight.auth.principal import Principal

logger = logging.getLogger("opsknight.auth")

WATCH_SECONDS = 2.0


@dataclass(eq=False)
class Watch:
    """One open connection: its principal, and what to do when the credential ends.
    ``end`` gets an error code (UNAUTHORIZED or FORBIDDEN) and a message."""

    principal: Principal
    end: Callable[[str, str], None]


_open: set[Watch] = set()
_task: asyncio.Task[None] | None = None


def watch(principal: Principal, end: Callable[[str, str], None]) -> Watch:
    global _task
    entry = Watch(principal, end)
    _open.add(entry)
    if _task is None or _task.done():
        _task = asyncio.get_running_loop().create_task(_watch_loop())
    return entry


def unwatch(entry: Watch | None) -> None:
    if entry is not None:
        _open.discard(entry)


async def _watch_loop() -> None:
    while _open:
        await asyncio.sleep(WATCH_SECONDS)
        try:
            await check_now()
        except Exception:  # the database may be briefly away: try again next round
            logger.exception("checking the credentials of open connections failed")


async def check_now() -> None:
    """End every open connection whose credential no longer holds."""
    await _check_sessions()
    key_ids = {entry.principal.api_key_id for entry in _open if entry.principal.api_key_id}
    if not key_ids:
        return
    rows = {
        row["id"]: row
        for row in await ApiKey.filter(id__in=list(key_ids)).values(
            "id", "revoked_at", "user__status", "user__role"
        )
    }
    for entry in list(_open):
        problem = ended_because(entry.principal, rows.get(entry.principal.api_key_id or ""))
        if problem is not None:
            _open.discard(entry)
            with contextlib.suppress(Exception):
                entry.end(*problem)


def ended_because(principal: Principal, row: dict[str, object] | None) -> tuple[str, str] | None:
    """Why a connection opened as ``principal`` must end, given its key's row now."""
    if row is None or row["revoked_at"] is not None:
        return "UNAUTHORIZED", "this API key has been revoked"
    if row["user__status"] != "ACTIVE":
        return "UNAUTHORIZED", "the owner of this API key is disabled"
    if row["user__role"] != principal.role:
        return "FORBIDDEN", "the owner's role changed: connect again"
    return None


async def _check_sessions() -> None:
    """End the console's streams whose session ended (or should have)."""
    from opsknight.auth import sessions

    by_session = [entry for entry in _open if entry.principal.session_id]
    if not by_session:
        return
    live = await sessions.live_session_ids([e.principal.session_id or "" for e in by_session])
    for entry in by_session:
        if entry.principal.session_id not in live:
            _open.discard(entry)
            with contextlib.suppress(Exception):
                entry.end("UNAUTHORIZED", "the session has ended: sign in again")
