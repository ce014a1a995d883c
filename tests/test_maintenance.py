"""Maintenance windows (issue: run incidents like the best teams, item 1): while one is
on, a service's new incidents open SUPPRESSED and page no one; at its end they are
resolved, opened or left, once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta
from typing import Any

import httpx
import pytest

from opsknight import clock
from opsknight.maintenance import service as maintenance
from opsknight.maintenance.spans import Definition, ends_between, span_at
from tests.conftest import Api, make_api, unique

NY = "America/New_York"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


# --- when a window is on (pure) -----------------------------------------------------------


def test_a_weekly_window_runs_in_elapsed_time_across_a_clock_change() -> None:
    # Sundays 01:30 New York for 2 hours; on 2024-03-10 the clocks skip 02:00 → 03:00.
    window = Definition(days=frozenset({6}), start_time=time(1, 30),
                        duration=timedelta(hours=2), time_zone=NY)  # fmt: skip
    assert span_at(window, at("2024-03-03T02:00:00-05:00")) == (
        at("2024-03-03T01:30:00-05:00"), at("2024-03-03T03:30:00-05:00"),
    )  # fmt: skip
    spring = span_at(window, at("2024-03-10T03:10:00-04:00"))
    assert spring == (at("2024-03-10T01:30:00-05:00"), at("2024-03-10T04:30:00-04:00"))
    assert span_at(window, at("2024-03-10T04:30:00-04:00")) is None  # the end is outside
    assert span_at(window, at("2024-03-09T02:00:00-05:00")) is None  # a Saturday


def test_a_weekly_window_may_run_past_midnight_and_stop_at_until() -> None:
    window = Definition(days=frozenset({4}), start_time=time(23, 0),
                        duration=timedelta(hours=4), time_zone="Europe/Berlin",
                        until=at("2024-03-20T00:00:00+00:00"))  # fmt: skip
    assert span_at(window, at("2024-03-09T02:00:00+01:00")) == (
        at("2024-03-08T23:00:00+01:00"), at("2024-03-09T03:00:00+01:00"),
    )  # fmt: skip
    assert span_at(window, at("2024-03-23T01:00:00+01:00")) is None  # after until
    ends = ends_between(window, at("2024-03-01T00:00:00+00:00"), at("2024-04-01T00:00:00+00:00"))
    assert ends == [at("2024-03-02T03:00:00+01:00"), at("2024-03-09T03:00:00+01:00"),
                    at("2024-03-16T03:00:00+01:00")]  # fmt: skip


def test_a_one_off_window_has_one_end() -> None:
    window = Definition(starts_at=at("2024-05-01T10:00:00+00:00"),
                        ends_at=at("2024-05-01T12:00:00+00:00"))  # fmt: skip
    assert span_at(window, at("2024-05-01T11:00:00+00:00")) is not None
    assert span_at(window, at("2024-05-01T12:00:00+00:00")) is None
    assert ends_between(window, at("2024-05-01T00:00:00+00:00"),
                        at("2024-05-02T00:00:00+00:00")) == [window.ends_at]  # fmt: skip
    assert ends_between(window, at("2024-05-01T12:00:00+00:00"),
                        at("2024-05-02T00:00:00+00:00")) == []  # fmt: skip


# --- over HTTP ----------------------------------------------------------------------------


@pytest.fixture
async def admin(unlimited: httpx.AsyncClient) -> Api:
    return await make_api(unlimited)


def iso(moment: datetime) -> str:
    return moment.isoformat()


async def service_with_key(api: Api, **fields: Any) -> tuple[dict[str, Any], str]:
    service = await api.create("/api/services", {"name": unique("maint"), **fields})
    integration = await api.create(
        f"/api/services/{service['id']}/integrations", {"name": "Prometheus"}
    )
    return service, integration["key"]


async def send(client: httpx.AsyncClient, key: str, dedup: str, action: str = "trigger") -> Any:
    sent = await client.post("/v2/enqueue", json={
        "routing_key": key, "event_action": action, "dedup_key": dedup,
        "payload": {"summary": f"Disk full {dedup}", "source": "db", "severity": "critical"},
    })  # fmt: skip
    assert sent.status_code == 202, sent.text
    return sent.json()


async def test_windows_are_checked_and_named_errors_change_nothing(admin: Api) -> None:
    service, _ = await service_with_key(admin)
    now = clock.now()
    base = {"name": "Upgrade", "service_ids": [service["id"]]}
    cases = {
        "starts_at": {**base, "starts_at": "2026-12-24T10:00:00", "ends_at": iso(now)},
        "ends_at": {**base, "starts_at": iso(now), "ends_at": iso(now)},
        "service_ids": {**base, "service_ids": ["svc_nosuchservice"], "starts_at": iso(now),
                        "ends_at": iso(now + timedelta(hours=1))},
        "duration_minutes": {**base, "days": ["SUN"], "start_time": "02:00",
                             "duration_minutes": 0},
        "days": {**base, "days": ["SUNDAY"], "start_time": "02:00", "duration_minutes": 60},
        "time_zone": {**base, "days": ["SUN"], "start_time": "02:00", "duration_minutes": 60,
                      "time_zone": "Mars/Olympus"},
        "reopen_on_end": {**base, "starts_at": iso(now), "ends_at": iso(now + timedelta(hours=1)),
                          "resolve_on_end": True, "reopen_on_end": True},
    }  # fmt: skip
    for field, body in cases.items():
        answer = await admin.post("/api/maintenance-windows", body)
        assert answer.status_code == 400, (field, answer.text)
        assert answer.json()["error"]["details"]["field"] == field, (field, answer.text)
    listed = await admin.get("/api/maintenance-windows", params={"service_id": service["id"]})
    assert listed.json()["data"] == []

    first = await admin.create("/api/maintenance-windows", {
        **base, "starts_at": iso(now + timedelta(hours=1)), "ends_at": iso(now + timedelta(hours=3)),
    })  # fmt: skip
    assert first["in_effect"] is False and first["service_ids"] == [service["id"]]
    overlapping = await admin.post("/api/maintenance-windows", {
        **base, "starts_at": iso(now + timedelta(hours=2)), "ends_at": iso(now + timedelta(hours=4)),
    })  # fmt: skip
    assert overlapping.status_code == 400
    assert overlapping.json()["error"]["details"]["field"] == "starts_at"
    weekly = await admin.create("/api/maintenance-windows", {
        **base, "days": ["sat", "SUN"], "start_time": "02:00", "duration_minutes": 120,
        "time_zone": NY})  # fmt: skip
    assert weekly["days"] == ["SAT", "SUN"] and weekly["starts_at"] is None
    changed = await admin.patch(f"/api/maintenance-windows/{weekly['id']}", {"name": "Backups"})
    assert changed.status_code == 200 and changed.json()["data"]["name"] == "Backups"
    listed = await admin.get("/api/maintenance-windows", params={"service_id": service["id"]})
    assert [w["id"] for w in listed.json()["data"]] == [first["id"], weekly["id"]]
    assert (await admin.delete(f"/api/maintenance-windows/{first['id']}")).status_code == 200
    gone = await admin.get(f"/api/maintenance-windows/{first['id']}")
    assert gone.status_code == 404


async def test_a_user_role_reads_windows_but_cannot_make_them(
    admin: Api, unlimited: httpx.AsyncClient
) -> None:
    service, _ = await service_with_key(admin)
    viewer = await make_api(unlimited, role="USER")
    assert (await viewer.get("/api/maintenance-windows")).status_code == 200
    now = clock.now()
    refused = await viewer.post("/api/maintenance-windows", {
        "name": "x", "service_ids": [service["id"]], "starts_at": iso(now),
        "ends_at": iso(now + timedelta(hours=1))})  # fmt: skip
    assert refused.status_code == 403
    responder = await make_api(unlimited, role="RESPONDER")
    made = await responder.post("/api/maintenance-windows", {
        "name": "deploy", "service_ids": [service["id"]], "starts_at": iso(now),
        "ends_at": iso(now + timedelta(hours=1))})  # fmt: skip
    assert made.status_code == 201


async def paged_policy(api: Api, receiver: Any) -> tuple[dict[str, Any], str]:
    """A person with a webhook contact method, on a one-step policy: (person, path)."""
    person = await api.create("/api/users", {"name": "On call", "email": f"{unique('oc')}@example.com",
                                             "role": "RESPONDER"})  # fmt: skip
    path = f"/pages/{person['id']}"
    await api.create(f"/api/users/{person['id']}/contact-methods",
                     {"type": "webhook", "address": receiver.url(path)})  # fmt: skip
    policy = await api.create("/api/escalation-policies", {"name": unique("pol"), "steps": [
        {"target_type": "USER", "target_id": person["id"], "delay_minutes": 0}]})  # fmt: skip
    return policy, path


async def test_a_window_swallows_an_alert_storm_and_pages_no_one(
    admin: Api, client: httpx.AsyncClient, receiver: Any
) -> None:
    policy, path = await paged_policy(admin, receiver)
    service, key = await service_with_key(admin, escalation_policy_id=policy["id"])
    already = await send(client, key, "before")  # opened before the window: stays OPEN
    now = clock.now()
    window = await admin.create("/api/maintenance-windows", {
        "name": "Database upgrade", "service_ids": [service["id"]],
        "starts_at": iso(now - timedelta(minutes=1)), "ends_at": iso(now + timedelta(hours=1))})  # fmt: skip
    assert window["in_effect"] is True
    shown = (await admin.get(f"/api/services/{service['id']}")).json()["data"]
    assert shown["in_maintenance"] is True

    storm = [send(client, key, f"disk-{n % 10}") for n in range(200)]
    answers = await asyncio.gather(*storm)
    assert {a["data"]["incident"]["status"] for a in answers} == {"SUPPRESSED"}
    incidents = (await admin.get("/api/incidents", params={
        "service_id": service["id"], "status": "SUPPRESSED", "limit": 100})).json()  # fmt: skip
    assert incidents["pagination"]["total"] == 10
    assert sum(i["alert_count"] for i in incidents["data"]) == 200
    first = incidents["data"][0]
    timeline = (await admin.get(f"/api/incidents/{first['id']}/timeline")).json()["data"]
    assert timeline[0]["details"]["maintenance_window_id"] == window["id"]
    before = (await admin.get(f"/api/incidents/{already['data']['incident']['id']}")).json()
    assert before["data"]["status"] == "OPEN"
    await receiver.wait_for(path, 1)  # the incident from before the window was paged
    await asyncio.sleep(0.5)
    assert len(receiver.at(path)) == 1  # and nothing else


@pytest.mark.parametrize("ending", ["reopen_on_end", "resolve_on_end", "neither"])
async def test_at_its_end_a_window_reopens_resolves_or_leaves_its_incidents_once(
    admin: Api, client: httpx.AsyncClient, receiver: Any, ending: str
) -> None:
    policy, path = await paged_policy(admin, receiver)
    service, key = await service_with_key(admin, escalation_policy_id=policy["id"])
    now = clock.now()
    end = now + timedelta(seconds=1.5)
    window = await admin.create("/api/maintenance-windows", {
        "name": "Short", "service_ids": [service["id"]], "starts_at": iso(now - timedelta(minutes=1)),
        "ends_at": iso(end), **({ending: True} if ending != "neither" else {})})  # fmt: skip
    still_firing = (await send(client, key, "still"))["data"]["incident"]
    cleared = (await send(client, key, "cleared"))["data"]["incident"]
    await send(client, key, "cleared", "resolve")  # resolved during the window
    await asyncio.sleep(max(0.0, (end - clock.now()).total_seconds()) + 0.1)
    # The sweeper of the app runs it within seconds; running it here too changes nothing
    # twice: each span's end is claimed once.
    await asyncio.gather(maintenance.sweep(), maintenance.sweep())
    for _ in range(50):
        status = (await admin.get(f"/api/incidents/{still_firing['id']}")).json()["data"]["status"]
        if status != "SUPPRESSED" or ending == "neither":
            break
        await asyncio.sleep(0.1)
    expected = {"reopen_on_end": "OPEN", "resolve_on_end": "RESOLVED", "neither": "SUPPRESSED"}
    assert status == expected[ending]
    assert (await admin.get(f"/api/incidents/{cleared['id']}")).json()["data"][
        "status"
    ] == "RESOLVED"
    after = await send(client, key, "after-the-window")
    assert after["data"]["incident"]["status"] == "OPEN"
    pages = 2 if ending == "reopen_on_end" else 1  # the reopened one escalates from step 1
    await receiver.wait_for(path, pages)
    await asyncio.sleep(0.3)
    assert len(receiver.at(path)) == pages
    entries = (await admin.get(f"/api/incidents/{still_firing['id']}/timeline")).json()["data"]
    ended = [e for e in entries if e["details"].get("reason") == "window ended"]
    assert len(ended) == (0 if ending == "neither" else 1)
    if ended:
        assert ended[0]["details"]["maintenance_window_id"] == window["id"]
