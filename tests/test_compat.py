"""The unpublished parts of Strawberry, graphql-core and asyncio that OpsKnight leans on
(opsknight/graphql/compat.py) still behave as it expects, and nothing else uses any."""

from __future__ import annotations

import ast
import asyncio
import inspect
from pathlib import Path
from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLString,
    execute,
    parse,
)
from graphql.execution.executor import Executor
from graphql.utilities import validate_input_value
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)

from opsknight.graphql import compat
from opsknight.graphql.schema import schema
from opsknight.graphql.websocket import start_now

PACKAGE = Path(__file__).resolve().parent.parent / "opsknight"


def test_the_core_schema_is_the_one_strawberry_executes() -> None:
    core = compat.core_schema(schema)
    assert isinstance(core, GraphQLSchema)
    assert core.query_type is not None and "incidents" in core.query_type.fields
    assert core.mutation_type is not None and "sendOpsgenieAlert" in core.mutation_type.fields


def test_the_executor_hooks_shared_events_overrides_exist() -> None:
    assert issubclass(compat.StrawberryExecutor, Executor)
    per_event = inspect.signature(compat.StrawberryExecutor.build_per_event_executor)
    assert list(per_event.parameters) == ["self", "payload"]
    assert "execute_operation" in vars(Executor)
    # graphql-core calls the per-event hook for every subscription event.
    assert "build_per_event_executor" in inspect.getsource(Executor)


def test_the_extensions_runner_hook_exists() -> None:
    assert callable(compat.ExtensionsRunner.on_stream_result)
    assert "create_extensions_runner" in inspect.getsource(type(schema).__mro__[1])


async def test_a_finished_executor_can_be_emptied_without_touching_its_result() -> None:
    built: list[Any] = []

    class Recording(compat.StrawberryExecutor):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            built.append(self)

    core = compat.core_schema(schema)
    document = parse("{ __schema { queryType { name fields { name } } } }")
    result = execute(core, document, executor_class=Recording)
    if compat.is_awaitable(result):
        result = await result  # type: ignore[misc]
    expected = result.data  # type: ignore[union-attr]
    compat.empty_executor(built[0])
    assert vars(built[0]) == {}
    assert result.data == expected and result.errors is None  # type: ignore[union-attr]
    assert "incidents" in [f["name"] for f in expected["__schema"]["queryType"]["fields"]]


def test_attribute_resolvers_are_told_apart_and_ignore_the_info() -> None:
    incident = compat.core_schema(schema).get_type("EventIncident")
    assert isinstance(incident, GraphQLObjectType)
    plain = incident.fields["title"].resolve
    assert compat.reads_attribute(plain)
    # Called as compiled.py calls it: with no info at all.
    assert plain(type("Row", (), {"title": "Disk full"})(), None) == "Disk full"
    mutation = compat.core_schema(schema).mutation_type
    assert mutation is not None
    assert not compat.reads_attribute(mutation.fields["sendEvent"].resolve)


def test_an_attribute_field_is_read_as_its_resolver_reads_it() -> None:
    incident = compat.core_schema(schema).get_type("EventIncident")
    assert isinstance(incident, GraphQLObjectType)
    row = type("Row", (), {"title": "Disk full", "number": 7})()
    for name in ("title", "number"):
        definition = incident.fields[name]
        read = compat.attribute_reader(definition)
        assert read is not None
        assert read(row) == definition.resolve(row, None)
    with pytest.raises(AttributeError):
        compat.attribute_reader(incident.fields["title"])(object())  # type: ignore[misc]
    # By the Python name: the schema's field is dedupKey.
    result = compat.core_schema(schema).get_type("EventResult")
    assert isinstance(result, GraphQLObjectType)
    read = compat.attribute_reader(result.fields["dedupKey"])
    assert read is not None and read(type("Row", (), {"dedup_key": "disk"})()) == "disk"
    mutation = compat.core_schema(schema).mutation_type
    assert mutation is not None
    assert compat.attribute_reader(mutation.fields["sendEvent"]) is None


