"""The Events API's entry points: Events v2, change events, and the inbound formats."""

from __future__ import annotations

import asyncio
from typing import Any

from opsknight import clock, runtime, validation
from opsknight.auth.principal import Credential, Principal
from opsknight.directory.models import Service
from opsknight.errors import NotFound, ValidationFailed
from opsknight.events import inbound
from opsknight.events.errors import EventInvalid, OpsgenieInvalid
from opsknight.events.ingest import Outcome
from opsknight.events.models import ChangeEvent
from opsknight.events.payload import (
    MAX_SHORT,
    MAX_SUMMARY,
    Event,
    parse_event,
    parse_timestamp,
    snake_keys,
)
from opsknight.events.routing import Target, resolve_integration, resolve_target
from opsknight.observability import count_event
from opsknight.paging import Page, page_of
from opsknight.rules.service import decide


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise EventInvalid(["the event must be a JSON object"])
    return snake_keys(body)


def _optional_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


async def _target_of(credential: Credential, body: dict[str, Any]) -> Target:
    routing_key = _optional_str(body.get("routing_key")) or credential.routing_key
    return await resolve_target(credential, routing_key, _optional_str(body.get("service_id")))


async def _apply(target: Target, event: Event) -> Outcome:
    """Run the event rules on a checked event, then apply it (batched)."""
    outcome = await runtime.current().batcher.submit(await decide(target, event), event)
    count_event(outcome.action)
    return outcome


async def send_event(credential: Credential, body: Any) -> Outcome:
    """Route, check and apply one Events v2 event."""
    event_body = _object(body)
    target = await _target_of(credential, event_body)
    return await _apply(target, parse_event(event_body))


async def send_alertmanager(
    credential: Credential, integration_key: str | None, body: Any
) -> list[Outcome]:
    """Apply every alert of an Alertmanager webhook, in order; all are checked first."""
    target = await resolve_integration(credential, integration_key)
    events = [parse_event(e) for e in inbound.alertmanager_events(body)]
    return list(await asyncio.gather(*(_apply(target, event) for event in events)))


async def send_generic_webhook(
    credential: Credential, integration_key: str | None, body: Any
) -> Outcome:
    target = await resolve_integration(credential, integration_key)
    return await _apply(target, parse_event(inbound.generic_event(body)))


async def send_pagerduty_v1(credential: Credential, body: Any) -> Outcome:
    """Route, check and apply one PagerDuty Events API v1 event (``create_event.json``);
    problems are named in v1's terms."""
    try:
        converted = inbound.pagerduty_v1_event(body)
        target = await _target_of(credential, converted)
        event = parse_event(converted)
    except EventInvalid as exc:
        field = "service_key" if exc.details.get("field") == "routing_key" else None
        raise EventInvalid(inbound.v1_problems(exc.problems), field=field) from None
    return await _apply(target, event)


OPSGENIE_ACTIONS = ("create", "close", "acknowledge")


async def send_opsgenie(
    credential: Credential,
    action: str,
    body: Any,
    identifier: str | None = None,
    identifier_type: str | None = None,
) -> Outcome:
    """One request of Opsgenie's Alert API: create (a trigger whose alias is the dedup
    key), close (resolve) or acknowledge an alert by alias. The sender's integration key
    comes as ``Authorization: GenieKey <key>``."""
    if action not in OPSGENIE_ACTIONS:
        raise ValidationFailed(f"action must be one of {', '.join(OPSGENIE_ACTIONS)}")
    target = await resolve_integration(credential, None)
    if action == "create":
        converted, problems = inbound.opsgenie_create(body)
        if problems:
            raise OpsgenieInvalid(problems)
        event = parse_event(converted)
        if isinstance(body, dict) and body.get("priority"):
            event.rule_priority = body["priority"]
    else:
        if identifier_type != "alias":
            raise OpsgenieInvalid({"identifierType": (
                "identifierType must be alias: alerts are closed and acknowledged by the "
                "alias they were created with"
            )})  # fmt: skip
        if not identifier:
            raise OpsgenieInvalid({"identifier": "Identifier can not be empty."})
        event = parse_event({
            "event_action": "resolve" if action == "close" else "acknowledge",
            "dedup_key": inbound.opsgenie_dedup_key(identifier),
        })  # fmt: skip
    return await _apply(target, event)


async def send_change_event(credential: Credential, body: Any) -> ChangeEvent:
    """Store a change event for the routed service; it never opens an incident."""
    change_body = _object(body)
    target = await _target_of(credential, change_body)
    payload = change_body.get("payload")
    problems: list[str] = []
    if not isinstance(payload, dict):
        raise EventInvalid(
            ["payload is required" if payload is None else "payload must be an object"]
        )
    summary = payload.get("summary")
    if not isinstance(summary, str) or not summary.strip():
        problems.append("payload.summary is required")
    elif len(summary) > MAX_SUMMARY:
        problems.append(f"payload.summary must be at most {MAX_SUMMARY} characters")
    source = payload.get("source")
    if source is not None and (not isinstance(source, str) or len(source) > MAX_SHORT):
        problems.append(f"payload.source must be a string of at most {MAX_SHORT} characters")
    details = payload.get("custom_details") or {}
    if not isinstance(details, dict):
        problems.append("payload.custom_details must be an object")
    now = clock.now()
    timestamp = now
    if payload.get("timestamp") is not None:
        timestamp = parse_timestamp(payload["timestamp"], "payload.timestamp", problems) or now
    try:
        links = validation.links(change_body.get("links") or [])
    except ValidationFailed as exc:
        problems.append(exc.message)
        links = []
    if problems:
        raise EventInvalid(problems)
    return await ChangeEvent.create(
        service=target.service,
        summary=str(summary),
        source=source,
        timestamp=timestamp,
        custom_details=details,
        links=links,
        created_at=now,
    )


async def list_changes(
    principal: Principal, service_id: str, limit: int | None, offset: int | None
) -> Page[ChangeEvent]:
    """A service's change events, newest first."""
    principal.require("services:read")
    if not await Service.exists(id=service_id):
        raise NotFound.of("service", service_id)
    query = ChangeEvent.filter(service_id=service_id)
    return await page_of(query, limit, offset, "-timestamp", "-id")
