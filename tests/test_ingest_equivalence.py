"""Events applied one by one and the same events applied as one batch (group commit)
leave the same incidents, alerts and timelines, whatever the sequence."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsknight import clock
from opsknight.directory.models import Service
from opsknight.events.ingest import Outcome, ingest, ingest_batch, plan_batch
from opsknight.events.payload import Event, parse_event
from opsknight.events.routing import Target
from opsknight.incidents.models import Alert, Incident, TimelineEvent
from tests.conftest import Api, unique

SERVICES = 2
KEYS = ("disk", "cpu", "queue")
EVENTS = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=SERVICES - 1),
        st.sampled_from(KEYS),
        st.sampled_from(("trigger", "trigger", "acknowledge", "resolve")),
    ),
    min_size=1,
    max_size=14,
)


def event(action: str, key: str, position: int) -> Event:
    body: dict[str, Any] = {"event_action": action, "dedup_key": key}
    if action == "trigger":
        body["payload"] = {"summary": f"{key} #{position}", "source": "s", "severity": "error"}
    return parse_event(body)


async def targets() -> list[Target]:
    now = clock.now()
    rows = [
        await Service.create(name=(name := unique("equiv")), name_key=name, created_at=now,
                             updated_at=now)
        for _ in range(SERVICES)
    ]  # fmt: skip
    actor = {"type": "integration", "id": "int_test", "name": "Test"}
    return [Target(service, None, "live", actor) for service in rows]


async def state(services: list[Target]) -> list[Any]:
    """Everything the events left, with ids replaced by positions."""
    found = []
    for index, target in enumerate(services):
        incidents = await Incident.filter(service_id=target.service.id).order_by("number")
        for incident in incidents:
            alerts = await Alert.filter(incident_id=incident.id).order_by("received_at", "id")
            entries = await TimelineEvent.filter(incident_id=incident.id).order_by(
                "timestamp", "id"
            )
            found.append((
                index, incident.dedup_key, incident.title, incident.status,
                incident.alert_count, incident.urgency,
                [(a.action, a.summary) for a in alerts],
                [e.type for e in entries],
            ))  # fmt: skip
    return found


def outcomes(results: list[Outcome]) -> list[tuple[str, str, str | None]]:
    return [(o.action, o.dedup_key, o.incident.title if o.incident else None) for o in results]


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(sequence=EVENTS)
async def test_one_by_one_and_batched_leave_the_same_incidents(
    admin: Api, sequence: list[tuple[int, str, str]]
) -> None:
    del admin  # the session's app and database
    one_by_one, batched = await targets(), await targets()
    singly = [
        await ingest(one_by_one[s], event(action, key, i))
        for i, (s, key, action) in enumerate(sequence)
    ]
    together = await ingest_batch(
        [(batched[s], event(action, key, i)) for i, (s, key, action) in enumerate(sequence)]
    )
    assert outcomes(together) == outcomes(singly)
    assert await state(batched) == await state(one_by_one)


class _Service:
    def __init__(self, ident: str) -> None:
        self.id = ident


def _target(service_id: str) -> Target:
    return Target(_Service(service_id), None, "live", {"type": "integration"})  # type: ignore[arg-type]


def test_a_batch_is_planned_from_the_keys_active_when_it_began() -> None:
    a, b = _target("svc_a"), _target("svc_b")
    held = event("trigger", "flap", 0)
    held.suspend_seconds = 60
    items = [
        (a, event("trigger", "disk", 0)),  # open: none active
        (a, event("trigger", "disk", 1)),  # fold into the one just opened
        (b, event("trigger", "disk", 2)),  # another service: its own incident
        (a, event("acknowledge", "disk", 3)),  # still active once acknowledged
        (a, event("trigger", "disk", 4)),  # fold
        (a, event("resolve", "disk", 5)),
        (a, event("trigger", "disk", 6)),  # resolved: a new incident
        (a, event("trigger", "cpu", 7)),  # active before the batch: fold
        (a, event("resolve", "queue", 8)),  # nothing active: a status change all the same
        (a, held),  # held by a suspend rule: nothing active to fold into
    ]
    active = {("svc_a", "cpu", "live")}
    steps = plan_batch(items, active)
    assert steps == [
        "open", "fold", "open", "change", "fold", "change", "open", "fold", "change", "hold",
    ]  # fmt: skip
    assert active == {("svc_a", "cpu", "live")}  # the caller's set is left as it was
    # Planning a batch is planning its events one at a time, the active keys carried on.
    carried, one_by_one = set(active), []
    for item in items:
        (step,) = plan_batch([item], carried)
        one_by_one.append(step)
        key = (item[0].service.id, item[1].dedup_key, "live")
        if step == "open":
            carried.add(key)
        elif item[1].action == "resolve":
            carried.discard(key)
    assert one_by_one == steps
