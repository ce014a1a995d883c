"""A real HTTP receiver on a loopback port, for webhook and notification tests."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.servers import free_port


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


class Receiver:
    """Records every POST; answers from a per-path script of replies, then 200."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[Received] = []
        self.scripts: dict[str, list[Reply]] = {}
        self._arrived = asyncio.Condition()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def script(self, path: str, *replies: Reply) -> None:
        self.scripts[path] = list(replies)

    def at(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]

    async def _handle(self, request: Request) -> Response:
        body = await request.body()
        path = request.url.path
        self.received.append(Received(path, dict(request.headers), body))
        async with self._arrived:
            self._arrived.notify_all()
        script = self.scripts.get(path)
        reply = script.pop(0) if script else Reply()
        if reply.delay:
            await asyncio.sleep(reply.delay)
        return Response(status_code=reply.status, headers=reply.headers)

    async def wait_for(self, path: str, count: int, timeout: float = 5.0) -> list[Received]:
        """The requests to ``path`` once there are at least ``count``; fails on timeout."""
        async with asyncio.timeout(timeout), self._arrived:
            await self._arrived.wait_for(lambda: len(self.at(path)) >= count)
        return self.at(path)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Receiver]:
        app = Starlette(routes=[Route("/{path:path}", self._handle, methods=["POST"])])
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="error", lifespan="off"
        )
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve())
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        try:
            yield self
        finally:
            server.should_exit = True
            server.force_exit = True
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, 5)


async def eventually(check: Any, timeout: float = 5.0, interval: float = 0.02) -> Any:
    """Call ``check`` (async) until it returns something truthy; fail after ``timeout``."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await check()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not true within {timeout} s: last value {value!r}")
        await asyncio.sleep(interval)
