"""The change feed of one process, and how changes reach it.

After a change commits, ``publish`` sends one ``Change`` per webhook-named event. Without
Redis the process's ``Hub`` gets it directly; with Redis it goes through a pub/sub
channel that every process listens to, so a subscriber on any process sees changes
made through all of them. Each subscriber has a bounded backlog: one that falls more
than ``BACKLOG`` changes behind is cut off instead of growing memory without limit.
The hub keeps the last ``REPLAY`` changes so a client can resume after a reconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from opsknight import runtime

logger = logging.getLogger("opsknight.live")

BACKLOG = 1000
REPLAY = 2000


@dataclass(frozen=True)
class Change:
    id: str  # the timeline entry that recorded it (also the webhook event id)
    event: str
    occurred_at: str
    incident_id: str
    sequence: int  # the incident's version after the change: grows with every change
    environment: str
    service_id: str
    team_id: str | None
    status: str
    urgency: str

    def encode(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def decode(cls, raw: str | bytes) -> Change:
        return cls(**json.loads(raw))


@dataclass(frozen=True)
class ChangeFilter:
    environment: str
    service_ids: frozenset[str] = frozenset()
    team_ids: frozenset[str] = frozenset()
    statuses: frozenset[str] = frozenset()
    urgencies: frozenset[str] = frozenset()

    def matches(self, change: Change) -> bool:
        return (
            change.environment == self.environment
            and (not self.service_ids or change.service_id in self.service_ids)
            and (not self.team_ids or change.team_id in self.team_ids)
            and (not self.statuses or change.status in self.statuses)
            and (not self.urgencies or change.urgency in self.urgencies)
        )


class SlowConsumer(Exception):
    """The subscriber fell more than BACKLOG changes behind and was cut off."""


class PushTarget(Protocol):
    def notify(self) -> None:
        """A change is waiting for the subscriber (or it left the hub)."""

    def parked(self) -> None:
        """A read found nothing left (its change was skipped) and now waits."""


@dataclass(eq=False)
class Subscriber:
    """One subscription's bounded backlog. A list and a future made only while the
    reader waits: a thousand idle subscribers each keep a few hundred bytes, not an
    ``asyncio.Queue`` with its three deques. A subscriber delivered by push has a
    ``push`` target instead, told whenever a change is waiting (or the subscriber leaves
    the hub), so that nothing waits in between."""

    filter: ChangeFilter
    replaying: list[Change] = field(default_factory=list)  # buffered changes, first
    pending: list[Change] = field(default_factory=list)
    waiter: asyncio.Future[None] | None = None
    push: PushTarget | None = None
    overflowed: bool = False
    closed: bool = False

    def offer(self, change: Change) -> None:
        if self.overflowed or not self.filter.matches(change):
            return
        if len(self.pending) >= BACKLOG:
            # Cut off: what it had waiting is dropped, and the reader wakes to notice.
            self.overflowed = True
            self.pending.clear()
        self.pending.append(change)
        self.wake()

    def wake(self) -> None:
        """Tell the reader (or the push transport) that there is something to read."""
        if self.waiter is not None:
            if not self.waiter.done():
                self.waiter.set_result(None)
        elif self.push is not None:
            self.push.notify()

    def has_waiting(self) -> bool:
        """A change to read, or the end of the subscription."""
        return bool(self.replaying or self.pending) or self.closed

    async def next(self) -> Change:
        if self.replaying:
            return self.replaying.pop(0)
        while not self.pending:
            self.waiter = asyncio.get_running_loop().create_future()
            if self.push is not None:
                self.push.parked()
            try:
                await self.waiter
            finally:
                self.waiter = None
        if self.overflowed:
            raise SlowConsumer(f"more than {BACKLOG} changes were waiting for this subscriber")
        return self.pending.pop(0)


# Set by a transport that delivers by push (graphql/websocket.py) while a subscription
# starts: the hub hands it the new subscriber, to become its ``push`` target.
push_delivery: ContextVar[Callable[[Subscriber], None] | None] = ContextVar(
    "opsknight_push_delivery", default=None
)


class Hub:
    """This process's subscribers and its replay buffer."""

    def __init__(self) -> None:
        self.subscribers: set[Subscriber] = set()
        self.replay: deque[Change] = deque(maxlen=REPLAY)

    def dispatch(self, change: Change) -> None:
        self.replay.append(change)
        for subscriber in list(self.subscribers):
            subscriber.offer(change)

    def after(self, last_id: str, wanted: ChangeFilter) -> list[Change]:
        """Buffered changes after ``last_id`` (oldest first); none if it is not buffered."""
        buffered = list(self.replay)
        for index, change in enumerate(buffered):
            if change.id == last_id:
                return [c for c in buffered[index + 1 :] if wanted.matches(c)]
        return []

    @contextlib.asynccontextmanager
    async def subscribe(
        self, wanted: ChangeFilter, after: str | None = None
    ) -> AsyncIterator[Subscriber]:
        """A subscriber for ``wanted``; with ``after`` (an event id) it first reads the
        buffered changes that followed it."""
        subscriber = Subscriber(wanted)
        if after:
            subscriber.replaying = self.after(after, wanted)
        attach = push_delivery.get()
        if attach is not None:
            attach(subscriber)
        self.subscribers.add(subscriber)
        try:
            yield subscriber
        finally:
            self.subscribers.discard(subscriber)
            subscriber.closed = True
            subscriber.wake()


