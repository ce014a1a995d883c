"""Running jobs: the in-process runner for `serve`, and the arq worker (`opsknight worker`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from opsknight import clock
from opsknight.config import Settings
from opsknight.jobs import queue
from opsknight.jobs.tasks import JOBS, run_job, sweep_forever
from opsknight.live.feed import running_feed
from opsknight.notifications import apprise_channel, email, links
from opsknight.runtime import Runtime, activated
from opsknight.webhooks import guard, transport

logger = logging.getLogger("opsknight.worker")
HEALTH_CHECK_SECONDS = 30


def configure(settings: Settings) -> None:
    """Process-wide settings every job function depends on."""
    clock.configure(settings.time_scale)
    guard.configure(settings.webhook_allow_private)
    email.configure(settings.smtp_url, settings.smtp_from)
    links.configure(settings.public_url, settings.link_ttl_hours)
    apprise_channel.configure(settings.notify_schemes)


def _arq_job(name: str) -> Any:
    async def job(ctx: dict[str, Any], *args: str) -> None:
        await run_job(name, *args)

    job.__qualname__ = job.__name__ = name
    return job


def _arq_worker(settings: Settings, lane: str) -> Any:
    from arq.connections import RedisSettings
    from arq.worker import Worker, func

    redis = RedisSettings.from_dsn(settings.redis_url or "")
    redis.conn_retries = 1
    return Worker(
        functions=[func(_arq_job(name), name=name, max_tries=1) for name in JOBS],
        queue_name=queue.queue_name(settings.redis_prefix, lane),
        redis_settings=redis,
        handle_signals=False,
        max_jobs=100,
        # A job is one attempt (≤ 10 s for a delivery); the database decides retries.
        job_timeout=60,
        keep_result=60,
        retry_jobs=False,
        health_check_interval=HEALTH_CHECK_SECONDS,
        log_results=False,
    )


async def run_arq_forever(settings: Settings) -> None:
    """One arq worker per queue (see ``queue.LANES``)."""
    await asyncio.gather(*(_run_lane(settings, lane) for lane in queue.LANES))


async def _run_lane(settings: Settings, lane: str) -> None:
    """An arq worker, restarted after a Redis outage; the sweeper covers the gap."""
    while True:
        worker = _arq_worker(settings, lane)
        try:
            await worker.main()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            logger.warning("job worker lost Redis (%s); reconnecting", exc)
            await asyncio.sleep(1.0)
        finally:
            with contextlib.suppress(Exception):
                await worker.close()


@contextlib.asynccontextmanager
async def running_jobs(settings: Settings, *, serve: bool) -> AsyncIterator[None]:
    """Set up the job queue and the live feed for this process and run what it should run.

    Without Redis: the in-process runner and the sweeper. With Redis: `serve` only
    enqueues (unless started with --with-worker); a worker runs arq and the sweeper.
    """
    configure(settings)
    async with (
        running_feed(settings.redis_url, settings.redis_prefix, listen=serve),
        _running(settings, serve),
    ):
        yield


@contextlib.asynccontextmanager
async def _running(settings: Settings, serve: bool) -> AsyncIterator[None]:
    tasks: list[asyncio.Task[None]] = []
    if settings.redis_url:
        queue.use(queue.ArqQueue(settings.redis_url, settings.redis_prefix))
        if not serve or settings.with_worker:
            tasks.append(asyncio.create_task(run_arq_forever(settings)))
            tasks.append(asyncio.create_task(sweep_forever(settings.sweep_seconds)))
    else:
        queue.use(queue.LocalQueue())
        tasks.append(asyncio.create_task(sweep_forever(settings.sweep_seconds)))
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await queue.current().close()
        await transport.close()


async def run_worker(settings: Settings) -> None:
    """`opsknight worker`: arq jobs and the sweeper until SIGINT/SIGTERM."""
    import signal

    from tortoise import Tortoise

    from opsknight.db import tortoise_config

    if not settings.redis_url:
        raise SystemExit(
            "opsknight worker needs OPSKNIGHT_REDIS_URL (without Redis, serve runs jobs)"
        )
    await Tortoise.init(config=tortoise_config(settings.database_url), _enable_global_fallback=True)
    if settings.worker_metrics_port:
        from prometheus_client import start_http_server

        # The worker's own counters: deliveries by outcome, escalation lag.
        start_http_server(settings.worker_metrics_port, addr=settings.host)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        # The worker's own batcher, hub, queue and memos, as an app has its own.
        with activated(Runtime()) as runtime:
            async with running_jobs(settings, serve=False):
                logger.info("worker started on prefix %s", settings.redis_prefix)
                await stop.wait()
            await runtime.close()
    finally:
        await Tortoise.close_connections()
