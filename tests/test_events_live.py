"""The Events API over real HTTP to a real server process: a PagerDuty client library,
and the dedup race."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.conftest import _create_postgres_database, _drop_postgres_database
from tests.servers import free_port, wait_until_up


@dataclass
class LiveServer:
    base_url: str
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


def _cli(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "opsknight.cli", *args],
        env=env, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return result.stdout


@pytest.fixture(scope="module")
async def live_server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LiveServer]:
    server_url = os.environ.get("OPSKNIGHT_TEST_DATABASE_URL")
    pg_name = None
    if server_url:
        database_url, pg_name = await _create_postgres_database(server_url)
    else:
        database_url = f"sqlite://{tmp_path_factory.mktemp('live') / 'live.db'}"
    env = {**os.environ, "OPSKNIGHT_DATABASE_URL": database_url, "OPSKNIGHT_LOG_LEVEL": "warning"}
    _cli(env, "migrate")
    _cli(env, "user", "--name", "Live Admin", "--email", "live@example.com", "--role", "admin")
    key = json.loads(
        _cli(env, "api-key", "create", "--owner", "live@example.com", "--name", "live", "--json")
    )["key"]
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "opsknight.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base_url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base_url) as client:
            await wait_until_up(client)
        yield LiveServer(base_url=base_url, key=key)
    finally:
        process.terminate()
        process.wait(timeout=20)
        if server_url and pg_name:
            await _drop_postgres_database(server_url, pg_name)


async def _new_integration(server: LiveServer, name: str) -> tuple[str, str]:
    async with httpx.AsyncClient(base_url=server.base_url, headers=server.headers) as client:
        service = (await client.post("/api/services", json={"name": name})).json()["data"]
        integration = (
            await client.post(f"/api/services/{service['id']}/integrations", json={})
        ).json()["data"]
    return service["id"], integration["key"]


async def test_pagerduty_client_library_triggers_acknowledges_resolves(
    live_server: LiveServer,
) -> None:
    import pdpyras

    service_id, routing_key = await _new_integration(live_server, "pagerduty-target")

    def drive() -> list[str]:
        session = pdpyras.EventsAPISession(routing_key)
        session.url = live_server.base_url
        changes = pdpyras.ChangeEventsAPISession(routing_key)
        changes.url = live_server.base_url
        changes.submit("Deployed v7", source="ci", custom_details={"sha": "abc"})
        dedup = session.trigger("Disk 95% on db-1", "db-1", dedup_key="db-1-disk", severity="error",
                                custom_details={"free_gb": 3}, links=[{"href": "https://example.com", "text": "dash"}])  # fmt: skip
        statuses = [dedup]
        statuses.append(session.acknowledge(dedup))
        statuses.append(session.resolve(dedup))
        return statuses

    keys = await asyncio.to_thread(drive)
    assert keys == ["db-1-disk"] * 3
    async with httpx.AsyncClient(
        base_url=live_server.base_url, headers=live_server.headers
    ) as client:
        listed = (await client.get(f"/api/incidents?service_id={service_id}")).json()["data"]
        assert len(listed) == 1
        incident = (await client.get(f"/api/incidents/{listed[0]['id']}")).json()["data"]
    assert incident["status"] == "RESOLVED" and incident["urgency"] == "MEDIUM"
    assert incident["title"] == "Disk 95% on db-1" and incident["custom_details"] == {"free_gb": 3}
    assert [e["type"] for e in incident["timeline"]] == ["created", "acknowledged", "resolved"]
    assert [c["summary"] for c in incident["recent_changes"]] == ["Deployed v7"]


async def test_fifty_simultaneous_triggers_make_one_incident(live_server: LiveServer) -> None:
    service_id, routing_key = await _new_integration(live_server, "race-target")
    body: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": "the-one",
        "payload": {"summary": "Storm", "source": "race", "severity": "critical"},
    }
    limits = httpx.Limits(max_connections=50, max_keepalive_connections=50)
    async with httpx.AsyncClient(
        base_url=live_server.base_url, limits=limits, timeout=60
    ) as client:
        # Open all 50 connections first so the triggers really arrive together.
        await asyncio.gather(*(client.get("/healthz") for _ in range(50)))
        responses = await asyncio.gather(
            *(client.post("/v2/enqueue", json=body) for _ in range(50))
        )
        assert [r.status_code for r in responses] == [202] * 50
        actions = sorted(r.json()["data"]["action"] for r in responses)
        assert actions == ["deduplicated"] * 49 + ["triggered"]
        incidents = (await client.get(f"/api/incidents?service_id={service_id}&include_merged=true",
                                      headers=live_server.headers)).json()  # fmt: skip
        assert incidents["pagination"]["total"] == 1
        assert incidents["data"][0]["alert_count"] == 50
        alerts = await client.get(
            f"/api/incidents/{incidents['data'][0]['id']}/alerts?limit=1",
            headers=live_server.headers,
        )
        assert alerts.json()["pagination"]["total"] == 50
