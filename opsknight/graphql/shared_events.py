"""The schema's executor: subscription events executed once per process for all
subscribers who would get the same answer, and finished executors broken up.

A change fans out to every subscriber; executing the subscription's selection for each of
them repeats the same work. Subscribers with the same document, the same variables and
the same caller permissions get identical results, so the first one to reach a change
executes it and the others reuse that result.

graphql-core's executor refers to itself through its helpers and closures, so every query
or mutation left ~100 objects in reference cycles. Under load they outlive the young
collections (their request is still in flight), reach the old generation and make its
full collections long pauses. ``release_executor`` empties the executor of a finished
query or mutation, so they are freed at once by reference counting.
"""

from __future__ import annotations

import asyncio
import json
from contextvars import ContextVar
from inspect import isawaitable
from typing import Any

from opsknight import runtime
from opsknight.graphql.compat import StrawberryExecutor, empty_executor


class _Reuse:
    """Stands in for a per-event executor when the event's result is already there."""

    def __init__(self, result: asyncio.Future[Any]) -> None:
        self.result = result

    def execute_operation(self, *args: Any, **kwargs: Any) -> Any:
        return asyncio.shield(self.result)


class SharedEventExecutor(StrawberryExecutor):
    """graphql-core's executor, sharing the execution of subscription events whose
    payload carries a ``share_key`` (queries and mutations run as usual)."""

    share_key: tuple[Any, ...] | None = None  # set on a per-event executor that shares
    _subscription_key: tuple[Any, ...] | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _built.set(self)

    def build_per_event_executor(self, payload: Any) -> Any:
        share = getattr(payload, "share_key", None)
        if share is None:
            return super().build_per_event_executor(payload)
        if self._subscription_key is None:  # the same for every event of a subscription
            principal = getattr(self.context_value.credential, "principal", None)
            variables = json.dumps(self.variable_values, sort_keys=True, default=str)
            self._subscription_key = (id(self.operation), variables, principal)
        key = (share, *self._subscription_key)
        entry = runtime.current().shared_results.get(key)
        if entry is not None:
            return _Reuse(entry[1])
        executor = super().build_per_event_executor(payload)
        executor.share_key = key  # type: ignore[attr-defined]
        return executor

    def execute_operation(self, *args: Any, **kwargs: Any) -> Any:
        if self.share_key is None:
            return super().execute_operation(*args, **kwargs)
        return self._shared(args, kwargs)

    async def _shared(self, args: Any, kwargs: Any) -> Any:
        key = self.share_key
        assert key is not None
        results = runtime.current().shared_results
        entry = results.get(key)
        if entry is None:
            # The operation is kept with the result so its id is not reused meanwhile.
            entry = results.put(
                key, (self.operation, asyncio.ensure_future(self._execute(args, kwargs)))
            )
        return await asyncio.shield(entry[1])

    async def _execute(self, args: Any, kwargs: Any) -> Any:
        result = super().execute_operation(*args, **kwargs)
        return await result if isawaitable(result) else result


# The executor built last in this task: a query's or mutation's, until it is released.
_built: ContextVar[SharedEventExecutor | None] = ContextVar("opsknight_executor", default=None)


def release_executor() -> None:
    """Empty the executor of the query or mutation that has just completed in this task
    (its result holds plain data). Call only after a normal completion: on failure or
    cancellation work it started may still be unwinding, and the collector frees it."""
    executor = _built.get()
    if executor is not None:
        _built.set(None)
        empty_executor(executor)
