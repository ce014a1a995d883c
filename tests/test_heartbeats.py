"""Heartbeats (issue: run incidents like the best teams, item 2): a missed ping opens an
incident once, the next ping resolves it; the token is the only credential a ping needs.

Tests run the clock 600 times faster (an hour's interval lasts 6 s), with the app's
sweeper every 50 ms; ``overdue`` moves a due time into the past instead of waiting."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from opsknight import clock
from opsknight.heartbeats import service as heartbeats
from opsknight.heartbeats.models import Heartbeat
from tests.conftest import Api, make_api, unique
from tests.servers import alertmanager


@pytest.fixture
async def admin(unlimited: httpx.AsyncClient) -> Api:
    return await make_api(unlimited)


async def overdue(heartbeat_id: str) -> None:
    """As if its interval and grace had passed without a ping."""
    await Heartbeat.filter(id=heartbeat_id).update(due_at=clock.now() - timedelta(seconds=1))


async def incidents_of(api: Api, service_id: str) -> list[dict[str, Any]]:
    listed = await api.get("/api/incidents", params={
        "service_id": service_id, "status": "OPEN,ACKNOWLEDGED,RESOLVED"})  # fmt: skip
    data: list[dict[str, Any]] = listed.json()["data"]
    return data


async def test_a_missed_ping_opens_one_incident_and_the_next_ping_resolves_it(
    admin: Api, client: httpx.AsyncClient
) -> None:
    service = await admin.create("/api/services", {"name": unique("backups")})
    beat = await admin.create("/api/heartbeats", {
        "service_id": service["id"], "name": "Nightly backup", "interval_seconds": 3600,
        "grace_seconds": 600})  # fmt: skip
    assert beat["status"] == "NEW" and len(beat["token"]) == 32
    token = beat["token"]

    pinged = await client.post(f"/api/heartbeats/{token}/ping")
    assert pinged.status_code == 200 and pinged.json()["data"]["status"] == "UP"
    assert (await client.get(f"/api/heartbeats/{token}/ping")).status_code == 200
    assert (await client.post(f"/api/heartbeats/{'0' * 32}/ping")).status_code == 404
    assert await incidents_of(admin, service["id"]) == []

    await overdue(beat["id"])
    # Every process's sweeper may see the miss at once (the app's own runs too): it is
    # reported exactly once.
    assert sum(await asyncio.gather(*(heartbeats.sweep() for _ in range(4)))) <= 1
    assert await heartbeats.sweep() == 0
    opened = await incidents_of(admin, service["id"])
    assert len(opened) == 1 and opened[0]["status"] == "OPEN"
    assert opened[0]["title"].startswith("Heartbeat Nightly backup missed")
    assert opened[0]["dedup_key"] == f"heartbeat:{beat['id']}"
    down = (await admin.get(f"/api/heartbeats/{beat['id']}")).json()["data"]
    assert down["status"] == "DOWN"

    back = await client.post(f"/api/heartbeats/{token}/ping", json={"anything": "goes"})
    assert back.status_code == 200
    resolved = await incidents_of(admin, service["id"])
    assert [i["status"] for i in resolved] == ["RESOLVED"]
    entries = (await admin.get(f"/api/incidents/{opened[0]['id']}/timeline")).json()["data"]
    assert entries[-1]["type"] == "resolved" and entries[-1]["actor"]["type"] == "heartbeat"

    # The next miss opens a new incident.
    await overdue(beat["id"])
    await heartbeats.sweep()
    assert [i["status"] for i in await incidents_of(admin, service["id"])] == [
        "OPEN", "RESOLVED"]  # fmt: skip


async def test_a_heartbeat_that_never_pings_is_missed_too(admin: Api) -> None:
    service = await admin.create("/api/services", {"name": unique("cron")})
    beat = await admin.create("/api/heartbeats", {
        "service_id": service["id"], "name": "Cron", "interval_seconds": 3600})  # fmt: skip
    await heartbeats.sweep()
    assert await incidents_of(admin, service["id"]) == []  # not due yet
    await overdue(beat["id"])
    await heartbeats.sweep()
    assert len(await incidents_of(admin, service["id"])) == 1


async def test_heartbeats_are_checked_and_their_token_is_for_administrators(
    admin: Api, unlimited: httpx.AsyncClient
) -> None:
    service = await admin.create("/api/services", {"name": unique("hb")})
    cases = {
        "interval_seconds": {"service_id": service["id"], "name": "x", "interval_seconds": 5},
        "grace_seconds": {"service_id": service["id"], "name": "x", "interval_seconds": 60,
                          "grace_seconds": -1},
        "name": {"service_id": service["id"], "interval_seconds": 60},
        "service_id": {"service_id": "svc_nosuch", "name": "x", "interval_seconds": 60},
    }  # fmt: skip
    for field, body in cases.items():
        answer = await admin.post("/api/heartbeats", body)
        assert answer.status_code == 400, (field, answer.text)
        assert answer.json()["error"]["details"]["field"] == field, (field, answer.text)
    beat = await admin.create("/api/heartbeats", {
        "service_id": service["id"], "name": "Batch", "interval_seconds": 60})  # fmt: skip
    responder = await make_api(unlimited, role="RESPONDER")
    seen = (await responder.get(f"/api/heartbeats/{beat['id']}")).json()["data"]
    assert seen["token"] is None and seen["name"] == "Batch"
    refused = await responder.post("/api/heartbeats", {
        "service_id": service["id"], "name": "mine", "interval_seconds": 60})  # fmt: skip
    assert refused.status_code == 403
    changed = await admin.patch(f"/api/heartbeats/{beat['id']}", {"interval_seconds": 120})
    assert changed.json()["data"]["interval_seconds"] == 120
    # What a PATCH does not name stays as it was.
    assert changed.json()["data"]["name"] == "Batch"
    assert changed.json()["data"]["grace_seconds"] == beat["grace_seconds"]
    listed = await admin.get("/api/heartbeats", params={"service_id": service["id"]})
    assert [b["id"] for b in listed.json()["data"]] == [beat["id"]]
    assert (await admin.delete(f"/api/heartbeats/{beat['id']}")).status_code == 200


# Alertmanager's routing for an always-firing Watchdog alert: notify at once, then again
# every second while it fires (a real set-up uses minutes; see the README's snippet).
WATCHDOG_CONFIG = """
route:
  receiver: opsknight-heartbeat
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1s
receivers:
  - name: opsknight-heartbeat
    webhook_configs:
      - url: "{url}"
        send_resolved: false
