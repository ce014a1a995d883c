"""A compiled execution of a plain, fixed document: the REST hot path.

The REST routes run fixed documents, parsed and validated once (``schema.prepare``), whose
variables the adapter has already checked against their types. For the plainest of them,
graphql-core's general executor spends more time setting up and tearing down its machinery
than the resolver takes: about 225 µs of an Events API request's 795 (docs/benchmarks.md,
"Hot path, one core"). ``compile_operation`` turns such a document into a plan that
executes it directly:

- the root field's resolver is the one the schema built (Strawberry's, with its permission
  classes and field extensions), called with the arguments graphql-core would pass:
  variables coerced by ``get_variable_values``, arguments by ``get_argument_values``;
- its value is completed along the selection with the same output types: ``serialize``
  for leaves, each field's own resolver below the root (a plain attribute read as that
  resolver reads it, ``compat.attribute_reader``), non-null checked.

A document is plain when it has one operation with one root field, and every field below
it has no arguments and no directives, is no fragment and no ``__typename``, and has no
abstract type (interfaces and unions would need type resolution). Anything else runs
through graphql-core's executor, and every document through Strawberry's ``execute`` once
a schema extension is installed (``OpsKnightSchema.execute_rest``). Errors come back as
graphql-core reports them: the first error of the operation, located at its field, with
``data`` None (REST answers with the first error whatever the data).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    GraphQLError,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    default_field_resolver,
    get_argument_values,
    get_variable_values,
    is_abstract_type,
    is_leaf_type,
    located_error,
)
from graphql.pyutils import Path

from opsknight.graphql.compat import attribute_reader, reads_attribute


class ResolveInfo(NamedTuple):
    """graphql-core's ``GraphQLResolveInfo`` and the one field Strawberry adds to it."""

    field_name: str
    field_nodes: list[FieldNode]
    return_type: GraphQLOutputType
    parent_type: GraphQLObjectType
    path: Path
    schema: GraphQLSchema
    fragments: dict[str, Any]
    root_value: Any
    operation: OperationDefinitionNode
    variable_values: dict[str, Any]
    context: Any
    is_awaitable: Callable[[Any], bool]
    abort_signal: Any = None
    async_helpers: Any = None
    operation_extensions: dict[str, Any] | None = None


@dataclass(frozen=True)
class _Field:
    """One field of a selection, planned."""

    key: str  # the response key: the alias, or the field's name
    name: str
    node: FieldNode
    definition: GraphQLField
    parent: GraphQLObjectType
    selection: tuple[_Field, ...]  # of the named object type below, if any
    resolve: Callable[..., Any]
    needs_info: bool  # False for a resolver that only reads an attribute
    # A scalar or enum field (not a list): completed in place, without a coroutine.
    leaf: Any = None
    non_null: bool = False
    # For a plain attribute field: reads it (``compat.attribute_reader``), as ``resolve``.
    read: Callable[[Any], Any] | None = None


class _Failed(Exception):
    """Completion stopped at ``error``; the operation's result is that error."""

    def __init__(self, error: GraphQLError) -> None:
        super().__init__(error.message)
        self.error = error


