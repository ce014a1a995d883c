"""The schema, composed from the per-domain query and mutation types."""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import AsyncGenerator, Sequence
from datetime import datetime
from inspect import isawaitable
from typing import Any

import strawberry
from graphql import (
    ASTValidationRule,
    DocumentNode,
    FloatValueNode,
    IntValueNode,
    StringValueNode,
    ValidationRule,
    parse,
    specified_rules,
    validate,
)
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import execute as graphql_execute
from graphql.error import GraphQLError
from strawberry.extensions import (
    MaxAliasesLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext, ExecutionResult

from opsknight import jsoncodec
from opsknight.graphql.compat import ExtensionsRunner, core_schema, is_awaitable
from opsknight.graphql.compiled import CompiledOperation, compile_operation
from opsknight.graphql.documents import DocumentLimits
from opsknight.graphql.errors import classify
from opsknight.graphql.mutations.directory import DirectoryMutation
from opsknight.graphql.mutations.escalation import EscalationMutation
from opsknight.graphql.mutations.events import EventMutation
from opsknight.graphql.mutations.heartbeats import HeartbeatMutation
from opsknight.graphql.mutations.incidents import IncidentMutation
from opsknight.graphql.mutations.maintenance import MaintenanceMutation
from opsknight.graphql.mutations.pages import PageMutation, PageQuery
from opsknight.graphql.mutations.rules import RuleMutation
from opsknight.graphql.mutations.schedules import ScheduleMutation
from opsknight.graphql.mutations.webhooks import WebhookMutation
from opsknight.graphql.queries.analytics import AnalyticsQuery
from opsknight.graphql.queries.audit import AuditQuery
from opsknight.graphql.queries.directory import DirectoryQuery
from opsknight.graphql.queries.escalation import EscalationQuery
from opsknight.graphql.queries.heartbeats import HeartbeatQuery
from opsknight.graphql.queries.incidents import IncidentQuery
from opsknight.graphql.queries.maintenance import MaintenanceQuery
from opsknight.graphql.queries.readiness import ReadinessQuery
from opsknight.graphql.queries.rules import RuleQuery
from opsknight.graphql.queries.schedules import ScheduleQuery
from opsknight.graphql.queries.shadow import ShadowMutation, ShadowQuery
from opsknight.graphql.queries.webhooks import WebhookQuery
from opsknight.graphql.scalars import DateTime
from opsknight.graphql.shared_events import SharedEventExecutor, release_executor
from opsknight.graphql.subscriptions import Subscription

Query = merge_types(
    "Query",
    (
        DirectoryQuery,
        IncidentQuery,
        ScheduleQuery,
        EscalationQuery,
        WebhookQuery,
        PageQuery,
        MaintenanceQuery,
        HeartbeatQuery,
        RuleQuery,
        ReadinessQuery,
        AnalyticsQuery,
        AuditQuery,
        ShadowQuery,
    ),
)
Mutation = merge_types(
    "Mutation",
    (
        DirectoryMutation,
        IncidentMutation,
        EventMutation,
        ScheduleMutation,
        EscalationMutation,
        WebhookMutation,
        PageMutation,
        MaintenanceMutation,
        HeartbeatMutation,
        RuleMutation,
        ShadowMutation,
    ),
)


class StorableLiterals(ValidationRule):
    """Literals in a document obey the JSON decoder's rules for variables: no lone
    surrogates or NUL in strings (no store can hold them), no integer literal too long
    to convert, no float literal that overflows."""

    def enter_string_value(self, node: StringValueNode, *_: Any) -> None:
        if jsoncodec.UNSTORABLE.search(node.value):
            self._refuse(node, "a string literal contains a lone surrogate or a NUL character")

    def enter_int_value(self, node: IntValueNode, *_: Any) -> None:
        if len(node.value.lstrip("-")) > jsoncodec.MAX_INT_DIGITS:
            self._refuse(
                node, f"an integer literal has more than {jsoncodec.MAX_INT_DIGITS} digits"
            )

    def enter_float_value(self, node: FloatValueNode, *_: Any) -> None:
        if not math.isfinite(float(node.value)):
            self._refuse(node, "a float literal is out of range")

    def _refuse(self, node: Any, message: str) -> None:
        self.report_error(GraphQLError(message, node, extensions={"code": "VALIDATION_ERROR"}))


# Built once: rule classes made per request would each be new classes.
_LIMIT_RULES: list[type[ASTValidationRule]] = [
    StorableLiterals,
    *QueryDepthLimiter(max_depth=12).validation_rules,
    *MaxAliasesLimiter(max_alias_count=100).validation_rules,
]


class _ExtensionsRunner(ExtensionsRunner):
    """Strawberry's runner, minus a context manager around every streamed result when no
    extension watches them: a live-feed subscription keeps the last one until its next
    change, so with a thousand subscribers each change left a thousand of them (and their
    exit stacks) for the collector to promote."""

    def on_stream_result(self, result: Any) -> Any:
        if any(type(e).on_stream_result is not _NO_HOOK for e in self.extensions):
            return super().on_stream_result(result)
        return _NOTHING


_NO_HOOK = SchemaExtension.on_stream_result
_NOTHING = contextlib.nullcontext()


class OpsKnightSchema(strawberry.Schema):
    def create_extensions_runner(
        self, execution_context: ExecutionContext, extensions: list[SchemaExtension]
    ) -> ExtensionsRunner:
        return _ExtensionsRunner(execution_context=execution_context, extensions=extensions)

    def prepare(self, document: str) -> DocumentNode:
        """Parse and validate a fixed document once; the REST routes run only these."""
        parsed = parse(document)
        errors = validate(core_schema(self), parsed, [*specified_rules, *_LIMIT_RULES])
        if errors:
            raise ValueError(f"invalid REST document: {errors[0].message}")
        return parsed

    def compile(self, document: DocumentNode) -> CompiledOperation | None:
        """The compiled plan of a prepared document, when it is plain (``compiled.py``)."""
        return compile_operation(core_schema(self), document, is_awaitable)

    @functools.cached_property
    def extended(self) -> bool:
        """Whether an extension besides the document limits is installed. REST requests
        then run through Strawberry's ``execute``, so that every extension hook sees them."""
        return any(type(e) is not DocumentLimits for e in self.get_extensions())

    async def execute_rest(
        self,
        source: str,
        document: DocumentNode,
        compiled: CompiledOperation | None,
        variables: dict[str, Any],
        context: Any,
    ) -> GraphQLExecutionResult | ExecutionResult:
        """Run a REST route's fixed document (``source``, prepared as ``document``).

        With no extension but the document limits, whose parse and validation hooks the
        document passed when it was prepared, it runs compiled when it is plain and by
        graphql-core's executor otherwise. With other extensions it runs through
        Strawberry's ``execute``, parse and validation served from the limits' caches.
        """
        if self.extended:
            return await self.execute(source, variables, context)
        if compiled is not None:
            result = await compiled.execute(variables, context)
            if result.errors:
                result.errors = [classify(error) for error in result.errors]
            return result
        return await self.execute_prepared(document, variables, context)

    async def execute_prepared(
        self, document: DocumentNode, variables: dict[str, Any], context: Any
    ) -> GraphQLExecutionResult:
        """Execute a document from ``prepare`` without parsing or validating it again.

        The same schema, resolvers and executor class as ``execute``; only the
        per-request extension hooks (parse and validation caches, limits) are skipped,
        since a prepared document has already passed them.
        """
        result = graphql_execute(
            core_schema(self),
            document,
            variable_values=variables,
            context_value=context,
            is_awaitable=is_awaitable,  # type: ignore[arg-type]
            executor_class=self.execution_context_class,
        )
        if isawaitable(result):
            result = await result
        assert isinstance(result, GraphQLExecutionResult)
        release_executor()
        if result.errors:
            result.errors = [classify(error) for error in result.errors]
        return result

    async def execute(self, *args: Any, **kwargs: Any) -> ExecutionResult:
        """Execute, then give every error its §1 code (parse and validation errors too)."""
        result = await super().execute(*args, **kwargs)
        release_executor()
        if result.errors:
            result.errors = [classify(error) for error in result.errors]
        return result

    async def stream(self, *args: Any, **kwargs: Any) -> Any:
        """Subscriptions (and operations over WebSocket): every error gets its §1 code."""
        results = await super().stream(*args, **kwargs)

        async def classified() -> AsyncGenerator[Any, None]:
            try:
                async for result in results:
                    errors = getattr(result, "errors", None)
                    if errors:
                        result.errors = [classify(error) for error in errors]  # type: ignore[union-attr]
                    yield result
            finally:
                # Closing the stream ends the subscription now (it holds a feed slot).
                await results.aclose()

        return classified()

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Expected failures (denials, validation) are answers, not faults: ErrorCodes
        # already logged the unexpected ones with their traceback.
        del errors, execution_context


def build_schema(extensions: Sequence[Any] = ()) -> OpsKnightSchema:
    """The schema, with Strawberry ``extensions`` (classes or factories) besides the
    document limits every schema has."""
    installed: list[Any] = [
        # A factory: each request gets a fresh instance; the caches are shared module-wide.
        # Abusive documents are refused while parsing and validating, before any work.
        lambda: DocumentLimits(_LIMIT_RULES),
        *extensions,
    ]
    return OpsKnightSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        execution_context_class=SharedEventExecutor,
        config=StrawberryConfig(scalar_map={datetime: DateTime}),
        extensions=installed,
    )


schema = build_schema()


def sdl() -> str:
    """The SDL as committed in schema.graphql."""
    return schema.as_str() + "\n"
