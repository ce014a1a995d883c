"""REST's execution of its fixed documents: compiled when plain, with graphql-core's
results, and through Strawberry's own ``execute`` when a schema extension is installed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import strawberry
from graphql import execute, parse, validate
from strawberry.extensions import SchemaExtension

from opsknight.app import create_app
from opsknight.config import Settings
from opsknight.graphql.compat import core_schema, is_awaitable
from opsknight.graphql.compiled import compile_operation
from opsknight.graphql.schema import build_schema
from opsknight.graphql.schema import schema as default_schema
from opsknight.rest.routes import ROUTES
from tests.conftest import Api, make_api, unique

# --- the compiled plan gives graphql-core's answers -----------------------------------


class Broken(Exception):
    pass


@strawberry.type
class Leaf:
    name: str
    size: int | None

    @strawberry.field
    async def later(self) -> str:
        await asyncio.sleep(0)
        return self.name.upper()

    @strawberry.field
    def fails(self) -> str:
        raise Broken("no such leaf")

    @strawberry.field
    def missing(self) -> str:
        return None  # type: ignore[return-value]


@strawberry.type
class Query:
    @strawberry.field
    async def leaves(self, count: int = 2) -> list[Leaf]:
        await asyncio.sleep(0)
        return [Leaf(name=f"leaf-{i}", size=i or None) for i in range(count)]

    @strawberry.field
    def leaf(self, name: str) -> Leaf | None:
        return None if name == "none" else Leaf(name=name, size=len(name))

    @strawberry.field
    def refuse(self) -> Leaf:
        raise Broken("refused")


SAMPLE = strawberry.Schema(query=Query)

PLAIN = [
    ("query Q { all: leaves { name size later } }", {}),
    ("query Q($n: Int) { leaves(count: $n) { name } }", {"n": 3}),
    ("query Q($n: Int = 1) { leaves(count: $n) { size } }", {}),
    ("query Q($name: String!) { leaf(name: $name) { name size } }", {"name": "oak"}),
    ('query Q { leaf(name: "none") { name } }', {}),
    ("query Q { leaves { name fails } }", {}),
    ("query Q { leaves(count: 1) { missing } }", {}),
    ("query Q { refuse { name } }", {}),
    ("query Q($n: Int) { leaves(count: $n) { name } }", {"n": "three"}),
]


def _answer(result: Any) -> tuple[Any, Any]:
    """What REST reads of a result: the data when there is no error, else the first
    error's message and path."""
    if result.errors:
        first = result.errors[0]
        return None, (first.message, first.path)
    return result.data, None


@pytest.mark.parametrize(("source", "variables"), PLAIN)
async def test_a_compiled_plain_document_answers_as_graphql_core_does(
    source: str, variables: dict[str, Any]
) -> None:
    core = core_schema(SAMPLE)
    document = parse(source)
    assert not validate(core, document)
    compiled = compile_operation(core, document, is_awaitable)
    assert compiled is not None
    expected = execute(core, document, variable_values=variables)
    if is_awaitable(expected):
        expected = await expected  # type: ignore[misc]
    assert _answer(await compiled.execute(variables, None)) == _answer(expected)


@pytest.mark.parametrize(
    "source",
    [
        "query Q { leaves { ...F } } fragment F on Leaf { name }",
        "query Q { leaves { __typename name } }",
        "query Q { leaves { name @include(if: true) } }",
        "query Q { a: leaves { name } b: leaves { name } }",
    ],
)
def test_documents_that_are_not_plain_are_not_compiled(source: str) -> None:
    core = core_schema(SAMPLE)
    assert compile_operation(core, parse(source), is_awaitable) is None


def test_the_events_api_documents_are_compiled() -> None:
    compiled = {
        route.path
        for route in ROUTES
        if compile_operation(core_schema(default_schema), parse(route.document), is_awaitable)
    }
    assert {"/v2/enqueue", "/api/events", "/v2/alerts", "/api/integrations/alertmanager"} <= (
        compiled
    )


# --- extensions see REST requests -------------------------------------------------------


class Recorder(SchemaExtension):
    """Notes each operation and each resolved root field it sees."""

    seen: list[str] = []

    def on_operation(self) -> Iterator[None]:
        yield
        self.seen.append(f"operation {self.execution_context.operation_name}")

    def resolve(self, _next: Any, root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
        if root is None:
            self.seen.append(f"field {info.field_name}")
        return _next(root, info, *args, **kwargs)


@pytest.fixture
async def extended(settings: Settings, app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The same server (its ORM is the session app's) with the Recorder installed."""
    Recorder.seen = []
    recorded = create_app(settings, graphql_schema=build_schema([Recorder]))
    transport = httpx.ASGITransport(app=recorded)
    async with httpx.AsyncClient(transport=transport, base_url="http://extended") as client:
        yield client


_VARYING = ("id", "number", "token", "key", "name", "summary", "request_id")


def _stable(value: Any) -> Any:
    """``value`` with what differs between two runs of the same requests blanked out:
    ids, numbers, tokens, names, times."""
    if isinstance(value, dict):
        return {
            k: "…" if k in _VARYING or k.endswith(("_id", "_at")) else _stable(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_stable(item) for item in value]
    return value


async def _requests(api: Api, routing_key: str, service_id: str) -> list[tuple[int, Any]]:
    """A run of REST requests through the compiled and the general paths, good and bad;
    what each answered, without the values that differ between runs."""
    answers = []

    def keep(response: httpx.Response) -> None:
        body = response.json()
        answers.append((response.status_code, body.get("error", {}).get("code"), _stable(body)))

    event = {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": "same",
        "payload": {"summary": "Disk full", "source": "db1", "severity": "error"},
    }
    keep(await api.client.post("/v2/enqueue", json=event))
    keep(await api.client.post("/v2/enqueue", json=event))
    keep(await api.client.post("/v2/enqueue", json={**event, "event_action": "explode"}))
    keep(await api.client.post("/v2/enqueue", json={**event, "routing_key": "0" * 32}))
    keep(await api.client.post("/v2/enqueue", json={**event, "event_action": "resolve"}))
    keep(
        await api.post(
            "/api/heartbeats",
            {"name": "nightly", "service_id": service_id, "interval_seconds": 3600},
        )
    )
    keep(await api.get(f"/api/heartbeats?service_id={service_id}"))
    keep(await api.get(f"/api/services/{service_id}"))
    keep(await api.delete("/api/heartbeats/hb_nothing"))
    return answers  # fmt: skip


async def test_rest_requests_reach_schema_extensions_and_answer_the_same(
    client: httpx.AsyncClient, extended: httpx.AsyncClient
) -> None:
    plain_api = await make_api(client)
    extended_api = await make_api(extended)
    answers = []
    for api in (plain_api, extended_api):
        service = await api.create("/api/services", {"name": unique("svc")})
        integration = await api.create(f"/api/services/{service['id']}/integrations", {})
        answers.append(await _requests(api, integration["key"], service["id"]))
    assert answers[0] == answers[1]
    assert [status for status, *_ in answers[0]] == [202, 202, 400, 400, 202, 201, 200, 200, 404]
    # Every REST request of the extended server went through the extension's hooks.
    assert Recorder.seen.count("operation SendEvent") == 5
    assert Recorder.seen.count("field sendEvent") == 5
    assert "operation CreateHeartbeat" in Recorder.seen
