"""Group commit for events: concurrent events share one transaction.

Under an alert storm many requests arrive together. Each request hands its checked event
to the process's ``EventBatcher`` and waits; one consumer task takes everything that is
waiting (up to ``max_batch``) and applies it in a single transaction with bulk writes, so
the per-transaction cost is paid once per batch instead of once per event. A lone event
is applied at once, so latency without load is unchanged.

On PostgreSQL two consumers run, so the next batch is built while the current one waits
on its round trips and commit; they lock the incidents they fold into in id order, and
where both open the same incident the unique index decides as it does between processes.
SQLite has one writer: one consumer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from tortoise import connections
from tortoise.exceptions import IntegrityError

from opsknight.events.ingest import Outcome, ingest, ingest_batch
from opsknight.events.payload import Event
from opsknight.events.routing import Target

logger = logging.getLogger("opsknight.events")


@dataclass
class _Waiting:
    target: Target
    event: Event
    future: asyncio.Future[Outcome] = field(repr=False)


class EventBatcher:
    def __init__(self, max_batch: int = 200) -> None:
        self.max_batch = max_batch
        self._queue: asyncio.Queue[_Waiting] | None = None
        self._consumers: list[asyncio.Task[None]] = []

    async def submit(self, target: Target, event: Event) -> Outcome:
        """Apply one event, batched with whatever else is waiting; its own result."""
        loop = asyncio.get_running_loop()
        if self._queue is None or not self._consumers or any(c.done() for c in self._consumers):
            for consumer in self._consumers:  # a consumer only ends when its loop closed
                consumer.cancel()
            queue: asyncio.Queue[_Waiting] = asyncio.Queue()
            self._queue = queue
            self._consumers = [
                loop.create_task(self._consume(queue)) for _ in range(_consumer_count())
            ]
        waiting = _Waiting(target, event, loop.create_future())
        self._queue.put_nowait(waiting)
        return await waiting.future

    async def close(self) -> None:
        consumers, self._consumers = self._consumers, []
        for consumer in consumers:
            consumer.cancel()
        for consumer in consumers:
            with contextlib.suppress(asyncio.CancelledError):
                await consumer

    async def _consume(self, queue: asyncio.Queue[_Waiting]) -> None:
        while True:
            batch = [await queue.get()]
            while len(batch) < self.max_batch and not queue.empty():
                batch.append(queue.get_nowait())
            await self._apply(batch)

    async def _apply(self, batch: list[_Waiting]) -> None:
        if len(batch) > 1:
            try:
                outcomes = await ingest_batch([(w.target, w.event) for w in batch])
            except IntegrityError:
                # Another process opened one of these incidents meanwhile: nothing of the
                # batch was written; apply the events one by one, each retrying as needed.
                pass
            except Exception:
                logger.exception("batched ingestion failed; applying events one by one")
            else:
                for waiting, outcome in zip(batch, outcomes, strict=True):
                    _settle(waiting, outcome)
                return
        for waiting in batch:
            try:
                _settle(waiting, await ingest(waiting.target, waiting.event))
            except Exception as exc:
                if not waiting.future.done():
                    waiting.future.set_exception(exc)


def _consumer_count() -> int:
    return 1 if connections.get("default").capabilities.dialect == "sqlite" else 2


def _settle(waiting: _Waiting, outcome: Outcome) -> None:
    # A request that went away has a cancelled future; its event is stored all the same.
    if not waiting.future.done():
        waiting.future.set_result(outcome)


batcher = EventBatcher()
