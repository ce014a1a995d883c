"""WebSockets and server-sent event streams obey the rules of HTTP requests: a revoked
key, a disabled owner or a changed role ends them within seconds; each WebSocket
operation is rate limited by its class and checked against its key; messages are
bounded like bodies. Real sockets, real uvicorn."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import websockets

from opsknight.app import create_app
from opsknight.config import Settings
from tests.conftest import Api, make_api, serving
from tests.servers import graphql_socket

CHANGES = "subscription { incidentChanged { id event } }"


async def subscribe(socket: Any, operation_id: str, query: str = CHANGES) -> None:
    await socket.send(
        json.dumps({"id": operation_id, "type": "subscribe", "payload": {"query": query}})
    )


async def closed_with(socket: Any, seconds: float = 6.0) -> int:
    """The close code the server sends within ``seconds`` (messages before it skipped)."""
    with pytest.raises(websockets.ConnectionClosed) as closed:
        async with asyncio.timeout(seconds):
            while True:
                await socket.recv()
    assert closed.value.rcvd is not None, "closed without a code"
    return closed.value.rcvd.code


@pytest.fixture
async def admin(unlimited: httpx.AsyncClient) -> Api:
    return await make_api(unlimited)


async def test_revoking_a_key_closes_its_websockets_with_4401(served_url: str, admin: Api) -> None:
    watcher = await make_api(admin.client, role="RESPONDER")
    async with graphql_socket(served_url, watcher.key) as socket:
        await subscribe(socket, "1")
        await asyncio.sleep(0.2)
        revoked = await admin.delete(f"/api/api-keys/{watcher.key_id}")
        assert revoked.status_code == 200, revoked.text
        assert await closed_with(socket) == 4401


async def test_disabling_or_demoting_the_owner_ends_the_connection(
    served_url: str, admin: Api
) -> None:
    for change, code in [({"status": "DISABLED"}, 4401), ({"role": "USER"}, 4403)]:
        owner = await make_api(admin.client, role="RESPONDER")
        async with graphql_socket(served_url, owner.key) as socket:
            await subscribe(socket, "1")
            await asyncio.sleep(0.2)
            changed = await admin.patch(f"/api/users/{owner.user_id}", change)
            assert changed.status_code == 200, changed.text
            assert await closed_with(socket) == code


async def test_a_revoked_key_cannot_start_another_operation_on_its_open_socket(
    served_url: str, admin: Api
) -> None:
    owner = await make_api(admin.client, role="RESPONDER")
    async with graphql_socket(served_url, owner.key) as socket:
        assert (await admin.delete(f"/api/api-keys/{owner.key_id}")).status_code == 200
        await subscribe(socket, "2", "{ viewer { id } }")
        # Refused at once: well before the next periodic check of open connections.
        assert await closed_with(socket, seconds=1.5) == 4401


async def test_a_revoked_key_ends_its_event_stream_with_an_error_event(
    served_url: str, admin: Api
) -> None:
    owner = await make_api(admin.client, role="RESPONDER")
    async with (
        httpx.AsyncClient(base_url=f"http://{served_url}", headers=owner.headers) as client,
        client.stream("GET", "/api/incidents/stream", timeout=10) as response,
    ):
        assert response.status_code == 200
        lines = response.aiter_lines()
        assert await anext(lines) == ": connected"
        assert (await admin.delete(f"/api/api-keys/{owner.key_id}")).status_code == 200
        async with asyncio.timeout(6):
            async for line in lines:
                if line.startswith("data: "):
                    error = json.loads(line.removeprefix("data: "))["error"]
                    assert error["code"] == "UNAUTHORIZED"
                    break
        # The stream ends after its error event.
        async with asyncio.timeout(3):
            assert [line async for line in lines if line.strip()] == []


async def test_websocket_operations_spend_the_rate_limit_of_their_class(
    app: Any, settings: Settings, unlimited: httpx.AsyncClient
) -> None:
    tight = create_app(settings.model_copy(update={"rate_limits": "read=2/60,write=1/60"}))
    owner = await make_api(unlimited)
    async with serving(tight) as url, graphql_socket(url, owner.key) as socket:
        answers = []
        for index in range(3):
            await subscribe(socket, f"q{index}", "{ viewer { id } }")
            while True:
                message = json.loads(await asyncio.wait_for(socket.recv(), 5))
                if message["type"] in ("next", "error"):
                    answers.append(message)
                    break
        assert [m["type"] for m in answers] == ["next", "next", "error"]
        refusal = answers[2]["payload"][0]
        assert refusal["extensions"]["code"] == "RATE_LIMITED"
        assert refusal["extensions"]["details"]["retry_after"] >= 1
        # A mutation is a write: its own budget, one unit per aliased field.
        two = 'mutation { a: createTeam(input: {name: "ws-a"}) { id } b: createTeam(input: {name: "ws-b"}) { id } }'
        await subscribe(socket, "m", two)
        message = json.loads(await asyncio.wait_for(socket.recv(), 5))
        assert message["type"] == "error"
        assert message["payload"][0]["extensions"]["code"] == "RATE_LIMITED"


async def test_a_websocket_message_over_the_body_limit_closes_the_socket(
    served_url: str, admin: Api
) -> None:
    async with graphql_socket(served_url, admin.key) as socket:
        await socket.send(json.dumps({"type": "ping", "payload": {"pad": "x" * 1_100_000}}))
        assert await closed_with(socket) == 4400


async def test_the_legacy_graphql_ws_protocol_obeys_the_same_rules(
    served_url: str, admin: Api
) -> None:
    owner = await make_api(admin.client, role="RESPONDER")
    async with graphql_socket(served_url, owner.key, "graphql-ws") as socket:
        await socket.send(json.dumps({"id": "1", "type": "start", "payload": {"query": CHANGES}}))
        await asyncio.sleep(0.2)
        assert (await admin.delete(f"/api/api-keys/{owner.key_id}")).status_code == 200
        assert await closed_with(socket) == 4401
