"""Inbound formats beside Events v2, each turned into Events v2 bodies."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from opsknight.events.errors import EventInvalid

_ALERTMANAGER_SEVERITY = {
    "critical": "critical",
    "page": "critical",
    "error": "error",
    "warning": "warning",
}
_TRIGGER_WORDS = {"triggered", "trigger", "fired", "firing", "alert", "critical", "error", "open"}
_RESOLVE_WORDS = {"resolved", "resolve", "ok", "normal", "closed", "fixed"}
_ACK_WORDS = {"acknowledge", "acknowledged", "ack"}
# Severity words of other tools, mapped onto the four of Events v2.
_SEVERITY_WORDS = {
    "critical": "critical", "fatal": "critical", "emergency": "critical", "high": "critical",
    "p1": "critical", "error": "error", "err": "error", "major": "error", "p2": "error",
    "warning": "warning", "warn": "warning", "medium": "warning", "minor": "warning",
    "p3": "warning", "info": "info", "informational": "info", "low": "info", "debug": "info",
    "p4": "info", "p5": "info",
}  # fmt: skip


def _first(body: dict[str, Any], names: tuple[str, ...]) -> Any:
    for name in names:
        value = body.get(name)
        if value not in (None, ""):
            return value
    return None


def alertmanager_events(body: Any) -> list[dict[str, Any]]:
    """One Events v2 body per alert of an Alertmanager webhook (payload version 4)."""
    if not isinstance(body, dict) or not isinstance(body.get("alerts"), list):
        raise EventInvalid(["alerts must be a list (Alertmanager webhook payload version 4)"])
    common_labels = _mapping(body.get("commonLabels"))
    events = []
    for index, alert in enumerate(body["alerts"]):
        if not isinstance(alert, dict):
            raise EventInvalid([f"alerts[{index}] must be an object"])
        labels = {**common_labels, **_mapping(alert.get("labels"))}
        annotations = _mapping(alert.get("annotations"))
        fingerprint = (
            alert.get("fingerprint")
            or hashlib.sha256(json.dumps(labels, sort_keys=True).encode()).hexdigest()[:32]
        )
        severity = _ALERTMANAGER_SEVERITY.get(str(labels.get("severity", "")).lower(), "warning")
        action = "resolve" if alert.get("status") == "resolved" else "trigger"
        summary = (
            annotations.get("summary")
            or labels.get("alertname")
            or f"Alertmanager alert {fingerprint}"
        )
        event: dict[str, Any] = {"event_action": action, "dedup_key": str(fingerprint)}
        if action == "trigger":
            event["payload"] = {
                "summary": str(summary)[:1024],
                "source": str(labels.get("instance") or labels.get("job") or "alertmanager")[:255],
                "severity": severity,
                "timestamp": alert.get("startsAt") if _has_offset(alert.get("startsAt")) else None,
                "custom_details": {
                    "labels": labels,
                    "annotations": annotations,
                    "starts_at": alert.get("startsAt"),
                    "group_key": body.get("groupKey"),
                    "receiver": body.get("receiver"),
                },
            }
            if alert.get("generatorURL"):
                event["links"] = [{"href": str(alert["generatorURL"]), "text": "Source"}]
        events.append(event)
    return events


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _has_offset(value: Any) -> bool:
    return isinstance(value, str) and (
        value.endswith("Z") or "+" in value[10:] or "-" in value[10:]
    )


def generic_event(body: Any) -> dict[str, Any]:
    """An Events v2 body from a generic JSON webhook (field names per SPEC §6)."""
    if not isinstance(body, dict):
        raise EventInvalid(["the webhook body must be a JSON object"])
    word = _first(body, ("status", "action", "state"))
    lowered = str(word).strip().lower() if word is not None else "triggered"
    if lowered in _TRIGGER_WORDS:
        action = "trigger"
    elif lowered in _RESOLVE_WORDS:
        action = "resolve"
    elif lowered in _ACK_WORDS:
        action = "acknowledge"
    else:
        raise EventInvalid([f"status {word!r} is not a trigger, resolve or acknowledge word"])
    dedup_key = _first(body, ("dedup_key", "id", "alert_id"))
    event: dict[str, Any] = {"event_action": action}
    if dedup_key is not None:
        event["dedup_key"] = str(dedup_key)
    if action == "trigger":
        severity_word = _first(body, ("severity", "level", "priority"))
        severity = _SEVERITY_WORDS.get(str(severity_word).strip().lower(), "warning")
        title = _first(body, ("summary", "title", "message", "name"))
        source = _first(body, ("source", "origin", "system"))
        event["payload"] = {
            "summary": None if title is None else str(title),
            "source": None if source is None else str(source),
            "severity": severity if severity_word is not None else "warning",
            "custom_details": body,
        }
    return event
