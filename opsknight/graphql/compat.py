"""Every use of what Strawberry, graphql-core and asyncio do not publish, in one place.

Each entry names the internal it leans on and why; tests/test_compat.py checks each one
against the installed versions, so an upgrade that moves one fails there, loudly, rather
than somewhere in the live feed. Code elsewhere uses only the names defined here.
"""

from __future__ import annotations

import asyncio
import operator
import re
from collections.abc import Callable
from typing import Any

import strawberry
from graphql import GraphQLField, GraphQLSchema

# Strawberry's executor class (graphql-core's ExecutionContext with Strawberry's hooks);
# shared_events.py subclasses it. Strawberry exports it from an internal module only.
from strawberry.execution import optimized_is_awaitable
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)

StrawberryExecutor = StrawberryGraphQLCoreExecutionContext
# Strawberry's faster awaitable check, given to graphql-core's execute as schema.py does.
is_awaitable = optimized_is_awaitable
# The runner of schema extensions, whose per-result hook schema.py skips when unused.
ExtensionsRunner = SchemaExtensionsRunner


def core_schema(schema: strawberry.Schema) -> GraphQLSchema:
    """The graphql-core schema a Strawberry schema wraps (Strawberry keeps it private)."""
    core: GraphQLSchema = schema._schema
    return core


def empty_executor(executor: Any) -> None:
    """Drop everything a finished graphql-core executor holds: its helpers and closures
    refer to it, so it would otherwise live in reference cycles until a full collection.
    graphql-core does not read an executor once its result is complete (an unpublished
    behaviour, checked in tests/test_compat.py)."""
    executor.__dict__.clear()


def reads_attribute(resolve: Any) -> bool:
    """Whether a field resolver Strawberry built only reads its source's attribute and
    ignores the resolve info (Strawberry marks those ``_is_default``); compiled.py then
    passes no info."""
    return getattr(resolve, "_is_default", False) is True


def attribute_reader(definition: GraphQLField) -> Callable[[Any], Any] | None:
    """For a field whose resolver only reads an attribute (``reads_attribute``) through
    Strawberry's default resolver, ``getattr``: a reader of that attribute, which gives
    what the resolver gives without its two wrapper calls; None for any other field.
    Strawberry keeps its field on the graphql-core field's extensions."""
    if not reads_attribute(definition.resolve):
        return None
    field = (definition.extensions or {}).get("strawberry-definition")
    if (
        field is None
        or field.base_resolver is not None
        or field.extensions
        or field.default_resolver is not getattr
    ):
        return None
    return operator.attrgetter(field.python_name)


def unblock(future: asyncio.Future[Any]) -> None:
    """Clear the flag a task sets on a future a coroutine yielded to it; websocket.py steps
    such coroutines by hand and must hand the future on as a task would (asyncio keeps the
    flag private)."""
    future._asyncio_future_blocking = False


class ResultStreamHandler(BaseGraphQLTransportWSHandler[Any, Any]):
    """Strawberry's graphql-transport-ws handler, with its private per-subscription result
    loop exposed as ``send_result_stream`` (websocket.py replaces it to push live-feed
    results instead of waiting for each)."""

    async def _send_result_stream(self, operation: Operation[Any, Any], source: Any) -> None:
        await self.send_result_stream(operation, source)

    async def send_result_stream(self, operation: Operation[Any, Any], source: Any) -> None:
        await super()._send_result_stream(operation, source)

    async def send_pre_execution_error(self, operation: Operation[Any, Any], error: Any) -> None:
        await self._handle_pre_execution_error(operation, error)

    async def reject_incremental_delivery(self, operation: Operation[Any, Any]) -> None:
        await self._reject_incremental_delivery(operation)


# graphql-core reports input coercion problems only as English sentences; the REST adapter
# turns them into §1 reasons and field names.
_MISSING_FIELD = re.compile(r"to include required field '(\w+)'")


def missing_input_field(message: str) -> str | None:
    """The required input field an input-coercion message says is missing, if any."""
    found = _MISSING_FIELD.search(message)
    return found.group(1) if found else None


def input_problem(message: str) -> str:
    """The §1 reason for an input-coercion message: required, invalid_enum or invalid."""
    if "to include required field" in message or "not to be None" in message:
        return "required"
    if "does not exist in" in message:
        return "invalid_enum"
    return "invalid"
