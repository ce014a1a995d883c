"""The escalation engine (SPEC §8) with the in-process runner, under TIME_SCALE 600:
one policy minute lasts 0.1 s. Notifications go to webhook contacts on a real receiver."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from standardwebhooks.webhooks import Webhook as StandardWebhook

from opsknight.escalation import engine
from opsknight.incidents.models import Incident
from tests.conftest import Api, make_api, unique
from tests.receiver import Receiver, Reply, eventually


@pytest.fixture
async def admin(unlimited: httpx.AsyncClient) -> Api:
    """An admin on the server without rate limits: these tests poll while work runs."""
    return await make_api(unlimited)


async def person(api: Api, receiver: Receiver | None, name: str = "Responder") -> dict[str, Any]:
    """A user; with a receiver, a webhook contact method at /u/<user id>."""
    user = await api.create(
        "/api/users", {"name": name, "email": f"{unique('p')}@x.io", "role": "RESPONDER"}
    )
    if receiver is not None:
        contact = await api.create(
            f"/api/users/{user['id']}/contact-methods",
            {"type": "webhook", "address": receiver.url(f"/u/{user['id']}")},
        )
        user["contact"] = contact
    return user


async def service_with(api: Api, *steps: dict[str, Any], **policy: Any) -> dict[str, Any]:
    created = await api.create(
        "/api/escalation-policies", {"name": unique("pol"), "steps": list(steps), **policy}
    )
    return await api.create(
        "/api/services", {"name": unique("svc"), "escalation_policy_id": created["id"]}
    )


def step(kind: str, target: str, delay: int = 0, **extra: Any) -> dict[str, Any]:
    return {"target_type": kind, "target_id": target, "delay_minutes": delay, **extra}


async def timeline(api: Api, incident_id: str, *kinds: str) -> list[dict[str, Any]]:
    body = (await api.get(f"/api/incidents/{incident_id}/timeline")).json()
    return [e for e in body["data"] if not kinds or e["type"] in kinds]


async def incident(api: Api, incident_id: str) -> dict[str, Any]:
    data: dict[str, Any] = (await api.get(f"/api/incidents/{incident_id}")).json()["data"]
    return data


async def open_on(api: Api, service: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return await api.create(
        "/api/incidents", {"title": "Checkout down", "service_id": service["id"], **fields}
    )


async def wait_status(api: Api, incident_id: str, status: str, timeout: float = 5.0) -> None:
    async def reached() -> bool:
        return (await incident(api, incident_id))["escalation_status"] == status

    await eventually(reached, timeout)


async def test_steps_run_in_order_after_their_delay(admin: Api, receiver: Receiver) -> None:
    first, second = await person(admin, receiver, "First"), await person(admin, receiver, "Second")
    svc = await service_with(
        admin, step("USER", first["id"], delay=3), step("USER", second["id"], delay=1)
    )
    started = asyncio.get_running_loop().time()  # step 1 runs as the incident opens
    opened = await open_on(admin, svc)
    assert opened["escalation_status"] == "ACTIVE" and opened["current_escalation_step"] == 1
    assert opened["escalation_policy"]["id"]

    page = (await receiver.wait_for(f"/u/{first['id']}", 1))[0]
    assert page.json["event"] == "notification" and page.json["step"] == 1
    assert page.json["recipient"] == {"id": first["id"], "name": "First"}
    assert page.json["incident"]["id"] == opened["id"]
    assert receiver.at(f"/u/{second['id']}") == []

    await receiver.wait_for(f"/u/{second['id']}", 1)
    # Step 2 waits for step 1's delay: 3 minutes at 600x is 0.3 s.
    assert asyncio.get_running_loop().time() - started >= 0.3
    await wait_status(admin, opened["id"], "COMPLETED")

    entries = await timeline(admin, opened["id"])
    kinds = [e["type"] for e in entries]
    # Step 1 of a new incident writes no `escalation` entry; step 2 does.
    assert kinds.count("escalation") == 1
    escalation = next(e for e in entries if e["type"] == "escalation")
    assert escalation["details"]["step"] == 2 and escalation["actor"]["type"] == "system"
    sent = [e for e in entries if e["type"] == "notification_sent"]
    assert [(e["details"]["user"]["id"], e["details"]["step"]) for e in sent] == [
        (first["id"], 1),
        (second["id"], 2),
    ]
    assert {e["details"]["channel"] for e in sent} == {"WEBHOOK"}
    final = await incident(admin, opened["id"])
    assert final["current_escalation_step"] == 2 and final["escalation_status"] == "COMPLETED"


async def test_notification_is_signed_with_the_contact_secret(
    admin: Api, receiver: Receiver
) -> None:
    user = await person(admin, receiver)
    secret = user["contact"]["secret"]
    assert secret.startswith("whsec_")
    svc = await service_with(admin, step("USER", user["id"]))
    await open_on(admin, svc)
    page = (await receiver.wait_for(f"/u/{user['id']}", 1))[0]
    expected = hmac.new(secret.encode(), page.body, hashlib.sha256).hexdigest()
    assert page.headers["x-opsknight-signature"] == f"sha256={expected}"
    assert page.headers["x-opsknight-event"] == "notification"
    StandardWebhook(secret).verify(page.body, page.headers)  # raises when invalid


async def test_acknowledging_before_the_delay_stops_escalation(
    admin: Api, receiver: Receiver
) -> None:
    first, second = await person(admin, receiver), await person(admin, receiver)
    svc = await service_with(admin, step("USER", first["id"], delay=10), step("USER", second["id"]))
    opened = await open_on(admin, svc)
    await receiver.wait_for(f"/u/{first['id']}", 1)
    acked = await admin.patch(f"/api/incidents/{opened['id']}", {"status": "ACKNOWLEDGED"})
    assert acked.json()["data"]["escalation_status"] == "COMPLETED"
    await asyncio.sleep(1.5)  # well past the 1 s the second step would have waited
    assert receiver.at(f"/u/{second['id']}") == []
    assert await timeline(admin, opened["id"], "escalation") == []


async def test_repeat_rounds_then_exhausted(admin: Api, receiver: Receiver) -> None:
    user = await person(admin, receiver)
    svc = await service_with(admin, step("USER", user["id"], delay=1), repeat=True, repeat_limit=2)
    opened = await open_on(admin, svc)
    await wait_status(admin, opened["id"], "EXHAUSTED")
    pages = await receiver.wait_for(f"/u/{user['id']}", 3)
    assert len(pages) == 3  # the first round and two repeats
    assert len(await timeline(admin, opened["id"], "escalation")) == 2
    await asyncio.sleep(0.3)
    assert len(receiver.at(f"/u/{user['id']}")) == 3


async def test_schedule_target_reaches_whoever_is_on_call(admin: Api, receiver: Receiver) -> None:
    on_call, off = await person(admin, receiver), await person(admin, receiver)
    start = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT00:00:00")
    schedule = await admin.create("/api/schedules", {
        "name": unique("rota"), "time_zone": "UTC",
        "layers": [{"name": "L1", "rotation_type": "weekly", "handoff_start": start,
                    "users": [on_call["id"]]}],
    })  # fmt: skip
    svc = await service_with(admin, step("SCHEDULE", schedule["id"]))
    opened = await open_on(admin, svc)
    await receiver.wait_for(f"/u/{on_call['id']}", 1)
    sent = await eventually(lambda: timeline(admin, opened["id"], "notification_sent"))
    assert [e["details"]["user"]["id"] for e in sent] == [on_call["id"]]
    assert receiver.at(f"/u/{off['id']}") == []


async def test_nobody_on_call_is_a_failed_notification(admin: Api) -> None:
    empty = await admin.create("/api/schedules", {"name": unique("empty"), "time_zone": "UTC"})
    svc = await service_with(admin, step("SCHEDULE", empty["id"]))
    opened = await open_on(admin, svc)
    failed = await eventually(lambda: timeline(admin, opened["id"], "notification_failed"))
    assert failed[0]["details"]["reason"] == "nobody_on_call"
    assert failed[0]["details"]["target"] == {"type": "SCHEDULE", "id": empty["id"]}


async def test_a_person_without_contact_methods_is_a_failed_notification(admin: Api) -> None:
    user = await person(admin, None, "Unreachable")
    svc = await service_with(admin, step("USER", user["id"]))
    opened = await open_on(admin, svc)
    failed = await eventually(lambda: timeline(admin, opened["id"], "notification_failed"))
    assert failed[0]["details"]["reason"] == "no_contact_method"
    assert failed[0]["details"]["user"] == {"id": user["id"], "name": "Unreachable"}


async def test_team_targets_members_who_want_team_pages_or_only_the_lead(
    admin: Api, receiver: Receiver
) -> None:
    lead, member, quiet = [await person(admin, receiver) for _ in range(3)]
    team = await admin.create("/api/teams", {"name": unique("sre"), "lead_id": lead["id"]})
    members = f"/api/teams/{team['id']}/members"
    assert (await admin.post(members, {"user_id": member["id"]})).status_code == 200
    added = await admin.post(members, {"user_id": quiet["id"], "receive_team_notifications": False})
    assert added.status_code == 200
    svc = await service_with(admin, step("TEAM", team["id"]))
    opened = await open_on(admin, svc)
    await receiver.wait_for(f"/u/{lead['id']}", 1)
    await receiver.wait_for(f"/u/{member['id']}", 1)
    sent = await eventually(
        lambda: _at_least(timeline(admin, opened["id"], "notification_sent"), 2)
    )
    assert {e["details"]["user"]["id"] for e in sent} == {lead["id"], member["id"]}
    assert receiver.at(f"/u/{quiet['id']}") == []

    lead_only = await service_with(admin, step("TEAM", team["id"], notify_team_lead_only=True))
    second = await open_on(admin, lead_only)
    sent = await eventually(lambda: timeline(admin, second["id"], "notification_sent"))
    await asyncio.sleep(0.2)
    sent = await timeline(admin, second["id"], "notification_sent")
    assert [e["details"]["user"]["id"] for e in sent] == [lead["id"]]


async def _at_least(entries: Any, count: int) -> list[dict[str, Any]] | None:
    found: list[dict[str, Any]] = await entries
    return found if len(found) >= count else None


async def test_reopen_and_snooze_expiry_start_again_from_step_one(
    admin: Api, receiver: Receiver
) -> None:
    user = await person(admin, receiver)
    svc = await service_with(admin, step("USER", user["id"], delay=1))
    opened = await open_on(admin, svc)
    await wait_status(admin, opened["id"], "COMPLETED")
    path = f"/api/incidents/{opened['id']}"
    await admin.patch(path, {"status": "RESOLVED"})
    reopened = (await admin.patch(path, {"status": "OPEN"})).json()["data"]
    assert reopened["escalation_status"] == "ACTIVE" and reopened["current_escalation_step"] == 1
    await receiver.wait_for(f"/u/{user['id']}", 2)
    await wait_status(admin, opened["id"], "COMPLETED")

    # A 1-minute snooze lasts 0.1 s; when it ends, escalation starts again.
    snoozed = (await admin.patch(path, {"status": "SNOOZED", "snooze_duration": 1})).json()
    assert snoozed["data"]["escalation_status"] == "COMPLETED"
    await receiver.wait_for(f"/u/{user['id']}", 3)
    entries = await timeline(admin, opened["id"])
    kinds = [e["type"] for e in entries]
    assert "unsnoozed" in kinds
    # The step 1 runs after the reopen and after the snooze are escalations too.
    assert kinds.count("escalation") == 2


async def test_no_escalation_without_policy_for_test_keys_or_suppressed(
    admin: Api, client: Any, receiver: Receiver
) -> None:
    user = await person(admin, receiver)
    plain = await admin.create("/api/services", {"name": unique("svc")})
    assert (await open_on(admin, plain))["escalation_status"] == "NONE"
    svc = await service_with(admin, step("USER", user["id"]))
    sandbox = await make_api(client, environment="test")
    test_incident = await open_on(sandbox, svc)
    assert test_incident["escalation_status"] == "NONE"
    quiet = await open_on(admin, svc, suppress_notifications=True)
    assert quiet["escalation_status"] == "NONE"
    await asyncio.sleep(0.3)
    assert receiver.at(f"/u/{user['id']}") == []


async def test_editing_a_policy_does_not_change_an_escalation_in_flight(
    admin: Api, receiver: Receiver
) -> None:
    first, other = await person(admin, receiver), await person(admin, receiver)
    svc = await service_with(admin, step("USER", first["id"], delay=3), step("USER", first["id"]))
    opened = await open_on(admin, svc)
    policy_id = opened["escalation_policy"]["id"]
    edited = await admin.patch(
        f"/api/escalation-policies/{policy_id}",
        {"steps": [step("USER", other["id"]), step("USER", other["id"])]},
    )
    assert edited.status_code == 200
    await receiver.wait_for(f"/u/{first['id']}", 2)
    await wait_status(admin, opened["id"], "COMPLETED")
    assert receiver.at(f"/u/{other['id']}") == []


async def test_events_api_triggers_arm_escalation(admin: Api, receiver: Receiver) -> None:
    user = await person(admin, receiver)
    svc = await service_with(admin, step("USER", user["id"]))
    integration = await admin.create(f"/api/services/{svc['id']}/integrations", {"name": "am"})
    keys = [unique("k") for _ in range(5)]
    results = await asyncio.gather(*(
        admin.client.post("/v2/enqueue", json={
            "routing_key": integration["key"], "event_action": "trigger", "dedup_key": key,
            "payload": {"summary": "down", "source": "db", "severity": "critical"},
        })
        for key in keys
    ))  # fmt: skip
    assert {r.status_code for r in results} == {202}
    pages = await receiver.wait_for(f"/u/{user['id']}", 5)
    assert {p.json["incident"]["dedup_key"] for p in pages} == set(keys)


async def test_each_step_runs_once_when_runners_race(admin: Api, receiver: Receiver) -> None:
    user = await person(admin, receiver)
    svc = await service_with(admin, step("USER", user["id"], delay=60), step("USER", user["id"]))
    opened = await open_on(admin, svc)
    await receiver.wait_for(f"/u/{user['id']}", 1)
    # Make step 2 due now and let twenty runners (job, sweeper, duplicates) race for it.
    row = await Incident.get(id=opened["id"])
    await Incident.filter(id=row.id).update(escalation_due_at=datetime.now(UTC))
    token = row.escalation_token
    assert token is not None
    ran = await asyncio.gather(
        *(engine.run_due(row.id, token) for _ in range(10)), *(engine.sweep() for _ in range(10))
    )
    assert sum(ran) == 1
    await receiver.wait_for(f"/u/{user['id']}", 2)
    await asyncio.sleep(0.2)
    assert len(await timeline(admin, opened["id"], "escalation")) == 1
    assert len(receiver.at(f"/u/{user['id']}")) == 2


async def test_a_page_that_cannot_be_delivered_is_a_failed_notification(
    admin: Api, receiver: Receiver
) -> None:
    user = await person(admin, receiver)
    # The first attempt and its three retries (10 s, 30 s, 2 min at 600x) all fail.
    receiver.script(f"/u/{user['id']}", *[Reply(500)] * 4)
    svc = await service_with(admin, step("USER", user["id"]))
    opened = await open_on(admin, svc)
    failed = await eventually(lambda: timeline(admin, opened["id"], "notification_failed"))
    assert len(receiver.at(f"/u/{user['id']}")) == 4
    details = failed[0]["details"]
    assert details["reason"] == "the receiver answered HTTP 500"
    assert details["channel"] == "WEBHOOK" and details["user"]["id"] == user["id"]
    assert await timeline(admin, opened["id"], "notification_sent") == []


@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    step_count=st.integers(min_value=1, max_value=3),
    repeat=st.booleans(),
    repeat_limit=st.integers(min_value=0, max_value=3),
)
async def test_the_timeline_names_each_step_and_its_round_over_whole_policies(
    admin: Api, step_count: int, repeat: bool, repeat_limit: int
) -> None:
    people = [await person(admin, None) for _ in range(step_count)]
    svc = await service_with(
        admin, *(step("USER", p["id"]) for p in people), repeat=repeat, repeat_limit=repeat_limit
    )
    opened = await open_on(admin, svc)
    await wait_status(admin, opened["id"], "EXHAUSTED" if repeat else "COMPLETED")
    rounds = repeat_limit + 1 if repeat else 1
    expected = [(s, r) for r in range(1, rounds + 1) for s in range(1, step_count + 1)]
    entries = await timeline(admin, opened["id"], "escalation")
    # The first step of a new incident writes no `escalation` entry.
    assert [(e["details"]["step"], e["details"]["round"]) for e in entries] == expected[1:]


async def test_an_incident_whose_first_page_fails_is_still_opened_and_paged_by_its_job(
    admin: Api, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Step 1 pages in the transaction that opens the incident; a failure there must not
    # cost the incident, only move its step 1 to the escalation job.
    from opsknight.escalation import engine

    responder = await person(admin, receiver)
    svc = await service_with(admin, step("USER", responder["id"], delay=5))
    real = engine.recipients
    failures = []

    async def fails_once(step: dict[str, Any], at: Any) -> Any:
        if not failures:
            failures.append(step)
            raise RuntimeError("a directory lookup failed")
        return await real(step, at)

    monkeypatch.setattr(engine, "recipients", fails_once)
    opened = await open_on(admin, svc)
    assert failures and opened["escalation_status"] == "ACTIVE"
    (page,) = await receiver.wait_for(f"/u/{responder['id']}", 1)
    assert page.json["incident"]["id"] == opened["id"] and page.json["step"] == 1
    assert (await incident(admin, opened["id"]))["current_escalation_step"] == 1
    await asyncio.sleep(0.2)  # one page only: the job ran step 1 once, and nothing else did
    assert len(receiver.at(f"/u/{responder['id']}")) == 1
