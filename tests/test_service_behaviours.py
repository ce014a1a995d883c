"""Service behaviours (issue: run incidents like the best teams, item 4): urgency by
support hours or fixed, an acknowledgement that times out, auto-resolve.

Tests run the clock 600 times faster: a 1-minute timeout lasts 0.1 s."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from opsknight import clock
from opsknight.incidents.behaviours import in_support_hours
from tests.conftest import Api, make_api, unique

WEEKDAYS = {"days": ["MON", "TUE", "WED", "THU", "FRI"], "start_time": "09:00",
            "end_time": "17:00", "time_zone": "Europe/Berlin"}  # fmt: skip


def test_support_hours_are_wall_clock_hours_in_their_zone() -> None:
    assert in_support_hours(WEEKDAYS, datetime(2024, 3, 4, 8, 30, tzinfo=UTC))  # 09:30 Monday
    assert not in_support_hours(WEEKDAYS, datetime(2024, 3, 4, 16, 0, tzinfo=UTC))  # 17:00
    assert not in_support_hours(WEEKDAYS, datetime(2024, 3, 9, 10, 0, tzinfo=UTC))  # Saturday
    # Summer time: 09:30 in Berlin is 07:30 UTC.
    assert in_support_hours(WEEKDAYS, datetime(2024, 7, 1, 7, 30, tzinfo=UTC))


@pytest.fixture
async def admin(unlimited: httpx.AsyncClient) -> Api:
    return await make_api(unlimited)


async def with_key(api: Api, **behaviour: Any) -> tuple[dict[str, Any], str]:
    service = await api.create("/api/services", {"name": unique("svc"), **behaviour})
    integration = await api.create(
        f"/api/services/{service['id']}/integrations", {"name": "Prometheus"}
    )
    return service, integration["key"]


async def trigger(client: httpx.AsyncClient, key: str, severity: str = "info") -> dict[str, Any]:
    sent = await client.post("/v2/enqueue", json={
        "routing_key": key, "event_action": "trigger", "dedup_key": unique("k"),
        "payload": {"summary": "Queue backing up", "source": "mq", "severity": severity}})  # fmt: skip
    assert sent.status_code == 202, sent.text
    incident: dict[str, Any] = sent.json()["data"]["incident"]
    return incident


async def test_behaviours_are_checked(admin: Api) -> None:
    cases = {
        "acknowledgement_timeout": {"acknowledgement_timeout": 0},
        "auto_resolve_timeout": {"auto_resolve_timeout": 10**9},
        "urgency_rule": {"urgency_rule": "LOUD"},
        "support_hours": {"urgency_rule": "SUPPORT_HOURS"},
        "support_hours.end_time": {"support_hours": {**WEEKDAYS, "end_time": "08:00"}},
        "support_hours.days": {"support_hours": {**WEEKDAYS, "days": ["MONDAY"]}},
        "support_hours.time_zone": {"support_hours": {**WEEKDAYS, "time_zone": "Nowhere/City"}},
    }
    for field, body in cases.items():
        answer = await admin.post("/api/services", {"name": unique("bad"), **body})
        assert answer.status_code == 400, (field, answer.text)
        assert answer.json()["error"]["details"]["field"] == field, (field, answer.text)
    made = await admin.create("/api/services", {
        "name": unique("ok"), "urgency_rule": "support_hours", "support_hours": WEEKDAYS,
        "acknowledgement_timeout": 30, "auto_resolve_timeout": 240})  # fmt: skip
    assert made["urgency_rule"] == "SUPPORT_HOURS" and made["support_hours"] == WEEKDAYS
    cleared = await admin.patch(f"/api/services/{made['id']}", {"acknowledgement_timeout": None})
    assert cleared.json()["data"]["acknowledgement_timeout"] is None


async def test_urgency_follows_the_service_rule(admin: Api, client: httpx.AsyncClient) -> None:
    _, severity_key = await with_key(admin)
    assert (await trigger(client, severity_key, "info"))["urgency"] == "LOW"
    assert (await trigger(client, severity_key, "critical"))["urgency"] == "HIGH"
    _, high_key = await with_key(admin, urgency_rule="HIGH")
    assert (await trigger(client, high_key, "info"))["urgency"] == "HIGH"
    today = clock.now().strftime("%a").upper()
    always = {"days": [today], "start_time": "00:00", "end_time": "23:59", "time_zone": "UTC"}
    other = ["MON", "TUE"] if today not in ("MON", "TUE") else ["WED", "THU"]
    _, inside_key = await with_key(admin, urgency_rule="SUPPORT_HOURS", support_hours=always)
    _, outside_key = await with_key(
        admin, urgency_rule="SUPPORT_HOURS", support_hours={**always, "days": other}
    )
    if clock.now().strftime("%H:%M") != "23:59":
        assert (await trigger(client, inside_key, "info"))["urgency"] == "HIGH"
    assert (await trigger(client, outside_key, "critical"))["urgency"] == "LOW"


async def wait_for_status(api: Api, incident_id: str, status: str) -> dict[str, Any]:
    for _ in range(100):
        row: dict[str, Any] = (await api.get(f"/api/incidents/{incident_id}")).json()["data"]
        if row["status"] == status:
            return row
        await asyncio.sleep(0.05)
    raise AssertionError(f"{incident_id} never became {status}: {row['status']}")


async def test_an_acknowledgement_times_out_and_the_incident_escalates_again(
    admin: Api, client: httpx.AsyncClient
) -> None:
    _, key = await with_key(admin, acknowledgement_timeout=1)
    incident = await trigger(client, key)
    acked = await admin.patch(f"/api/incidents/{incident['id']}", {"status": "ACKNOWLEDGED"})
    assert acked.status_code == 200
    await wait_for_status(admin, incident["id"], "OPEN")  # 1 minute, a tenth of a second here
    entries = (await admin.get(f"/api/incidents/{incident['id']}/timeline")).json()["data"]
    back = [e for e in entries if e["details"].get("reason") == "acknowledgement timed out"]
    assert len(back) == 1 and back[0]["type"] == "unacknowledged"
    # Resolving stops every timer: it stays resolved.
    await admin.patch(f"/api/incidents/{incident['id']}", {"status": "RESOLVED"})
    await asyncio.sleep(0.3)
    assert (await wait_for_status(admin, incident["id"], "RESOLVED"))["status"] == "RESOLVED"


async def test_an_incident_past_the_auto_resolve_timeout_is_resolved(
    admin: Api, client: httpx.AsyncClient
) -> None:
    service, key = await with_key(admin, auto_resolve_timeout=1)
    from_event = await trigger(client, key)
    by_hand = await admin.create(
        "/api/incidents", {"title": "By hand", "service_id": service["id"]}
    )
    for incident in (from_event, by_hand):
        await wait_for_status(admin, incident["id"], "RESOLVED")
    entries = (await admin.get(f"/api/incidents/{by_hand['id']}/timeline")).json()["data"]
    assert entries[-1]["details"]["reason"] == "auto-resolved after the service's timeout"
    _, lasting = await with_key(admin)
    stays = await trigger(client, lasting)
    await asyncio.sleep(0.3)
    assert (await admin.get(f"/api/incidents/{stays['id']}")).json()["data"]["status"] == "OPEN"
