"""Transactions whose follow-up work (jobs, live events) runs only after they commit.

``atomic()`` wraps Tortoise's ``in_transaction``. Code inside it calls ``after_commit``
to hand over work that must not happen unless the change is durable: enqueueing a job
for a row the transaction wrote, publishing a change. The work runs once the outermost
``atomic()`` has committed and is dropped if it rolls back; a nested block that fails
drops only its own work. Outside any ``atomic()`` the work runs at once.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextvars import ContextVar

from tortoise.transactions import in_transaction

logger = logging.getLogger("opsknight.transaction")

AfterCommit = Callable[[], Awaitable[None]]
_pending: ContextVar[list[AfterCommit] | None] = ContextVar("opsknight_pending", default=None)


@contextlib.asynccontextmanager
async def atomic() -> AsyncIterator[None]:
    pending = _pending.get()
    if pending is not None:  # nested: the outermost block runs the work
        mark = len(pending)
        try:
            async with in_transaction():
                yield
        except BaseException:
            del pending[mark:]
            raise
        return
    pending = []
    reset = _pending.set(pending)
    try:
        async with in_transaction():
            yield
    finally:
        _pending.reset(reset)
    # Only reached when the transaction committed.
    await _run(pending)


async def after_commit(work: AfterCommit) -> None:
    """Run ``work`` once the current ``atomic()`` block commits (now, outside one)."""
    pending = _pending.get()
    if pending is None:
        await _run([work])
    else:
        pending.append(work)


async def _run(works: list[AfterCommit]) -> None:
    # The change is committed: a failing follow-up is logged, and the sweepers (which
    # read the database, the source of truth) pick up whatever it did not start.
    for work in works:
        try:
            await work()
        except Exception:
            logger.exception("after-commit work failed; the sweeper will retry it")
