"""Reminders: while an incident stays OPEN (policy ``reminder_minutes``) or stays
ACKNOWLEDGED without being resolved (``ack_reminder_minutes``), the people of its current
escalation step are paged again that often, at most MAX_REMINDERS times per status; any
status change starts the count again. The due time is a column, claimed by a
conditional update, so one reminder runs once however many workers sweep."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from opsknight import clock
from opsknight.escalation.planning import PolicySnapshot

MAX_REMINDERS = 5


def _due(policy: PolicySnapshot | None, status: str) -> datetime | None:
    minutes = policy.reminder_every(status) if policy is not None else None
    return clock.now() + clock.scaled(timedelta(minutes=minutes)) if minutes else None


def armed(policy: PolicySnapshot | None, status: str) -> dict[str, Any]:
    """Columns for an incident entering ``status``: its first reminder, if any."""
    return {"reminder_due_at": _due(policy, status), "reminders_sent": 0}


def following(policy: PolicySnapshot | None, status: str, sent: int) -> datetime | None:
    """When the next reminder is due after ``sent`` of them, or None once the bound is hit."""
    return None if sent >= MAX_REMINDERS else _due(policy, status)
