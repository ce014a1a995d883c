"""graphql-transport-ws with the live feed delivered by push.

Strawberry's handler runs every subscription as a chain of async generators (the feed,
the resolver, graphql-core's event map, Strawberry's stream) that waits for the next
change. Waiting re-creates that chain's objects after every change, and with a thousand
idle subscribers the collector promotes tens of thousands of them into the old
generation per change: its full collections (about 0.1 ms per open subscription) landed
on one change in twenty.

Here a live-feed subscription pulls its first result as usual; after that nothing of it
waits. When a change reaches its subscriber, the subscription is put on this process's
ready list, and one fan-out task pulls the result of each ready subscription in turn
(each pull finds its change already there, and its execution already shared) and hands
the message to the connection's outbox. An outbox writes at once when the socket takes
it, which is the usual case; behind a write that waits (a client that is not reading)
messages queue up to a bound, past which the connection is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, Callable, Coroutine
from typing import Any, cast

from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import Operation
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.types.execution import ExecutionResult, PreExecutionError

from opsknight.auth.watch import Watch, unwatch, watch
from opsknight.graphql.compat import ResultStreamHandler, unblock
from opsknight.live.feed import BACKLOG, Subscriber, push_delivery

logger = logging.getLogger("opsknight.live")

SLOW_CONSUMER_CLOSE = 1013  # "try again later": reconnect and resubscribe with `after`


def start_now(coroutine: Coroutine[Any, Any, None]) -> asyncio.Task[None] | None:
    """Run ``coroutine`` here until it first has to wait; only then give the rest of it
    to a task. Returns that task, or None when it finished without waiting."""
    try:
        waiting_on = coroutine.send(None)
    except StopIteration:
        return None
    return asyncio.ensure_future(_resume(coroutine, waiting_on))


async def _resume(coroutine: Coroutine[Any, Any, None], waiting_on: Any) -> None:
    # What a task does for a coroutine: wait for what it yielded, then resume it; if
    # cancelled meanwhile, the coroutine gets the cancellation where it waits.
    while True:
        try:
            if waiting_on is None:  # a bare yield (asyncio.sleep(0))
                await asyncio.sleep(0)
            else:
                unblock(waiting_on)
                await asyncio.wait((waiting_on,))
        except asyncio.CancelledError as cancelled:
            try:
                waiting_on = coroutine.throw(cancelled)
            except StopIteration:
                return
            continue
        try:
            waiting_on = coroutine.send(None)
        except StopIteration:
            return


class Outbox:
    """One connection's messages, in the order they were put."""

    def __init__(self, websocket: Any, overflowed: Callable[[], None]) -> None:
        self.websocket = websocket  # Starlette's WebSocket
        self.on_overflow = overflowed
        self.queued: list[str] = []
        self.writer: asyncio.Task[None] | None = None
        self.closing = False

    def put(self, text: str) -> None:
        if self.closing:
            return
        if self.writer is None:
            self.writer = start_now(self._write(text))
        elif len(self.queued) < BACKLOG:
            self.queued.append(text)
        else:
            # The client stopped reading: drop what waits, close once the socket drains.
            self.closing = True
            self.queued.clear()
            self.on_overflow()

    async def _write(self, text: str) -> None:
        try:
            await self.websocket.send_text(text)
            while self.queued:
                await self.websocket.send_text(self.queued.pop(0))
            if self.closing:
                reason = f"slow consumer: more than {BACKLOG} messages were waiting"
                await self.websocket.close(code=SLOW_CONSUMER_CLOSE, reason=reason)
        except Exception as exc:  # the socket is gone; the handler's reader notices
            logger.debug("dropping messages for a closed WebSocket: %s", exc)
            self.closing = True
            self.queued.clear()
        finally:
            self.writer = None

    def discard(self) -> None:
        self.closing = True
        self.queued.clear()
        if self.writer is not None:
            self.writer.cancel()


