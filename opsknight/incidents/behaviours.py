"""What a service asks of its incidents: urgency by support hours (or fixed), and the
acknowledgement and auto-resolve timeouts taken when an incident opens.

A timeout is copied onto the incident when it opens (like the escalation policy), so
changing the service later does not move the timers of incidents already open.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from opsknight import clock, validation
from opsknight.errors import ValidationFailed
from opsknight.maintenance.spans import DAYS, Definition, span_at

URGENCY_RULES = ("SEVERITY", "HIGH", "LOW", "SUPPORT_HOURS")
MAX_ACK_TIMEOUT = 24 * 60
MAX_AUTO_RESOLVE = 30 * 24 * 60


def _clock_time(value: Any, field: str) -> time:
    try:
        return time.fromisoformat(str(value))
    except ValueError:
        raise ValidationFailed(f"{field} must be HH:MM", field=field) from None


def checked_support_hours(value: Any) -> dict[str, Any] | None:
    """``{"time_zone", "days", "start_time", "end_time"}`` checked (end after start on
    the same day), or None to clear them."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValidationFailed("support_hours must be an object", field="support_hours")
    days = value.get("days")
    if not isinstance(days, list) or not days:
        raise ValidationFailed("support_hours.days must list days", field="support_hours.days")
    start = _clock_time(value.get("start_time"), "support_hours.start_time")
    end = _clock_time(value.get("end_time"), "support_hours.end_time")
    if end <= start:
        raise ValidationFailed(
            "support_hours.end_time must be after start_time", field="support_hours.end_time"
        )
    return {
        "time_zone": validation.time_zone(value.get("time_zone") or "UTC",
                                          "support_hours.time_zone"),
        "days": [validation.choice(str(d).upper(), "support_hours.days", DAYS) for d in days],
        "start_time": start.strftime("%H:%M"), "end_time": end.strftime("%H:%M"),
    }  # fmt: skip


def in_support_hours(hours: dict[str, Any], at: datetime) -> bool:
    start, end = time.fromisoformat(hours["start_time"]), time.fromisoformat(hours["end_time"])
    length = datetime.combine(datetime.min, end) - datetime.combine(datetime.min, start)
    window = Definition(days=frozenset(DAYS.index(d) for d in hours["days"]), start_time=start,
                        duration=length, time_zone=hours["time_zone"])  # fmt: skip
    return span_at(window, at) is not None


def event_urgency(service: Any, from_severity: str, at: datetime) -> str:
    """The urgency of an incident an event opens on ``service``."""
    rule = service.urgency_rule or "SEVERITY"
    if rule in ("HIGH", "LOW"):
        return str(rule)
    if rule == "SUPPORT_HOURS" and service.support_hours:
        return "HIGH" if in_support_hours(service.support_hours, at) else "LOW"
    return from_severity


def on_open(incident: Any, service: Any) -> None:
    """Copy the service's timeouts onto a new incident (before it is saved)."""
    incident.ack_timeout_minutes = service.acknowledgement_timeout
    if service.auto_resolve_timeout:
        incident.auto_resolve_at = incident.created_at + clock.scaled(
            timedelta(minutes=service.auto_resolve_timeout)
        )


def on_status_change(incident: Any, target: str, now: datetime) -> dict[str, Any]:
    """Columns of the timers to change with a status move: acknowledging starts the
    acknowledgement timeout; any other move stops it; resolving stops auto-resolve."""
    columns: dict[str, Any] = {}
    if target == "ACKNOWLEDGED" and incident.ack_timeout_minutes:
        columns["ack_timeout_at"] = now + clock.scaled(
            timedelta(minutes=incident.ack_timeout_minutes)
        )
    elif incident.ack_timeout_at is not None:
        columns["ack_timeout_at"] = None
    if target == "RESOLVED" and incident.auto_resolve_at is not None:
        columns["auto_resolve_at"] = None
    return columns
