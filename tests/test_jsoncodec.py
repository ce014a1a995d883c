"""Hostile JSON through every entry point: refused with a 400 naming the field, nothing
stored, and rows stored before the rules still readable."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import websockets
from tortoise import connections

from opsknight import jsoncodec
from opsknight.errors import ValidationFailed
from tests.conftest import Api, make_api, open_incident
from tests.servers import graphql_socket

TRIGGER = '{"routing_key":"KEY","event_action":"trigger","payload":{"summary":"s","source":"h","severity":"critical","custom_details":{"x":VALUE}}}'

# (raw JSON value, field reason): each is accepted by Python's json, not by ours.
BAD_VALUES = [
    ("NaN", "not_finite"),
    ("Infinity", "not_finite"),
    ("-Infinity", "not_finite"),
    ("1e999", "not_finite"),
    ('"\\ud800"', "invalid_unicode"),
    ('"a\\udfffb"', "invalid_unicode"),
    ('{"\\ud800": 1}', "invalid_unicode"),
    ('"\\u0000"', "nul"),
    ("[" * 70 + "]" * 70, "too_deep"),
    ("1" * 4400, "number_too_long"),
]


@pytest.mark.parametrize(("value", "reason"), BAD_VALUES)
def test_the_decoder_refuses_what_python_accepts_but_json_or_storage_cannot_hold(
    value: str, reason: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        jsoncodec.decode('{"a": {"b": VALUE}}'.replace("VALUE", value))
    assert refused.value.reason == reason
    if reason not in ("number_too_long",):
        assert refused.value.field is not None and refused.value.field.startswith("a.b")


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"\xff\xfe{}", "invalid_encoding"),
        (b"\xc3\x28", "invalid_encoding"),
        (b"{", "invalid_json"),
        (b"null", "invalid_type"),
        (b'"hello"', "invalid_type"),
        (b"[1, 2]", "invalid_type"),
        (b"[" * 100_000, "too_deep"),
    ],
)
def test_the_decoder_refuses_bodies_that_are_not_a_json_object(raw: bytes, reason: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        jsoncodec.decode(raw)
    assert refused.value.reason == reason


def test_the_decoder_keeps_what_json_allows() -> None:
    body = '\ufeff{"big": 123456789012345678901234567890, "emoji": "\\ud83d\\ude00", "f": 1.5e300}'
    assert jsoncodec.decode(body.encode()) == {
        "big": 123456789012345678901234567890,
        "emoji": "😀",
        "f": 1.5e300,
    }


def test_the_encoder_writes_any_stored_value() -> None:
    stored = {"nan": float("nan"), "inf": float("inf"), "s": "a\ud800b", "\udfff": 2**80}
    assert json.loads(jsoncodec.encode(stored)) == {
        "nan": None,
        "inf": None,
        "s": "a\ufffdb",
        "\ufffd": 2**80,
    }


async def _incident_count(admin: Api) -> int:
    response = await admin.get("/api/incidents", params={"limit": 1, "include_merged": "true"})
    assert response.status_code == 200, response.text
    total: int = response.json()["pagination"]["total"]
    return total


@pytest.fixture
async def integration(admin: Api, service: dict[str, Any]) -> dict[str, Any]:
    return await admin.create(
        f"/api/services/{service['id']}/integrations", {"name": "probe", "type": "events_api"}
    )


@pytest.mark.parametrize(("value", "reason"), BAD_VALUES)
async def test_events_with_bad_values_are_refused_in_the_events_shape_and_nothing_is_stored(
    admin: Api, integration: dict[str, Any], value: str, reason: str
) -> None:
    before = await _incident_count(admin)
    for path in ("/v2/enqueue", "/api/events"):
        body = TRIGGER.replace("KEY", integration["key"]).replace("VALUE", value).encode()
        response = await admin.client.post(
            path, content=body, headers={"content-type": "application/json"}
        )
        assert response.status_code == 400, response.text
        answer = response.json()
        assert answer["status"] == "invalid event"
        assert answer["error"]["code"] == "VALIDATION_ERROR"
        assert answer["error"]["details"]["reason"] == reason
    assert await _incident_count(admin) == before
    # Every read still answers.
    assert (await admin.get("/api/incidents")).status_code == 200


@pytest.mark.parametrize("path", ["/api/integrations/alertmanager", "/api/integrations/webhook"])
async def test_inbound_formats_refuse_bad_values(
    admin: Api, integration: dict[str, Any], path: str
) -> None:
    before = await _incident_count(admin)
    body = b'{"alerts": [{"status": "firing", "labels": {"alertname": NaN}}], "title": NaN}'
    response = await admin.client.post(
        f"{path}?integration_key={integration['key']}",
        content=body,
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["details"]["reason"] == "not_finite"
    assert await _incident_count(admin) == before


@pytest.mark.parametrize(("value", "reason"), BAD_VALUES)
async def test_rest_bodies_refuse_bad_values_naming_the_field(
    admin: Api, service: dict[str, Any], value: str, reason: str
) -> None:
    before = await _incident_count(admin)
    body = '{"title": "t", "service_id": "SVC", "custom_details": {"x": VALUE}}'
    body = body.replace("SVC", service["id"]).replace("VALUE", value)
    response = await admin.post(
        "/api/incidents", content=body.encode(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert error["details"]["reason"] == reason
    assert await _incident_count(admin) == before


@pytest.mark.parametrize("body", [b"null", b'"hello"', b"[1]", b"\xff\xfe", b"{"])
async def test_rest_and_graphql_refuse_bodies_that_are_not_json_objects(
    admin: Api, body: bytes
) -> None:
    for path in ("/api/incidents", "/graphql"):
        response = await admin.post(
            path, content=body, headers={"content-type": "application/json"}
        )
        assert response.status_code == 400, (path, response.text)
        assert response.json()["error"]["code"] == "VALIDATION_ERROR"
        if path == "/graphql":
            assert response.json()["errors"][0]["extensions"]["code"] == "VALIDATION_ERROR"


@pytest.mark.parametrize(("value", "reason"), BAD_VALUES)
async def test_graphql_variables_refuse_bad_values_over_post_and_get(
    admin: Api, value: str, reason: str
) -> None:
    query = "query($x: JSON) { viewer { id } }"
    body = '{"query": QUERY, "variables": {"x": VALUE}}'
    body = body.replace("QUERY", json.dumps(query)).replace("VALUE", value)
    response = await admin.post(
        "/graphql", content=body.encode(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["details"]["reason"] == reason
    response = await admin.get(
        "/graphql", params={"query": query, "variables": '{"x": VALUE}'.replace("VALUE", value)}
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["details"]["reason"] == reason
    if reason != "number_too_long":
        assert error["details"]["field"].startswith("variables.x")


async def test_rows_stored_before_the_rules_still_read(admin: Api, service: dict[str, Any]) -> None:
    incident = await open_incident(admin, service["id"], custom_details={"x": 1})
    connection = connections.get("default")
    if connection.capabilities.dialect != "sqlite":
        pytest.skip("PostgreSQL's jsonb refuses NaN and lone surrogates at insert")
    await connection.execute_query(
        "UPDATE incidents SET custom_details = ?, title = ? WHERE id = ?",
        ['{"x": NaN, "y": Infinity, "z": "\\ud800"}', "bad", incident["id"]],
    )
    listed = await admin.get("/api/incidents", params={"limit": 100})
    assert listed.status_code == 200, listed.text
    one = await admin.get(f"/api/incidents/{incident['id']}")
    assert one.status_code == 200, one.text
    assert one.json()["data"]["custom_details"] == {"x": None, "y": None, "z": "\ufffd"}
    answer = await admin.graphql(
        "query($id: ID!) { incident(id: $id) { customDetails } }", {"id": incident["id"]}
    )
    assert answer["data"]["incident"]["customDetails"] == {"x": None, "y": None, "z": "\ufffd"}


@pytest.mark.parametrize(
    "message",
    [
        '{"type": "ping", "payload": {"x": NaN}}',
        '"\\ud800"',
        # JSON, but not a protocol message: each crashed the handler (a reset, no close code).
        "null",
        '"hello"',
        "[1, 2]",
        '{"id": "1", "type": "subscribe", "payload": [1]}',
        '{"id": "1", "type": "subscribe", "payload": {"query": 5}}',
    ],
)
async def test_a_websocket_message_with_bad_json_closes_the_socket_with_4400(
    served_url: str, unlimited: httpx.AsyncClient, message: str
) -> None:
    admin = await make_api(unlimited)
    async with graphql_socket(served_url, admin.key) as socket:
        await socket.send(message)
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(socket.recv(), 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4400
