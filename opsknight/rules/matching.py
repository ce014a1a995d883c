"""Event rules, checked on save and applied to events: pure functions, no database.

A rule is a list of conditions (all must hold) and a set of actions. Conditions read an
event field (``summary``, ``source``, ``severity``, ``component``, ``group``, ``class``,
``dedup_key`` or a ``custom_details.a.b`` path) with ``equals``, ``not_equals``,
``contains``, ``matches`` (a regular expression, searched with a time bound),
``exists`` or ``not_exists``; ``equals`` and ``contains`` are case-sensitive (use
``matches`` with ``(?i)`` otherwise). A regular expression that runs out of time counts
as no match, and the event's trace says so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import regex

from opsknight.errors import ValidationFailed
from opsknight.events.payload import MAX_DEDUP_KEY, MAX_SHORT, MAX_SUMMARY, SEVERITY_URGENCY, Event
from opsknight.incidents.states import PRIORITIES

FIELDS = ("summary", "source", "severity", "component", "group", "class", "dedup_key")
OPERATORS = ("equals", "not_equals", "contains", "matches", "exists", "not_exists")
EXTRACT_TARGETS = ("summary", "source", "component", "group", "class", "dedup_key")
RULE_URGENCIES = ("HIGH", "LOW")
MAX_CONDITIONS = 20
MAX_EXTRACTS = 10
MAX_PATTERN = 1000
MAX_VALUE = 1024
MAX_NOTE = 2048
MAX_SUSPEND = 24 * 3600
MAX_PATH_DEPTH = 8
# One search may take this long (seconds); the subject is cut to MAX_SUBJECT characters.
MATCH_TIMEOUT = 0.01
MAX_SUBJECT = 8192
_LIMITS = {"summary": MAX_SUMMARY, "dedup_key": MAX_DEDUP_KEY}
_ATTRIBUTES = {"class": "class_"}


def _field_name(value: Any, field: str, *, targets: tuple[str, ...]) -> str:
    if isinstance(value, str):
        if value in targets:
            return value
        path = value.split(".")
        if path[0] == "custom_details" and 1 < len(path) <= MAX_PATH_DEPTH + 1 and all(path):
            return value
    raise ValidationFailed(
        f"{field} must be one of {', '.join(targets)} or custom_details.<path>", field=field
    )


def _pattern(value: Any, field: str, *, capture: bool = False) -> regex.Pattern[str]:
    if not isinstance(value, str) or not value or len(value) > MAX_PATTERN:
        raise ValidationFailed(
            f"{field} must be a regular expression of 1 to {MAX_PATTERN} characters", field=field
        )
    try:
        compiled = regex.compile(value)
    except (regex.error, OverflowError, RecursionError) as exc:
        message = f"{field} is not a valid regular expression: {exc}"
        raise ValidationFailed(message, field=field) from None
    if capture and compiled.groups < 1:
        raise ValidationFailed(f"{field} must have a capture group ( … )", field=field)
    return compiled


def checked_conditions(value: Any, field: str = "conditions") -> list[dict[str, Any]]:
    """The conditions as stored: ``[{"field", "operator", "value"?}]``; [] matches all."""
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_CONDITIONS:
        raise ValidationFailed(
            f"{field} must be a list of at most {MAX_CONDITIONS} conditions", field=field
        )
    checked = []
    for index, item in enumerate(value):
        at = f"{field}[{index}]"
        if not isinstance(item, dict):
            raise ValidationFailed(f"{at} must be an object", field=at)
        unknown = set(item) - {"field", "operator", "value"}
        if unknown:
            raise ValidationFailed(f"{at}.{sorted(unknown)[0]} is not a condition field", field=at)
        name = _field_name(item.get("field"), f"{at}.field", targets=FIELDS)
        operator = item.get("operator")
        if operator not in OPERATORS:
            raise ValidationFailed(
                f"{at}.operator must be one of {', '.join(OPERATORS)}", field=f"{at}.operator"
            )
        condition: dict[str, Any] = {"field": name, "operator": operator}
        if operator in ("exists", "not_exists"):
            if item.get("value") is not None:
                raise ValidationFailed(f"{at}.value is not used by {operator}", field=f"{at}.value")
        elif operator == "matches":
            condition["value"] = _pattern(item.get("value"), f"{at}.value").pattern
        else:
            text = item.get("value")
            if not isinstance(text, str) or not text or len(text) > MAX_VALUE:
                raise ValidationFailed(
                    f"{at}.value must be a string of 1 to {MAX_VALUE} characters",
                    field=f"{at}.value",
                )
            condition["value"] = text
        checked.append(condition)
    return checked


def _extracts(value: Any, field: str) -> list[dict[str, str]]:
    if not isinstance(value, list) or not value or len(value) > MAX_EXTRACTS:
        raise ValidationFailed(
            f"{field} must be a list of 1 to {MAX_EXTRACTS} extractions", field=field
        )
    checked = []
    for index, item in enumerate(value):
        at = f"{field}[{index}]"
        if not isinstance(item, dict) or set(item) - {"source", "regex", "target"}:
            raise ValidationFailed(f"{at} must be {{source, regex, target}}", field=at)
        checked.append({
            "source": _field_name(item.get("source"), f"{at}.source", targets=FIELDS),
            "regex": _pattern(item.get("regex"), f"{at}.regex", capture=True).pattern,
            "target": _field_name(item.get("target"), f"{at}.target", targets=EXTRACT_TARGETS),
        })  # fmt: skip
    return checked


def checked_actions(value: Any, field: str = "actions") -> dict[str, Any]:
    """The actions as stored; at least one. ``route_to`` is checked against the services
    by the caller."""
    if not isinstance(value, dict) or not value:
        raise ValidationFailed(f"{field} must be an object with at least one action", field=field)
    known = {"severity", "urgency", "priority", "route_to", "suppress", "suspend_seconds",
             "annotate", "extract"}  # fmt: skip
    unknown = set(value) - known
    if unknown:
        name = sorted(unknown)[0]
        raise ValidationFailed(
            f"{field}.{name} is not an action; actions are {', '.join(sorted(known))}",
            field=f"{field}.{name}",
        )
    actions: dict[str, Any] = {}
    choices = {"severity": tuple(SEVERITY_URGENCY), "urgency": RULE_URGENCIES,
               "priority": PRIORITIES}  # fmt: skip
    for name, allowed in choices.items():
        if value.get(name) is not None:
            if value[name] not in allowed:
                raise ValidationFailed(
                    f"{field}.{name} must be one of {', '.join(allowed)}", field=f"{field}.{name}"
                )
            actions[name] = value[name]
    if value.get("route_to") is not None:
        if not isinstance(value["route_to"], str) or not value["route_to"]:
            raise ValidationFailed(
                f"{field}.route_to must be a service id", field=f"{field}.route_to"
            )
        actions["route_to"] = value["route_to"]
    if value.get("suppress") is not None:
        if not isinstance(value["suppress"], bool):
            raise ValidationFailed(
                f"{field}.suppress must be true or false", field=f"{field}.suppress"
            )
        if value["suppress"]:
            actions["suppress"] = True
    if value.get("suspend_seconds") is not None:
        seconds = value["suspend_seconds"]
        if (
            isinstance(seconds, bool)
            or not isinstance(seconds, int)
            or not 1 <= seconds <= MAX_SUSPEND
        ):
            raise ValidationFailed(
                f"{field}.suspend_seconds must be an integer between 1 and {MAX_SUSPEND}",
                field=f"{field}.suspend_seconds",
            )
        actions["suspend_seconds"] = seconds
    if actions.get("suppress") and "suspend_seconds" in actions:
        raise ValidationFailed(
            f"{field}: choose suppress or suspend_seconds, not both", field=f"{field}.suppress"
        )
    if value.get("annotate") is not None:
        note = value["annotate"]
        if not isinstance(note, str) or not note.strip() or len(note) > MAX_NOTE:
            raise ValidationFailed(
                f"{field}.annotate must be a note of 1 to {MAX_NOTE} characters",
                field=f"{field}.annotate",
            )
        actions["annotate"] = note.strip()
    if value.get("extract") is not None:
        actions["extract"] = _extracts(value["extract"], f"{field}.extract")
    if not actions:
        raise ValidationFailed(f"{field} must set at least one action", field=field)
    return actions


@dataclass(frozen=True)
class Condition:
    field: str
    operator: str
    value: str | None
    pattern: regex.Pattern[str] | None


@dataclass(frozen=True)
class Extraction:
    source: str
    pattern: regex.Pattern[str]
    target: str


@dataclass(frozen=True)
class Rule:
    """A stored rule, compiled for matching."""

    id: str
    service_id: str | None
    description: str
    conditions: tuple[Condition, ...]
    actions: dict[str, Any]
    extracts: tuple[Extraction, ...]


def compile_rule(
    rule_id: str,
    service_id: str | None,
    description: str,
    conditions: list[dict[str, Any]],
    actions: dict[str, Any],
) -> Rule:
    compiled = tuple(
        Condition(
            c["field"], c["operator"], c.get("value"),
            regex.compile(c["value"]) if c["operator"] == "matches" else None,
        )
        for c in conditions
    )  # fmt: skip
    extracts = tuple(
        Extraction(e["source"], regex.compile(e["regex"]), e["target"])
        for e in actions.get("extract", ())
    )
    return Rule(rule_id, service_id, description, compiled, actions, extracts)


def field_value(event: Event, name: str) -> str | None:
    """An event field as text (custom details that are not strings as JSON), or None."""
    if not name.startswith("custom_details."):
        value: Any = getattr(event, _ATTRIBUTES.get(name, name))
        return value if value else None
    value = event.custom_details
    for part in name.split(".")[1:]:
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)


def _set_field(event: Event, name: str, value: str) -> None:
    if not name.startswith("custom_details."):
        limit = _LIMITS.get(name, MAX_SHORT)
        setattr(event, _ATTRIBUTES.get(name, name), value[:limit])
        if name == "dedup_key":
            event.dedup_key_generated = False
        return
    *parents, last = name.split(".")[1:]
    details = event.custom_details = dict(event.custom_details)
    for part in parents:
        child = details.get(part)
        details[part] = child = dict(child) if isinstance(child, dict) else {}
        details = child
    details[last] = value


class SearchTimedOut(Exception):
    """A rule's regular expression ran out of time."""