def test_stepping_a_coroutine_by_hand_hands_its_future_on() -> None:
    async def main() -> list[str]:
        seen: list[str] = []
        gate: asyncio.Future[str] = asyncio.get_running_loop().create_future()

        async def waits() -> None:
            seen.append(await gate)

        task = start_now(waits())  # runs until it waits on the future, then a task
        assert task is not None and seen == []
        gate.set_result("released")
        await task
        return seen

    assert asyncio.run(main()) == ["released"]
    future: asyncio.Future[Any] = asyncio.Future(loop=asyncio.new_event_loop())
    assert hasattr(future, "_asyncio_future_blocking")
    compat.unblock(future)
    future.get_loop().close()


def test_the_transport_handler_still_has_the_result_loop_it_replaces() -> None:
    for name, parameters in (
        ("_send_result_stream", ["self", "operation", "result_source"]),
        ("_handle_pre_execution_error", ["self", "operation", "result"]),
        ("_reject_incremental_delivery", ["self", "operation"]),
    ):
        method = getattr(BaseGraphQLTransportWSHandler, name)
        assert list(inspect.signature(method).parameters) == parameters, name
    # The subscribe handling runs each subscription through that loop.
    assert "self._send_result_stream(" in inspect.getsource(BaseGraphQLTransportWSHandler)


def test_graphql_cores_coercion_messages_are_still_understood() -> None:
    color = GraphQLEnumType("Color", {"RED": "RED"})
    shape = GraphQLInputObjectType("Shape", {
        "name": GraphQLInputField(GraphQLNonNull(GraphQLString)),
        "color": GraphQLInputField(color),
    })  # fmt: skip
    GraphQLSchema(GraphQLObjectType("Query", {"x": GraphQLField(GraphQLString)}), types=[shape])
    messages: list[str] = []

    def problems(value: Any, type_: Any) -> str:
        messages.clear()
        validate_input_value(value, type_, lambda error, path: messages.append(error.message))
        return messages[0]

    missing = problems({"color": "RED"}, shape)
    assert compat.missing_input_field(missing) == "name"
    assert compat.input_problem(missing) == "required"
    assert compat.input_problem(problems(None, GraphQLNonNull(shape))) == "required"
    assert compat.input_problem(problems({"name": "a", "color": "BLUE"}, shape)) == "invalid_enum"
    assert compat.input_problem(problems({"name": 5}, shape)) == "invalid"
    assert compat.missing_input_field(problems({"name": 5}, shape)) is None


# Underscored names that are public by design (not private APIs).
_PUBLIC_UNDERSCORES = {
    "_meta",  # Tortoise's documented model metadata
    "_replace",  # namedtuple's public method
}
# Internal modules of the libraries, importable only in compat.py.
_INTERNAL_MODULES = {"strawberry.schema.schema", "strawberry.extensions.runner",
                     "strawberry.execution"}  # fmt: skip


def test_no_private_api_is_used_outside_the_compat_module() -> None:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "compat.py" or "migrations" in path.parts:
            continue
        tree = ast.parse(path.read_text())
        own = {n.name for n in ast.walk(tree) if isinstance(n, ast.ClassDef)}
        for node in ast.walk(tree):
            where = f"{path.relative_to(PACKAGE.parent)}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
                private = not node.attr.startswith("__") and node.attr not in _PUBLIC_UNDERSCORES
                base = node.value
                mine = isinstance(base, ast.Name) and base.id in ("self", "cls", *own)
                if private and not mine:
                    found.append(f"{where}: {ast.unparse(node)}")
            if isinstance(node, ast.ImportFrom) and node.module in _INTERNAL_MODULES:
                found.append(f"{where}: from {node.module}")
            if isinstance(node, ast.FunctionDef) and node.name in (
                "_send_result_stream", "_handle_pre_execution_error",
                "_reject_incremental_delivery",
            ):  # fmt: skip
                found.append(f"{where}: overrides {node.name}")
    assert found == []
