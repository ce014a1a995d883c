"""Event rules: create, list, change, delete; and ``decide``, which runs them on an event.

An event meets the global rules first, then the rules of the service it is for. In each
set the first enabled rule (by position) whose conditions all hold applies. A rule that
routes to another service hands the event to that service's rules next; routes are
checked on save so that they never loop, and a route is followed once per service at
run time besides.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from opsknight import clock, validation
from opsknight.audit import service as audit
from opsknight.auth.principal import Principal
from opsknight.directory.models import Service
from opsknight.errors import ValidationFailed
from opsknight.events.payload import Event
from opsknight.events.routing import Target
from opsknight.inputs import UNSET, Unset
from opsknight.paging import Page, page_of
from opsknight.records import get_or_404
from opsknight.rules import matching
from opsknight.rules.models import EventRule, SuspendedEvent
from opsknight.transaction import atomic

MAX_RULES_PER_SET = 100
AUDITED = ("service_id", "position", "description", "conditions", "actions", "disabled")


def _route_target(actions: dict[str, Any]) -> str | None:
    target = actions.get("route_to")
    return target if isinstance(target, str) else None


async def _check_routes(rule: EventRule) -> None:
    """A route must name a service, not the rule's own, and never close a loop."""
    destination = _route_target(rule.actions)
    if destination is None:
        return
    at = "actions.route_to"
    if destination == rule.service_id:  # type: ignore[attr-defined]
        raise ValidationFailed("route_to must be another service than the rule's own", field=at)
    validation.referenced(await Service.get_or_none(id=destination), destination, at, "service")
    if rule.service_id is None:  # type: ignore[attr-defined]
        return  # global rules run once, before any service's: they close no loop
    routes: dict[str, set[str]] = {}
    others = await EventRule.filter(service_id__isnull=False).exclude(id=rule.id)
    for other in others:
        other_destination = _route_target(other.actions)
        if other_destination is not None:
            routes.setdefault(other.service_id, set()).add(other_destination)  # type: ignore[attr-defined]
    routes.setdefault(rule.service_id, set()).add(destination)  # type: ignore[attr-defined]
    path = _path(routes, destination, rule.service_id)  # type: ignore[attr-defined]
    if path is not None:
        loop = " → ".join([rule.service_id, *path])  # type: ignore[attr-defined]
        raise ValidationFailed(f"route_to would make a loop: {loop}", field=at)


def _path(routes: dict[str, set[str]], start: str, goal: str) -> list[str] | None:
    """The services from ``start`` to ``goal`` along routes, if ``goal`` is reachable."""
    stack: list[list[str]] = [[start]]
    seen = {start}
    while stack:
        path = stack.pop()
        if path[-1] == goal:
            return path
        for following in sorted(routes.get(path[-1], ())):
            if following not in seen:
                seen.add(following)
                stack.append([*path, following])
    return None


@dataclass(frozen=True)
class RuleFields:
    """What creating or changing an event rule takes (UNSET: not sent)."""

    service_id: str | Unset | None = UNSET  # on create only; None: a global rule
    position: int | Unset | None = UNSET
    description: str | Unset | None = UNSET
    conditions: Any = UNSET  # JSON, checked by rules/matching.py
    actions: Any = UNSET
    disabled: bool | Unset | None = UNSET


def _apply(rule: EventRule, fields: RuleFields) -> None:
    if fields.description is not UNSET:
        rule.description = (
            validation.optional_text(fields.description, "description", max_length=255) or ""
        )
    if fields.conditions is not UNSET:
        rule.conditions = matching.checked_conditions(fields.conditions)
    if fields.actions is not UNSET:
        rule.actions = matching.checked_actions(fields.actions)
    if fields.disabled is not UNSET and fields.disabled is not None:
        if not isinstance(fields.disabled, bool):
            raise ValidationFailed("disabled must be true or false", field="disabled")
        rule.disabled = fields.disabled


async def _place(rule: EventRule, position: Any) -> None:
    """Put the rule at ``position`` (1-based; None keeps it, or puts a new one last) and
    number its set 1, 2, 3… again."""
    siblings = [
        r for r in await EventRule.filter(service_id=rule.service_id).order_by("position", "id")  # type: ignore[attr-defined]
        if r.id != rule.id
    ]  # fmt: skip
    if len(siblings) >= MAX_RULES_PER_SET:
        raise ValidationFailed(
            f"a rule set holds at most {MAX_RULES_PER_SET} rules", field="service_id"
        )
    if position is None:
        index = len(siblings) if rule.position is None else rule.position - 1
    else:
        index = validation.number(position, "position", minimum=1, maximum=MAX_RULES_PER_SET) - 1
    await _renumber([*siblings[:index], rule, *siblings[index:]], unsaved=rule)


async def _renumber(ordered: list[EventRule], unsaved: EventRule | None = None) -> None:
    """Number a set 1, 2, 3… in this order, saving the rules that moved (but
    ``unsaved``, which its caller saves)."""
    for number, each in enumerate(ordered, start=1):
        if each.position != number:
            each.position = number
            if each is not unsaved:
                await each.save(update_fields=["position"])


async def create_rule(principal: Principal, fields: RuleFields) -> EventRule:
    principal.require("services:write")
    service_id = None if fields.service_id is UNSET else fields.service_id
    now = clock.now()
    rule = EventRule(created_at=now, updated_at=now, description="")
    rule.position = None  # type: ignore[assignment]
    if service_id is not None:
        service = validation.referenced(
            await Service.get_or_none(id=str(service_id)), str(service_id), "service_id", "service"
        )
        rule.service_id = service.id
    else:
        rule.service_id = None
    if fields.actions is UNSET:
        raise ValidationFailed("actions is required", field="actions")
    _apply(rule, fields)
    async with atomic():
        await _check_routes(rule)
        await _place(rule, None if fields.position is UNSET else fields.position)
        await rule.save()
        await audit.record(principal, "event_rule.created", "event_rule", rule.id, None,
                           audit.snapshot(rule, AUDITED))  # fmt: skip
    forget_rules()
    return rule


