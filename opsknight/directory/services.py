"""Services, their health, and their integrations."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

from tortoise.functions import Count

from opsknight import clock, validation
from opsknight.analytics import rollups
from opsknight.audit import service as audit
from opsknight.auth import keys
from opsknight.auth.principal import Principal
from opsknight.batch import rows_by_ids
from opsknight.directory.models import MAX_INTEGRATION_KEY, Integration, Service, Team
from opsknight.errors import Conflict, Forbidden, NotFound, ValidationFailed
from opsknight.escalation.models import EscalationPolicy
from opsknight.events.routing import forget_integrations
from opsknight.incidents import behaviours
from opsknight.incidents.models import Incident
from opsknight.incidents.states import ACTIVE as ACTIVE_STATUSES
from opsknight.inputs import UNSET, Unset, or_none
from opsknight.paging import Page, page_of
from opsknight.records import get_or_404, matching_name
from opsknight.rules.service import forget_rules
from opsknight.transaction import atomic
from opsknight.unique import unique_field


class IntegrationType(Enum):
    events_api = "events_api"
    alertmanager = "alertmanager"
    webhook = "webhook"


INTEGRATION_TYPES = tuple(t.value for t in IntegrationType)
_TEXT_FIELDS = {"region": 64, "sla_tier": 64}
_INTEGRATION_FIELDS = ("service_id", "name", "type", "key")
AUDITED = ("name", "description", "team_id", "escalation_policy_id", "region", "sla_tier",
           "runbook_url", "acknowledgement_timeout", "auto_resolve_timeout", "urgency_rule",
           "support_hours", "shadow")  # fmt: skip


async def _get(service_id: str) -> Service:
    return await get_or_404(Service, service_id, "service")


async def get_service(principal: Principal, service_id: str) -> Service:
    principal.require("services:read")
    return await _get(service_id)


async def list_services(
    principal: Principal,
    *,
    q: str | None,
    team_id: str | None,
    limit: int | None,
    offset: int | None,
) -> Page[Service]:
    principal.require("services:read")
    query = Service.all()
    query = matching_name(query, q)
    if team_id is not None:
        query = query.filter(team_id=team_id)
    return await page_of(query, limit, offset, "name_key", "id")


@dataclass(frozen=True)
class ServiceFields:
    """What creating or changing a service takes (UNSET: not sent; None clears)."""

    name: str | Unset | None = UNSET
    description: str | Unset | None = UNSET
    team_id: str | Unset | None = UNSET
    escalation_policy_id: str | Unset | None = UNSET
    region: str | Unset | None = UNSET
    sla_tier: str | Unset | None = UNSET
    runbook_url: str | Unset | None = UNSET
    acknowledgement_timeout: int | Unset | None = UNSET
    auto_resolve_timeout: int | Unset | None = UNSET
    urgency_rule: str | Unset | None = UNSET
    support_hours: Any = UNSET
    shadow: bool | Unset | None = UNSET


@dataclass(frozen=True)
class IntegrationFields:
    """A new integration: its name, type, and a key brought from another tool."""

    name: str | Unset | None = UNSET
    type: str | Unset | None = UNSET
    key: str | Unset | None = UNSET


async def _apply(service: Service, fields: ServiceFields) -> list[str]:
    changed: list[str] = []
    if fields.name is not UNSET:
        service.name = validation.text(fields.name, "name", max_length=100)
        service.name_key = service.name.lower()
        changed += ["name", "name_key"]
    if fields.description is not UNSET:
        service.description = validation.optional_text(  # type: ignore[assignment]
            fields.description, "description", max_length=5000
        )
        changed.append("description")
    for name, limit in _TEXT_FIELDS.items():
        value = getattr(fields, name)
        if value is not UNSET:
            setattr(service, name, validation.optional_text(value, name, max_length=limit))
            changed.append(name)
    if fields.runbook_url is not UNSET:
        url = fields.runbook_url
        service.runbook_url = None if url in (None, "") else validation.http_url(url, "runbook_url")
        changed.append("runbook_url")
    if fields.team_id is not UNSET:
        team_id = or_none(fields.team_id)
        if team_id is not None:
            validation.referenced(await Team.get_or_none(id=team_id), team_id, "team_id", "team")
        service.team_id = team_id
        changed.append("team_id")
    if fields.escalation_policy_id is not UNSET:
        policy_id = or_none(fields.escalation_policy_id)
        if policy_id is not None:
            found = await EscalationPolicy.get_or_none(id=policy_id)
            validation.referenced(found, policy_id, "escalation_policy_id", "escalation policy")
        service.escalation_policy_id = policy_id
        changed.append("escalation_policy_id")
    for name, maximum in (("acknowledgement_timeout", behaviours.MAX_ACK_TIMEOUT),
                          ("auto_resolve_timeout", behaviours.MAX_AUTO_RESOLVE)):  # fmt: skip
        value = getattr(fields, name)
        if value is not UNSET:
            setattr(service, name,
                    None if value is None else validation.number(value, name, minimum=1,
                                                                 maximum=maximum))  # fmt: skip
            changed.append(name)
    if fields.support_hours is not UNSET:
        service.support_hours = behaviours.checked_support_hours(fields.support_hours)
        changed.append("support_hours")
    if fields.shadow is not UNSET and fields.shadow is not None:
        service.shadow = bool(fields.shadow)
        changed.append("shadow")
    if fields.urgency_rule is not UNSET and fields.urgency_rule is not None:
        service.urgency_rule = validation.choice(
            str(fields.urgency_rule).upper(), "urgency_rule", behaviours.URGENCY_RULES
        )
        changed.append("urgency_rule")
    if service.urgency_rule == "SUPPORT_HOURS" and not service.support_hours:
        raise ValidationFailed(
            "urgency_rule SUPPORT_HOURS needs support_hours", field="support_hours",
            reason="required",
        )  # fmt: skip
    return changed


async def create_service(principal: Principal, fields: ServiceFields) -> Service:
    principal.require("services:write")
    now = clock.now()
    service = Service(created_at=now, updated_at=now)
    await _apply(service, replace(fields, name=or_none(fields.name)))  # a name is required
    async with atomic(), unique_field("name", service.name):
        await service.save()
        await audit.record(principal, "service.created", "service", service.id, None,
                           audit.snapshot(service, AUDITED))  # fmt: skip
    return service


async def update_service(principal: Principal, service_id: str, fields: ServiceFields) -> Service:
    principal.require("services:write")
    service = await _get(service_id)
    before = audit.snapshot(service, AUDITED)
    changed = await _apply(service, fields)
    if changed:
        service.updated_at = clock.now()
        async with atomic(), unique_field("name", service.name):
            await service.save(update_fields=[*changed, "updated_at"])
            await audit.record(principal, "service.updated", "service", service.id, before,
                               audit.snapshot(service, AUDITED))  # fmt: skip
        forget_rules()
        forget_integrations()  # events of this process see the new behaviours at once
    return service


async def delete_service(principal: Principal, service_id: str) -> str:
    """Delete a service; one with active incidents (in any environment) is CONFLICT."""
    principal.require("services:write")
    service = await _get(service_id)
    active = await Incident.filter(service_id=service.id, status__in=ACTIVE_STATUSES).count()
    if active:
        raise Conflict(
            f"service {service.id} has {active} active incidents; resolve them first",
            {"active_incident_count": active},
        )
    async with atomic():
        # Resolved incidents go with the service: they cannot outlive it.
        opened = await Incident.filter(service_id=service.id).values_list(
            "environment", "created_at"
        )
        await Incident.filter(service_id=service.id).delete()
        await rollups.rebuild_days_of(opened)
        await service.delete()
        await audit.record(principal, "service.deleted", "service", service.id,
                           audit.snapshot(service, AUDITED), None)  # fmt: skip
    forget_integrations()
    forget_rules()
    return service_id


async def health_of(service_ids: list[str], environment: str) -> list[tuple[str, int]]:
    """(health, active_incident_count) per service, in key order, for one environment."""
    rows = (
        await Incident.filter(
            service_id__in=service_ids, environment=environment, status__in=ACTIVE_STATUSES
        )
        .annotate(n=Count("id"))
        .group_by("service_id", "status", "urgency")
        .values("service_id", "status", "urgency", "n")
    )
    counts: dict[str, int] = defaultdict(int)
    health: dict[str, str] = {}
    for row in rows:
        sid = row["service_id"]
        counts[sid] += row["n"]
        if row["status"] in ("OPEN", "ACKNOWLEDGED"):
            level = "CRITICAL" if row["urgency"] == "HIGH" else "DEGRADED"
            if health.get(sid) != "CRITICAL":
                health[sid] = level
    return [(health.get(s, "OPERATIONAL"), counts[s]) for s in service_ids]


async def services_by_ids(service_ids: list[str]) -> list[Service | None]:
    return await rows_by_ids(Service, service_ids)


async def list_integrations(principal: Principal, service_id: str) -> list[Integration]:
    principal.require("services:read")
    service = await _get(service_id)
    return list(await Integration.filter(service_id=service.id).order_by("created_at", "id"))


async def create_integration(
    principal: Principal, service_id: str, fields: IntegrationFields
) -> Integration:
    principal.require("services:write")
    service = await _get(service_id)
    name = validation.text(or_none(fields.name) or "Events API", "name", max_length=100)
    kind = validation.choice(or_none(fields.type) or "events_api", "type", INTEGRATION_TYPES)
    key = keys.integration_key()
    imported = or_none(fields.key)
    if imported is not None:
        key = _imported_key(principal, imported)
    async with atomic(), unique_field("key", key):
        integration = await Integration.create(
            service=service, name=name, type=kind, key=key, created_at=clock.now()
        )
        await audit.record(principal, "integration.created", "integration", integration.id,
                           None, audit.snapshot(integration, _INTEGRATION_FIELDS))  # fmt: skip
    forget_integrations()  # a key refused before it existed is not cached as unknown
    return integration


_KEY_PATTERN = re.compile(rf"^[A-Za-z0-9_-]{{16,{MAX_INTEGRATION_KEY}}}$")


def _imported_key(principal: Principal, key: Any) -> str:
    """A key brought from another tool (a PagerDuty routing key, an Opsgenie API key), so
    its senders keep working unchanged. Only administrators choose keys."""
    if principal.role != "ADMIN":
        raise Forbidden("only administrators may set an integration's key", {"field": "key"})
    if not isinstance(key, str) or not _KEY_PATTERN.match(key):
        raise ValidationFailed(
            f"key must be 16 to {MAX_INTEGRATION_KEY} letters, digits, '-' or '_'",
            field="key",
        )
    return key


async def delete_integration(principal: Principal, service_id: str, integration_id: str) -> str:
    principal.require("services:write")
    async with atomic():
        integration = await Integration.get_or_none(id=integration_id, service_id=service_id)
        if integration is None:
            raise NotFound.of("integration", integration_id)
        await integration.delete()
        await audit.record(principal, "integration.deleted", "integration", integration.id,
                           audit.snapshot(integration, _INTEGRATION_FIELDS), None)  # fmt: skip
    forget_integrations()
    forget_rules()
    return integration_id


async def integrations_by_ids(integration_ids: list[str]) -> list[Integration | None]:
    return await rows_by_ids(Integration, integration_ids)
