"""Validating an Events v2 body into a normalised event (every problem is reported)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from opsknight import clock
from opsknight.events.errors import EventInvalid

ACTIONS = ("trigger", "acknowledge", "resolve")
SEVERITY_URGENCY = {"critical": "HIGH", "error": "MEDIUM", "warning": "MEDIUM", "info": "LOW"}
MAX_DEDUP_KEY = 255
MAX_SUMMARY = 1024
MAX_SHORT = 255
MAX_URL = 2048


@dataclass
class Event:
    """A checked event, ready for ingestion."""

    action: str
    dedup_key: str
    dedup_key_generated: bool
    summary: str | None = None
    source: str | None = None
    severity: str | None = None
    timestamp: datetime | None = None
    component: str | None = None
    group: str | None = None
    class_: str | None = None
    custom_details: dict[str, Any] = field(default_factory=dict)
    links: list[dict[str, Any]] = field(default_factory=list)
    images: list[dict[str, Any]] = field(default_factory=list)
    client: str | None = None
    client_url: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)
    # Set by event rules (rules/matching.py), or by a format that carries them (Opsgenie's
    # P1 to P5): what the incident it opens takes; and the decision trace stored with its alert.
    rule_urgency: str | None = None
    rule_priority: str | None = None
    suppressed_by: str | None = None
    suspend_seconds: int = 0
    notes: list[tuple[str, str]] = field(default_factory=list)  # (rule id, note)
    trace: list[dict[str, Any]] = field(default_factory=list)

    @property
    def urgency(self) -> str:
        return SEVERITY_URGENCY[self.severity or "info"]

    @property
    def description(self) -> str | None:
        if not self.custom_details:
            return None
        return json.dumps(self.custom_details, indent=2, sort_keys=True, default=str)


def _string(
    value: Any, name: str, limit: int, problems: list[str], *, required: bool = False
) -> str | None:
    if value is None or value == "":
        if required:
            problems.append(f"{name} is required")
        return None
    if not isinstance(value, str):
        problems.append(f"{name} must be a string")
        return None
    if len(value) > limit:
        problems.append(f"{name} must be at most {limit} characters")
        return None
    return value


def parse_timestamp(value: Any, name: str, problems: list[str]) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("z", "Z"))
            if parsed.tzinfo is not None:
                return clock.to_utc(parsed)
        except ValueError:
            pass
    problems.append(f"{name} must be an ISO 8601 date-time with an offset")
    return None


def _objects(
    value: Any, name: str, required_key: str, keys: tuple[str, ...], problems: list[str]
) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        problems.append(f"{name} must be a list")
        return []
    result = []
    for index, item in enumerate(value):
        if not isinstance(item, dict) or not isinstance(item.get(required_key), str):
            problems.append(f"{name}[{index}].{required_key} is required")
            continue
        kept = {}
        for key in keys:
            text = _string(item.get(key), f"{name}[{index}].{key}", MAX_URL, problems)
            if text is not None:
                kept[key] = text
        result.append(kept)
    return result


# camelCase spellings older clients send (SPEC §1).
_ALIASES = {
    "eventAction": "event_action",
    "dedupKey": "dedup_key",
    "routingKey": "routing_key",
    "serviceId": "service_id",
    "clientUrl": "client_url",
    "customDetails": "custom_details",
}


def snake_keys(body: dict[str, Any]) -> dict[str, Any]:
    """The body with the known camelCase keys renamed (the payload's too)."""
    renamed = {_ALIASES.get(k, k): v for k, v in body.items()}
    payload = renamed.get("payload")
    if isinstance(payload, dict):
        renamed["payload"] = {_ALIASES.get(k, k): v for k, v in payload.items()}
    return renamed


def _payload_fields(
    event: Event, payload: dict[str, Any], problems: list[str], *, required: bool
) -> None:
    event.summary = _string(
        payload.get("summary"), "payload.summary", MAX_SUMMARY, problems, required=required
    )
    event.source = _string(payload.get("source"), "payload.source", MAX_SHORT, problems)
    severity = payload.get("severity")
    if severity is None:
        if required:
            problems.append("payload.severity is required")
    elif not isinstance(severity, str) or severity not in SEVERITY_URGENCY:
        problems.append("payload.severity must be one of critical, error, warning, info")
    else:
        event.severity = severity
    event.timestamp = parse_timestamp(payload.get("timestamp"), "payload.timestamp", problems)
    event.component = _string(payload.get("component"), "payload.component", MAX_SHORT, problems)
    event.group = _string(payload.get("group"), "payload.group", MAX_SHORT, problems)
    event.class_ = _string(payload.get("class"), "payload.class", MAX_SHORT, problems)
    details = payload.get("custom_details")
    if details is not None and not isinstance(details, dict):
        problems.append("payload.custom_details must be an object")
    else:
        event.custom_details = details or {}


def parse_event(body: dict[str, Any]) -> Event:
    """Check an Events v2 body (snake_case keys); EventInvalid lists every problem found."""
    problems: list[str] = []
    action = body.get("event_action")
    if action is None:
        problems.append("event_action is required")
    elif not isinstance(action, str) or action not in ACTIONS:
        problems.append("event_action must be one of trigger, acknowledge, resolve")
    dedup_key = _string(body.get("dedup_key"), "dedup_key", MAX_DEDUP_KEY, problems)
    if (
        dedup_key is None
        and action in ("acknowledge", "resolve")
        and "dedup_key" not in " ".join(problems)
    ):
        problems.append("dedup_key is required for acknowledge and resolve")
    payload = body.get("payload")
    event = Event(
        action=str(action), dedup_key=dedup_key or "", dedup_key_generated=False, raw=body
    )
    if action == "trigger":
        if payload is None:
            problems.append("payload is required")
        elif not isinstance(payload, dict):
            problems.append("payload must be an object")
        else:
            _payload_fields(event, payload, problems, required=True)
    elif payload is not None and not isinstance(payload, dict):
        problems.append("payload must be an object")
    elif payload:
        # An acknowledge or resolve may carry the trigger's payload (Alertmanager's do):
        # event rules match on it. What does not check out is left unread, as before.
        _payload_fields(event, payload, [], required=False)
    event.links = _objects(body.get("links"), "links", "href", ("href", "text"), problems)
    event.images = _objects(body.get("images"), "images", "src", ("src", "href", "alt"), problems)
    event.client = _string(body.get("client"), "client", MAX_SHORT, problems)
    event.client_url = _string(body.get("client_url"), "client_url", MAX_URL, problems)
    if problems:
        raise EventInvalid(problems)
    if not event.dedup_key:
        # A fresh key, never derived from the content: two distinct triggers never merge.
        event.dedup_key = uuid.uuid4().hex
        event.dedup_key_generated = True
    return event
