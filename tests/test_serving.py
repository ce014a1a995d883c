"""Slow and partial requests over a real socket: headers and bodies that stop arriving,
the bound on bodies held in memory, and whose X-Forwarded-For is believed."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn

from opsknight.app import create_app
from opsknight.config import Settings
from opsknight.serving import CoalescingTransport, protocol_with_header_timeout
from tests.servers import free_port

HEADER_TIMEOUT = 0.5
BODY_TIMEOUT = 0.5


@pytest.fixture(scope="module")
async def impatient(app: Any, settings: Settings) -> AsyncIterator[tuple[str, int]]:
    """The app behind uvicorn with short deadlines and a small in-flight body budget."""
    strict = settings.model_copy(
        update={"body_timeout_seconds": BODY_TIMEOUT, "max_pending_body_bytes": 4096}
    )
    port = free_port()
    config = uvicorn.Config(
        create_app(strict), host="127.0.0.1", port=port, lifespan="off", log_level="error",
        http=protocol_with_header_timeout(HEADER_TIMEOUT), proxy_headers=False,
    )  # fmt: skip
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    yield "127.0.0.1", port
    server.should_exit = True
    await asyncio.wait_for(task, 10)


async def _closed_within(reader: asyncio.StreamReader, seconds: float) -> bytes:
    """Everything the server sent until it closed the connection (fails if it did not)."""
    received = b""
    async with asyncio.timeout(seconds):
        while chunk := await reader.read(65536):
            received += chunk
    return received


async def test_headers_that_stop_arriving_close_the_connection(
    impatient: tuple[str, int],
) -> None:
    reader, writer = await asyncio.open_connection(*impatient)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
    await writer.drain()
    assert await _closed_within(reader, HEADER_TIMEOUT + 2) == b""
    writer.close()
    # A connection that sends nothing at all is closed too.
    reader, writer = await asyncio.open_connection(*impatient)
    assert await _closed_within(reader, HEADER_TIMEOUT + 2) == b""
    writer.close()


async def test_a_later_request_on_a_connection_gets_its_own_header_deadline(
    impatient: tuple[str, int],
) -> None:
    reader, writer = await asyncio.open_connection(*impatient)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert head.startswith(b"HTTP/1.1 200")
    length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length")))  # fmt: skip
    await reader.readexactly(length)
    # The next request starts late in the connection's first deadline and never ends
    # its headers: it is closed one whole deadline after its own first byte.
    await asyncio.sleep(HEADER_TIMEOUT * 0.6)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    started = asyncio.get_running_loop().time()
    assert await _closed_within(reader, HEADER_TIMEOUT + 2) == b""
    assert asyncio.get_running_loop().time() - started >= HEADER_TIMEOUT - 0.05
    writer.close()


async def test_a_body_that_stops_arriving_is_dropped_with_408(impatient: tuple[str, int]) -> None:
    reader, writer = await asyncio.open_connection(*impatient)
    writer.write(
        b"POST /api/events HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\n"
        b'content-length: 1000\r\n\r\n{"routing_key": '
    )
    await writer.drain()
    answer = await _closed_within(reader, BODY_TIMEOUT + 3)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b"REQUEST_TIMEOUT" in answer
    writer.close()


async def test_bodies_held_in_memory_are_bounded_across_requests(
    impatient: tuple[str, int],
) -> None:
    host, port = impatient
    holders = []
    for _ in range(2):  # two slow bodies of 2,000 bytes each use up the 4,096 bytes
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(
            b"POST /api/events HTTP/1.1\r\nHost: x\r\ncontent-length: 100000\r\n\r\n" + b" " * 2000
        )
        await writer.drain()
        holders.append((reader, writer))
    await asyncio.sleep(0.1)
    async with httpx.AsyncClient(base_url=f"http://{host}:{port}") as client:
        refused = await client.post("/api/events", content=b" " * 1000)
        assert refused.status_code == 503, refused.text
        assert refused.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
        assert refused.headers["retry-after"] == "1"
        for _, writer in holders:
            writer.close()
        await asyncio.sleep(BODY_TIMEOUT + 0.5)  # the held bodies time out and are freed
        healthy = await client.post("/api/events", json={"event_action": "trigger"})
        assert healthy.status_code in (400, 401), healthy.text
    for reader, _ in holders:
        with contextlib.suppress(Exception):
            await _closed_within(reader, 2)


@pytest.mark.parametrize("trusted", ["", "127.0.0.1"])
async def test_x_forwarded_for_is_believed_only_from_trusted_proxies(
    app: Any, settings: Settings, trusted: str
) -> None:
    tight = settings.model_copy(update={"rate_limits": "read=2/60", "trusted_proxies": trusted})
    transport = httpx.ASGITransport(app=create_app(tight), client=("127.0.0.1", 1234))
    async with httpx.AsyncClient(transport=transport, base_url="http://proxied") as client:
        codes = [
            (
                await client.get("/api/incidents", headers={"X-Forwarded-For": f"203.0.113.{i}"})
            ).status_code
            for i in range(4)
        ]
    if trusted:
        assert codes == [401] * 4  # each forwarded client has its own budget
    else:
        assert codes == [401, 401, 429, 429]  # the header is ignored: one budget


class _RecordingTransport:
    """The real transport, with what reaches it written down."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        self.writes: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))
        self.transport.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.transport, name)


