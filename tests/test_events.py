"""The Events API (SPEC §6): routing, actions, dedup, validation, change events, inbound."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.conftest import Api, make_api, unique


@pytest.fixture
async def integration(admin: Api, service: dict[str, Any]) -> dict[str, Any]:
    return await admin.create(f"/api/services/{service['id']}/integrations", {"name": "Prometheus"})


def trigger(dedup_key: str | None = None, **payload: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "event_action": "trigger",
        "payload": {
            "summary": "High CPU on web-1",
            "source": "web-1",
            "severity": "critical",
            **payload,
        },
    }
    if dedup_key is not None:
        body["dedup_key"] = dedup_key
    return body


async def send(
    client: httpx.AsyncClient, body: Any, path: str = "/api/events", **kwargs: Any
) -> httpx.Response:
    return await client.post(path, json=body, **kwargs)


async def test_routing_forms(
    client: httpx.AsyncClient, admin: Api, service: dict[str, Any], integration: dict[str, Any]
) -> None:
    key = integration["key"]
    # 1. Token header
    by_header = await send(
        client, trigger(unique("a")), headers={"Authorization": f"Token token={key}"}
    )
    # 2. routing_key = integration key, no other credential (both paths)
    by_routing_key = await send(client, {**trigger(unique("b")), "routing_key": key}, "/v2/enqueue")
    # 3. API key + service_id, + routing_key = service id, + routing_key = service name
    by_service_id = await send(
        client, {**trigger(unique("c")), "service_id": service["id"]}, headers=admin.headers
    )
    by_id_key = await send(
        client, {**trigger(unique("d")), "routing_key": service["id"]}, headers=admin.headers
    )
    by_name = await send(
        client,
        {**trigger(unique("e")), "routing_key": service["name"].upper()},
        headers=admin.headers,
    )
    for response in (by_header, by_routing_key, by_service_id, by_id_key, by_name):
        assert response.status_code == 202, response.text
        assert response.json()["data"]["action"] == "triggered"
    incidents = (await admin.get(f"/api/incidents?service_id={service['id']}&limit=100")).json()[
        "data"
    ]
    assert len(incidents) == 5
    by_integration = [i for i in incidents if i["integration"]]
    assert len(by_integration) == 2 and by_integration[0]["integration"]["id"] == integration["id"]
    timeline = (await admin.get(f"/api/incidents/{by_integration[0]['id']}/timeline")).json()[
        "data"
    ]
    assert timeline[0]["actor"] == {
        "type": "integration",
        "id": integration["id"],
        "name": "Prometheus",
    }


async def test_routing_errors(
    client: httpx.AsyncClient, admin: Api, integration: dict[str, Any]
) -> None:
    unknown_token = await send(
        client, trigger(), headers={"Authorization": "Token token=" + "0" * 32}
    )
    assert unknown_token.status_code == 403
    assert unknown_token.json()["error"]["code"] == "FORBIDDEN"
    unknown_routing = await send(client, {**trigger(), "routing_key": "f" * 32})
    assert unknown_routing.status_code == 400
    body = unknown_routing.json()
    assert body["status"] == "invalid event" and body["message"] == "Event object is invalid"
    assert any("f" * 32 in e for e in body["errors"])
    assert body["error"]["code"] == "VALIDATION_ERROR"
    unknown_service = await send(
        client, {**trigger(), "service_id": "svc_00000000000000000000000000"}, headers=admin.headers
    )
    assert unknown_service.status_code == 404
    unknown_name = await send(
        client, {**trigger(), "routing_key": "no-such-service"}, headers=admin.headers
    )
    assert unknown_name.status_code == 404
    nothing = await send(client, trigger())
    assert nothing.status_code == 401
    no_scope = await make_api(client, scopes=["incidents:read"])
    denied = await send(
        client, {**trigger(), "routing_key": integration["service_id"]}, headers=no_scope.headers
    )
    assert denied.status_code == 403


async def test_dedup_ack_resolve_and_retrigger(
    client: httpx.AsyncClient, admin: Api, integration: dict[str, Any]
) -> None:
    key = integration["key"]
    dedup = unique("disk")
    first = (await send(client, {**trigger(dedup), "routing_key": key})).json()
    assert first["status"] == "success" and first["message"] == "Event processed"
    assert first["dedup_key"] == dedup and first["data"]["dedup_key"] == dedup
    incident = first["data"]["incident"]
    assert (
        incident["status"] == "OPEN" and incident["urgency"] == "HIGH" and incident["number"] >= 1
    )
    again = (await send(client, {**trigger(dedup), "routing_key": key})).json()["data"]
    assert again["action"] == "deduplicated" and again["incident"]["id"] == incident["id"]
    ack = (
        await send(client, {"routing_key": key, "event_action": "acknowledge", "dedup_key": dedup})
    ).json()["data"]
    assert ack["action"] == "acknowledged" and ack["incident"]["status"] == "ACKNOWLEDGED"
    ack_again = (
        await send(client, {"routing_key": key, "event_action": "acknowledge", "dedup_key": dedup})
    ).json()["data"]
    assert ack_again["action"] == "acknowledged"
    resolved = (
        await send(client, {"routing_key": key, "event_action": "resolve", "dedup_key": dedup})
    ).json()["data"]
    assert resolved["action"] == "resolved" and resolved["incident"]["status"] == "RESOLVED"
    late = (
        await send(client, {"routing_key": key, "event_action": "resolve", "dedup_key": dedup})
    ).json()["data"]
    assert late == {"action": "ignored", "dedup_key": dedup, "incident": None}
    unknown_ack = await send(
        client, {"routing_key": key, "event_action": "acknowledge", "dedup_key": unique("none")}
    )
    assert unknown_ack.status_code == 202 and unknown_ack.json()["data"]["action"] == "ignored"
    reopened = (await send(client, {**trigger(dedup), "routing_key": key})).json()["data"]
    assert reopened["action"] == "triggered" and reopened["incident"]["id"] != incident["id"]
    full = (await admin.get(f"/api/incidents/{incident['id']}")).json()["data"]
    assert full["alert_count"] == 2
    assert [e["type"] for e in full["timeline"]] == [
        "created",
        "alert_added",
        "acknowledged",
        "resolved",
    ]
    alerts = (await admin.get(f"/api/incidents/{incident['id']}/alerts")).json()
    assert [a["action"] for a in alerts["data"]] == ["trigger", "trigger", "acknowledge", "resolve"]
    assert alerts["data"][0]["payload"]["payload"]["summary"] == "High CPU on web-1"
    assert "routing_key" not in alerts["data"][0]["payload"]
    assert alerts["data"][0]["integration_id"] == integration["id"]


async def test_trigger_fields_show_on_the_incident(
    client: httpx.AsyncClient, admin: Api, integration: dict[str, Any]
) -> None:
    body = {
        **trigger(
            unique("full"),
            component="db",
            group="prod",
            **{"class": "disk"},
            custom_details={"free": "1%"},
            timestamp="2024-01-15T10:30:00+01:00",
        ),
        "routing_key": integration["key"],
        "links": [{"href": "https://example.com/runbook", "text": "Runbook"}],
        "images": [
            {
                "src": "https://example.com/graph.png",
                "href": "https://example.com/g",
                "alt": "graph",
            }
        ],
        "client": "Prometheus",
        "client_url": "https://prometheus.example.com",
    }
    incident_id = (await send(client, body)).json()["data"]["incident"]["id"]
    data = (await admin.get(f"/api/incidents/{incident_id}")).json()["data"]
    assert (data["component"], data["group"], data["class"]) == ("db", "prod", "disk")
    assert data["client"] == "Prometheus" and data["client_url"] == "https://prometheus.example.com"
    assert data["links"] == [{"href": "https://example.com/runbook", "text": "Runbook"}]
    assert data["images"] == [
        {"src": "https://example.com/graph.png", "href": "https://example.com/g", "alt": "graph"}
    ]
    assert data["custom_details"] == {"free": "1%"} and '"free": "1%"' in data["description"]
    assert data["source"] == "web-1" and data["title"] == "High CPU on web-1"


@pytest.mark.parametrize(
    ("severity", "urgency"),
    [("critical", "HIGH"), ("error", "MEDIUM"), ("warning", "MEDIUM"), ("info", "LOW")],
)
async def test_severity_maps_to_urgency(
    client: httpx.AsyncClient, integration: dict[str, Any], severity: str, urgency: str
) -> None:
    response = await send(client, {**trigger(severity=severity), "routing_key": integration["key"]})
    assert response.json()["data"]["incident"]["urgency"] == urgency


async def test_trigger_without_dedup_key_gets_a_fresh_one(
    client: httpx.AsyncClient, integration: dict[str, Any]
) -> None:
    first = (await send(client, {**trigger(), "routing_key": integration["key"]})).json()
    second = (await send(client, {**trigger(), "routing_key": integration["key"]})).json()
    assert first["dedup_key"] and first["dedup_key"] != second["dedup_key"]
    assert first["data"]["incident"]["id"] != second["data"]["incident"]["id"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"event_action": "explode", "dedup_key": "x"}, "event_action must be one of"),
        ({"dedup_key": "x"}, "event_action is required"),
        ({"event_action": "trigger"}, "payload is required"),
        ({"event_action": "trigger", "payload": "text"}, "payload must be an object"),
        (
            {"event_action": "trigger", "payload": {"severity": "critical"}},
            "payload.summary is required",
        ),
        (
            {"event_action": "trigger", "payload": {"summary": "s", "severity": "loud"}},
            "payload.severity must be one of",
        ),
        (
            {"event_action": "trigger", "payload": {"summary": "s", "severity": ["critical"]}},
            "payload.severity must be one of",
        ),
        ({"event_action": {"trigger": True}, "dedup_key": "x"}, "event_action must be one of"),
        (
            {"event_action": "trigger", "payload": {"summary": "s" * 1025, "severity": "info"}},
            "payload.summary must be at most 1024",
        ),
        (
            {
                "event_action": "trigger",
                "dedup_key": "d" * 256,
                "payload": {"summary": "s", "severity": "info"},
            },
            "dedup_key must be at most 255",
        ),
        (
            {
                "event_action": "trigger",
                "payload": {"summary": "s", "severity": "info", "source": "s" * 256},
            },
            "payload.source must be at most 255",
        ),
        ({"event_action": "acknowledge"}, "dedup_key is required"),
        (
            {
                "event_action": "trigger",
                "payload": {"summary": "s", "severity": "info", "custom_details": [1]},
            },
            "payload.custom_details must be an object",
        ),
        (
            {
                "event_action": "trigger",
                "payload": {"summary": "s", "severity": "info", "timestamp": "yesterday"},
            },
            "payload.timestamp",
        ),
    ],
)
async def test_bad_events_are_400_in_both_shapes_and_store_nothing(
    client: httpx.AsyncClient,
    admin: Api,
    service: dict[str, Any],
    integration: dict[str, Any],
    body: dict[str, Any],
    expected: str,
) -> None:
    response = await send(client, {**body, "routing_key": integration["key"]})
    assert response.status_code == 400, response.text
    data = response.json()
    assert data["status"] == "invalid event" and data["message"] == "Event object is invalid"
    assert any(expected in problem for problem in data["errors"]), data["errors"]
    assert data["error"]["code"] == "VALIDATION_ERROR"
    listed = await admin.get(f"/api/incidents?service_id={service['id']}")
    assert listed.json()["pagination"]["total"] == 0


async def test_malformed_bodies_are_400_in_pagerduty_shape(
    client: httpx.AsyncClient, integration: dict[str, Any]
) -> None:
    for content in (b"{nope", b"[1, 2]", b'"trigger"'):
        response = await client.post(
            "/v2/enqueue",
            content=content,
            headers={"Authorization": f"Token token={integration['key']}"},
        )
        assert response.status_code == 400
        assert response.json()["status"] == "invalid event"


async def test_body_up_to_512_kb_is_accepted(
    client: httpx.AsyncClient, integration: dict[str, Any]
) -> None:
    big = trigger(unique("big"), custom_details={"blob": "x" * (500 * 1024)})
    response = await send(client, {**big, "routing_key": integration["key"]})
    assert response.status_code == 202, response.text[:200]


async def test_camel_case_aliases(client: httpx.AsyncClient, integration: dict[str, Any]) -> None:
    body = {
        "routingKey": integration["key"],
        "eventAction": "trigger",
        "dedupKey": unique("camel"),
        "payload": {"summary": "s", "severity": "info", "customDetails": {"a": 1}},
    }
    response = await send(client, body)
    assert response.status_code == 202 and response.json()["dedup_key"] == body["dedupKey"]


async def test_test_key_events_stay_in_the_sandbox(
    client: httpx.AsyncClient, admin: Api, service: dict[str, Any]
) -> None:
    sandbox = await make_api(client, environment="test")
    dedup = unique("sandboxed")
    test_event = await send(
        client, {**trigger(dedup), "service_id": service["id"]}, headers=sandbox.headers
    )
    live_event = await send(
        client, {**trigger(dedup), "service_id": service["id"]}, headers=admin.headers
    )
    assert test_event.json()["data"]["action"] == live_event.json()["data"]["action"] == "triggered"
    test_incident = test_event.json()["data"]["incident"]["id"]
    assert (await sandbox.get(f"/api/incidents/{test_incident}")).json()["data"][
        "environment"
    ] == "test"
    assert (await admin.get(f"/api/incidents/{test_incident}")).status_code == 404


async def test_concurrent_triggers_in_process_make_one_incident(
    client: httpx.AsyncClient, admin: Api, integration: dict[str, Any]
) -> None:
    dedup = unique("storm")
    responses = await asyncio.gather(
        *(send(client, {**trigger(dedup), "routing_key": integration["key"]}) for _ in range(20))
    )
    actions = sorted(r.json()["data"]["action"] for r in responses)
    assert actions == ["deduplicated"] * 19 + ["triggered"]
    assert len({r.json()["data"]["incident"]["id"] for r in responses}) == 1
    incident = (
        await admin.get(f"/api/incidents/{responses[0].json()['data']['incident']['id']}")
    ).json()["data"]
    assert incident["alert_count"] == 20


async def test_change_events(
    client: httpx.AsyncClient, admin: Api, service: dict[str, Any], integration: dict[str, Any]
) -> None:
    change = await client.post(
        "/v2/change/enqueue",
        json={
            "routing_key": integration["key"],
            "payload": {
                "summary": "Deployed v42",
                "source": "ci",
                "custom_details": {"sha": "abc"},
            },
            "links": [{"href": "https://ci.example.com/42", "text": "build"}],
        },
    )
    assert change.status_code == 202, change.text
    created = change.json()["data"]
    assert created["id"].startswith("chg_") and created["service_id"] == service["id"]
    assert change.json()["status"] == "success"
    old = await client.post(
        "/v2/change/enqueue",
        json={
            "routing_key": integration["key"],
            "payload": {"summary": "Ancient", "timestamp": "2020-01-01T00:00:00Z"},
        },
    )
    assert old.status_code == 202
    listed = (await admin.get(f"/api/services/{service['id']}/changes")).json()
    assert [c["summary"] for c in listed["data"]] == ["Deployed v42", "Ancient"]
    # Change events never open incidents, and recent ones show on new incidents.
    assert (await admin.get(f"/api/incidents?service_id={service['id']}")).json()["pagination"][
        "total"
    ] == 0
    opened = (
        await send(client, {**trigger(unique("after-deploy")), "routing_key": integration["key"]})
    ).json()
    incident = (await admin.get(f"/api/incidents/{opened['data']['incident']['id']}")).json()[
        "data"
    ]
    assert [c["summary"] for c in incident["recent_changes"]] == ["Deployed v42"]
    bad = await client.post(
        "/v2/change/enqueue", json={"routing_key": integration["key"], "payload": {}}
    )
    assert bad.status_code == 400 and "payload.summary is required" in bad.json()["errors"]


async def test_recent_changes_are_the_newest_five_within_the_hour(
    client: httpx.AsyncClient, admin: Api, service: dict[str, Any], integration: dict[str, Any]
) -> None:
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    for minutes in (90, 50, 40, 30, 20, 10, 5):
        stamp = (now - timedelta(minutes=minutes)).isoformat()
        await client.post(
            "/v2/change/enqueue",
            json={
                "routing_key": integration["key"],
                "payload": {"summary": f"{minutes}m ago", "timestamp": stamp},
            },
        )
    opened = (
        await send(client, {**trigger(unique("x")), "routing_key": integration["key"]})
    ).json()
    incident = (await admin.get(f"/api/incidents/{opened['data']['incident']['id']}")).json()[
        "data"
    ]
    assert [c["summary"] for c in incident["recent_changes"]] == [
        "5m ago",
        "10m ago",
        "20m ago",
        "30m ago",
        "40m ago",
    ]


ALERTMANAGER = {
    "version": "4",
    "groupKey": '{}:{alertname="HighLatency"}',
    "status": "firing",
    "receiver": "opsknight",
    "groupLabels": {"alertname": "HighLatency"},
    "commonLabels": {"alertname": "HighLatency", "job": "api"},
    "commonAnnotations": {},
    "externalURL": "http://alertmanager:9093",
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "HighLatency", "severity": "page", "instance": "web-1"},
            "annotations": {"summary": "p99 over 2s on web-1"},
            "startsAt": "2024-01-15T10:30:00Z",
            "generatorURL": "http://prometheus:9090/graph?g0.expr=x",
            "fingerprint": "aaaa0001",
        },
        {
            "status": "firing",
            "labels": {"alertname": "HighLatency", "severity": "minor", "instance": "web-2"},
            "annotations": {},
            "startsAt": "2024-01-15T10:30:00Z",
            "fingerprint": "aaaa0002",
        },
    ],
}


async def test_alertmanager_webhook(
    client: httpx.AsyncClient, admin: Api, integration: dict[str, Any]
) -> None:
    path = f"/api/integrations/alertmanager?integration_key={integration['key']}"
    response = await client.post(path, json=ALERTMANAGER)
    assert response.status_code == 202, response.text
    results = response.json()["data"]
    assert [r["action"] for r in results] == ["triggered", "triggered"]
    assert [r["dedup_key"] for r in results] == ["aaaa0001", "aaaa0002"]
    first, second = [
        (await admin.get(f"/api/incidents/{r['incident']['id']}")).json()["data"] for r in results
    ]
    assert first["title"] == "p99 over 2s on web-1" and first["urgency"] == "HIGH"
    assert (
        second["title"] == "HighLatency" and second["urgency"] == "MEDIUM"
    )  # unknown severity → warning
    # Alertmanager re-sends the whole group while it fires: folded, never a new incident.
    again = await client.post(path, json=ALERTMANAGER, headers={})
    assert [r["action"] for r in again.json()["data"]] == ["deduplicated", "deduplicated"]
    resolved = {
        **ALERTMANAGER,
        "status": "resolved",
        "alerts": [{**ALERTMANAGER["alerts"][0], "status": "resolved"}],
    }
    done = await client.post(
        "/api/integrations/alertmanager",
        json=resolved,
        headers={"Authorization": f"Token token={integration['key']}"},
    )
    assert done.json()["data"][0]["action"] == "resolved"
    assert (await admin.get(f"/api/incidents/{first['id']}")).json()["data"]["status"] == "RESOLVED"
    assert (
        await client.post(
            "/api/integrations/alertmanager?integration_key=" + "0" * 32, json=ALERTMANAGER
        )
    ).status_code == 403
    assert (
        await client.post("/api/integrations/alertmanager", json=ALERTMANAGER)
    ).status_code == 401
    assert (await client.post(path, json={"alerts": "nope"})).status_code == 400


async def test_generic_webhook(
    client: httpx.AsyncClient, admin: Api, integration: dict[str, Any]
) -> None:
    path = f"/api/integrations/webhook?integration_key={integration['key']}"
    dedup = unique("hook")
    fired = await client.post(
        path,
        json={
            "message": "Queue backlog",
            "level": "critical",
            "state": "fired",
            "alert_id": dedup,
            "origin": "rabbit",
        },
    )
    assert fired.status_code == 202, fired.text
    incident = (await admin.get(f"/api/incidents/{fired.json()['data']['incident']['id']}")).json()[
        "data"
    ]
    assert (
        incident["title"] == "Queue backlog"
        and incident["urgency"] == "HIGH"
        and incident["source"] == "rabbit"
    )
    acked = await client.post(path, json={"id": dedup, "action": "ack"})
    assert acked.json()["data"]["action"] == "acknowledged"
    closed = await client.post(path, json={"dedup_key": dedup, "status": "OK"})
    assert closed.json()["data"]["action"] == "resolved"
    assert (await client.post(path, json={"title": "x", "status": "sideways"})).status_code == 400
    assert (
        await client.post(
            "/api/integrations/webhook",
            json={"title": "x"},
            headers={"Authorization": "Token token=" + "1" * 32},
        )
    ).status_code == 403


async def test_send_event_over_graphql(admin: Api, integration: dict[str, Any]) -> None:
    result = await admin.graphql(
        "mutation($e: JSON!) { sendEvent(event: $e) { action dedupKey incident { id status } } }",
        {"e": {**trigger(unique("gql")), "routing_key": integration["key"]}},
    )
    assert result["data"]["sendEvent"]["action"] == "triggered"
    bad = await admin.graphql(
        "mutation($e: JSON!) { sendEvent(event: $e) { action } }",
        {"e": {"event_action": "trigger", "routing_key": integration["key"]}},
    )
    assert bad["errors"][0]["extensions"]["code"] == "VALIDATION_ERROR"
    assert bad["errors"][0]["extensions"]["details"]["errors"] == ["payload is required"]


async def test_a_batch_mixing_triggers_acks_and_resolves_applies_them_in_order(
    admin: Api, integration: dict[str, Any]
) -> None:
    # Concurrent HTTP requests have no order, so the batch is driven directly.
    from opsknight.auth.principal import ANONYMOUS
    from opsknight.events.ingest import ingest_batch
    from opsknight.events.payload import parse_event
    from opsknight.events.routing import resolve_target

    target = await resolve_target(ANONYMOUS, integration["key"], None)
    dedup = unique("burst")
    bodies = [
        trigger(dedup),
        trigger(dedup),
        {"event_action": "acknowledge", "dedup_key": dedup},
        trigger(dedup),
        {"event_action": "resolve", "dedup_key": dedup},
        trigger(dedup),
    ]
    outcomes = await ingest_batch([(target, parse_event(body)) for body in bodies])
    assert [o.action for o in outcomes] == [
        "triggered", "deduplicated", "acknowledged", "deduplicated", "resolved", "triggered",
    ]  # fmt: skip
    assert outcomes[3].incident is not None and outcomes[3].incident.status == "ACKNOWLEDGED"
    first, second = outcomes[0].incident, outcomes[5].incident
    assert first is not None and second is not None and first.id != second.id
    incident = (await admin.get(f"/api/incidents/{first.id}")).json()["data"]
    assert incident["status"] == "RESOLVED" and incident["alert_count"] == 3
    assert [e["type"] for e in incident["timeline"]] == [
        "created", "alert_added", "acknowledged", "alert_added", "resolved",
    ]  # fmt: skip
    assert (await admin.get(f"/api/incidents/{second.id}")).json()["data"]["status"] == "OPEN"
