"""The one small interface domain code uses to start background work.

``enqueue(name, *args, at=…)`` asks for the job function ``name`` (see ``jobs/tasks.py``)
to run with ``args`` at ``at`` (now when omitted). With Redis configured the job goes to
arq and an ``opsknight worker`` runs it; without, the in-process runner runs it as an
asyncio task. Either way the database holds the truth (due times, tokens), a job is only
a nudge, and the sweeper runs whatever a lost job missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime
from typing import Any, Protocol

from opsknight import clock, runtime
from opsknight.transaction import after_commit

logger = logging.getLogger("opsknight.jobs")


class JobQueue(Protocol):
    async def enqueue(
        self, name: str, *args: str, at: datetime | None = None, job_id: str | None = None
    ) -> None: ...

    async def close(self) -> None: ...


class LocalQueue:
    """Runs jobs in this process: one task each, started when due. Each kind of job has
    its own limit of jobs running at once, so deliveries to receivers that hang (up to
    10 s each) never hold up an escalation step."""

    def __init__(self, max_running: int = 100) -> None:
        self._tasks: set[asyncio.Task[None]] = set()
        self._max_running = max_running
        self._limits: dict[str, asyncio.Semaphore] = {}
        self._closed = False

    async def enqueue(
        self, name: str, *args: str, at: datetime | None = None, job_id: str | None = None
    ) -> None:
        if self._closed:
            return  # shutting down: the sweeper of the next start picks the work up
        delay = 0.0 if at is None else max(0.0, (at - clock.now()).total_seconds())
        task = asyncio.get_running_loop().create_task(self._run(name, args, delay))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, name: str, args: tuple[str, ...], delay: float) -> None:
        from opsknight.jobs.tasks import run_job

        if delay:
            await asyncio.sleep(delay)
        limit = self._limits.setdefault(name, asyncio.Semaphore(self._max_running))
        async with limit:
            await run_job(name, *args)

    async def close(self) -> None:
        self._closed = True
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


# Webhook deliveries have an arq queue of their own, so receivers that hang (up to 10 s
# each) never hold up escalation steps, snooze ends and pages waiting in a worker.
LANES = ("jobs", "webhooks")
_LANE_OF = {"deliver_webhook": "webhooks"}


def lane_of(name: str) -> str:
    return _LANE_OF.get(name, "jobs")


def queue_name(prefix: str, lane: str) -> str:
    return f"{prefix}:{lane}"


class ArqQueue:
    """Hands jobs to arq workers through Redis."""

    def __init__(self, redis_url: str, prefix: str) -> None:
        self.redis_url = redis_url
        self.prefix = prefix
        self._pool: Any = None

    async def _connect(self) -> Any:
        from arq.connections import RedisSettings, create_pool

        if self._pool is None:
            settings = RedisSettings.from_dsn(self.redis_url)
            settings.conn_retries = 0
            self._pool = await create_pool(settings)
        return self._pool

    async def enqueue(
        self, name: str, *args: str, at: datetime | None = None, job_id: str | None = None
    ) -> None:
        pool = await self._connect()
        await pool.enqueue_job(
            name,
            *args,
            _job_id=job_id,
            _defer_until=at,
            _queue_name=queue_name(self.prefix, lane_of(name)),
        )

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()
            self._pool = None


def use(queue: JobQueue) -> None:
    """Make ``queue`` the job queue of the current app or worker (``runtime``)."""
    runtime.current().queue = queue


def current() -> JobQueue:
    return runtime.current().queue


async def enqueue(
    name: str, *args: str, at: datetime | None = None, job_id: str | None = None
) -> None:
    """Start job ``name`` at ``at``. A failure is logged, never raised: the change it
    follows is already committed and the sweeper will run the work."""
    try:
        await current().enqueue(name, *args, at=at, job_id=job_id)
    except Exception:
        logger.warning(
            "could not enqueue %s %s; the sweeper will run it", name, args, exc_info=True
        )


async def enqueue_after_commit(
    name: str, *args: str, at: datetime | None = None, job_id: str | None = None
) -> None:
    """``enqueue`` once the current transaction commits (at once outside one): a job
    never starts for a row its transaction did not write."""

    async def send() -> None:
        await enqueue(name, *args, at=at, job_id=job_id)

    await after_commit(send)
