"""ASGI middleware, outermost first: the edge (proxies, request id, metrics), the body
limit, credential resolution."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import secrets
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import structlog
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from opsknight.auth.principal import (
    api_key_from_headers,
    authenticate,
    authorization_problem,
    integration_key_from_headers,
)
from opsknight.observability import RequestMetrics

_REQUEST_ID = b"x-request-id"


async def _send_json(
    send: Send, status: int, body: dict[str, Any], headers: Sequence[tuple[bytes, bytes]] = ()
) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


async def _send_error(
    send: Send,
    status: int,
    code: str,
    message: str,
    details: dict[str, Any],
    headers: list[tuple[bytes, bytes]],
) -> None:
    body = {"error": {"code": code, "message": message, "details": details}}
    await _send_json(send, status, body, headers)


class Edge:
    """The outermost layer of every HTTP request:

    - the client address of a request that came through a trusted proxy: the right-most
      ``X-Forwarded-For`` entry that is not itself a trusted proxy (from anyone else the
      header is ignored, so a client cannot pick its own rate-limit bucket);
    - its request id: ``X-Request-ID`` echoed or made, on every log line written while
      serving it and on the response;
    - its metrics and access line (``observability.RequestMetrics``).

    One layer rather than three: each ASGI layer costs a coroutine frame and a send
    wrapper per message, about 30 µs a request (docs/benchmarks.md, "Hot path").
    """

    def __init__(self, app: ASGIApp, metrics: RequestMetrics, trusted: str = "") -> None:
        self.app = app
        self.metrics = metrics
        self.networks = [
            ipaddress.ip_network(part.strip(), strict=False)
            for part in trusted.split(",")
            if part.strip()
        ]

    def _trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.networks)

    def _forwarded(self, scope: Scope) -> None:
        client = scope.get("client")
        if client and self._trusted(client[0]):
            forwarded = Headers(scope=scope).get("x-forwarded-for", "")
            hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
            for hop in reversed(hops):
                if not self._trusted(hop):
                    scope["client"] = (hop, 0)
                    break

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if self.networks:
            self._forwarded(scope)
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = ""
        for name, value in scope["headers"]:
            if name == _REQUEST_ID:
                given = value.decode("latin-1")
                break
        request_id = given if 0 < len(given) <= 200 else secrets.token_hex(16)
        scope.setdefault("state", {})["request_id"] = request_id
        header = (_REQUEST_ID, request_id.encode("latin-1"))
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [h for h in message.get("headers", ()) if h[0] != _REQUEST_ID]
                headers.append(header)
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self.metrics.record(scope, status, time.perf_counter() - started)
            structlog.contextvars.unbind_contextvars("request_id")


class BodyLimit:
    """Refuse bodies over ``max_bytes`` with 413 before the app reads them, bodies that
    stop arriving with 408 after ``timeout`` seconds, and new bodies with 503 while the
    bodies still arriving hold ``max_pending`` bytes in all.

    The body is buffered here (it is at most ``max_bytes``) and replayed to the app.
    """

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        timeout: float = 30.0,
        max_pending: int = 64 * 1_048_576,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.max_pending = max_pending
        self.pending = 0  # bytes of bodies being received, all requests together

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large(send)
            return
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self.timeout):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > self.max_bytes:
                        await self._too_large(send)
                        return
                    if self.pending + len(chunk) > self.max_pending:
                        await _send_error(
                            send, 503, "SERVICE_UNAVAILABLE",
                            "too many request bodies are arriving at once; retry shortly",
                            {"retry_after": 1}, [(b"retry-after", b"1")],
                        )  # fmt: skip
                        return
                    self.pending += len(chunk)
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            await _send_error(
                send, 408, "REQUEST_TIMEOUT",
                f"the request body did not arrive within {self.timeout:g} seconds",
                {"timeout_seconds": self.timeout}, [(b"connection", b"close")],
            )  # fmt: skip
            return
        finally:
            self.pending -= sum(len(c) for c in chunks)
        body = b"".join(chunks)
        # Later middleware (the rate limiter) may look at the body without reading it.
        scope.setdefault("state", {})["body"] = body
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, send: Send) -> None:
        await _send_json(
            send,
            413,
            {
                "error": {
                    "code": "PAYLOAD_TOO_LARGE",
                    "message": f"the request body is over {self.max_bytes} bytes",
                    "details": {"max_bytes": self.max_bytes},
                }
            },
        )


class Credentials:
    """Resolve the request's API key once; handlers read ``request.state.credential``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            path = scope.get("path", "")
            if path.startswith(("/api", "/graphql", "/v2", "/generic")):
                # Read once into a dict (the first of repeated headers wins, as in
                # Starlette's Headers) rather than scanned once per header asked for.
                headers = {
                    name.decode("latin-1"): value.decode("latin-1")
                    for name, value in reversed(scope["headers"])
                }
                credential = await authenticate(api_key_from_headers(headers))
                problem = authorization_problem(headers)
                if problem is not None:
                    credential = replace(credential, problem=problem, presented=True)
                if credential.principal is not None and scope.get("client"):
                    principal = replace(credential.principal, ip=scope["client"][0])
                    credential = replace(credential, principal=principal)
                integration_key = integration_key_from_headers(headers)
                if integration_key is not None:
                    credential = replace(credential, integration_key=integration_key)
                routing_key = headers.get("x-routing-key", "").strip()
                if routing_key:
                    credential = replace(credential, routing_key=routing_key)
                scope.setdefault("state", {})["credential"] = credential
        await self.app(scope, receive, send)