def _search(pattern: regex.Pattern[str], subject: str) -> regex.Match[str] | None:
    try:
        return pattern.search(subject[:MAX_SUBJECT], timeout=MATCH_TIMEOUT)
    except TimeoutError:
        raise SearchTimedOut from None


def _holds(condition: Condition, event: Event) -> bool:
    value = field_value(event, condition.field)
    if condition.operator == "exists":
        return value is not None
    if condition.operator == "not_exists":
        return value is None
    if condition.operator == "not_equals":
        return value != condition.value
    if value is None:
        return False
    if condition.operator == "equals":
        return value == condition.value
    if condition.operator == "contains":
        return (condition.value or "") in value
    assert condition.pattern is not None
    return _search(condition.pattern, value) is not None


def first_match(rules: list[Rule], event: Event, trace: list[dict[str, Any]]) -> Rule | None:
    """The first rule whose conditions all hold; timed-out searches go in the trace."""
    for rule in rules:
        try:
            if all(_holds(condition, event) for condition in rule.conditions):
                return rule
        except SearchTimedOut:
            trace.append({"step": "rule_timed_out", "rule_id": rule.id})
    return None


def apply(rule: Rule, event: Event, trace: list[dict[str, Any]]) -> None:
    """Apply a matched rule's actions (but ``route_to``) to the event, and trace them.

    Extractions run first, so the other actions see the fields they set. A trigger takes
    every action; an acknowledge or resolve only extractions (e.g. into its dedup key).
    """
    applied: dict[str, Any] = {}
    for extraction in rule.extracts:
        subject = field_value(event, extraction.source)
        if subject is None:
            continue
        try:
            found = _search(extraction.pattern, subject)
        except SearchTimedOut:
            trace.append({"step": "rule_timed_out", "rule_id": rule.id})
            continue
        if found is not None and found.group(1) is not None:
            _set_field(event, extraction.target, found.group(1))
            applied.setdefault("extract", []).append(extraction.target)
    if event.action == "trigger":
        actions = rule.actions
        if "severity" in actions:
            event.severity = applied["severity"] = actions["severity"]
        for name in ("urgency", "priority"):
            if name in actions:
                setattr(event, f"rule_{name}", actions[name])
                applied[name] = actions[name]
        if actions.get("suppress"):
            event.suppressed_by = rule.id
            applied["suppress"] = True
        if "suspend_seconds" in actions:
            event.suspend_seconds = applied["suspend_seconds"] = actions["suspend_seconds"]
        if "annotate" in actions:
            event.notes.append((rule.id, actions["annotate"]))
            applied["annotate"] = True
    trace.append({"step": "rule", "rule_id": rule.id, "service_id": rule.service_id,
                  "description": rule.description, "applied": applied})  # fmt: skip
