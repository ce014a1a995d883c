"""Health, readiness and metrics (SPEC §12)."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from opsknight.app import create_app
from opsknight.config import Settings
from tests.conftest import Api
from tests.servers import free_port


async def test_healthz_and_readyz(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"]["database"] == "ok"


@contextlib.asynccontextmanager
async def tcp_proxy(port: int, target: tuple[str, int]) -> AsyncIterator[None]:
    """Forward 127.0.0.1:port to target while the block runs."""

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*target)
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    server = await asyncio.start_server(handle, "127.0.0.1", port)
    try:
        yield
    finally:
        server.close()
        await server.wait_closed()


async def _ready(settings: Settings) -> httpx.Response:
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://probe") as probe:
        return await probe.get("/readyz")


async def test_readyz_is_503_naming_the_part_that_is_down_and_recovers(
    app: Any, settings: Settings, tmp_path: Path
) -> None:
    server_url = os.environ.get("OPSKNIGHT_TEST_DATABASE_URL")
    if server_url:
        # PostgreSQL through a proxy we can switch off and on.
        port = free_port()
        database_url = f"postgres://postgres@127.0.0.1:{port}/postgres"
        probe = settings.model_copy(update={"database_url": database_url})
        async with tcp_proxy(port, ("127.0.0.1", 5432)):
            assert (await _ready(probe)).status_code == 200
        down = await _ready(probe)
        async with tcp_proxy(port, ("127.0.0.1", 5432)):
            back = await _ready(probe)
    else:
        path = tmp_path / "probe.db"
        probe = settings.model_copy(update={"database_url": f"sqlite://{path}"})
        down = await _ready(probe)  # no database file yet
        path.write_bytes(b"")
        back = await _ready(probe)
    assert down.status_code == 503
    assert down.json()["status"] == "unavailable" and down.json()["failing"] == ["database"]
    assert back.status_code == 200 and back.json()["checks"]["database"] == "ok"
    closed = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})
    redis_down = await _ready(closed)
    assert redis_down.status_code == 503 and redis_down.json()["failing"] == ["redis"]


async def test_metrics_count_requests_by_route_template_and_events(
    client: httpx.AsyncClient, admin: Api, service: dict[str, Any]
) -> None:
    await admin.get(f"/api/services/{service['id']}")
    integration = await admin.create(f"/api/services/{service['id']}/integrations", {})
    await client.post(
        "/v2/enqueue",
        json={"routing_key": integration["key"], "event_action": "resolve", "dedup_key": "nothing"},
    )
    text = (await client.get("/metrics")).text
    assert (
        'opsknight_http_requests_total{method="GET",route="/api/services/{id}",status="200"}'
        in text
    )
    assert service["id"] not in text  # ids never become labels
    assert 'opsknight_events_total{action="ignored"}' in text
    assert "opsknight_http_request_duration_seconds_bucket" in text


async def test_logs_are_json_lines_with_the_request_id(tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    from tests.servers import wait_until_up

    env = {
        **os.environ,
        "OPSKNIGHT_DATABASE_URL": f"sqlite://{tmp_path / 'logs.db'}",
        "OPSKNIGHT_LOG_LEVEL": "info",
    }
    subprocess.run(
        [sys.executable, "-m", "opsknight.cli", "migrate"],
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "opsknight.cli", "serve", "--port", str(port)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            await wait_until_up(client)
            await client.get("/api/incidents", headers={"X-Request-ID": "trace-log-1"})
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=20)
    lines = [json.loads(line) for line in stderr.decode().splitlines() if line.strip()]
    request = next(line for line in lines if line.get("request_id") == "trace-log-1")
    assert request["event"] == "request" and request["status"] == 401
    assert request["route"] == "/api/incidents" and request["level"] == "info"
    assert any(
        line.get("logger", "").startswith("uvicorn") for line in lines
    )  # uvicorn's own, as JSON