async def test_each_response_reaches_the_socket_in_one_write(app: Any, settings: Settings) -> None:
    recorded: list[_RecordingTransport] = []

    class Recorded(protocol_with_header_timeout(HEADER_TIMEOUT)):  # type: ignore[misc, valid-type]
        def connection_made(self, transport: Any) -> None:
            recorded.append(_RecordingTransport(transport))
            super().connection_made(recorded[-1])

    port = free_port()
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, lifespan="off", log_level="error",
        http=Recorded, proxy_headers=False,
    )  # fmt: skip
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.01)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            healthy = await client.get("/healthz")
            refused = await client.post("/v2/enqueue", json={"event_action": "trigger"})
        assert healthy.status_code == 200 and refused.status_code == 401
        # Two requests on one keep-alive connection: two writes, each a whole response
        # (its head and its body), in order.
        (connection,) = recorded
        assert len(connection.writes) == 2
        first, second = (w.split(b"\r\n\r\n", 1) for w in connection.writes)
        assert first[0].startswith(b"HTTP/1.1 200") and healthy.content == first[1]
        assert second[0].startswith(b"HTTP/1.1 401") and refused.content == second[1]
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


async def test_what_one_step_writes_goes_out_together_and_a_large_answer_at_once() -> None:
    received = bytearray()
    done = asyncio.Event()

    async def peer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.extend(await reader.read())
        done.set()
        writer.close()

    server = await asyncio.start_server(peer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    recorded = _RecordingTransport(writer.transport)  # type: ignore[arg-type]
    transport = CoalescingTransport(recorded, asyncio.get_running_loop())  # type: ignore[arg-type]
    chunk = b"x" * 40_000
    # One step: two small writes, then three large ones.
    transport.write(b"head;")
    transport.write(b"body;")
    assert recorded.writes == []  # held until the step ends
    await asyncio.sleep(0)
    assert recorded.writes == [b"head;body;"]
    for marker in b"abc":
        transport.write(bytes([marker]) + chunk)
    # Past send_at (64 KiB) what is held goes out at once, without waiting for the step.
    assert [len(w) for w in recorded.writes[1:]] == [2 * (len(chunk) + 1)]
    transport.close()  # sends the rest first
    assert [len(w) for w in recorded.writes[1:]] == [2 * (len(chunk) + 1), len(chunk) + 1]
    await asyncio.wait_for(done.wait(), 5)
    assert bytes(received) == b"head;body;" + b"".join(bytes([m]) + chunk for m in b"abc")
    server.close()
    await server.wait_closed()