async def update_rule(principal: Principal, rule_id: str, fields: RuleFields) -> EventRule:
    principal.require("services:write")
    async with atomic():
        rule = await get_or_404(EventRule, rule_id, "event rule")
        before = audit.snapshot(rule, AUDITED)
        _apply(rule, fields)
        await _check_routes(rule)
        if fields.position is not UNSET and fields.position is not None:
            await _place(rule, fields.position)
        rule.updated_at = clock.now()
        await rule.save()
        await audit.record(principal, "event_rule.updated", "event_rule", rule.id, before,
                           audit.snapshot(rule, AUDITED))  # fmt: skip
    forget_rules()
    return rule


async def delete_rule(principal: Principal, rule_id: str) -> str:
    principal.require("services:write")
    async with atomic():
        rule = await get_or_404(EventRule, rule_id, "event rule")
        await rule.delete()
        await audit.record(principal, "event_rule.deleted", "event_rule", rule.id,
                           audit.snapshot(rule, AUDITED), None)  # fmt: skip
        await _renumber(
            list(await EventRule.filter(service_id=rule.service_id).order_by("position", "id"))  # type: ignore[attr-defined]
        )
    forget_rules()
    return rule_id


async def get_rule(principal: Principal, rule_id: str) -> EventRule:
    principal.require("services:read")
    return await get_or_404(EventRule, rule_id, "event rule")


async def list_rules(
    principal: Principal, *, service_id: str | None, limit: int | None, offset: int | None
) -> Page[EventRule]:
    """A service's rules, or the global ones (no service), in the order they run."""
    principal.require("services:read")
    return await page_of(EventRule.filter(service_id=service_id), limit, offset, "position", "id")


# --- running the rules ---------------------------------------------------------------------

# Rules are read on every event: a short-lived snapshot spares the database. A change
# made here clears it; other processes see a change within the TTL.
_SNAPSHOT_TTL = timedelta(seconds=10)


@dataclass
class _Snapshot:
    expires: datetime
    rules: dict[str | None, list[matching.Rule]] = field(default_factory=dict)
    services: dict[str, Service] = field(default_factory=dict)


_snapshot: _Snapshot | None = None


def forget_rules() -> None:
    """Drop the rules snapshot (after a rule or service changed)."""
    global _snapshot
    _snapshot = None


async def _current() -> _Snapshot:
    global _snapshot
    now = clock.now()
    if _snapshot is not None and _snapshot.expires > now:
        return _snapshot
    snapshot = _Snapshot(now + _SNAPSHOT_TTL)
    for row in await EventRule.filter(disabled=False).order_by("position", "id"):
        service_id: str | None = row.service_id  # type: ignore[attr-defined]
        compiled = matching.compile_rule(
            row.id, service_id, row.description, row.conditions, row.actions
        )
        snapshot.rules.setdefault(compiled.service_id, []).append(compiled)
    destinations = {
        d for rules in snapshot.rules.values() for r in rules
        if (d := _route_target(r.actions)) is not None
    }  # fmt: skip
    if destinations:
        snapshot.services = {s.id: s for s in await Service.filter(id__in=destinations)}
    _snapshot = snapshot
    return snapshot


def _routed(
    snapshot: _Snapshot, target: Target, rule: matching.Rule, trace: list[dict[str, Any]]
) -> Target | None:
    destination = _route_target(rule.actions)
    if destination is None:
        return None
    service = snapshot.services.get(destination)
    if service is None:
        trace.append({"step": "route_missing", "rule_id": rule.id, "service_id": destination})
        return None
    trace.append({"step": "route", "rule_id": rule.id, "from": target.service.id,
                  "to": service.id})  # fmt: skip
    return Target(service, target.integration, target.environment, target.actor)


async def decide(target: Target, event: Event) -> Target:
    """Run the rules on an event (changing it) and return where it goes now."""
    snapshot = await _current()
    if not snapshot.rules:
        return target
    trace = event.trace
    rule = matching.first_match(snapshot.rules.get(None, []), event, trace)
    if rule is not None:
        matching.apply(rule, event, trace)
        target = _routed(snapshot, target, rule, trace) or target
    visited = {target.service.id}
    while True:
        rule = matching.first_match(snapshot.rules.get(target.service.id, []), event, trace)
        if rule is None:
            return target
        matching.apply(rule, event, trace)
        routed = _routed(snapshot, target, rule, trace)
        if routed is None or routed.service.id in visited:
            return target
        visited.add(routed.service.id)
        target = routed


SUSPENDED_STATUSES = ("PENDING", "OPENED", "CANCELLED")


async def list_suspended(
    principal: Principal,
    *,
    service_id: str | None,
    status: str | None,
    limit: int | None,
    offset: int | None,
) -> Page[SuspendedEvent]:
    """Triggers held by suspend rules (of the caller's environment), newest first."""
    principal.require("incidents:read")
    query = SuspendedEvent.filter(environment=principal.environment)
    if service_id:
        query = query.filter(service_id=service_id)
    if status:
        query = query.filter(status=validation.choice(status, "status", SUSPENDED_STATUSES))
    return await page_of(query, limit, offset, "-received_at", "-id")
