"""The GraphQL endpoint: the committed SDL, errors with codes, and REST parity."""

from __future__ import annotations

import base64
import hashlib
import re
import uuid
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import httpx
import pytest
from tortoise import connections

from opsknight.graphql import documents
from opsknight.graphql.schema import sdl
from opsknight.memo import BoundedMemo
from opsknight.rest import operations as ops
from tests.conftest import Api, make_api, open_incident, unique

ROOT = Path(__file__).resolve().parent.parent


def test_committed_schema_is_current() -> None:
    committed = (ROOT / "schema.graphql").read_text()
    assert committed == sdl(), (
        "schema.graphql is stale: run `opsknight export-schema -o schema.graphql`"
    )


async def test_graphiql_is_served_with_every_script_from_the_app(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()
    page = response.text
    assert "unpkg.com" not in page and "cdn" not in page.lower()
    assets = re.findall(r'(?:src|href)="(graphql/assets/[^"]+)"\s+integrity="([^"]+)"', page)
    assert len(assets) == 7
    for path, integrity in assets:
        served = await client.get(f"/{path}")
        assert served.status_code == 200, path
        assert "immutable" in served.headers["cache-control"]
        # The browser checks the file against the page's integrity hash.
        digest = base64.b64encode(hashlib.sha384(served.content).digest()).decode()
        assert integrity == f"sha384-{digest}", path
    assert (await client.get("/graphql/assets/..%2Fide.py")).status_code == 404


async def test_errors_carry_codes(admin: Api) -> None:
    missing = await admin.graphql('{ incident(id: "inc_00000000000000000000000000") { id } }')
    assert missing["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    invalid = await admin.graphql("{ incidents(limit: 500) { nodes { id } } }")
    assert invalid["errors"][0]["extensions"] == {
        "code": "VALIDATION_ERROR",
        "details": {"reason": "out_of_range", "field": "limit"},
    }
    syntax = await admin.graphql("{ incidents { nodes { id }")
    assert syntax["errors"][0]["extensions"]["code"] == "VALIDATION_ERROR"
    unknown = await admin.graphql("{ noSuchField }")
    assert unknown["errors"][0]["extensions"]["code"] == "VALIDATION_ERROR"


async def test_graphql_and_rest_agree_on_one_incident(admin: Api, service: dict[str, Any]) -> None:
    created = await admin.graphql(
        """mutation($s: ID!) { createIncident(input: {title: "From GraphQL", serviceId: $s, urgency: HIGH}) {
             id number status urgency environment service { id } timeline { type actor { type } } } }""",
        {"s": service["id"]},
    )
    incident = created["data"]["createIncident"]
    rest = (await admin.get(f"/api/incidents/{incident['id']}")).json()["data"]
    assert (rest["number"], rest["status"], rest["urgency"], rest["environment"]) == (
        incident["number"], "OPEN", "HIGH", "live",
    )  # fmt: skip
    note = await admin.graphql(
        """mutation($i: ID!) { addNote(incidentId: $i, input: {content: "via graphql"}) { id author { id } } }""",
        {"i": incident["id"]},
    )
    assert note["data"]["addNote"]["author"]["id"] == admin.user_id
    notes = (await admin.get(f"/api/incidents/{incident['id']}/notes")).json()["data"]
    assert [n["id"] for n in notes] == [note["data"]["addNote"]["id"]]


async def test_directory_over_graphql(admin: Api) -> None:
    result = await admin.graphql(
        """mutation($n: String!) { createTeam(input: {name: $n}) { id name members { role } } }""",
        {"n": unique("GraphQL team")},
    )
    team = result["data"]["createTeam"]
    listed = await admin.graphql(
        "query($q: String) { teams(q: $q) { nodes { id } pagination { total } } viewer { id } }",
        {"q": team["name"]},
    )
    assert listed["data"]["teams"]["nodes"] == [{"id": team["id"]}]
    assert listed["data"]["viewer"]["id"] == admin.user_id


async def test_nested_fields_resolve_for_a_page(admin: Api) -> None:
    team = await admin.create("/api/teams", {"name": unique("Nested")})
    service = await admin.create("/api/services", {"name": unique("nested"), "team_id": team["id"]})
    for _ in range(3):
        incident = await open_incident(admin, service["id"], assignee_id=admin.user_id)
        await admin.post(f"/api/incidents/{incident['id']}/notes", {"content": "n"})
    result = await admin.graphql(
        """query($s: [ID!]) { incidents(filter: {serviceIds: $s}, limit: 100) { nodes {
             service { team { name } } assignee { id } notes { author { id } } } } }""",
        {"s": [service["id"]]},
    )
    nodes = result["data"]["incidents"]["nodes"]
    assert len(nodes) == 3
    for node in nodes:
        assert node["service"]["team"]["name"] == team["name"]
        assert node["assignee"]["id"] == admin.user_id
        assert node["notes"] == [{"author": {"id": admin.user_id}}]


_counting: ContextVar[bool] = ContextVar("counting", default=False)


class QueryCounter:
    """Counts the SQL statements run on behalf of requests made while it counts (the
    request runs in this task's context; background sweeps do not)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        client = connections.get("default")
        for name in ("execute_query", "execute_query_dict"):
            original = getattr(client, name)
            monkeypatch.setattr(client, name, self._counted(original))
        _counting.set(True)

    def _counted(self, original: Any) -> Any:
        async def run(*args: Any, **kwargs: Any) -> Any:
            if _counting.get():
                self.count += 1
            return await original(*args, **kwargs)

        return run


async def test_nested_fields_cost_a_constant_number_of_queries(
    unlimited: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = await make_api(unlimited)
    team = await api.create("/api/teams", {"name": unique("Loaded")})
    service = await api.create("/api/services", {"name": unique("loaded"), "team_id": team["id"]})
    for i in range(40):
        incident = await open_incident(api, service["id"], assignee_id=api.user_id)
        await api.post(f"/api/incidents/{incident['id']}/notes", {"content": f"note {i}"})
    query = """query($s: [ID!], $n: Int) { incidents(filter: {serviceIds: $s}, limit: $n) {
      nodes { service { team { name } } assignee { name } notes { author { name } } } } }"""

    async def queries_for(limit: int) -> int:
        counter = QueryCounter(monkeypatch)
        result = await api.graphql(query, {"s": [service["id"]], "n": limit})
        assert len(result["data"]["incidents"]["nodes"]) == limit
        return counter.count

    await queries_for(1)  # the key's first use records last_used_at: not part of the cost
    small, large = await queries_for(2), await queries_for(40)
    assert small == large, (small, large)
    assert large <= 10


async def test_the_total_is_counted_only_when_asked_for(
    unlimited: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = await make_api(unlimited)
    service = await api.create("/api/services", {"name": unique("counted")})
    for _ in range(5):
        await open_incident(api, service["id"])
    query = """query($s: [ID!], $n: Int) { incidents(filter: {serviceIds: $s}, limit: $n) {
      nodes { id } %s } }"""

    async def run(selection: str, limit: int) -> tuple[dict[str, Any], int]:
        counter = QueryCounter(monkeypatch)
        result = await api.graphql(query % selection, {"s": [service["id"]], "n": limit})
        return result["data"]["incidents"], counter.count

    await run("", 1)  # the key's first use records last_used_at
    _, nodes_only = await run("", 2)
    page, with_total = await run("pagination { total limit offset hasMore }", 2)
    assert page["pagination"] == {"total": 5, "limit": 2, "offset": 0, "hasMore": True}
    assert with_total == nodes_only + 1  # one count, shared by total and hasMore
    last, short_page = await run("pagination { hasMore }", 10)
    assert last["pagination"] == {"hasMore": False} and len(last["nodes"]) == 5
    assert short_page == nodes_only  # a short page is the last one: nothing to count


async def test_documents_with_too_many_tokens_are_refused(admin: Api) -> None:
    huge = "{ " + " ".join(f"a{i}: viewer {{ id }}" for i in range(1500)) + " }"
    result = await admin.graphql(huge)
    assert result["errors"][0]["extensions"]["code"] == "VALIDATION_ERROR"
    assert "token" in result["errors"][0]["message"].lower()


def _refusal(result: dict[str, Any]) -> dict[str, Any]:
    (error,) = result["errors"]
    assert error["extensions"]["code"] == "VALIDATION_ERROR", error
    assert result.get("data") is None
    details: dict[str, Any] = error["extensions"]["details"]
    return details


async def test_a_field_repeated_a_thousand_times_is_refused_before_validation(admin: Api) -> None:
    # ~14 KB: overlapping-fields validation would compare every pair (1.6 s of CPU).
    repeated = f"query Fresh{uuid.uuid4().hex} {{ " + "viewer{id} " * 1240 + "}"
    details = _refusal(await admin.graphql(repeated))
    assert details["limit"] == "selections" and details["max"] == documents.MAX_SELECTIONS
    spread = (
        "query { ...F ...F ...F } fragment F on Query { "
        + " ".join(f"a{i}: viewer {{ id }}" for i in range(90))
        + " }"
    )
    assert _refusal(await admin.graphql(spread))["limit"] == "selections"


async def test_a_query_that_would_read_too_much_is_refused_with_its_cost(admin: Api) -> None:
    page = "incidents(limit: 100) { nodes { ...IncidentFields } }"
    aliased = ops.document("{ " + " ".join(f"a{i}: {page}" for i in range(3)) + " }")
    details = _refusal(await admin.graphql(aliased))
    assert details["limit"] == "cost" and details["found"] > documents.MAX_COST
    # REST's own list page, 100 incidents with everything it shows, is within the limit.
    listed = await admin.graphql(ops.LIST_INCIDENTS, {"limit": 100})
    assert "errors" not in listed, listed["errors"]


async def test_comments_and_whitespace_count_toward_the_document_size(admin: Api) -> None:
    padded = "{ viewer { id } }\n" + "# padding\n" * 20_000
    details = _refusal(await admin.graphql(padded))
    assert details["limit"] == "document_size" and details["found"] == len(padded)


def test_the_document_caches_are_bounded_in_characters() -> None:
    memo: BoundedMemo[str, int] = BoundedMemo(1000, max_weight=100)
    for i in range(50):
        memo.put(f"k{i}", i, 30)
    assert memo.weight <= 100 and len(memo) == 3
    assert memo.get("k49") == 49 and memo.get("k0") is None
    memo.put("huge", 1, 101)
    assert memo.get("huge") is None
    text = "{ viewer { id } } " + "#" * 90_000
    documents.parse_document(text)
    assert documents._parsed.max_weight is not None
    assert documents._parsed.weight <= documents._parsed.max_weight


async def test_answers_with_integers_beyond_64_bits_still_encode(
    admin: Api, service: dict[str, Any]
) -> None:
    incident = await open_incident(admin, service["id"], custom_details={"huge": 2**70})
    result = await admin.graphql(
        "query($id: ID!) { incident(id: $id) { customDetails } }", {"id": incident["id"]}
    )
    assert result["data"]["incident"]["customDetails"] == {"huge": 2**70}


async def test_requests_strawberry_refuses_answer_in_the_error_envelope(admin: Api) -> None:
    mutation_over_get = await admin.get(
        "/graphql", params={"query": 'mutation { createTeam(input: {name: "x"}) { id } }'}
    )
    assert mutation_over_get.status_code == 400
    assert mutation_over_get.json()["error"]["code"] == "VALIDATION_ERROR"
    assert "GET" in mutation_over_get.json()["error"]["message"]
    no_query = await admin.post("/graphql", json={"variables": {}})
    assert no_query.status_code == 400
    assert no_query.json()["errors"][0]["extensions"]["code"] == "VALIDATION_ERROR"
