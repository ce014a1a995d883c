"""Inbound formats beside Events v2, each turned into Events v2 bodies."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from opsknight.events.errors import EventInvalid
from opsknight.events.payload import MAX_DEDUP_KEY, MAX_SHORT, MAX_SUMMARY
from opsknight.incidents.states import PRIORITIES

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
                "summary": str(summary)[:MAX_SUMMARY],
                "source": str(labels.get("instance") or labels.get("job") or "alertmanager")[
                    :MAX_SHORT
                ],
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


# PagerDuty Events API v1 (`create_event.json`) names, by their Events v2 equivalent: a
# problem found in the converted event is reported under the name the sender used.
_V1_NAMES = (
    ("payload.summary", "description"),
    ("payload.custom_details", "details"),
    ("dedup_key", "incident_key"),
    ("routing_key", "service_key"),
    ("event_action", "event_type"),
)


def v1_problems(problems: list[str]) -> list[str]:
    """Events v2 problem messages in Events v1 field names."""
    renamed = []
    for problem in problems:
        for v2, v1 in _V1_NAMES:
            problem = problem.replace(v2, v1)
        renamed.append(problem)
    return renamed


def pagerduty_v1_event(body: Any) -> dict[str, Any]:
    """An Events v2 body from a PagerDuty Events API v1 event.

    v1 has no severity: a trigger is ``critical`` (it pages, as it did in PagerDuty)
    unless ``details.severity`` names one (Alertmanager can pass its label there)."""
    if not isinstance(body, dict):
        raise EventInvalid(["the event must be a JSON object"])
    problems = []
    event_type = body.get("event_type")
    if event_type is None:
        problems.append("event_type is required")
    elif event_type not in ("trigger", "acknowledge", "resolve"):
        problems.append("event_type must be one of trigger, acknowledge, resolve")
    if not isinstance(body.get("service_key"), str) or not body["service_key"]:
        problems.append("service_key is required")
    details = body.get("details")
    if details is not None and not isinstance(details, dict):
        problems.append("details must be an object")
        details = None
    contexts = body.get("contexts")
    if contexts is not None and not isinstance(contexts, list):
        problems.append("contexts must be a list")
        contexts = None
    if problems:
        raise EventInvalid(problems)
    event: dict[str, Any] = {
        "routing_key": body["service_key"],
        "event_action": event_type,
        "client": body.get("client"),
        "client_url": body.get("client_url"),
    }
    if body.get("incident_key") not in (None, ""):
        event["dedup_key"] = body["incident_key"]
    links, images = [], []
    for context in contexts or ():
        if isinstance(context, dict) and context.get("type") == "image":
            images.append({k: context[k] for k in ("src", "href", "alt") if k in context})
        elif isinstance(context, dict):
            links.append({k: context[k] for k in ("href", "text") if k in context})
    event["links"], event["images"] = links, images
    if event_type == "trigger":
        severity_word = str((details or {}).get("severity", "")).strip().lower()
        event["payload"] = {
            "summary": body.get("description"),
            "source": body.get("client") if isinstance(body.get("client"), str) else None,
            "severity": _SEVERITY_WORDS.get(severity_word, "critical"),
            "custom_details": details or {},
        }
    return event


_OPSGENIE_SEVERITY = {"P1": "critical", "P2": "error", "P3": "warning", "P4": "info", "P5": "info"}
_OPSGENIE_MESSAGE = 130
_OPSGENIE_ALIAS = 512


def opsgenie_dedup_key(alias: str) -> str:
    """An Opsgenie alias as a dedup key: verbatim up to 255 characters, else its hash
    (Opsgenie allows 512; the same alias always gives the same key)."""
    if len(alias) <= MAX_DEDUP_KEY:
        return alias
    return "opsgenie-sha256:" + hashlib.sha256(alias.encode()).hexdigest()


def opsgenie_create(body: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """An Events v2 trigger from an Opsgenie create-alert request, and the problems by
    field in Opsgenie's error shape (empty when the request is valid)."""
    if not isinstance(body, dict):
        return {}, {"body": "Request body must be a JSON object."}
    problems: dict[str, str] = {}
    message = body.get("message")
    if not isinstance(message, str) or not message.strip():
        problems["message"] = "Message can not be empty."
    elif len(message) > _OPSGENIE_MESSAGE:
        # Opsgenie truncates a long message rather than refusing the alert.
        message = message[:_OPSGENIE_MESSAGE]
    alias = body.get("alias")
    if alias is not None and (not isinstance(alias, str) or len(alias) > _OPSGENIE_ALIAS):
        problems["alias"] = f"Alias must be a string of at most {_OPSGENIE_ALIAS} characters."
    description = body.get("description")
    if description is not None and not isinstance(description, str):
        problems["description"] = "Description must be a string."
    priority = body.get("priority") or "P3"  # Alertmanager sends "" when none is set
    if priority not in PRIORITIES:
        problems["priority"] = "Priority should be one of [P1, P2, P3, P4, P5]."
    tags = body.get("tags")
    if tags is not None and (
        not isinstance(tags, list) or not all(isinstance(t, str) for t in tags)
    ):
        problems["tags"] = "Tags must be a list of strings."
    details = body.get("details")
    if details is not None and not isinstance(details, dict):
        problems["details"] = "Details must be an object of strings."
    for name in ("entity", "source", "user", "note"):
        value = body.get(name)
        if value is not None and not isinstance(value, str):
            problems[name] = f"{name.capitalize()} must be a string."
    if problems:
        return {}, problems
    custom_details: dict[str, Any] = {
        key: body[key]
        for key in ("description", "details", "tags", "entity", "responders", "note", "user")
        if body.get(key) not in (None, "", [], {})
    }
    event: dict[str, Any] = {
        "event_action": "trigger",
        "payload": {
            "summary": message,
            "source": (body.get("source") or "opsgenie")[:MAX_SHORT],
            "severity": _OPSGENIE_SEVERITY[priority],
            "component": str(body.get("entity") or "")[:MAX_SHORT] or None,
            "custom_details": custom_details,
        },
    }
    if alias:
        event["dedup_key"] = opsgenie_dedup_key(alias)
    return event, {}
