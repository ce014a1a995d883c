"""The GraphQL endpoint: the committed SDL, errors with codes, and REST parity."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from opsknight.graphql.schema import sdl
from tests.conftest import Api, open_incident, unique

ROOT = Path(__file__).resolve().parent.parent


def test_committed_schema_is_current() -> None:
    committed = (ROOT / "schema.graphql").read_text()
    assert committed == sdl(), (
        "schema.graphql is stale: run `opsknight export-schema -o schema.graphql`"
    )


async def test_graphiql_is_served(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


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
