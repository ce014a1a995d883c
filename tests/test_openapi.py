"""The OpenAPI document covers every REST route, and real responses conform to it."""

from __future__ import annotations

import re
from typing import Any

import httpx
from jsonschema import Draft202012Validator

from opsknight.rest.routes import ROUTES
from tests.conftest import Api, open_incident, unique


async def document(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/api/openapi.json")
    assert response.status_code == 200
    result: dict[str, Any] = response.json()
    return result


def check(doc: dict[str, Any], path: str, method: str, response: httpx.Response) -> None:
    spec = doc["paths"][path][method.lower()]["responses"][str(response.status_code)]
    schema = spec["content"]["application/json"]["schema"]
    if "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    errors = sorted(Draft202012Validator(schema).iter_errors(response.json()), key=str)
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]]


async def test_every_route_is_in_the_document(client: httpx.AsyncClient) -> None:
    doc = await document(client)
    assert doc["openapi"].startswith("3.1")
    for route in ROUTES:
        path = re.sub(r"{(\w+):\w+}", r"{\1}", route.path)  # `{name:path}` is Starlette's
        operation = doc["paths"][path][route.method.lower()]
        assert str(route.status) in operation["responses"], route.path
        assert "400" in operation["responses"]
    create = doc["paths"]["/api/incidents"]["post"]["requestBody"]["content"]["application/json"][
        "schema"
    ]
    assert create["required"] == ["service_id", "title"]
    assert create["properties"]["urgency"]["anyOf"][0]["enum"] == ["HIGH", "MEDIUM", "LOW"]
    listing = doc["paths"]["/api/incidents"]["get"]
    assert {p["name"] for p in listing["parameters"]} >= {
        "status",
        "sort",
        "limit",
        "created_after",
    }


async def test_real_responses_conform(
    client: httpx.AsyncClient, admin: Api, service: dict[str, Any]
) -> None:
    doc = await document(client)
    incident = await open_incident(admin, service["id"], urgency="HIGH", priority="P2")
    await admin.post(f"/api/incidents/{incident['id']}/notes", {"content": "n"})
    samples = [
        ("/api/incidents/{id}", "GET", await admin.get(f"/api/incidents/{incident['id']}")),
        ("/api/incidents", "GET", await admin.get(f"/api/incidents?service_id={service['id']}")),
        (
            "/api/incidents/{id}",
            "PATCH",
            await admin.patch(f"/api/incidents/{incident['id']}", {"status": "ACKNOWLEDGED"}),
        ),
        ("/api/services/{id}", "GET", await admin.get(f"/api/services/{service['id']}")),
        ("/api/teams", "POST", await admin.post("/api/teams", {"name": unique("t")})),
        ("/api/users/me", "GET", await admin.get("/api/users/me")),
        (
            "/api/incidents/{incident_id}/timeline",
            "GET",
            await admin.get(f"/api/incidents/{incident['id']}/timeline"),
        ),
        (
            "/api/incidents",
            "POST",
            await admin.post("/api/incidents", {"service_id": service["id"]}),
        ),
        (
            "/api/incidents/{id}",
            "GET",
            await admin.get("/api/incidents/inc_00000000000000000000000000"),
        ),
    ]
    integration = await admin.create(f"/api/services/{service['id']}/integrations", {})
    event = await client.post("/v2/enqueue", json={"routing_key": integration["key"], "event_action": "trigger",
                                                  "payload": {"summary": "s", "severity": "info"}})  # fmt: skip
    samples.append(("/v2/enqueue", "POST", event))
    for path, method, response in samples:
        check(doc, path, method, response)
