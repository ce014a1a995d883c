"""ASGI middleware, outermost first: request id, body limit, credential resolution."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from typing import Any

import structlog
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from opsknight.auth.principal import (
    api_key_from_headers,
    authenticate,
    authorization_problem,
    integration_key_from_headers,
)

_REQUEST_ID = "x-request-id"


class RequestId:
    """Echo ``X-Request-ID`` or make one; every HTTP response carries it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = Headers(scope=scope).get(_REQUEST_ID, "")
        request_id = given if 0 < len(given) <= 200 else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        # Every log line written while serving this request carries its id.
        structlog.contextvars.bind_contextvars(request_id=request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[_REQUEST_ID] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            structlog.contextvars.unbind_contextvars("request_id")


async def _send_json(send: Send, status: int, body: dict[str, Any]) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class BodyLimit:
    """Refuse bodies over ``max_bytes`` with 413 before the app reads them.

    The body is buffered here (it is at most ``max_bytes``) and replayed to the app.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

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
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._too_large(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
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
            if path.startswith(("/api", "/graphql", "/v2")):
                headers = Headers(scope=scope)
                credential = await authenticate(api_key_from_headers(headers))
                problem = authorization_problem(headers)
                if problem is not None:
                    credential = replace(credential, problem=problem, presented=True)
                integration_key = integration_key_from_headers(headers)
                if integration_key is not None:
                    credential = replace(credential, integration_key=integration_key)
                scope.setdefault("state", {})["credential"] = credential
        await self.app(scope, receive, send)
