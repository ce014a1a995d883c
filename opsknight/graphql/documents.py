"""What a GraphQL document may cost before any of it runs, and the caches of parsed and
validated documents (bounded in the text they hold, not only in entries).

Limits, each refused with a VALIDATION_ERROR that names it (``details.limit``):
- ``document_size``: the document's characters, comments and whitespace included;
- ``tokens``: graphql-core stops parsing past MAX_TOKENS;
- ``selections``: fields in one selection set with fragments expanded, repeated fields
  included. Overlapping-fields validation compares every pair, so this bounds its work;
- ``cost``: fields times the list sizes above them (``limit`` arguments, or a default
  for lists without one), so one query cannot read a whole database.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    parse,
    validate,
    value_from_ast,
)
from graphql.validation import ASTValidationRule
from strawberry.extensions import SchemaExtension

from opsknight.graphql.compat import core_schema
from opsknight.memo import BoundedMemo

MAX_DOCUMENT_CHARS = 100_000
MAX_TOKENS = 5_000
MAX_SELECTIONS = 200
MAX_COST = 150_000
# A list field without a `limit` argument (timeline, notes, alerts, members…) is counted
# as this many items.
UNBOUNDED_LIST_SIZE = 20
DEFAULT_LIMIT = 25
# Together the two caches keep at most twice 16 MiB of document text.
_CACHE_CHARS = 16 * 1024 * 1024
_parsed: BoundedMemo[str, DocumentNode] = BoundedMemo(1024, max_weight=_CACHE_CHARS)
_validated: BoundedMemo[str, list[GraphQLError]] = BoundedMemo(1024, max_weight=_CACHE_CHARS)


def refused(limit: str, message: str, maximum: int, found: int | None = None) -> GraphQLError:
    details: dict[str, Any] = {"reason": "too_complex", "limit": limit, "max": maximum}
    if found is not None:
        details["found"] = found
    return GraphQLError(message, extensions={"code": "VALIDATION_ERROR", "details": details})


def parse_document(query: str) -> DocumentNode:
    """The parsed document, from the cache when the same text was parsed before; raises
    GraphQLError for a syntax error or a document over the size limits."""
    if len(query) > MAX_DOCUMENT_CHARS:
        raise refused(
            "document_size",
            f"the document is {len(query)} characters; at most {MAX_DOCUMENT_CHARS} are "
            "accepted (comments and whitespace count)",
            MAX_DOCUMENT_CHARS,
            len(query),
        )
    document = _parsed.get(query)
    if document is None:
        document = parse(query, max_tokens=MAX_TOKENS)
        _check_selections(document)
        _parsed.put(query, document, len(query))
    return document


def validated(
    query: str,
    schema: GraphQLSchema,
    document: DocumentNode,
    rules: Collection[type[ASTValidationRule]],
) -> list[GraphQLError]:
    """The document's validation errors, remembered per text (rules are fixed)."""
    errors = _validated.get(query)
    if errors is None:
        errors = validate(schema, document, rules)
        _validated.put(query, errors, len(query))
    return errors


def _check_selections(document: DocumentNode) -> None:
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    sizes: dict[str, int] = {}

    def expanded(selection_set: SelectionSetNode, visiting: frozenset[str]) -> int:
        count = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                count += 1
                if selection.selection_set is not None:
                    expanded(selection.selection_set, visiting)
            elif isinstance(selection, InlineFragmentNode):
                count += expanded(selection.selection_set, visiting)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = fragments.get(name)
                if fragment is None or name in visiting:
                    continue  # unknown or cyclic: validation reports it
                if name not in sizes:
                    sizes[name] = expanded(fragment.selection_set, visiting | {name})
                count += sizes[name]
            if count > MAX_SELECTIONS:
                raise refused(
                    "selections",
                    f"a selection set selects more than {MAX_SELECTIONS} fields (fragments "
                    "expanded, repeated fields counted)",
                    MAX_SELECTIONS,
                )
        return count

    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode | FragmentDefinitionNode):
            expanded(definition.selection_set, frozenset())


