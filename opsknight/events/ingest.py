"""Turning events into incidents: dedup that holds under concurrency, and ack/resolve.

``ingest`` handles one event in its own transaction. ``ingest_batch`` handles many in one
transaction (see ``events/batching.py``) and falls back to ``ingest`` one by one when the
database refuses the batch, e.g. on a dedup race with another server process.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Literal

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F

from opsknight import clock, ids
from opsknight.db import build, insert_objects, insert_rows
from opsknight.errors import Conflict
from opsknight.escalation import engine
from opsknight.events import suspend
from opsknight.events.payload import Event
from opsknight.events.routing import Target
from opsknight.incidents import behaviours, timeline
from opsknight.incidents.announce import announce
from opsknight.incidents.commands import move_status, reserve_numbers
from opsknight.incidents.models import Alert, Incident, Note, TimelineEvent
from opsknight.maintenance.service import suppressing
from opsknight.transaction import atomic

# Attempts at a trigger: a lost race on the unique index is retried as a fold-in.
_TRIGGER_ATTEMPTS = 3

ActiveKey = tuple[str, str, str]  # (service id, dedup key, environment)
# What folding and the event response need: batches load only these columns.
_FOLD_COLUMNS = (
    "id", "service_id", "dedup_key", "environment", "number", "title", "status",
    "urgency", "alert_count", "version",
)  # fmt: skip


@dataclass(frozen=True)
class Outcome:
    action: str  # triggered | deduplicated | suspended | acknowledged | resolved | ignored
    dedup_key: str
    incident: Incident | None


def _key(target: Target, event: Event) -> ActiveKey:
    return (target.service.id, event.dedup_key, target.environment)


async def ingest(target: Target, event: Event) -> Outcome:
    """Apply one checked event in its own transaction: a batch of one. A trigger that lost
    a race to another process opening the same incident folds into it on the retry."""
    for _ in range(_TRIGGER_ATTEMPTS):
        try:
            (outcome,) = await ingest_batch([(target, event)])
            return outcome
        except IntegrityError:
            continue
    raise Conflict("could not record the event; retry it", {"dedup_key": event.dedup_key})


def _stored_payload(event: Event) -> dict[str, Any]:
    # The routing key is a credential: it is not kept with the alert.
    return {k: v for k, v in event.raw.items() if k not in ("routing_key", "routingKey")}


def _alert(incident: Incident, target: Target, event: Event, step: str) -> dict[str, Any]:
    """The alert of an event as a row (``db.insert_rows``), with its trace ended by what
    happened (``step``)."""
    outcome: dict[str, Any] = {"step": step, "incident_id": incident.id}
    if step == "opened":
        outcome["status"] = incident.status
        if incident.maintenance_window_id:
            outcome["maintenance_window_id"] = incident.maintenance_window_id
    return {
        "id": ids.new_id(Alert.id_prefix),
        "incident_id": incident.id,
        "environment": target.environment,
        "action": event.action,
        "dedup_key": event.dedup_key,
        "summary": event.summary,
        "severity": event.severity,
        "integration_id": target.integration.id if target.integration else None,
        "payload": _stored_payload(event),
        "trace": [*event.trace, outcome],
        "received_at": clock.now(),
    }


def _incident(target: Target, event: Event) -> Incident:
    """A new, unsaved incident for a trigger; its number is assigned when it is saved."""
    now = clock.now()
    incident = build(
        Incident,
        environment=target.environment,
        number=0,
        title=event.summary or event.dedup_key,
        description=event.description,
        urgency=event.rule_urgency or behaviours.event_urgency(target.service, event.urgency, now),
        priority=event.rule_priority,
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
    if event.suppressed_by:
        incident.status = "SUPPRESSED"
    behaviours.on_open(incident, target.service)
    return incident


def _rule_notes(incident: Incident, event: Event) -> list[tuple[Note, dict[str, Any]]]:
    """The notes the event's rules add to the incident it opens, with their entries."""
    written = []
    for rule_id, content in event.notes:
        note = Note(incident_id=incident.id, content=content, created_at=clock.now())
        actor = {"type": "event_rule", "id": rule_id, "name": "event rule"}
        details = {"note_id": note.id, "rule_id": rule_id}
        written.append((note, timeline.entry_row(incident.id, "note_added", actor, details)))
    return written


def _created_entry(
    incident: Incident, target: Target, event: Event, alert: dict[str, Any]
) -> dict[str, Any]:
    details: dict[str, Any] = {
        "source": "event", "alert_id": alert["id"], "severity": event.severity,
    }  # fmt: skip
    if incident.maintenance_window_id:
        details["maintenance_window_id"] = incident.maintenance_window_id
    if event.suppressed_by:
        details["suppressed_by_rule"] = event.suppressed_by
    return timeline.entry_row(incident.id, "created", target.actor, details)


