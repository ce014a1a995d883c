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
from opsknight.auth.principal import Principal
from opsknight.auth.watch import unwatch, watch

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


async def _events(results: Any, principal: Principal | None) -> AsyncIterator[str]:
    yield ": connected\n\n"
    pending: asyncio.Task[Any] | None = None
    # Set when the stream's credential stops holding (revoked key, disabled or demoted
    # owner): the stream ends with an error event.
    ended: asyncio.Future[tuple[str, str]] = asyncio.get_running_loop().create_future()

    def end(code: str, message: str) -> None:
        if not ended.done():
            ended.set_result((code, message))

    entry = watch(principal, end) if principal is not None else None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(results.__anext__())
            done, _ = await asyncio.wait(
                {pending, ended}, timeout=KEEP_ALIVE_SECONDS, return_when=asyncio.FIRST_COMPLETED
            )
            if ended.done():
                code, message = ended.result()
                body = {"error": {"code": code, "message": message, "details": {}}}
                yield f"event: error\ndata: {jsoncodec.encode(body).decode()}\n\n"
                return
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
        unwatch(entry)
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
        _events(results, context.credential.principal),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
