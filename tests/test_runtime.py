"""Each app owns its batcher, live hub, job queue and memos: two apps in one process
never share them."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from opsknight import runtime
from opsknight.app import create_app
from opsknight.config import Settings
from opsknight.live.feed import ChangeFilter
from tests.conftest import make_api, unique


async def test_two_apps_in_one_process_keep_their_own_live_feed_and_batcher(
    settings: Settings, app: Any
) -> None:
    first, second = create_app(settings), create_app(settings)
    assert first.runtime is not second.runtime
    # The first app's subscribers hear of the first app's changes only: with no Redis,
    # a second app in the same process is another server.
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=first), base_url="http://a") as a,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=second), base_url="http://b") as b,
        first.runtime.hub.subscribe(ChangeFilter(environment="live")) as heard,
    ):
        api_a, api_b = await make_api(a), await make_api(b)
        service = await api_b.create("/api/services", {"name": unique("svc")})
        integration = await api_b.create(f"/api/services/{service['id']}/integrations", {})
        event = {"routing_key": integration["key"], "event_action": "trigger",
                 "dedup_key": "disk", "payload": {"summary": "Disk full", "source": "db1",
                                                  "severity": "error"}}  # fmt: skip
        assert (await b.post("/v2/enqueue", json=event)).status_code == 202
        # The second app's batcher applied it, and the first app's hub heard nothing.
        assert second.runtime.batcher is not first.runtime.batcher
        assert not heard.pending
        incident = await api_a.create(
            "/api/incidents", {"title": "Heard", "service_id": service["id"]}
        )
        change = await asyncio.wait_for(heard.next(), timeout=2)
        assert change.incident_id == incident["id"]
    # Neither is the process's default runtime, which the session's app adopted.
    assert runtime.current() not in (first.runtime, second.runtime)
