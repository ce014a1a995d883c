"""Turning events into incidents: dedup that holds under concurrency, and ack/resolve."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from opsknight import clock
from opsknight.errors import Conflict
from opsknight.events.payload import Event
from opsknight.events.routing import Target
from opsknight.incidents import timeline
from opsknight.incidents.commands import move_status, next_number
from opsknight.incidents.models import Alert, Incident

# Attempts at a trigger: a lost race on the unique index is retried as a fold-in.
_TRIGGER_ATTEMPTS = 3


@dataclass(frozen=True)
class Outcome:
    action: str  # triggered | deduplicated | acknowledged | resolved | ignored
    dedup_key: str
    incident: Incident | None


async def ingest(target: Target, event: Event) -> Outcome:
    """Apply one checked event to its service."""
    if event.action == "trigger":
        return await _trigger(target, event)
    return await _acknowledge_or_resolve(target, event)


async def _active(target: Target, dedup_key: str) -> Incident | None:
    return (
        await Incident.filter(
            service_id=target.service.id,
            dedup_key=dedup_key,
            environment=target.environment,
            active=True,
        )
        .select_for_update()
        .first()
    )


def _stored_payload(event: Event) -> dict[str, Any]:
    # The routing key is a credential: it is not kept with the alert.
    return {k: v for k, v in event.raw.items() if k not in ("routing_key", "routingKey")}


async def _alert(incident: Incident, target: Target, event: Event) -> Alert:
    return await Alert.create(
        incident_id=incident.id,
        environment=target.environment,
        action=event.action,
        dedup_key=event.dedup_key,
        summary=event.summary,
        severity=event.severity,
        integration=target.integration,
        payload=_stored_payload(event),
        received_at=clock.now(),
    )


async def _trigger(target: Target, event: Event) -> Outcome:
    for _ in range(_TRIGGER_ATTEMPTS):
        try:
            async with in_transaction():
                incident = await _active(target, event.dedup_key)
                if incident is not None:
                    await _fold(incident, target, event)
                    return Outcome("deduplicated", event.dedup_key, incident)
                incident = await _open(target, event)
                return Outcome("triggered", event.dedup_key, incident)
        except IntegrityError:
            # Another trigger opened the incident first; the next attempt folds into it.
            continue
    raise Conflict("could not record the event; retry it", {"dedup_key": event.dedup_key})


async def _open(target: Target, event: Event) -> Incident:
    now = clock.now()
    incident = Incident(
        environment=target.environment,
        number=await next_number(target.environment),
        title=event.summary or event.dedup_key,
        description=event.description,
        urgency=event.urgency,
        service=target.service,
        integration=target.integration,
        dedup_key=event.dedup_key,
        source=event.source,
        custom_details=event.custom_details,
        links=event.links,
        images=event.images,
        component=event.component,
        alert_group=event.group,
        alert_class=event.class_,
        client=event.client,
        client_url=event.client_url,
        alert_count=1,
        created_at=now,
        updated_at=now,
        last_status_change=now,
    )
    await incident.save()
    alert = await _alert(incident, target, event)
    await timeline.record(
        incident,
        "created",
        target.actor,
        {"source": "event", "alert_id": alert.id, "severity": event.severity},
    )
    return incident


async def _fold(incident: Incident, target: Target, event: Event) -> None:
    alert = await _alert(incident, target, event)
    await Incident.filter(id=incident.id).update(
        alert_count=F("alert_count") + 1, version=F("version") + 1, updated_at=clock.now()
    )
    await incident.refresh_from_db(fields=["alert_count", "version", "updated_at"])
    await timeline.record(incident, "alert_added", target.actor, {"alert_id": alert.id})


async def _acknowledge_or_resolve(target: Target, event: Event) -> Outcome:
    wanted = "ACKNOWLEDGED" if event.action == "acknowledge" else "RESOLVED"
    done = "acknowledged" if event.action == "acknowledge" else "resolved"
    async with in_transaction():
        incident = await _active(target, event.dedup_key)
        if incident is None:
            return Outcome("ignored", event.dedup_key, None)
        if incident.status == wanted:
            return Outcome(done, event.dedup_key, incident)
        if incident.status == "SUPPRESSED" and wanted == "ACKNOWLEDGED":
            # §5.3 has no SUPPRESSED → ACKNOWLEDGED move: nothing to do.
            return Outcome("ignored", event.dedup_key, incident)
        alert = await _alert(incident, target, event)
        await move_status(incident, wanted, target.actor, {"alert_id": alert.id, "source": "event"})
        return Outcome(done, event.dedup_key, incident)
