"""The live feed (SPEC §11): GraphQL subscriptions over graphql-transport-ws with a real
WebSocket client on a real socket, server-sent events, and across two processes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket as socket_module
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import websockets
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.typing import Subprotocol
from websockets.uri import parse_uri

from opsknight import runtime
from opsknight.live import feed
from opsknight.live.feed import Change, ChangeFilter
from opsknight.live.service import follow
from tests.conftest import Api, make_api, open_incident, unique
from tests.servers import Processes, graphql_socket
from tests.test_jobs_processes import created, database, environment, needs_postgres

__all__ = ["database"]  # the fixture, shared with the jobs tests

CHANGES = """
subscription Changes($filter: IncidentChangeFilter, $after: String) {
  incidentChanged(filter: $filter, after: $after) {
    id event occurredAt sequence incident { id title status urgency service { id name } }
  }
}"""


@pytest.fixture(scope="module")
def live_url(served_url: str) -> str:
    return served_url


@pytest.fixture
async def admin(unlimited: httpx.AsyncClient) -> Api:
    return await make_api(unlimited)


class Subscription:
    """One graphql-transport-ws connection with one subscription."""

    def __init__(self, socket: Any) -> None:
        self.socket = socket

    async def next(self, timeout: float = 5.0) -> dict[str, Any]:
        while True:
            message = json.loads(await asyncio.wait_for(self.socket.recv(), timeout))
            if message["type"] == "ping":
                await self.socket.send(json.dumps({"type": "pong"}))
                continue
            return dict(message)

    async def change(self, timeout: float = 5.0) -> dict[str, Any]:
        message = await self.next(timeout)
        assert message["type"] == "next", message
        assert "errors" not in message["payload"], message
        data: dict[str, Any] = message["payload"]["data"]["incidentChanged"]
        return data


@contextlib.asynccontextmanager
async def subscribed(
    url: str, key: str, variables: dict[str, Any] | None = None
) -> AsyncIterator[Subscription]:
    async with graphql_socket(url, key) as socket:
        await socket.send(json.dumps({
            "id": "1", "type": "subscribe",
            "payload": {"query": CHANGES, "variables": variables or {}},
        }))  # fmt: skip
        await _settled()
        yield Subscription(socket)


async def _settled() -> None:
    # The subscribe message is handled asynchronously: give the server a moment to
    # register the subscriber before the test makes its first change.
    await asyncio.sleep(0.1)


async def test_a_change_arrives_within_a_second(live_url: str, admin: Api) -> None:
    service = await admin.create("/api/services", {"name": unique("svc")})
    async with subscribed(live_url, admin.key) as subscription:
        started = time.perf_counter()
        incident = await open_incident(admin, service["id"], title="Live one")
        change = await subscription.change(timeout=1.0)
        assert time.perf_counter() - started < 1.0
        assert change["event"] == "incident.triggered" and change["id"].startswith("evt_")
        assert change["incident"]["id"] == incident["id"]
        assert change["incident"]["service"] == {"id": service["id"], "name": service["name"]}
        await admin.patch(f"/api/incidents/{incident['id']}", {"status": "ACKNOWLEDGED"})
        acked = await subscription.change(timeout=1.0)
        assert acked["event"] == "incident.acknowledged"
        # The incident is read when the change is delivered, after it committed.
        assert acked["incident"]["status"] == "ACKNOWLEDGED"
        assert acked["sequence"] > change["sequence"]


async def test_filters_leave_other_changes_out(live_url: str, admin: Api) -> None:
    mine = await admin.create("/api/services", {"name": unique("mine")})
    other = await admin.create("/api/services", {"name": unique("other")})
    wanted = {"filter": {"serviceIds": [mine["id"]], "urgencies": ["HIGH"]}}
    async with subscribed(live_url, admin.key, wanted) as subscription:
        await open_incident(admin, other["id"], urgency="HIGH")
        await open_incident(admin, mine["id"], urgency="LOW")
        expected = await open_incident(admin, mine["id"], urgency="HIGH")
        change = await subscription.change()
        assert change["incident"]["id"] == expected["id"]


async def test_a_bad_key_closes_the_socket_with_4403(live_url: str) -> None:
    for payload in ({"Authorization": "Bearer sk_live_nope"}, {}):
        async with websockets.connect(
            f"ws://{live_url}/graphql", subprotocols=["graphql-transport-ws"]
        ) as socket:
            await socket.send(json.dumps({"type": "connection_init", "payload": payload}))
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(socket.recv(), 5)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


async def test_subscribing_needs_incidents_read(
    live_url: str, unlimited: httpx.AsyncClient
) -> None:
    events_only = await make_api(unlimited, scopes=["events:write"])
    async with subscribed(live_url, events_only.key) as subscription:
        message = await subscription.next()
    assert message["type"] == "next"
    assert message["payload"]["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_test_key_sees_only_test_incidents(
    live_url: str, admin: Api, unlimited: httpx.AsyncClient
) -> None:
    sandbox = await make_api(unlimited, environment="test")
    service = await admin.create("/api/services", {"name": unique("svc")})
    async with subscribed(live_url, sandbox.key) as subscription:
        await open_incident(admin, service["id"], title="live")
        test_incident = await open_incident(sandbox, service["id"], title="sandbox")
        change = await subscription.change()
        assert change["incident"]["id"] == test_incident["id"]


async def test_two_hundred_subscribers_get_the_same_hundred_changes_in_order(
    live_url: str, admin: Api
) -> None:
    service = await admin.create("/api/services", {"name": unique("svc")})
    incident = await open_incident(admin, service["id"])
    path = f"/api/incidents/{incident['id']}"
    query = """subscription($f: IncidentChangeFilter) {
      incidentChanged(filter: $f) { id sequence incident { id } } }"""
    before = len(runtime.current().hub.subscribers)
    sockets = []
    for _ in range(200):
        socket = await websockets.connect(
            f"ws://{live_url}/graphql", subprotocols=["graphql-transport-ws"], max_queue=None
        )
        await socket.send(json.dumps(
            {"type": "connection_init", "payload": {"Authorization": f"Bearer {admin.key}"}}
        ))  # fmt: skip
        sockets.append(socket)
    try:
        for socket in sockets:
            assert json.loads(await socket.recv())["type"] == "connection_ack"
            await socket.send(json.dumps({"id": "s", "type": "subscribe", "payload": {
                "query": query, "variables": {"f": {"serviceIds": [service["id"]]}}}}))  # fmt: skip
        # Every subscription is in the hub before the first change (a fixed pause was
        # too short on a loaded machine: a late subscriber missed the first changes).
        assert await _hub_size(before + 200, seconds=20) == before + 200
        for i in range(100):
            body = {"urgency": "HIGH" if i % 2 == 0 else "LOW"}
            assert (await admin.patch(path, body)).status_code == 200

        async def hundred(socket: Any) -> list[str]:
            ids = []
            while len(ids) < 100:
                message = json.loads(await asyncio.wait_for(socket.recv(), 30))
                if message["type"] == "next":
                    ids.append(message["payload"]["data"]["incidentChanged"]["id"])
            return ids

        received = await asyncio.gather(*(hundred(s) for s in sockets))
    finally:
        await asyncio.gather(*(s.close() for s in sockets))
    timeline = (await admin.get(f"{path}/timeline")).json()["data"]
    committed = [e["id"] for e in timeline if e["type"] == "urgency_changed"]
    assert len(committed) == 100
    assert all(ids == committed for ids in received)


async def test_server_sent_events_and_resume(live_url: str, admin: Api) -> None:
    service = await admin.create("/api/services", {"name": unique("svc")})
    base = f"http://{live_url}"
    url = f"/api/incidents/stream?service_id={service['id']}"

    async def read_events(response: httpx.Response, count: int) -> list[dict[str, str]]:
        events: list[dict[str, str]] = []
        current: dict[str, str] = {}
        async for line in response.aiter_lines():
            if not line:
                if "data" in current:
                    events.append(current)
                current = {}
                if len(events) == count:
                    return events
                continue
            if line.startswith(":"):
                continue
            name, _, value = line.partition(": ")
            current[name] = value
        return events

    async with httpx.AsyncClient(base_url=base, headers=admin.headers, timeout=10) as client:
        async with client.stream("GET", url) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            first = asyncio.create_task(read_events(response, 2))
            await _settled()
            incident = await open_incident(admin, service["id"])
            await admin.patch(f"/api/incidents/{incident['id']}", {"priority": "P2"})
            seen = await asyncio.wait_for(first, 5)
        assert [e["event"] for e in seen] == ["incident.triggered", "incident.priority_changed"]
        assert json.loads(seen[0]["data"])["incident"]["id"] == incident["id"]

        # Disconnected: three more changes happen; resuming from the last id replays them.
        for body in ({"urgency": "HIGH"}, {"status": "ACKNOWLEDGED"}, {"status": "RESOLVED"}):
            await admin.patch(f"/api/incidents/{incident['id']}", body)
        headers = {"Last-Event-ID": seen[-1]["id"]}
        async with client.stream("GET", url, headers=headers) as response:
            missed = await asyncio.wait_for(read_events(response, 3), 5)
        assert [e["event"] for e in missed] == [
            "incident.urgency_changed", "incident.acknowledged", "incident.resolved",
        ]  # fmt: skip

        denied = await client.get(url, headers={"Authorization": "Bearer sk_live_nope"})
        assert denied.status_code == 401
        bad = await client.get("/api/incidents/stream?status=EXPLODED")
        assert bad.status_code == 400


async def test_a_subscription_resumes_after_an_event_id(live_url: str, admin: Api) -> None:
    service = await admin.create("/api/services", {"name": unique("svc")})
    incident = await open_incident(admin, service["id"])
    path = f"/api/incidents/{incident['id']}"
    for body in ({"urgency": "HIGH"}, {"priority": "P3"}, {"status": "ACKNOWLEDGED"}):
        await admin.patch(path, body)
    timeline = (await admin.get(f"{path}/timeline")).json()["data"]
    wanted = {"filter": {"serviceIds": [service["id"]]}, "after": timeline[0]["id"]}
    async with subscribed(live_url, admin.key, wanted) as subscription:
        replayed = [await subscription.change(timeout=2) for _ in range(3)]
        await admin.patch(path, {"status": "RESOLVED"})
        live = await subscription.change(timeout=2)
    assert [c["event"] for c in replayed] == [
        "incident.urgency_changed", "incident.priority_changed", "incident.acknowledged",
    ]  # fmt: skip
    assert live["event"] == "incident.resolved"
    assert live["incident"]["status"] == "RESOLVED"


async def _hub_size(expected: int, seconds: float = 2.0) -> int:
    # Subscribers join and leave the hub as their messages are handled: give it a moment.
    for _ in range(int(seconds / 0.02)):
        if len(runtime.current().hub.subscribers) == expected:
            break
        await asyncio.sleep(0.02)
    return len(runtime.current().hub.subscribers)


async def test_completing_a_subscription_frees_its_place(live_url: str, admin: Api) -> None:
    before = len(runtime.current().hub.subscribers)
    async with subscribed(live_url, admin.key) as subscription:
        assert await _hub_size(before + 1) == before + 1
        await subscription.socket.send(json.dumps({"id": "1", "type": "complete"}))
        assert await _hub_size(before) == before
        # The id can be used again on the same connection, and the new one delivers.
        await subscription.socket.send(json.dumps(
            {"id": "1", "type": "subscribe", "payload": {"query": CHANGES}}
        ))  # fmt: skip
        assert await _hub_size(before + 1) == before + 1
        service = await admin.create("/api/services", {"name": unique("svc")})
        incident = await open_incident(admin, service["id"])
        change = await subscription.change()
        assert change["incident"]["id"] == incident["id"]
    assert await _hub_size(before) == before


async def test_a_change_to_a_deleted_incident_holds_up_no_one(live_url: str, admin: Api) -> None:
    # The first subscriber's change names an incident that no longer exists: it is
    # skipped, and that subscriber then waits for its next change without holding up
    # the delivery to the second one.
    mine = await admin.create("/api/services", {"name": unique("svc")})
    theirs = await admin.create("/api/services", {"name": unique("svc")})
    before = len(runtime.current().hub.subscribers)
    async with (
        subscribed(live_url, admin.key, {"filter": {"serviceIds": [theirs["id"]]}}) as first,
        subscribed(live_url, admin.key, {"filter": {"serviceIds": [mine["id"]]}}) as second,
    ):
        # Each has had a change already (later ones are pushed).
        await open_incident(admin, theirs["id"])
        await open_incident(admin, mine["id"])
        await first.change(timeout=2)
        await second.change(timeout=2)
        runtime.current().hub.dispatch(Change(
            id="evt_deleted0", event="incident.triggered", occurred_at="2026-01-01T00:00:00Z",
            incident_id="inc_deleted", sequence=1, environment="live",
            service_id=theirs["id"], team_id=None, status="OPEN", urgency="HIGH",
        ))  # fmt: skip
        incident = await open_incident(admin, mine["id"])
        change = await second.change(timeout=2)
        assert change["incident"]["id"] == incident["id"]
        with pytest.raises(asyncio.TimeoutError):
            await first.next(timeout=0.2)  # skipped, not delivered
        # The first one still gets its next change.
        later = await open_incident(admin, theirs["id"])
        assert (await first.change(timeout=2))["incident"]["id"] == later["id"]
        # Skipped again, and waiting when the client leaves: it still leaves the hub.
        runtime.current().hub.dispatch(Change(
            id="evt_deleted1", event="incident.triggered", occurred_at="2026-01-01T00:00:00Z",
            incident_id="inc_deleted", sequence=2, environment="live",
            service_id=theirs["id"], team_id=None, status="OPEN", urgency="HIGH",
        ))  # fmt: skip
        await asyncio.sleep(0.1)
    assert await _hub_size(before) == before


class SansIOClient:
    """A graphql-transport-ws client that reads only when told to: websockets' sans-I/O
    protocol over a socket with a small receive buffer (no autotuning)."""

    def __init__(self, address: str) -> None:
        host, port = address.split(":")
        raw = socket_module.socket()
        raw.setsockopt(socket_module.SOL_SOCKET, socket_module.SO_RCVBUF, 16_384)
        raw.connect((host, int(port)))
        raw.setblocking(False)
        self.raw = raw
        self.protocol = ClientProtocol(
            parse_uri(f"ws://{address}/graphql"), subprotocols=[Subprotocol("graphql-transport-ws")],
            max_size=None,
        )  # fmt: skip

    async def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        for data in self.protocol.data_to_send():
            if data:
                await loop.sock_sendall(self.raw, data)

    async def open(self, key: str) -> None:
        self.protocol.send_request(self.protocol.connect())
        await self.send({"type": "connection_init", "payload": {"Authorization": f"Bearer {key}"}})
        ack = await self.messages(1)
        assert ack[0]["type"] == "connection_ack", ack

    async def send(self, message: dict[str, Any]) -> None:
        if self.protocol.state.name == "OPEN":
            self.protocol.send_text(json.dumps(message).encode())
        else:  # the handshake is on its way: the first messages follow it
            self.pending = [*getattr(self, "pending", []), message]
        await self._flush()

    async def messages(self, count: int | None = None) -> list[dict[str, Any]]:
        """Read until ``count`` text messages arrived (or, without it, the socket closed)."""
        loop = asyncio.get_running_loop()
        received: list[dict[str, Any]] = []
        while count is None or len(received) < count:
            data = await asyncio.wait_for(loop.sock_recv(self.raw, 65_536), 10)
            if data:
                self.protocol.receive_data(data)
            else:
                self.protocol.receive_eof()
            for event in self.protocol.events_received():
                if isinstance(event, Frame) and event.opcode == Opcode.TEXT:
                    received.append(json.loads(event.data))
            if self.protocol.state.name == "OPEN" and getattr(self, "pending", None):
                for message in self.pending:
                    self.protocol.send_text(json.dumps(message).encode())
                self.pending = []
            await self._flush()
            if not data or self.protocol.close_rcvd is not None:
                break
        return received

    def close(self) -> None:
        self.raw.close()


async def test_a_client_that_stops_reading_is_disconnected(
    live_url: str, admin: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opsknight.graphql import websocket

    monkeypatch.setattr(websocket, "BACKLOG", 5)
    service = await admin.create("/api/services", {"name": unique("svc")})
    # Big messages fill the socket buffers after a few dozen changes.
    incident = await open_incident(admin, service["id"], description="x" * 60_000)
    query = "subscription { incidentChanged { id incident { description } } }"
    before = len(runtime.current().hub.subscribers)
    client = SansIOClient(live_url)
    try:
        await client.open(admin.key)
        await client.send({"id": "1", "type": "subscribe", "payload": {"query": query}})
        assert await _hub_size(before + 1) == before + 1
        sent = 0
        while (
            sent < 500 and len(runtime.current().hub.subscribers) > before
        ):  # the client reads none
            runtime.current().hub.dispatch(Change(
                id=f"evt_unread{sent}", event="incident.triggered",
                occurred_at=incident["created_at"], incident_id=incident["id"], sequence=sent,
                environment="live", service_id=service["id"], team_id=None, status="OPEN",
                urgency="HIGH",
            ))  # fmt: skip
            sent += 1
            await asyncio.sleep(0.002)
        # Cut off before the client read anything: its subscription left the hub.
        assert len(runtime.current().hub.subscribers) == before
        # Reading now: what had been written, then the close.
        received = await client.messages()
        assert 0 < len(received) < sent
        assert all(m["type"] == "next" for m in received)
        assert client.protocol.close_rcvd is not None
        assert client.protocol.close_rcvd.code == websocket.SLOW_CONSUMER_CLOSE
    finally:
        client.close()


async def test_a_slow_consumer_is_cut_off(
    admin: Api, monkeypatch: pytest.MonkeyPatch, client: httpx.AsyncClient
) -> None:
    from opsknight.auth.principal import authenticate
    from opsknight.errors import RateLimited

    monkeypatch.setattr(feed, "BACKLOG", 5)
    principal = (await authenticate(admin.key)).principal
    assert principal is not None
    before = len(runtime.current().hub.subscribers)
    changes = follow(principal, ChangeFilter(environment="live"))
    reader = asyncio.ensure_future(changes.__anext__())
    await asyncio.sleep(0.05)  # subscribed, waiting for its first change
    for i in range(20):  # never read: the queue fills up
        runtime.current().hub.dispatch(Change(
            id=f"evt_slow{i}", event="incident.triggered", occurred_at="2026-01-01T00:00:00Z",
            incident_id="inc_gone", sequence=i, environment="live", service_id="svc_x",
            team_id=None, status="OPEN", urgency="LOW",
        ))  # fmt: skip
    with pytest.raises(RateLimited):
        await asyncio.wait_for(reader, 5)
    # Cut off: its slot in the hub (and its queue) is gone.
    assert len(runtime.current().hub.subscribers) == before


@needs_postgres
async def test_a_change_through_one_server_reaches_a_subscriber_on_another(
    database: str, redis_url: str
) -> None:
    group = Processes(environment(database, 1, redis_url))
    try:
        key = group.admin_key()
        first, first_client = await group.serve(key)
        _, second_client = await group.serve(key)
        first_address = str(first_client.base_url).removeprefix("http://").rstrip("/")
        async with first_client, second_client:
            service = await created(second_client, "/api/services", {"name": unique("svc")})
            async with subscribed(first_address, key) as subscription:
                await asyncio.sleep(0.3)  # the listener of each server is subscribed to Redis
                incident = await created(
                    second_client, "/api/incidents", {"title": "x", "service_id": service["id"]}
                )
                change = await subscription.change(timeout=2)
                assert change["incident"]["id"] == incident["id"]
        assert first.poll() is None
    finally:
        group.stop_all()


async def test_subscriptions_per_connection_are_bounded(live_url: str, admin: Api) -> None:
    from opsknight.app import MAX_SUBSCRIPTIONS_PER_CONNECTION

    async with subscribed(live_url, admin.key) as subscription:
        socket = subscription.socket
        for i in range(2, MAX_SUBSCRIPTIONS_PER_CONNECTION + 2):
            await socket.send(json.dumps(
                {"id": str(i), "type": "subscribe", "payload": {"query": CHANGES}}
            ))  # fmt: skip
        refused = await subscription.next()
    assert refused["type"] == "error" and refused["id"] == str(MAX_SUBSCRIPTIONS_PER_CONNECTION + 1)
    assert "limit" in refused["payload"][0]["message"].lower()


async def test_subscribers_with_other_documents_or_keys_get_their_own_answers(
    live_url: str, admin: Api, unlimited: httpx.AsyncClient
) -> None:
    # Executions are shared only between subscribers with the same document, variables
    # and permissions: each of these gets exactly what it asked for.
    other_key = await make_api(unlimited, role="RESPONDER")
    service = await admin.create("/api/services", {"name": unique("svc")})
    only_ids = "subscription { incidentChanged { id event } }"
    async with (
        subscribed(live_url, admin.key) as full,
        subscribed(live_url, other_key.key) as responder,
        websockets.connect(
            f"ws://{live_url}/graphql", subprotocols=["graphql-transport-ws"]
        ) as socket,
    ):
        await socket.send(json.dumps(
            {"type": "connection_init", "payload": {"Authorization": f"Bearer {admin.key}"}}
        ))  # fmt: skip
        await socket.recv()
        await socket.send(json.dumps(
            {"id": "1", "type": "subscribe", "payload": {"query": only_ids}}
        ))  # fmt: skip
        await _settled()
        incident = await open_incident(admin, service["id"], title="shared")
        first, second = await full.change(), await responder.change()
        narrow = await Subscription(socket).change()
    assert first == second and first["incident"]["title"] == "shared"
    assert narrow == {"id": first["id"], "event": "incident.triggered"}
    assert first["incident"]["id"] == incident["id"]