def operation_of(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    """The operation a request runs: the named one, or the only one."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name:
        return next((o for o in operations if o.name and o.name.value == name), None)
    return operations[0] if len(operations) == 1 else None


def cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: dict[str, Any] | None,
) -> int:
    """Fields times the list sizes above them."""
    root = schema.get_root_type(operation.operation)
    if root is None:
        return 0
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    return _cost(schema, fragments, operation.selection_set, root, 1, variables or {}, False)


def _cost(
    schema: GraphQLSchema,
    fragments: dict[str, FragmentDefinitionNode],
    selection_set: SelectionSetNode,
    parent: Any,
    multiplier: int,
    variables: dict[str, Any],
    sized: bool,
) -> int:
    total = 0
    for field, parent_type in _fields(schema, fragments, selection_set, parent):
        definition = parent_type.fields.get(field.name.value)
        if definition is None:
            continue  # __typename and friends
        total += multiplier
        if total > MAX_COST:
            return total
        if field.selection_set is None:
            continue
        field_type = definition.type
        if isinstance(field_type, GraphQLNonNull):
            field_type = field_type.of_type
        size, inner_sized = 1, sized
        limit = _limit(field, definition, variables)
        if limit is not None:
            size, inner_sized = limit, not isinstance(field_type, GraphQLList)
        elif isinstance(field_type, GraphQLList):
            size, inner_sized = (1, False) if sized else (UNBOUNDED_LIST_SIZE, False)
        total += _cost(
            schema, fragments, field.selection_set, get_named_type(field_type),
            multiplier * max(size, 1), variables, inner_sized,
        )  # fmt: skip
    return total


def _fields(
    schema: GraphQLSchema,
    fragments: dict[str, FragmentDefinitionNode],
    selection_set: SelectionSetNode,
    parent: Any,
) -> Iterator[tuple[FieldNode, Any]]:
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            if isinstance(parent, GraphQLObjectType) or hasattr(parent, "fields"):
                yield selection, parent
        elif isinstance(selection, InlineFragmentNode):
            condition = selection.type_condition
            inner = schema.get_type(condition.name.value) if condition else parent
            yield from _fields(schema, fragments, selection.selection_set, inner or parent)
        elif isinstance(selection, FragmentSpreadNode):
            # Each spread counts (the walk stops once the total is over MAX_COST, and
            # validation has refused fragment cycles already).
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                inner = schema.get_type(fragment.type_condition.name.value) or parent
                yield from _fields(schema, fragments, fragment.selection_set, inner)


def _limit(field: FieldNode, definition: Any, variables: dict[str, Any]) -> int | None:
    argument = definition.args.get("limit")
    if argument is None:
        return None
    for given in field.arguments or ():
        if given.name.value == "limit":
            value = value_from_ast(given.value, argument.type, variables)
            return value if isinstance(value, int) else DEFAULT_LIMIT
    default = argument.default_value
    return default if isinstance(default, int) else DEFAULT_LIMIT


class DocumentLimits(SchemaExtension):
    """Parse through the bounded cache, validate through the bounded cache, then refuse
    an operation whose cost is over MAX_COST: all before anything executes."""

    def __init__(self, rules: Collection[type[ASTValidationRule]] = ()) -> None:
        super().__init__()
        self.rules = list(rules)

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.query is not None and context.graphql_document is None:
            # A GraphQLError raised here is the request's only error, as a syntax error is.
            context.graphql_document = parse_document(context.query)
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None and context.query is not None and not context.pre_execution_errors:
            rules = [*context.validation_rules, *self.rules]
            errors = validated(context.query, core_schema(context.schema), document, rules)
            if not errors:
                errors = self._cost_errors(document)
            context.pre_execution_errors = errors
        yield

    def _cost_errors(self, document: DocumentNode) -> list[GraphQLError]:
        context = self.execution_context
        operation = operation_of(document, context.operation_name)
        if operation is None or operation.operation == OperationType.SUBSCRIPTION:
            return []
        found = cost(core_schema(context.schema), document, operation, context.variables)
        if found <= MAX_COST:
            return []
        return [
            refused(
                "cost",
                f"the query would return about {found} values or more; at most {MAX_COST} "
                "are allowed (lower `limit`, or select fewer nested lists)",
                MAX_COST,
                found,
            )
        ]


def root_fields(document: DocumentNode, operation: OperationDefinitionNode) -> list[str]:
    """The names of the operation's top-level fields, once per selection (aliases count
    each time), fragments expanded."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    names: list[str] = []

    def collect(selection_set: SelectionSetNode, seen: frozenset[str]) -> None:
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                names.append(selection.name.value)
            elif isinstance(selection, InlineFragmentNode):
                collect(selection.selection_set, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in fragments and name not in seen:
                    collect(fragments[name].selection_set, seen | {name})

    collect(operation.selection_set, frozenset())
    return names