class LocalTransport:
    """Changes go straight to this process's hub."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    async def publish(self, changes: list[Change]) -> None:
        for change in changes:
            self.hub.dispatch(change)

    async def close(self) -> None:
        return None


class RedisTransport:
    """Publishes to one Redis channel and feeds this process's hub from it."""

    def __init__(self, hub: Hub, url: str, prefix: str) -> None:
        from redis.asyncio import Redis

        self.hub = hub
        self.channel = f"{prefix}:live"
        self.redis: Any = Redis.from_url(url, socket_connect_timeout=2)
        self.listener: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()

    def start(self) -> None:
        self.listener = asyncio.create_task(self._listen())

    async def _listen(self) -> None:
        while True:
            try:
                pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
                await pubsub.subscribe(self.channel)
                self.listening.set()
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        self.hub.dispatch(Change.decode(message["data"]))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.listening.clear()
                logger.warning("live feed lost Redis (%s); reconnecting", exc)
                await asyncio.sleep(1.0)

    async def publish(self, changes: list[Change]) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            for change in changes:
                pipe.publish(self.channel, change.encode())
            await pipe.execute()

    async def close(self) -> None:
        if self.listener is not None:
            self.listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.listener
        await self.redis.aclose()


async def publish(changes: list[Change]) -> None:
    """Send committed changes to every process's subscribers (call after commit).

    If Redis is unreachable the changes still reach this process's subscribers, and
    the failure is logged: the database and the webhooks keep the record."""
    current = runtime.current()
    transport = current.feed_transport or LocalTransport(current.hub)
    try:
        await transport.publish(changes)
    except Exception:
        logger.warning("could not publish %d live changes to Redis", len(changes), exc_info=True)
        if isinstance(transport, RedisTransport):
            for change in changes:
                current.hub.dispatch(change)


@contextlib.asynccontextmanager
async def running_feed(redis_url: str | None, prefix: str, *, listen: bool) -> AsyncIterator[None]:
    """Set up the current app's or worker's transport: Redis pub/sub when configured
    (``listen`` for processes with subscribers), else in process."""
    current = runtime.current()
    if not redis_url:
        current.feed_transport = LocalTransport(current.hub)
        yield
        return
    transport = RedisTransport(current.hub, redis_url, prefix)
    current.feed_transport = transport
    if listen:
        transport.start()
    try:
        yield
    finally:
        current.feed_transport = None
        await transport.close()
