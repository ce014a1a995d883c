"""Webhooks in PagerDuty's v3 shape, for consumers written against PagerDuty (ChatOps bots,
ticket sync): the `{"event": {…}}` envelope, its event types and incident data, and the
`X-PagerDuty-Signature` header."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from opsknight import clock
from opsknight.incidents.models import Note, TimelineEvent
from opsknight.notifications import links
from opsknight.webhooks.signing import hmac_hex

FORMAT = "pagerduty-v3"

# The PagerDuty event type each kind of timeline entry announces; others announce none.
EVENT_OF_ENTRY = {
    "created": "incident.triggered",
    "acknowledged": "incident.acknowledged",
    "unacknowledged": "incident.unacknowledged",
    # A snooze ends with the incident triggered again, as PagerDuty reports it.
    "unsnoozed": "incident.unacknowledged",
    "resolved": "incident.resolved",
    "reopened": "incident.reopened",
    "escalation": "incident.escalated",
    "assigned": "incident.reassigned",
    "reassigned": "incident.reassigned",
    "note_added": "incident.annotated",
    "priority_changed": "incident.priority_updated",
}
EVENTS = tuple(dict.fromkeys(EVENT_OF_ENTRY.values()))
_STATUS = {
    "OPEN": "triggered",
    "ACKNOWLEDGED": "acknowledged",
    "SNOOZED": "acknowledged",  # PagerDuty snoozes acknowledged incidents
    "SUPPRESSED": "triggered",
    "RESOLVED": "resolved",
}
# PagerDuty has two urgencies; MEDIUM pages, so it is high.
_URGENCY = {"HIGH": "high", "MEDIUM": "high", "LOW": "low"}
# Where each kind of reference lives: (console path, API path).
_PATHS = {
    "incident": ("incidents", "api/incidents"),
    "service": ("services", "api/services"),
    "user": ("users", "api/users"),
    "team": ("teams", "api/teams"),
    "escalation_policy": ("escalation-policies", "api/escalation-policies"),
    "api_key": ("api-keys", "api/api-keys"),
}


def _reference(kind: str, named: dict[str, Any] | None) -> dict[str, Any] | None:
    if not named:
        return None
    base = links.public_url()
    page, api = _PATHS[kind]
    return {
        "html_url": f"{base}/{page}/{named['id']}",
        "id": named["id"],
        "self": f"{base}/{api}/{named['id']}",
        "summary": named["name"],
        "type": f"{kind}_reference",
    }


def incident_data(incident: dict[str, Any]) -> dict[str, Any]:
    """A PagerDuty `incident` object from the §10 incident payload."""
    reference = _reference("incident", {"id": incident["id"], "name": incident["title"]})
    assert reference is not None
    priority = incident["priority"]
    return {
        "id": incident["id"],
        "type": "incident",
        "self": reference["self"],
        "html_url": reference["html_url"],
        "number": incident["number"],
        "status": _STATUS[incident["status"]],
        "incident_key": incident["dedup_key"],
        "created_at": incident["created_at"],
        "title": incident["title"],
        "service": _reference("service", incident["service"]),
        "assignees": [r for r in [_reference("user", incident["assignee"])] if r],
        "escalation_policy": _reference("escalation_policy", incident["escalation_policy"]),
        "teams": [r for r in [_reference("team", incident["assigned_team"])] if r],
        "priority": None
        if priority is None
        else {"id": priority, "summary": priority, "type": "priority_reference"},
        "urgency": _URGENCY[incident["urgency"]],
        "conference_bridge": None,
        "resolve_reason": None,
    }


def _agent(entry: TimelineEvent, incident: dict[str, Any]) -> dict[str, Any] | None:
    named = {"id": entry.actor_id, "name": entry.actor_name}
    if entry.actor_type == "user":
        return _reference("user", named)
    if entry.actor_type == "api_key":
        return _reference("api_key", named)
    if entry.actor_type == "integration":  # as PagerDuty names an event's sender
        return _reference("service", incident["service"])
    return None


async def event_body(
    event_type: str, entry: TimelineEvent, incident: dict[str, Any]
) -> dict[str, Any]:
    """The webhook body announcing ``entry`` as ``event_type``; inside the change's
    transaction (an annotation reads its note)."""
    data = incident_data(incident)
    if event_type == "incident.annotated":
        note = await Note.get_or_none(id=entry.details.get("note_id"))
        data = {
            "incident": {**_reference("incident", {"id": data["id"], "name": data["title"]}),  # type: ignore[dict-item]
                         "type": "incident_reference"},
            "id": entry.details.get("note_id"),
            "content": "" if note is None else note.content,
            "trimmed": False,
            "type": "incident_note",
        }  # fmt: skip
    client = {"name": entry.actor_name} if entry.actor_type == "integration" else None
    return envelope(entry.id, event_type, "incident", entry.timestamp, data,
                    _agent(entry, incident), client)  # fmt: skip


def envelope(
    event_id: str,
    event_type: str,
    resource_type: str,
    occurred_at: datetime,
    data: dict[str, Any],
    agent: dict[str, Any] | None = None,
    client: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "event": {
            "id": event_id,
            "event_type": event_type,
            "resource_type": resource_type,
            "occurred_at": clock.isoformat_z(occurred_at),
            "agent": agent,
            "client": client,
            "data": data,
        }
    }


def ping_body(event_id: str, now: datetime) -> dict[str, Any]:
    """PagerDuty's test event for a subscription."""
    data = {"message": "Hello from your friend Pagey!", "type": "ping"}
    return envelope(event_id, "pagey.ping", "pagey", now, data)


def signature(secrets_: list[str], body: bytes) -> str:
    """`v1=<hex HMAC-SHA256 of the body>` per secret, comma-separated, newest first."""
    return ",".join(f"v1={hmac_hex(secret, body)}" for secret in secrets_)


def headers(secrets_: list[str], delivery_id: str, webhook_id: str, body: bytes) -> dict[str, str]:
    """A delivery's headers. `X-Webhook-Id` names the delivery, the same on every retry,
    so consumers can drop repeats."""
    return {
        "Content-Type": "application/json",
        "User-Agent": "OpsKnight-Webhooks/1 (pagerduty-v3)",
        "X-PagerDuty-Signature": signature(secrets_, body),
        "X-Webhook-Id": delivery_id,
        "X-Webhook-Subscription": webhook_id,
    }
