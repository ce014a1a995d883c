"""Group commit for events: concurrent events share one transaction.

Under an alert storm many requests arrive together. Each request hands its checked event
to the process's ``EventBatcher`` and waits; one consumer task takes everything that is
waiting (up to ``max_batch``) and applies it in a single transaction with bulk writes, so
the per-transaction cost is paid once per batch instead of once per event. A lone event
is applied at once, so latency without load is unchanged.
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
        self._consumer: asyncio.Task[None] | None = None

    async def submit(self, target: Target, event: Event) -> Outcome:
        """Apply one event, batched with whatever else is waiting; its own result."""
        loop = asyncio.get_running_loop()
        if self._queue is None or self._consumer is None or self._consumer.done():
            self._queue = asyncio.Queue()
            self._consumer = loop.create_task(self._consume(self._queue))
        waiting = _Waiting(target, event, loop.create_future())
        self._queue.put_nowait(waiting)
        return await waiting.future

    async def close(self) -> None:
        if self._consumer is not None:
            self._consumer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._consumer
            self._consumer = None

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


def _settle(waiting: _Waiting, outcome: Outcome) -> None:
    # A request that went away has a cancelled future; its event is stored all the same.
    if not waiting.future.done():
        waiting.future.set_result(outcome)
