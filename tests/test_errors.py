"""Every §1 error code from a real request, and the transport conventions around them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

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


async def test_unknown_fields_are_ignored(admin: Api) -> None:
    name = unique("svc")
    created = await admin.create(
        "/api/services", {"name": name, "color": "blue", "owner": {"x": 1}}
    )
    assert created["name"] == name


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
