"""The job functions, by name, and the sweeper that runs whatever jobs missed.

Both the in-process runner and the arq worker run exactly these functions.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from opsknight.audit import service as audit
from opsknight.escalation import engine
from opsknight.events import release
from opsknight.heartbeats import service as heartbeats
from opsknight.incidents import commands, timeouts
from opsknight.maintenance import service as maintenance
from opsknight.notifications import dispatch, handoffs
from opsknight.webhooks import delivery, outbox

logger = logging.getLogger("opsknight.jobs")

JOBS: dict[str, Callable[..., Awaitable[Any]]] = {
    engine.JOB: engine.run_due,
    outbox.JOB: delivery.attempt,
    dispatch.JOB: dispatch.deliver,
    commands.SNOOZE_JOB: commands.end_snooze,
}


async def run_job(name: str, *args: str) -> None:
    try:
        await JOBS[name](*args)
    except Exception:
        # The database still says the work is due: the sweeper will run it again.
        logger.exception("job %s%s failed", name, args)


SWEEPS: tuple[Callable[[], Awaitable[int]], ...] = (
    commands.expire_snoozes,
    engine.sweep,
    engine.sweep_reminders,
    delivery.sweep,
    dispatch.sweep,
    handoffs.sweep,
    maintenance.sweep,
    heartbeats.sweep,
    timeouts.sweep,
    release.sweep,
    audit.sweep,
)


async def _sweep_loop(sweep: Callable[[], Awaitable[int]], interval: float) -> None:
    while True:
        try:
            await sweep()
        except Exception:
            logger.exception("sweep %s failed; retrying next pass", sweep.__qualname__)
        await asyncio.sleep(interval)


async def sweep_forever(interval: float) -> None:
    """Every ``interval`` seconds, run what is due (ended snoozes, missed steps and
    deliveries): the safety net under lost jobs, crashes and Redis outages. Each kind
    sweeps on its own, so receivers that hang for 10 s never hold up escalation."""
    await asyncio.gather(*(_sweep_loop(sweep, interval) for sweep in SWEEPS))