def _in_maintenance(incident: Incident, windows: dict[str, str]) -> None:
    """A new incident of a service in a maintenance window opens SUPPRESSED."""
    window_id = windows.get(incident.service_id)  # type: ignore[attr-defined]
    if window_id is not None:
        incident.status = "SUPPRESSED"
        incident.maintenance_window_id = window_id


async def _count_alerts(incidents: list[Incident], added: int) -> None:
    """Add ``added`` alerts to each incident's count, in the database and in memory."""
    now = clock.now()
    await Incident.filter(id__in=[i.id for i in incidents]).update(
        alert_count=F("alert_count") + added, version=F("version") + 1, updated_at=now
    )
    for incident in incidents:
        incident.alert_count += added
        incident.version += 1
        incident.updated_at = now


async def _acknowledge_or_resolve(
    target: Target, event: Event, incident: Incident | None
) -> Outcome:
    """Inside a transaction, with the active incident (locked) or None."""
    wanted = "ACKNOWLEDGED" if event.action == "acknowledge" else "RESOLVED"
    done = "acknowledged" if event.action == "acknowledge" else "resolved"
    if incident is None:
        if event.action == "resolve" and await suspend.cancel(target, event):
            # A trigger held by a suspend rule: it never opens an incident.
            return Outcome("resolved", event.dedup_key, None)
        return Outcome("ignored", event.dedup_key, None)
    if incident.status == wanted:
        return Outcome(done, event.dedup_key, incident)
    if incident.status == "SUPPRESSED" and wanted == "ACKNOWLEDGED":
        # §5.3 has no SUPPRESSED → ACKNOWLEDGED move: nothing to do.
        return Outcome("ignored", event.dedup_key, incident)
    alert = _alert(incident, target, event, done)
    await insert_rows(Alert, [alert])
    await move_status(incident, wanted, target.actor, {"alert_id": alert["id"], "source": "event"})
    return Outcome(done, event.dedup_key, incident)


async def _reload(incident: Incident) -> Incident:
    return await Incident.select_for_update().get(id=incident.id)


