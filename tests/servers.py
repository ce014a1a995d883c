"""Helpers for tests that run a real server process on a loopback port."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def wait_until_up(client: httpx.AsyncClient, timeout: float = 20.0) -> None:
    """Poll /healthz until the server answers, or fail after ``timeout`` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            if (await client.get("/healthz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("server did not start")
        await asyncio.sleep(0.1)


def cli(env: dict[str, str], *args: str) -> str:
    """Run one `opsknight` command to completion; its stdout."""
    result = subprocess.run(
        [sys.executable, "-m", "opsknight.cli", *args],
        env=env, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return result.stdout


@dataclass
class Processes:
    """`opsknight serve` and `opsknight worker` processes sharing one environment."""

    env: dict[str, str]
    running: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def admin_key(self) -> str:
        email = f"admin-{secrets.token_hex(4)}@example.com"
        cli(self.env, "user", "--name", "Admin", "--email", email, "--role", "admin")
        created = cli(self.env, "api-key", "create", "--owner", email, "--name", "t", "--json")
        key: str = json.loads(created)["key"]
        return key

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [sys.executable, "-m", "opsknight.cli", *args],
            env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self.running.append(process)
        return process

    async def serve(self, key: str) -> tuple[subprocess.Popen[bytes], httpx.AsyncClient]:
        """A server on a free loopback port, and a client for it once it answers."""
        port = free_port()
        process = self.start("serve", "--host", "127.0.0.1", "--port", str(port))
        base_url = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base_url) as probe:
            await wait_until_up(probe)
        # Not yet opened: callers use it with `async with`.
        return process, httpx.AsyncClient(
            base_url=base_url, headers={"Authorization": f"Bearer {key}"}
        )

    def stop_all(self) -> None:
        for process in self.running:
            if process.poll() is None:
                process.terminate()
        for process in self.running:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


@contextlib.asynccontextmanager
async def graphql_socket(
    url: str, key: str, subprotocol: str = "graphql-transport-ws"
) -> AsyncIterator[Any]:
    """A WebSocket to ``url`` (host:port, or a ws:// address) past `connection_ack`."""
    import websockets

    address = url if url.startswith("ws://") else f"ws://{url}/graphql"
    async with websockets.connect(address, subprotocols=[subprotocol]) as socket:  # type: ignore[list-item]
        await socket.send(json.dumps(
            {"type": "connection_init", "payload": {"Authorization": f"Bearer {key}"}}
        ))  # fmt: skip
        ack = json.loads(await asyncio.wait_for(socket.recv(), 5))
        assert ack["type"] == "connection_ack", ack
        yield socket


ALERTMANAGER = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")


@contextlib.contextmanager
def alertmanager(config: str, workdir: Path) -> Iterator[str]:
    """Debian's Alertmanager on a loopback port with ``config``: its base URL. Its log is
    ``workdir / "alertmanager.log"``."""
    if ALERTMANAGER is None:
        if os.environ.get("CI") == "true":
            pytest.fail(
                "Alertmanager is required under CI=true (apt-get install prometheus-alertmanager)"
            )
        pytest.skip("Debian's prometheus-alertmanager is not installed")
    (workdir / "alertmanager.yml").write_text(config)
    port = free_port()
    log = (workdir / "alertmanager.log").open("wb")
    process = subprocess.Popen(
        [ALERTMANAGER, f"--config.file={workdir / 'alertmanager.yml'}",
         f"--storage.path={workdir / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
         "--cluster.listen-address="],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{base}/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "Alertmanager did not start"
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


@contextlib.asynccontextmanager
async def intercepting_proxy(certfile: str, upstream: str) -> AsyncIterator[str]:
    """An HTTP proxy on a loopback port that answers every `CONNECT` itself: it ends TLS
    with ``certfile`` (whatever host was asked for) and passes the plain HTTP on to
    ``upstream`` (host:port). It stands in for a network that routes a vendor's hostname
    to OpsKnight, for senders that cannot be given another URL. Its address: host:port."""
    import ssl

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certfile)
    host, port = upstream.split(":")

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def tunnel(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"CONNECT "):
            writer.close()
            return
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        await writer.start_tls(context)
        up_reader, up_writer = await asyncio.open_connection(host, int(port))
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    server = await asyncio.start_server(tunnel, "127.0.0.1", 0)
    address = server.sockets[0].getsockname()
    try:
        yield f"{address[0]}:{address[1]}"
    finally:
        server.close()
