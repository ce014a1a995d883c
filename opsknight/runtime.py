"""What one running app or worker owns, so that two in one process never share it.

``create_app`` and the worker each make a ``Runtime``: the event batcher (group commit),
the live feed's hub and transport, the job queue, and the memos that serve many readers
from one read (the row and the payload of each live change, shared subscription
results, rendered schedule windows). The app makes its runtime current for its lifespan
and for every request it serves, so the tasks started there (the batcher's consumer, the
job runners, WebSocket subscriptions) inherit it; code reaches it with ``current()``.

Code that runs outside any app (a CLI command, a script, a test calling the domain
directly) gets the process's default runtime.
"""

from __future__ import annotations

import asyncio
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from opsknight.memo import BoundedMemo

if TYPE_CHECKING:
    from opsknight.events.batching import EventBatcher
    from opsknight.incidents.models import Incident
    from opsknight.jobs.queue import JobQueue
    from opsknight.live.feed import Hub, LocalTransport, RedisTransport
    from opsknight.schedules.rotation import Window


def _batcher() -> EventBatcher:
    from opsknight.events.batching import EventBatcher

    return EventBatcher()


def _hub() -> Hub:
    from opsknight.live.feed import Hub

    return Hub()


def _queue() -> JobQueue:
    from opsknight.jobs.queue import LocalQueue

    return LocalQueue()


@dataclass(eq=False)
class Runtime:
    batcher: EventBatcher = field(default_factory=_batcher)
    hub: Hub = field(default_factory=_hub)
    queue: JobQueue = field(default_factory=_queue)
    # Set by live.feed.running_feed; None publishes straight to this runtime's hub.
    feed_transport: LocalTransport | RedisTransport | None = None
    # The incident row read once per live change for every subscriber (live/service.py).
    change_rows: BoundedMemo[str, asyncio.Future[Incident | None]] = field(
        default_factory=lambda: BoundedMemo(256)
    )
    # The GraphQL payload built once per live change (graphql/subscriptions.py).
    change_payloads: BoundedMemo[str, Any] = field(default_factory=lambda: BoundedMemo(256))
    # Subscription results executed once for all alike subscribers (shared_events.py).
    shared_results: BoundedMemo[tuple[Any, ...], tuple[Any, asyncio.Future[Any]]] = field(
        default_factory=lambda: BoundedMemo(512)
    )
    # Rendered on-call windows by (schedule id, revision, UTC day) (schedules/oncall.py).
    schedule_windows: BoundedMemo[tuple[str, int, datetime], Window] = field(
        default_factory=lambda: BoundedMemo(256)
    )

    async def close(self) -> None:
        await self.batcher.close()


_current: ContextVar[Runtime | None] = ContextVar("opsknight_runtime", default=None)
_default: Runtime | None = None


def current() -> Runtime:
    """The runtime of the app or worker this code runs for (the default one outside)."""
    global _default
    runtime = _current.get()
    if runtime is not None:
        return runtime
    if _default is None:
        _default = Runtime()
    return _default


class activated:
    """Make ``runtime`` current for the code (and the tasks it starts) inside. A class
    rather than a generator: every request enters one."""

    __slots__ = ("_token", "runtime")

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def __enter__(self) -> Runtime:
        self._token = _current.set(self.runtime)
        return self.runtime

    def __exit__(self, *exc_info: object) -> None:
        _current.reset(self._token)