@dataclass(frozen=True)
class CompiledOperation:
    schema: GraphQLSchema
    operation: OperationDefinitionNode
    root: _Field
    is_awaitable: Callable[[Any], bool]

    async def execute(self, variables: dict[str, Any], context: Any) -> ExecutionResult:
        values = get_variable_values(
            self.schema, self.operation.variable_definitions or (), variables
        )
        if isinstance(values, list):
            return ExecutionResult(None, values)
        coerced = values.coerced
        root = self.root
        path = Path(None, root.key, root.parent.name)
        try:
            info = self._info(root, path, coerced, context)
            arguments = get_argument_values(root.definition, root.node, values)
            value = root.resolve(None, info, **arguments)
            if self.is_awaitable(value):
                value = await value
        except Exception as exc:
            return ExecutionResult(None, [located_error(exc, [root.node], path.as_list())])
        try:
            data = await self._complete(root, root.definition.type, value, path, coerced, context)
        except _Failed as failed:
            return ExecutionResult(None, [failed.error])
        return ExecutionResult({root.key: data}, None)

    def _info(self, field: _Field, path: Path, variables: dict[str, Any], context: Any) -> Any:
        return ResolveInfo(
            field.name, [field.node], field.definition.type, field.parent, path, self.schema,
            {}, None, self.operation, variables, context, self.is_awaitable,
        )  # fmt: skip

    async def _complete(
        self,
        field: _Field,
        type_: Any,
        value: Any,
        path: Path,
        variables: dict[str, Any],
        context: Any,
    ) -> Any:
        if isinstance(type_, GraphQLNonNull):
            completed = await self._complete(field, type_.of_type, value, path, variables, context)
            if completed is None:
                message = (
                    f"Cannot return null for non-nullable field {field.parent.name}.{field.name}."
                )
                raise _Failed(located_error(GraphQLError(message), [field.node], path.as_list()))
            return completed
        if value is None:
            return None
        if isinstance(type_, GraphQLList):
            item_type = type_.of_type
            items = [
                self._complete(field, item_type, item, path.add_key(i), variables, context)
                for i, item in enumerate(value)
            ]
            # Items complete concurrently, as graphql-core completes them: their fields'
            # loads are then asked for in one tick and batched by the loaders.
            if len(items) > 1 and not is_leaf_type(_named(item_type)):
                return list(await asyncio.gather(*items))
            return [await item for item in items]
        if is_leaf_type(type_):
            try:
                serialized = type_.serialize(value)
            except Exception as exc:
                raise _Failed(located_error(exc, [field.node], path.as_list())) from exc
            return serialized
        return await self._complete_object(field, value, path, variables, context)

    async def _complete_object(
        self, field: _Field, value: Any, path: Path, variables: dict[str, Any], context: Any
    ) -> dict[str, Any]:
        # Every field is resolved first and the awaitable ones awaited together, as
        # graphql-core does for a query's fields; then each is completed.
        resolved: list[Any] = []
        pending: list[tuple[int, Any]] = []
        for sub in field.selection:
            try:
                if sub.read is not None:
                    sub_value = sub.read(value)
                elif sub.needs_info:
                    sub_path = path.add_key(sub.key, sub.parent.name)
                    sub_value = sub.resolve(value, self._info(sub, sub_path, variables, context))
                else:
                    sub_value = sub.resolve(value, None)
            except Exception as exc:
                sub_path = path.add_key(sub.key, sub.parent.name)
                raise _Failed(located_error(exc, [sub.node], sub_path.as_list())) from exc
            if self.is_awaitable(sub_value):
                pending.append((len(resolved), sub_value))
            resolved.append(sub_value)
        if pending:
            outcomes = await asyncio.gather(*(v for _, v in pending), return_exceptions=True)
            for (index, _), outcome in zip(pending, outcomes, strict=True):
                if isinstance(outcome, Exception):
                    sub = field.selection[index]
                    sub_path = path.add_key(sub.key, sub.parent.name)
                    raise _Failed(located_error(outcome, [sub.node], sub_path.as_list()))
                resolved[index] = outcome
        result: dict[str, Any] = {}
        for sub, sub_value in zip(field.selection, resolved, strict=True):
            if sub.leaf is not None and sub_value is not None:
                # What _complete does for a leaf, without a coroutine per field.
                try:
                    serialized = sub.leaf.serialize(sub_value)
                except Exception as exc:
                    sub_path = path.add_key(sub.key, sub.parent.name)
                    raise _Failed(located_error(exc, [sub.node], sub_path.as_list())) from exc
                if serialized is not None:  # else _complete reports it as graphql-core does
                    result[sub.key] = serialized
                    continue
            if sub_value is None and not sub.non_null:
                result[sub.key] = None
                continue
            sub_path = path.add_key(sub.key, sub.parent.name)
            result[sub.key] = await self._complete(
                sub, sub.definition.type, sub_value, sub_path, variables, context
            )
        return result


def _named(type_: Any) -> Any:
    while isinstance(type_, GraphQLNonNull | GraphQLList):
        type_ = type_.of_type
    return type_


def _plan(node: Any, parent: GraphQLObjectType, root: bool) -> _Field | None:
    """The plan of one selected field, or None when it is not plain."""
    if not isinstance(node, FieldNode) or node.directives:
        return None
    name = node.name.value
    if name.startswith("__") or (node.arguments and not root):
        return None
    definition = parent.fields.get(name)
    if definition is None:
        return None
    named = _named(definition.type)
    if is_abstract_type(named):
        return None
    selection: list[_Field] = []
    if node.selection_set is not None:
        if not isinstance(named, GraphQLObjectType):
            return None
        for child in node.selection_set.selections:
            planned = _plan(child, named, root=False)
            if planned is None:
                return None
            selection.append(planned)
    key = node.alias.value if node.alias else name
    resolve = definition.resolve or default_field_resolver
    needs_info = not reads_attribute(resolve)
    non_null = isinstance(definition.type, GraphQLNonNull)
    bare = definition.type.of_type if non_null else definition.type
    leaf = bare if is_leaf_type(bare) else None
    return _Field(
        key, name, node, definition, parent, tuple(selection), resolve, needs_info, leaf, non_null,
        None if root else attribute_reader(definition),
    )  # fmt: skip


def compile_operation(
    schema: GraphQLSchema, document: DocumentNode, is_awaitable: Callable[[Any], bool]
) -> CompiledOperation | None:
    """The compiled plan of a validated document, or None when it is not plain."""
    if len(document.definitions) != 1:
        return None
    operation = document.definitions[0]
    if not isinstance(operation, OperationDefinitionNode) or operation.directives:
        return None
    if operation.operation == OperationType.QUERY:
        parent = schema.query_type
    elif operation.operation == OperationType.MUTATION:
        parent = schema.mutation_type
    else:
        return None
    selections = operation.selection_set.selections
    if parent is None or len(selections) != 1:
        return None
    root = _plan(selections[0], parent, root=True)
    if root is None:
        return None
    if any(definition.directives for definition in operation.variable_definitions or ()):
        return None
    return CompiledOperation(schema, operation, root, is_awaitable)