"""


async def test_alertmanagers_watchdog_keeps_a_heartbeat_alive(
    admin: Api, served_url: str, tmp_path: Path
) -> None:
    service = await admin.create("/api/services", {"name": unique("prometheus")})
    beat = await admin.create("/api/heartbeats", {
        "service_id": service["id"], "name": "Prometheus Watchdog", "interval_seconds": 3600})  # fmt: skip
    url = f"http://{served_url}/api/heartbeats/{beat['token']}/ping"
    with alertmanager(WATCHDOG_CONFIG.format(url=url), tmp_path) as base:
        async with httpx.AsyncClient(base_url=base) as am:
            fired = await am.post("/api/v2/alerts", json=[{
                "labels": {"alertname": "Watchdog", "severity": "none"},
                "annotations": {"summary": "The alerting pipeline works"},
                "endsAt": clock.isoformat_z(clock.now() + timedelta(hours=1)),
            }])  # fmt: skip
            assert fired.status_code == 200, fired.text

        async def status() -> str:
            row = await Heartbeat.get(id=beat["id"])
            return row.status

        for _ in range(100):  # Alertmanager's first notification is the first ping
            if await status() == "UP":
                break
            await asyncio.sleep(0.1)
        assert await status() == "UP"

        # Prometheus stops (no Watchdog notifications for a while): the miss opens an
        # incident; Alertmanager's next repeat resolves it.
        await overdue(beat["id"])
        await Heartbeat.filter(id=beat["id"]).update(status="UP")
        await heartbeats.sweep()
        for _ in range(100):
            states = [i["status"] for i in await incidents_of(admin, service["id"])]
            if states == ["RESOLVED"]:
                break
            await asyncio.sleep(0.1)
        assert states == ["RESOLVED"]
        assert await status() == "UP"