class _FanOut:
    """The subscriptions of this process with a change waiting, served by one task."""

    def __init__(self) -> None:
        self.ready: list[Delivery] = []
        self.task: asyncio.Task[None] | None = None

    def add(self, delivery: Delivery) -> None:
        self.ready.append(delivery)
        loop = asyncio.get_running_loop()
        if self.task is None or self.task.get_loop() is not loop:  # none yet, or a stopped loop's
            self.task = loop.create_task(self._serve())

    async def _serve(self) -> None:
        try:
            while self.ready:
                batch, self.ready = self.ready, []
                for delivery in batch:
                    delivery.queued = False
                    await delivery.pull_waiting()
        finally:
            self.task = None
            for delivery in self.ready:  # cancelled (shutdown): nothing stays marked
                delivery.queued = False
            self.ready = []


fan_out = _FanOut()


class Delivery:
    """One live-feed subscription after its first result: pulled by the fan-out."""

    def __init__(self, operation: Operation[Any, Any], stream: AsyncGenerator[Any, None]) -> None:
        self.operation = operation
        self.stream = stream
        self.subscriber: Subscriber | None = None
        self.pulling = True  # the operation's own task pulls the first result
        self.queued = False
        self.stopped = False
        self.pull: asyncio.Task[None] | None = None  # a pull that had to wait
        self.waiting_for_pull: asyncio.Future[None] | None = None
        self.ended: asyncio.Future[None] | None = None

    def attach(self, subscriber: Subscriber) -> None:
        """Called by the hub when the subscription registers its subscriber."""
        self.subscriber = subscriber
        subscriber.push = self

    def notify(self) -> None:
        if not (self.pulling or self.queued or self.stopped):
            self.queued = True
            fan_out.add(self)

    def parked(self) -> None:
        # The pull skipped its change (the incident is gone) and waits for the next one:
        # the fan-out goes on without it.
        if self.waiting_for_pull is not None and not self.waiting_for_pull.done():
            self.waiting_for_pull.set_result(None)

    async def run(self) -> None:
        """Deliver until the stream ends. On cancellation, a pull still in progress is
        cancelled first (the stream is closed next, never during a pull)."""
        self.ended = asyncio.get_running_loop().create_future()
        self.pulling = False
        self.notify()  # changes that came while the first result was on its way
        try:
            await self.ended
        finally:
            self.stopped = True
            pull = self.pull
            if pull is not None:
                pull.cancel()
                await asyncio.wait((pull,))

    async def pull_waiting(self) -> None:
        """In the fan-out task: pull and send a result for each change waiting. A pull
        that waits on work shared with other subscribers (the change's row, the shared
        execution) is waited for; one that waits for this subscriber's next change is
        left to finish on its own."""
        if self.stopped or self.pulling or self.subscriber is None:
            return
        self.pulling = True
        pull = start_now(self._pull(self.subscriber))
        if pull is None:
            return
        self.pull = pull
        if self.subscriber.waiter is None:
            self.waiting_for_pull = asyncio.get_running_loop().create_future()
            await asyncio.wait((pull, self.waiting_for_pull), return_when=asyncio.FIRST_COMPLETED)
            self.waiting_for_pull = None

    async def _pull(self, subscriber: Subscriber) -> None:
        finished = False
        try:
            while not self.stopped and subscriber.has_waiting():
                result = await anext(self.stream)
                if isinstance(result, ExecutionResult):
                    await self.operation.send_next(result)
        except StopAsyncIteration:
            finished = True
        except Exception:
            logger.exception("live subscription %s failed", self.operation.id)
            finished = True
        finally:
            self.pulling = False
            self.pull = None
            if finished and self.ended is not None and not self.ended.done():
                self.ended.set_result(None)


def _well_formed(message: Any) -> bool:
    """A subscribe (or legacy start) message as both protocols define it."""
    payload = message.get("payload")
    return (
        isinstance(message.get("id"), str)
        and isinstance(payload, dict)
        and isinstance(payload.get("query"), str)
        and isinstance(payload.get("variables"), dict | None)
        and isinstance(payload.get("operationName"), str | None)
    )


