"""Server-sent events: a GraphQL subscription streamed as `text/event-stream`.

Each change is one event: `id` (the event id, for `Last-Event-ID`), `event` (its name)
and `data` (the JSON of the subscription's result). A comment line every 15 s keeps
proxies from closing an idle stream. An error ends the stream with an `error` event.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from starlette.responses import StreamingResponse

from opsknight import jsoncodec

KEEP_ALIVE_SECONDS = 15.0


def _frame(result: Any) -> str:
    if result.errors:
        error = result.errors[0]
        extensions = error.extensions or {}
        code = extensions.get("code", "INTERNAL_ERROR")
        details = extensions.get("details") or {}
        body = {"error": {"code": code, "message": error.message, "details": details}}
        return f"event: error\ndata: {jsoncodec.encode(body).decode()}\n\n"
    change = result.data["result"]
    data = jsoncodec.encode(change).decode()
    return f"id: {change['id']}\nevent: {change['event']}\ndata: {data}\n\n"


async def _events(results: Any) -> AsyncIterator[str]:
    yield ": connected\n\n"
    pending: asyncio.Task[Any] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(results.__anext__())
            done, _ = await asyncio.wait({pending}, timeout=KEEP_ALIVE_SECONDS)
            if not done:
                yield ": keep-alive\n\n"
                continue
            try:
                result = pending.result()
            except StopAsyncIteration:
                return
            finally:
                pending = None
            yield _frame(result)
            if result.errors:
                return
    finally:
        if pending is not None:
            pending.cancel()
            with contextlib.suppress(BaseException):
                await pending
        await results.aclose()


async def event_stream(
    schema: Any, document: str, variables: dict[str, Any], context: Any
) -> StreamingResponse:
    results = await schema.subscribe(document, variable_values=variables, context_value=context)
    return StreamingResponse(
        _events(results),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
