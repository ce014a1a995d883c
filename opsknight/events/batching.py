"""Group commit for events: concurrent events share one transaction.

Under an alert storm many requests arrive together. Each request hands its checked event
to the process's ``EventBatcher`` and waits; one consumer task takes everything that is
waiting (up to ``max_batch``) and applies it in a single transaction with bulk writes, so
the per-transaction cost is paid once per batch instead of once per event. A lone event
is applied at once, so latency without load is unchanged.

The senders of a batch usually send again as soon as they are answered (a storm's
senders keep their connections busy). Taking whatever waits the moment a batch ends would
take the one event that came in meanwhile alone, then the rest: batches alternate between
one event and all the others, every transaction's fixed cost is paid twice, and a request
can wait for two batches. So after a batch of several events the consumer waits, at most
``fill_wait``, until as many events are waiting as that batch held plus those that came
in while it was written.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from tortoise.exceptions import IntegrityError

from opsknight.events.ingest import Outcome, ingest, ingest_batch
from opsknight.events.payload import Event
from opsknight.events.routing import Target
from opsknight.observability import EVENT_BATCH_SIZE

logger = logging.getLogger("opsknight.events")


@dataclass
class _Waiting:
    target: Target
    event: Event
    future: asyncio.Future[Outcome] = field(repr=False)


class EventBatcher:
    def __init__(self, max_batch: int = 200, fill_wait: float = 0.005) -> None:
        self.max_batch = max_batch
        self.fill_wait = fill_wait
        self._queue: asyncio.Queue[_Waiting] | None = None
        self._consumer: asyncio.Task[None] | None = None
        # While the consumer waits for a batch to fill: how many events it waits for, and
        # the future that the event completing that number resolves.
        self._wanted = 0
        self._filled: asyncio.Future[None] | None = None

    async def submit(self, target: Target, event: Event) -> Outcome:
        """Apply one event, batched with whatever else is waiting; its own result."""
        loop = asyncio.get_running_loop()
        if self._queue is None or self._consumer is None or self._consumer.done():
            self._queue = asyncio.Queue()
            self._consumer = loop.create_task(self._consume(self._queue))
        waiting = _Waiting(target, event, loop.create_future())
        self._queue.put_nowait(waiting)
        if self._filled is not None and self._queue.qsize() >= self._wanted:
            _resolve(self._filled)
        return await waiting.future

    async def close(self) -> None:
        if self._consumer is not None:
            self._consumer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._consumer
            self._consumer = None

    async def _consume(self, queue: asyncio.Queue[_Waiting]) -> None:
        loop = asyncio.get_running_loop()
        expected = 1
        while True:
            batch = [await queue.get()]
            if 1 + queue.qsize() < expected:
                await self._until_waiting(loop, expected - 1)
            while len(batch) < self.max_batch and not queue.empty():
                batch.append(queue.get_nowait())
            EVENT_BATCH_SIZE.observe(len(batch))
            await self._apply(batch)
            # Its senders, and whoever came in while it was written, are likely to send
            # next; a lone event (expected 1) never waits.
            expected = min(self.max_batch, len(batch) + queue.qsize())

    async def _until_waiting(self, loop: asyncio.AbstractEventLoop, wanted: int) -> None:
        """Return once ``wanted`` events wait in the queue, or after ``fill_wait``."""
        self._wanted = wanted
        self._filled = filled = loop.create_future()
        timer = loop.call_later(self.fill_wait, _resolve, filled)
        try:
            await filled
        finally:
            timer.cancel()
            self._filled = None

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


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _settle(waiting: _Waiting, outcome: Outcome) -> None:
    # A request that went away has a cancelled future; its event is stored all the same.
    if not waiting.future.done():
        waiting.future.set_result(outcome)