class _BatchWriter:
    """The writes of a batch, held in memory and written with bulk statements."""

    def __init__(self) -> None:
        self.active: dict[ActiveKey, Incident | None] = {}
        self.new_incidents: list[Incident] = []
        self.new_ids: set[str] = set()
        self.alerts: list[dict[str, Any]] = []
        self.entries: list[dict[str, Any]] = []
        self.notes: list[Note] = []
        self.folded: Counter[str] = Counter()
        self.incidents: dict[str, Incident] = {}

    async def load_active(self, items: list[tuple[Target, Event]]) -> None:
        keys = {_key(target, event) for target, event in items}
        # A superset by column (one simple query), narrowed to the exact keys below.
        rows = (
            await Incident.filter(
                service_id__in={k[0] for k in keys},
                dedup_key__in={k[1] for k in keys},
                active=True,
            )
            .select_for_update()
            .order_by("id")  # one lock order for every batch: concurrent batches never deadlock
            .only(*_FOLD_COLUMNS)
        )
        self.active = dict.fromkeys(keys)
        for row in rows:
            key = (row.service_id, row.dedup_key or "", row.environment)  # type: ignore[attr-defined]
            if key in self.active:
                self.active[key] = row

    def open(self, target: Target, event: Event) -> Outcome:
        """A trigger that opens a new incident."""
        incident = _incident(target, event)
        self.active[_key(target, event)] = incident
        self.new_incidents.append(incident)
        self.new_ids.add(incident.id)
        alert = _alert(incident, target, event, "opened")
        self.alerts.append(alert)
        self.entries.append(_created_entry(incident, target, event, alert))
        for note, entry in _rule_notes(incident, event):
            self.notes.append(note)
            self.entries.append(entry)
        return Outcome("triggered", event.dedup_key, incident)

    def fold(self, target: Target, event: Event) -> Outcome:
        """A trigger that folds into the incident active for its key."""
        incident = self.active[_key(target, event)]
        assert incident is not None, "planned as a fold: an incident is active"
        alert = _alert(incident, target, event, "deduplicated")
        self.alerts.append(alert)
        self.entries.append(
            timeline.entry_row(incident.id, "alert_added", target.actor, {"alert_id": alert["id"]})
        )
        if incident.id in self.new_ids:
            incident.alert_count += 1
        else:
            self.folded[incident.id] += 1
            self.incidents[incident.id] = incident
        return Outcome("deduplicated", event.dedup_key, incident)

    async def flush(self) -> None:
        by_environment: dict[str, list[Incident]] = {}
        for incident in self.new_incidents:
            by_environment.setdefault(incident.environment, []).append(incident)
        if self.new_incidents:
            windows = await suppressing({i.service_id for i in self.new_incidents})  # type: ignore[attr-defined]
            for incident in self.new_incidents:
                _in_maintenance(incident, windows)
            if windows:  # the created entries were written before the window was known
                suppressed = {i.id: i.maintenance_window_id for i in self.new_incidents
                              if i.maintenance_window_id}  # fmt: skip
                for entry in self.entries:
                    window_id = suppressed.get(entry["incident_id"])
                    if entry["type"] == "created" and window_id:
                        entry["details"]["maintenance_window_id"] = window_id
                for alert in self.alerts:
                    window_id = suppressed.get(alert["incident_id"])
                    opened = (alert["trace"] or [{}])[-1]
                    if window_id and opened.get("step") == "opened":
                        opened.update(status="SUPPRESSED", maintenance_window_id=window_id)
        for environment, incidents in by_environment.items():
            numbers = await reserve_numbers(environment, len(incidents))
            for incident, number in zip(incidents, numbers, strict=True):
                incident.number = number
        first_steps = await engine.arm_new(self.new_incidents)
        await insert_objects(Incident, self.new_incidents)
        await insert_rows(Alert, self.alerts)
        if self.notes:
            await Note.bulk_create(self.notes)
        if self.entries:
            await insert_rows(TimelineEvent, self.entries)
            opened = {i.id: i for i in self.new_incidents}
            await announce([
                (opened[e["incident_id"]], build(TimelineEvent, **e))
                for e in self.entries if e["type"] == "created"
            ])  # fmt: skip
        await engine.page_first(first_steps)
        # One UPDATE per distinct count (usually one: most keys fold once per batch).
        by_count: dict[int, list[Incident]] = {}
        for incident_id, added in self.folded.items():
            by_count.setdefault(added, []).append(self.incidents[incident_id])
        for added, incidents in by_count.items():
            await _count_alerts(incidents, added)
        self.new_incidents, self.alerts, self.entries, self.notes = [], [], [], []
        self.new_ids = set()
        self.folded, self.incidents = Counter(), {}


# What an event of a batch does: open a new incident, fold into the active one, be held
# by a suspend rule, or change a status (acknowledge or resolve, the active incident or
# none).
Step = Literal["open", "fold", "hold", "change"]


def plan_batch(items: list[tuple[Target, Event]], active: set[ActiveKey]) -> list[Step]:
    """What each event of a batch does, in order, given the keys that had an active
    incident when the batch began. Pure: the writer then carries the plan out."""
    active = set(active)
    steps: list[Step] = []
    for target, event in items:
        key = _key(target, event)
        if event.action != "trigger":
            steps.append("change")
            if event.action == "resolve":
                active.discard(key)  # resolved, or none was active
        elif key in active:
            steps.append("fold")
        elif event.suspend_seconds:
            steps.append("hold")
        else:
            steps.append("open")
            active.add(key)
    return steps


async def ingest_batch(items: list[tuple[Target, Event]]) -> list[Outcome]:
    """Apply many events in order in one transaction, with bulk writes: load the active
    incidents, plan (``plan_batch``), write.

    Raises IntegrityError when another process won a dedup race meanwhile; the caller
    then retries the events one by one with ``ingest``.
    """
    writer = _BatchWriter()
    outcomes: list[Outcome] = []
    async with atomic():
        await writer.load_active(items)
        known = {key for key, incident in writer.active.items() if incident is not None}
        for step, (target, event) in zip(plan_batch(items, known), items, strict=True):
            if step == "open":
                outcomes.append(writer.open(target, event))
            elif step == "fold":
                outcomes.append(writer.fold(target, event))
            elif step == "hold":
                await writer.flush()
                await suspend.hold(target, event)
                outcomes.append(Outcome("suspended", event.dedup_key, None))
            else:
                # Status changes write at once (flushing what came before, to keep the
                # order) and need the whole row.
                await writer.flush()
                key = _key(target, event)
                partial = writer.active.get(key)
                incident = None if partial is None else await _reload(partial)
                outcome = await _acknowledge_or_resolve(target, event, incident)
                writer.active[key] = None if outcome.action == "resolved" else incident
                outcomes.append(outcome)
        await writer.flush()
    return outcomes
