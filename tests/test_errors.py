"""Every §1 error code from a real request, and the transport conventions around them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from opsknight.config import Settings
from tests.conftest import Api, make_api, open_incident, unique
from tests.servers import free_port, wait_until_up


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["details"], dict)
    assert "Traceback" not in response.text
    return error


async def test_unauthorized(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/api/services"), 401, "UNAUTHORIZED")


async def test_forbidden(client: httpx.AsyncClient) -> None:
    reader = await make_api(client, scopes=["services:read"])
    assert_error(await reader.get("/api/incidents"), 403, "FORBIDDEN")


async def test_not_found_for_resources_wrong_types_and_routes(admin: Api) -> None:
    assert_error(await admin.get("/api/incidents/inc_00000000000000000000000000"), 404, "NOT_FOUND")
    assert_error(await admin.get("/api/services/inc_00000000000000000000000000"), 404, "NOT_FOUND")
    assert_error(await admin.get("/api/no-such-route"), 404, "NOT_FOUND")
    assert_error(await admin.get("/nowhere"), 404, "NOT_FOUND")


async def test_wrong_method_is_405_json(admin: Api) -> None:
    response = await admin.request("PUT", "/api/incidents")
    assert_error(response, 405, "METHOD_NOT_ALLOWED")
    assert "GET" in response.headers["allow"]


async def test_validation_error_for_bad_json(admin: Api) -> None:
    response = await admin.request(
        "POST", "/api/services", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    error = assert_error(response, 400, "VALIDATION_ERROR")
    assert error["details"]["reason"] == "invalid_json"


async def test_validation_error_names_the_field(admin: Api, service: dict[str, Any]) -> None:
    cases: list[tuple[str, str, dict[str, Any], str, str]] = [
        ("POST", "/api/incidents", {"service_id": service["id"]}, "title", "required"),
        ("POST", "/api/incidents", {"title": 5, "service_id": service["id"]}, "title", "invalid"),
        ("POST", "/api/incidents", {"title": "x" * 256, "service_id": service["id"]}, "title", "too_long"),
        ("POST", "/api/incidents", {"title": "t", "service_id": service["id"], "urgency": "URGENT"}, "urgency", "invalid_enum"),
        ("POST", "/api/incidents", {"title": "t", "service_id": service["id"], "custom_details": [1]}, "custom_details", "invalid_type"),
        ("POST", "/api/services", {"name": ""}, "name", "required"),
        ("POST", "/api/services", {"name": "x" * 101}, "name", "too_long"),
        ("POST", "/api/users", {"name": "n", "email": "not-an-email"}, "email", "invalid"),
        ("POST", "/api/users", {"name": "n", "email": "a@example.com", "time_zone": "Mars/Base"}, "time_zone", "invalid"),
        ("POST", "/api/users", {"name": "n", "email": "a@example.com", "role": "KING"}, "role", "invalid_enum"),
        ("POST", "/api/api-keys", {"name": "k", "scopes": ["root:all"]}, "scopes", "invalid_enum"),
    ]  # fmt: skip
    for method, path, body, field, reason in cases:
        error = assert_error(await admin.request(method, path, json=body), 400, "VALIDATION_ERROR")
        assert error["details"]["field"] == field, (body, error)
        assert error["details"]["reason"] == reason, (body, error)


async def test_bad_query_parameters_name_the_parameter(admin: Api) -> None:
    cases = {
        "limit=0": "limit",
        "limit=101": "limit",
        "limit=abc": "limit",
        "offset=-1": "offset",
        "status=OPEN,NOPE": "status",
        "urgency=SEVERE": "urgency",
        "priority=P9": "priority",
        "sort=title": "sort",
        "order=sideways": "order",
        "created_after=2024-01-01T00:00:00": "created_after",
        "created_before=yesterday": "created_before",
        "include_merged=maybe": "include_merged",
    }
    for query, field in cases.items():
        error = assert_error(await admin.get(f"/api/incidents?{query}"), 400, "VALIDATION_ERROR")
        assert error["details"]["field"] == field, (query, error)


async def test_bad_input_changes_nothing(admin: Api, service: dict[str, Any]) -> None:
    incident = await open_incident(admin, service["id"])
    before = (await admin.get(f"/api/incidents/{incident['id']}")).json()["data"]
    bad = await admin.patch(
        f"/api/incidents/{incident['id']}",
        {"urgency": "HIGH", "priority": "P1", "status": "SNOOZED"},  # no snooze_duration
    )
    assert_error(bad, 400, "VALIDATION_ERROR")
    after = (await admin.get(f"/api/incidents/{incident['id']}")).json()["data"]
    assert after == before


async def test_invalid_status(admin: Api, service: dict[str, Any]) -> None:
    incident = await open_incident(admin, service["id"])
    await admin.patch(f"/api/incidents/{incident['id']}", {"status": "RESOLVED"})
    response = await admin.patch(f"/api/incidents/{incident['id']}", {"status": "ACKNOWLEDGED"})
    error = assert_error(response, 400, "INVALID_STATUS")
    assert error["details"] == {"from": "RESOLVED", "to": "ACKNOWLEDGED"}


async def test_conflicts(admin: Api, service: dict[str, Any]) -> None:
    duplicate = await admin.post("/api/services", {"name": service["name"].upper()})
    assert_error(duplicate, 409, "CONFLICT")
    incident = await open_incident(admin, service["id"])
    stale = await admin.patch(
        f"/api/incidents/{incident['id']}", {"urgency": "HIGH"}, headers={"If-Match": '"stale"'}
    )
    assert_error(stale, 409, "CONFLICT")
    assert_error(await admin.delete(f"/api/services/{service['id']}"), 409, "CONFLICT")


async def test_payload_too_large(admin: Api, settings: Settings) -> None:
    big = {"name": "x", "description": "y" * (settings.max_body_bytes + 10)}
    assert_error(await admin.post("/api/services", big), 413, "PAYLOAD_TOO_LARGE")


async def test_internal_error_has_no_stack_trace(tmp_path: Path, admin: Api) -> None:
    # A server on a database with no tables (never migrated): every query fails inside it.
    port = free_port()
    env = {**os.environ, "OPSKNIGHT_DATABASE_URL": f"sqlite://{tmp_path / 'empty.db'}"}
    server = subprocess.Popen(
        [sys.executable, "-m", "opsknight.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            await wait_until_up(client)
            response = await client.get("/api/incidents", headers=admin.headers)
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=10)
    error = assert_error(response, 500, "INTERNAL_ERROR")
    assert error["message"] == "Internal server error"
    assert response.headers["x-request-id"]
    assert b"no such table" in stderr  # the cause is logged for the operator, not sent


async def test_request_id_is_echoed_or_generated(client: httpx.AsyncClient, admin: Api) -> None:
    echoed = await admin.get("/api/users/me", headers={"X-Request-ID": "trace-123"})
    assert echoed.headers["x-request-id"] == "trace-123"
    generated = await client.get("/api/users/me")
    assert len(generated.headers["x-request-id"]) >= 16
    assert (await client.get("/api/nope")).headers["x-request-id"]


@pytest.mark.parametrize(
    ("method", "body", "field", "suggestion"),
    [
        ("POST", {"title": "t", "severity": "HIGH"}, "severity", "urgency"),
        ("POST", {"title": "t", "urgncy": "HIGH"}, "urgency_typo", "urgency"),
        ("PATCH", {"state": "ACKNOWLEDGED"}, "state", "status"),
    ],
)
async def test_unknown_body_fields_are_refused_with_the_closest_known_name(
    admin: Api,
    service: dict[str, Any],
    method: str,
    body: dict[str, Any],
    field: str,
    suggestion: str,
) -> None:
    incident = await open_incident(admin, service["id"])
    before = (await admin.get(f"/api/incidents/{incident['id']}")).json()["data"]
    if field == "urgency_typo":
        field = "urgncy"
    if method == "POST":
        response = await admin.post("/api/incidents", {**body, "service_id": service["id"]})
    else:
        response = await admin.patch(f"/api/incidents/{incident['id']}", body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert error["details"]["field"] == field
    assert error["details"]["reason"] == "unknown_field"
    assert error["details"]["suggestion"] == suggestion
    assert f"did you mean {suggestion}?" in error["message"]
    after = (await admin.get(f"/api/incidents/{incident['id']}")).json()["data"]
    assert after["status"] == before["status"] and after["updated_at"] == before["updated_at"]


async def test_unknown_nested_fields_are_named_with_their_path(admin: Api) -> None:
    user = await admin.create("/api/users", {"name": "n", "email": f"{unique('u')}@x.io"})
    step = {"target_type": "USER", "target_id": user["id"], "delay_minute": 5}
    response = await admin.post("/api/escalation-policies", {"name": unique("p"), "steps": [step]})
    assert response.status_code == 400, response.text
    details = response.json()["error"]["details"]
    assert (details["field"], details["suggestion"]) == ("steps[0].delay_minute", "delay_minutes")


async def test_unknown_top_level_fields_of_spread_bodies_are_refused(
    admin: Api, service: dict[str, Any]
) -> None:
    incident = await open_incident(admin, service["id"])
    bulk = await admin.post(
        "/api/incidents/bulk",
        {"incident_ids": [incident["id"]], "update": {"status": "ACKNOWLEDGED"}},
    )
    assert bulk.status_code == 400, bulk.text
    assert bulk.json()["error"]["details"]["suggestion"] == "updates"
    # A body field may not stand in for the path's id either.
    merge = await admin.post(f"/api/incidents/{incident['id']}/merge", {"id": "inc_x"})
    assert merge.status_code == 400, merge.text


async def test_events_and_inbound_formats_keep_accepting_extra_fields(
    admin: Api, service: dict[str, Any]
) -> None:
    integration = await admin.create(
        f"/api/services/{service['id']}/integrations", {"name": "i", "type": "events_api"}
    )
    event = {"routing_key": integration["key"], "event_action": "trigger", "sender_extra": 1,
             "payload": {"summary": "s", "source": "h", "severity": "info", "mine": True}}  # fmt: skip
    response = await admin.client.post("/v2/enqueue?sender=x", json=event)
    assert response.status_code == 202, response.text


@pytest.mark.parametrize(
    ("query", "given", "suggestion"),
    [
        ("servce_id=svc_x", "servce_id", "service_id"),
        ("stauts=OPEN", "stauts", "status"),
        ("severity=HIGH", "severity", "urgency"),
    ],
)
async def test_unknown_query_parameters_are_refused_with_the_closest_known_name(
    admin: Api, query: str, given: str, suggestion: str
) -> None:
    for path in ("/api/incidents", "/api/incidents/stream"):
        response = await admin.get(f"{path}?{query}")
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert error["details"]["field"] == given
        assert error["details"]["suggestion"] == suggestion
        assert f"did you mean {suggestion}?" in error["message"]
    listed = await admin.get("/api/services?tema_id=x")
    assert listed.json()["error"]["details"]["suggestion"] == "team_id"


async def test_query_parameters_take_their_camel_case_aliases(
    admin: Api, service: dict[str, Any]
) -> None:
    other = await admin.create("/api/services", {"name": unique("svc")})
    mine = await open_incident(admin, service["id"])
    await open_incident(admin, other["id"])
    for name in ("service_id", "serviceId"):
        listed = await admin.get(
            f"/api/incidents?{name}={service['id']}&createdAfter=2000-01-01T00:00:00Z"
        )
        assert listed.status_code == 200, listed.text
        assert [i["id"] for i in listed.json()["data"]] == [mine["id"]]


async def test_hostile_input_is_400_never_500(admin: Api, service: dict[str, Any]) -> None:
    nul_body = b'{"title": "a\\u0000b", "service_id": "' + service["id"].encode() + b'"}'
    deep = b'{"title": ' + b"[" * 30_000 + b"]" * 30_000 + b"}"
    for body in (nul_body, deep, b"\xff\xfe", b"[]", b'"text"', b"12"):
        response = await admin.request("POST", "/api/incidents", content=body)
        assert response.status_code == 400, (body[:40], response.text)
    for path in (
        "/api/incidents?q=%00",
        "/api/incidents/inc_%00",
        "/api/incidents?limit=99999999999",
        "/api/incidents?offset=99999999999",
        "/api/incidents?created_after=0001-01-01T00:00:00%2B14:00",
    ):
        response = await admin.get(path)
        assert response.status_code in (400, 404), (path, response.text)
    huge = await admin.patch(
        f"/api/incidents/{(await open_incident(admin, service['id']))['id']}",
        {"snooze_duration": 2**40, "status": "SNOOZED"},
    )
    assert huge.status_code == 400


async def test_overlong_ids_are_malformed_input_not_server_errors(admin: Api) -> None:
    long_id = "x" * 300
    for method, path in (
        ("GET", f"/api/services/{long_id}/changes"),
        ("DELETE", f"/api/users/{long_id}/contact-methods/{long_id}"),
        ("GET", f"/api/on-call?schedule_id={long_id}"),
    ):
        response = await admin.request(method, path)
        assert response.status_code in (400, 404), (path, response.text)
        assert response.json()["error"]["code"] in ("VALIDATION_ERROR", "NOT_FOUND")


async def test_get_on_bulk_is_405_like_get_on_merge(admin: Api) -> None:
    for path in ("/api/incidents/bulk", "/api/incidents/inc_x/merge"):
        response = await admin.get(path)
        assert response.status_code == 405, (path, response.text)
        assert response.json()["error"]["code"] == "METHOD_NOT_ALLOWED"
        assert response.headers["allow"] == "POST"


async def test_a_key_without_its_scheme_gets_a_hint_to_use_bearer(admin: Api) -> None:
    response = await admin.client.get("/api/incidents", headers={"Authorization": admin.key})
    assert response.status_code == 401
    assert "Bearer" in response.json()["error"]["message"]
    basic = await admin.client.get("/api/incidents", headers={"Authorization": "Basic eDp5"})
    assert basic.status_code == 401 and "Bearer" in basic.json()["error"]["message"]


async def test_the_stream_answers_bad_parameters_in_the_common_error_shape(admin: Api) -> None:
    response = await admin.get("/api/incidents/stream?status=NOPE")
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["details"]["allowed"] == [
        "OPEN", "ACKNOWLEDGED", "RESOLVED", "SNOOZED", "SUPPRESSED",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("GET", "/api/incidents?urgency=URGENT", None, "urgency"),
        ("POST", "/api/incidents", {"title": "t", "urgency": "URGENT"}, "urgency"),
        ("GET", "/api/users?role=BOSS", None, "role"),
    ],
)
async def test_enum_errors_list_the_allowed_values(
    admin: Api, service: dict[str, Any], method: str, path: str, body: Any, field: str
) -> None:
    if body is not None:
        body["service_id"] = service["id"]
    response = await admin.request(method, path, json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["details"]["field"] == field
    assert error["details"]["reason"] == "invalid_enum"
    assert error["details"]["allowed"]
    for value in error["details"]["allowed"]:
        assert value in error["message"]


@pytest.mark.parametrize(
    "query",
    [
        '{ incidents(filter: {q: "\\ud800"}) { pagination { total } } }',
        '{ incidents(filter: {q: "a\\u0000b"}) { pagination { total } } }',
        "{ incidents(limit: " + "9" * 5000 + ") { pagination { total } } }",
        'mutation { createTeam(input: {name: "\\udfff"}) { id } }',
    ],
)
async def test_graphql_literals_that_cannot_be_stored_are_validation_errors(
    admin: Api, query: str
) -> None:
    answer = await admin.graphql(query)
    assert answer["errors"][0]["extensions"]["code"] == "VALIDATION_ERROR", answer


async def test_smaller_inputs_that_were_500s_are_400s(admin: Api, service: dict[str, Any]) -> None:
    # Over SQLite's 50,000-byte LIKE pattern ("LIKE or GLOB pattern too complex").
    answer = await admin.graphql(
        "query($q: String) { incidents(filter: {q: $q}) { pagination { total } } }",
        {"q": "%_" * 30_000},
    )
    assert answer["errors"][0]["extensions"]["code"] == "VALIDATION_ERROR", answer
    assert answer["errors"][0]["extensions"].get("details", {}).get("field") == "q", answer[
        "errors"
    ][0]
    for path in ("/api/incidents", "/api/users", "/api/services", "/api/teams"):
        assert (await admin.get(path, params={"q": "x" * 300})).status_code == 400
    integration = await admin.create(
        f"/api/services/{service['id']}/integrations", {"name": "i", "type": "events_api"}
    )
    for stamp in ("9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"):
        event = {"routing_key": integration["key"], "event_action": "trigger",
                 "payload": {"summary": "s", "source": "h", "severity": "info", "timestamp": stamp}}  # fmt: skip
        response = await admin.client.post("/v2/enqueue", json=event)
        assert response.status_code == 400, response.text
        assert response.json()["status"] == "invalid event"
    edge = await admin.get("/api/incidents", params={"created_after": "9999-12-31T23:59:59-14:00"})
    assert edge.status_code == 400, edge.text