class Admission:
    """What both WebSocket subprotocols add to Strawberry's handlers: each operation is
    admitted as an HTTP request would be (key checked again, rate limit of its class
    spent), and the connection ends when its credential stops holding (auth.watch)."""

    context: Any
    view: Any
    websocket: Any
    connection_acknowledged: bool
    watch_entry: Watch | None = None
    ending: asyncio.Future[None] | None = None

    def _watch_credential(self) -> None:
        principal = self.context.credential.principal if self.connection_acknowledged else None
        if principal is not None:
            self.watch_entry = watch(principal, self._credential_ended)

    async def _admitted(self, message: Any) -> bool:
        payload = message.get("payload")
        refusal = await self.view.admit(self.context, payload if isinstance(payload, dict) else {})
        if refusal is None:
            return True
        if refusal.close_code is not None:
            self._credential_ended(refusal.code, refusal.message)
        else:
            await self._refuse_operation(message["id"], refusal.error)
        return False

    def _credential_ended(self, code: str, message: str) -> None:
        unwatch(self.watch_entry)
        self.ending = asyncio.ensure_future(self._close(code, message))

    async def _close(self, code: str, message: str) -> None:
        self._end_operations()
        close_code = 4401 if code == "UNAUTHORIZED" else 4403
        with contextlib.suppress(Exception):
            await self.websocket.close(code=close_code, reason=message[:120])

    def _end_operations(self) -> None:
        raise NotImplementedError

    async def _refuse_operation(self, operation_id: str, error: dict[str, Any]) -> None:
        raise NotImplementedError


class LegacyWSHandler(Admission, BaseGraphQLWSHandler[Any, Any]):
    """The legacy graphql-ws subprotocol, admitted and watched like graphql-transport-ws."""

    async def handle_connection_init(self, message: Any) -> None:
        await super().handle_connection_init(message)
        self._watch_credential()

    async def handle_start(self, message: Any) -> None:
        if not _well_formed(message):
            await self.websocket.close(code=4400, reason="Invalid start message")
            return
        if not self.connection_acknowledged or await self._admitted(message):
            await super().handle_start(message)

    async def cleanup(self) -> None:
        unwatch(self.watch_entry)
        await super().cleanup()

    def _end_operations(self) -> None:
        for task in self.tasks.values():
            task.cancel()

    async def _refuse_operation(self, operation_id: str, error: dict[str, Any]) -> None:
        message: Any = {"type": "error", "id": operation_id, "payload": error}
        await self.send_message(message)


class PushTransportWSHandler(Admission, ResultStreamHandler):
    """Strawberry's graphql-transport-ws handler, with pushed live-feed deliveries and
    every message written through the connection's outbox."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.outbox = Outbox(cast(ASGIWebSocketAdapter, self.websocket).ws, self._cut_off)

    async def send_message(self, message: Any) -> None:
        encoded = self.view.encode_json(message)
        self.outbox.put(encoded if isinstance(encoded, str) else encoded.decode())

    def _cut_off(self) -> None:
        # Every subscription of a connection that stopped reading ends (leaving the hub).
        for operation_id in list(self.operations):
            operation = self.operations.pop(operation_id)
            if operation.task is not None:
                operation.task.cancel()

    async def shutdown(self) -> None:
        unwatch(self.watch_entry)
        await super().shutdown()
        self.outbox.discard()

    async def handle_connection_init(self, message: Any) -> None:
        await super().handle_connection_init(message)
        self._watch_credential()

    async def handle_subscribe(self, message: Any) -> None:
        if not _well_formed(message):
            await self.handle_invalid_message("Invalid subscribe message")
            return
        if not self.connection_acknowledged or await self._admitted(message):
            await super().handle_subscribe(message)

    def _end_operations(self) -> None:
        self._cut_off()

    async def _refuse_operation(self, operation_id: str, error: dict[str, Any]) -> None:
        await self.send_message({"id": operation_id, "type": "error", "payload": [error]})

    async def send_result_stream(self, operation: Operation[Any, Any], result_source: Any) -> None:
        delivery = Delivery(operation, result_source)
        token = push_delivery.set(delivery.attach)
        try:
            first = await anext(result_source, None)
        finally:
            push_delivery.reset(token)
        if first is None:
            return
        if isinstance(first, PreExecutionError):
            await self.send_pre_execution_error(operation, first)
            return
        if not isinstance(first, ExecutionResult):
            await self.reject_incremental_delivery(operation)
            return
        await operation.send_next(first)
        if delivery.subscriber is None:  # not the live feed (a query over WebSocket)
            async for result in result_source:
                await operation.send_next(result)
            return
        await delivery.run()
