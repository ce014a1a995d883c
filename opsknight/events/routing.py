"""Which service an event is for (SPEC §6), first match wins:

1. ``Authorization: Token token=<integration key>`` (an unknown key is FORBIDDEN);
2. ``routing_key`` equal to an integration key;
3. an API key with ``events:write`` plus ``service_id``, or ``routing_key`` equal to a
   service's id or name (an unknown one is NOT_FOUND);
4. a ``routing_key`` that matches nothing, with no other credential: 400;
5. nothing at all: UNAUTHORIZED.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from opsknight import clock
from opsknight.auth.principal import Credential
from opsknight.directory.models import MAX_INTEGRATION_KEY, Integration, Service
from opsknight.errors import Forbidden, NotFound, Unauthorized
from opsknight.events.errors import EventInvalid


@dataclass(frozen=True)
class Target:
    """Where an event goes, in which environment, and who sent it."""

    service: Service
    integration: Integration | None
    environment: str
    actor: dict[str, str]


def _via_integration(integration: Integration, credential: Credential) -> Target:
    """An integration's events are live, unless a test API key came with the request:
    a sandbox key must never reach live incidents, even through a routing key."""
    actor = {"type": "integration", "id": integration.id, "name": integration.name}
    principal = credential.principal
    environment = principal.environment if principal is not None else "live"
    return Target(integration.service, integration, environment, actor)


# Integration keys are looked up on every event; a short-lived cache spares the database
# one query per event. Deleting an integration or service clears it in this process;
# other processes stop accepting a deleted key within the TTL.
_CACHE_TTL = timedelta(seconds=10)
_cache: dict[str, tuple[datetime, Integration | None]] = {}
_CACHE_MAX = 10_000


async def integration_by_key(key: str) -> Integration | None:
    if len(key) > MAX_INTEGRATION_KEY:
        return None  # no stored key is this long
    now = clock.now()
    cached = _cache.get(key)
    if cached is not None and cached[0] > now:
        return cached[1]
    integration = await Integration.get_or_none(key=key).select_related("service")
    if len(_cache) >= _CACHE_MAX:
        _cache.clear()
    _cache[key] = (now + _CACHE_TTL, integration)
    return integration


def forget_integrations() -> None:
    """Drop cached integration keys (after an integration or service is deleted)."""
    _cache.clear()


async def resolve_target(
    credential: Credential, routing_key: str | None, service_id: str | None
) -> Target:
    """The target of an Events API request, per the precedence above."""
    if credential.integration_key is not None:
        integration = await integration_by_key(credential.integration_key)
        if integration is None:
            raise Forbidden("unknown integration key")
        return _via_integration(integration, credential)
    if routing_key:
        integration = await integration_by_key(routing_key)
        if integration is not None:
            return _via_integration(integration, credential)
    if credential.principal is not None:
        principal = credential.principal.require("events:write")
        if service_id:
            service = await Service.get_or_none(id=service_id)
            if service is None:
                raise NotFound.of("service", service_id)
        elif routing_key:
            service = await Service.get_or_none(id=routing_key) or await Service.get_or_none(
                name_key=routing_key.strip().lower()
            )
            if service is None:
                raise NotFound(
                    f"no service or integration matches routing_key {routing_key!r}",
                    {"field": "routing_key"},
                )
        else:
            raise EventInvalid(["routing_key or service_id is required"], field="routing_key")
        return Target(service, None, principal.environment, principal.actor)
    if credential.presented:
        raise Unauthorized(credential.problem or "invalid API key")
    if routing_key:
        raise EventInvalid(
            [f"routing_key {routing_key!r} does not match any integration"], field="routing_key"
        )
    raise Unauthorized("an integration key (routing_key or Token header) or API key is required")


async def resolve_integration(credential: Credential, query_key: str | None) -> Target:
    """The target of an inbound-format request: an integration key and nothing else."""
    key = credential.integration_key or query_key
    if not key:
        raise Unauthorized(
            "an integration key is required (Authorization: Token token=… or GenieKey …, "
            "or ?integration_key=)"
        )
    integration = await integration_by_key(key)
    if integration is None:
        raise Forbidden("unknown integration key")
    return _via_integration(integration, credential)
