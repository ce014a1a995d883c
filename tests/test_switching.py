"""Switching from PagerDuty or Opsgenie by changing one URL: Events API v1, the legacy
X-Routing-Key header, Opsgenie's Alert API, and the real senders (python-pagerduty over
HTTPS, Debian's Alertmanager with pagerduty_configs and opsgenie_configs)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import ssl
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from opsknight import clock
from tests.conftest import Api, make_api, open_incident, serving, unique
from tests.receiver import Received, Receiver, Reply
from tests.servers import alertmanager, intercepting_proxy

V1_PATH = "/generic/2010-04-15/create_event.json"


async def new_integration(admin: Api, name: str = "Legacy") -> tuple[str, str]:
    service = await admin.create("/api/services", {"name": unique(name)})
    integration = await admin.create(f"/api/services/{service['id']}/integrations", {})
    return service["id"], integration["key"]


async def incidents_of(admin: Api, service_id: str) -> list[dict[str, Any]]:
    listed = await admin.get(f"/api/incidents?service_id={service_id}&limit=100")
    assert listed.status_code == 200, listed.text
    incidents: list[dict[str, Any]] = listed.json()["data"]
    return incidents


async def eventually(check: Any, seconds: float = 20) -> Any:
    """Poll ``check`` (an async callable) until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        result = await check()
        if result or asyncio.get_running_loop().time() > deadline:
            return result
        await asyncio.sleep(0.1)


# --- PagerDuty Events API v1 and X-Routing-Key ------------------------------------------


async def test_events_v1_trigger_acknowledge_resolve(client: httpx.AsyncClient, admin: Api) -> None:
    service_id, key = await new_integration(admin)
    trigger = {
        "service_key": key, "event_type": "trigger", "incident_key": "db-1/disk",
        "description": "Disk 95% on db-1", "client": "Nagios",
        "client_url": "https://nagios.example.com", "details": {"free_gb": 3},
        "contexts": [{"type": "link", "href": "https://grafana.example.com", "text": "Graph"}],
    }  # fmt: skip
    opened = await client.post(V1_PATH, json=trigger)
    assert opened.status_code == 200, opened.text
    body = opened.json()
    assert body["status"] == "success" and body["message"] == "Event processed"
    assert body["incident_key"] == "db-1/disk"
    again = await client.post(V1_PATH, json=trigger)
    assert again.json()["data"]["action"] == "deduplicated"
    [incident] = await incidents_of(admin, service_id)
    assert incident["title"] == "Disk 95% on db-1" and incident["urgency"] == "HIGH"
    assert incident["custom_details"] == {"free_gb": 3} and incident["client"] == "Nagios"
    assert incident["links"] == [{"href": "https://grafana.example.com", "text": "Graph"}]

    for event_type, status in (("acknowledge", "ACKNOWLEDGED"), ("resolve", "RESOLVED")):
        answer = await client.post(V1_PATH, json={
            "service_key": key, "event_type": event_type, "incident_key": "db-1/disk"})  # fmt: skip
        assert answer.status_code == 200 and answer.json()["incident_key"] == "db-1/disk"
        [incident] = await incidents_of(admin, service_id)
        assert incident["status"] == status

    # Without an incident_key, the answer carries the generated one to resolve it by.
    fresh = await client.post(V1_PATH, json={
        "service_key": key, "event_type": "trigger", "description": "Load high",
        "details": {"severity": "warning"}})  # fmt: skip
    generated = fresh.json()["incident_key"]
    assert generated and fresh.json()["data"]["incident"]["urgency"] == "MEDIUM"
    closed = await client.post(V1_PATH, json={
        "service_key": key, "event_type": "resolve", "incident_key": generated})  # fmt: skip
    assert closed.json()["data"]["action"] == "resolved"


async def test_events_v1_refuses_bad_events_in_its_own_terms(
    client: httpx.AsyncClient, admin: Api
) -> None:
    service_id, key = await new_integration(admin)
    cases = [
        ({"service_key": key, "description": "x"}, "event_type is required"),
        ({"service_key": key, "event_type": "trigger"}, "description is required"),
        ({"service_key": key, "event_type": "resolve"},
         "incident_key is required for acknowledge and resolve"),
        ({"service_key": key, "event_type": "trigger", "description": "x" * 1025},
         "description must be at most 1024 characters"),
        ({"service_key": key, "event_type": "trigger", "description": "x", "details": [1]},
         "details must be an object"),
        ({"event_type": "trigger", "description": "x"}, "service_key is required"),
        ({"service_key": "0" * 32, "event_type": "trigger", "description": "x"},
         "service_key '00000000000000000000000000000000' does not match any integration"),
    ]  # fmt: skip
    for event, problem in cases:
        answer = await client.post(V1_PATH, json=event)
        assert answer.status_code == 400, answer.text
        body = answer.json()
        assert body["status"] == "invalid event" and body["message"] == "Event object is invalid"
        assert problem in body["errors"], (problem, body["errors"])
    not_json = await client.post(
        V1_PATH, content=b"{", headers={"Content-Type": "application/json"}
    )
    assert not_json.status_code == 400 and not_json.json()["status"] == "invalid event"
    assert await incidents_of(admin, service_id) == []


async def test_the_legacy_x_routing_key_header_routes_events_v2(
    client: httpx.AsyncClient, admin: Api
) -> None:
    service_id, key = await new_integration(admin)
    event = {"event_action": "trigger", "dedup_key": "h-1",
             "payload": {"summary": "From a header", "source": "s", "severity": "error"}}  # fmt: skip
    sent = await client.post("/v2/enqueue", json=event, headers={"X-Routing-Key": key})
    assert sent.status_code == 202, sent.text
    acknowledged = await client.post(
        "/v2/enqueue", json={"event_action": "acknowledge", "dedup_key": "h-1"},
        headers={"X-Routing-Key": key},
    )  # fmt: skip
    # python-pagerduty raises unless the 202 of an acknowledge carries the dedup key.
    assert acknowledged.status_code == 202 and acknowledged.json()["dedup_key"] == "h-1"
    [incident] = await incidents_of(admin, service_id)
    assert incident["status"] == "ACKNOWLEDGED"
    wrong = await client.post("/v2/enqueue", json=event, headers={"X-Routing-Key": "f" * 32})
    assert wrong.status_code == 400 and wrong.json()["status"] == "invalid event"


async def test_python_pagerduty_works_with_only_its_base_url_changed(
    app: Any, admin: Api, tmp_path: Path
) -> None:
    """python-pagerduty accepts only https:// base URLs: OpsKnight serves it over TLS with
    a certificate of a test authority, as a deployment behind TLS would."""
    import pagerduty
    import trustme

    authority = trustme.CA()
    certfile, cafile = tmp_path / "server.pem", tmp_path / "ca.pem"
    authority.issue_cert("127.0.0.1").private_key_and_cert_chain_pem.write_to_path(certfile)
    authority.cert_pem.write_to_path(cafile)
    service_id, key = await new_integration(admin, "python-pagerduty")

    async with serving(app, certfile=str(certfile)) as address:

        def drive() -> list[str]:
            trust = ssl.create_default_context(cafile=str(cafile))
            with pagerduty.EventsApiV2Client(
                key, base_url=f"https://{address}", verify=trust
            ) as events:
                events.send_change_event(payload={"summary": "Deployed v7", "source": "ci"})
                dedup_key = events.trigger(
                    "Disk 95% on db-1", "db-1", dedup_key="db-1-disk", severity="error",
                    custom_details={"free_gb": 3},
                )  # fmt: skip
                return [dedup_key, events.acknowledge(dedup_key), events.resolve(dedup_key)]

        keys = await asyncio.to_thread(drive)
    assert keys == ["db-1-disk"] * 3
    [incident] = await incidents_of(admin, service_id)
    detail = (await admin.get(f"/api/incidents/{incident['id']}")).json()["data"]
    assert detail["status"] == "RESOLVED" and detail["title"] == "Disk 95% on db-1"
    assert [e["type"] for e in detail["timeline"]] == ["created", "acknowledged", "resolved"]
    assert [c["summary"] for c in detail["recent_changes"]] == ["Deployed v7"]


# --- Opsgenie's Alert API ----------------------------------------------------------------


def genie(key: str) -> dict[str, str]:
    return {"Authorization": f"GenieKey {key}"}


async def test_opsgenie_create_acknowledge_close_by_alias(
    client: httpx.AsyncClient, admin: Api
) -> None:
    service_id, key = await new_integration(admin, "opsgenie")
    alert = {
        "message": "Payment API 5xx above 2%", "alias": "payments-5xx",
        "description": "Since 03:12 UTC", "priority": "P1", "tags": ["payments"],
        "details": {"region": "eu-1"}, "entity": "payments-api", "source": "grafana",
    }  # fmt: skip
    created = await client.post("/v2/alerts", json=alert, headers=genie(key))
    assert created.status_code == 202, created.text
    body = created.json()
    assert body["result"] == "Request will be processed"
    assert isinstance(body["took"], float) and body["requestId"]
    assert body["data"]["dedup_key"] == "payments-5xx"
    repeated = await client.post("/v2/alerts", json=alert, headers=genie(key))
    assert repeated.json()["data"]["action"] == "deduplicated"
    [incident] = await incidents_of(admin, service_id)
    assert incident["title"] == "Payment API 5xx above 2%"
    assert (incident["urgency"], incident["priority"]) == ("HIGH", "P1")
    assert incident["source"] == "grafana" and incident["alert_count"] == 2
    assert incident["custom_details"]["details"] == {"region": "eu-1"}

    for action, status in (("acknowledge", "ACKNOWLEDGED"), ("close", "RESOLVED")):
        answer = await client.post(
            f"/v2/alerts/payments-5xx/{action}?identifierType=alias",
            json={"source": "grafana", "note": "done"}, headers=genie(key),
        )  # fmt: skip
        assert answer.status_code == 202, answer.text
        assert answer.json()["result"] == "Request will be processed"
        [incident] = await incidents_of(admin, service_id)
        assert incident["status"] == status

    # An alias longer than a dedup key may be is hashed, the same way on close.
    long_alias = "group/" + "x" * 400
    await client.post("/v2/alerts", json={"message": "Long", "alias": long_alias},
                      headers=genie(key))  # fmt: skip
    closed = await client.post(
        f"/v2/alerts/{long_alias}/close", params={"identifierType": "alias"}, headers=genie(key)
    )
    assert closed.json()["data"]["action"] == "resolved"


async def test_opsgenie_errors_come_in_opsgenie_shape_and_change_nothing(
    client: httpx.AsyncClient, admin: Api
) -> None:
    service_id, key = await new_integration(admin, "opsgenie-bad")
    cases = [
        ({"alias": "a"}, "message", "Message can not be empty."),
        ({"message": "m", "priority": "P9"}, "priority",
         "Priority should be one of [P1, P2, P3, P4, P5]."),
        ({"message": "m", "tags": "one"}, "tags", "Tags must be a list of strings."),
    ]  # fmt: skip
    for alert, field, problem in cases:
        answer = await client.post("/v2/alerts", json=alert, headers=genie(key))
        assert answer.status_code == 422, answer.text
        body = answer.json()
        assert body["message"] == "Request body is not processable. Please check the errors."
        assert body["errors"] == {field: problem} and body["requestId"] and "took" in body
    await client.post("/v2/alerts", json={"message": "m", "alias": "kept"}, headers=genie(key))
    by_id = await client.post("/v2/alerts/kept/close", headers=genie(key))
    assert by_id.status_code == 422 and "identifierType" in by_id.json()["errors"]
    [incident] = await incidents_of(admin, service_id)
    assert incident["status"] == "OPEN"
    anonymous = await client.post("/v2/alerts", json={"message": "m"})
    assert anonymous.status_code == 401 and anonymous.json()["message"]
    unknown = await client.post("/v2/alerts", json={"message": "m"}, headers=genie("f" * 36))
    assert unknown.status_code == 403 and unknown.json()["requestId"]
    assert len(await incidents_of(admin, service_id)) == 1


# --- Alertmanager with its PagerDuty and Opsgenie receivers -----------------------------

ALERTMANAGER_CONFIG = """
route:
  receiver: legacy
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: legacy
    pagerduty_configs:
      - routing_key: "{routing_key}"
        url: "http://{address}/v2/enqueue"
        severity: '{{{{ .CommonLabels.severity }}}}'
    opsgenie_configs:
      - api_key: "{genie_key}"
        api_url: "http://{address}/"
        priority: P2
"""


async def test_alertmanagers_pagerduty_and_opsgenie_receivers_open_and_resolve(
    unlimited: httpx.AsyncClient, served_url: str, tmp_path: Path
) -> None:
    admin = await make_api(unlimited)  # it polls often
    targets = {name: await new_integration(admin, name) for name in ("v2", "opsgenie")}
    config = ALERTMANAGER_CONFIG.format(
        address=served_url, routing_key=targets["v2"][1], genie_key=targets["opsgenie"][1]
    )
    alert = {
        "labels": {"alertname": "PaymentsDown", "severity": "critical", "instance": "pay-1"},
        "annotations": {"summary": "Payments are down"},
    }
    with alertmanager(config, tmp_path) as base:
        async with httpx.AsyncClient(base_url=base) as manager:
            fired = await manager.post("/api/v2/alerts", json=[alert])
            assert fired.status_code == 200, fired.text

            async def all_open() -> dict[str, list[dict[str, Any]]] | None:
                found = {n: await incidents_of(admin, s) for n, (s, _) in targets.items()}
                return found if all(found.values()) else None

            opened = await eventually(all_open)
            assert opened, (tmp_path / "alertmanager.log").read_text()[-3000:]
            for name, incidents in opened.items():
                assert [i["status"] for i in incidents] == ["OPEN"], name
            assert opened["opsgenie"][0]["priority"] == "P2"
            assert opened["v2"][0]["urgency"] == "HIGH"

            ended = {**alert, "endsAt": clock.isoformat_z(clock.now() - timedelta(seconds=1))}
            resolved = await manager.post("/api/v2/alerts", json=[ended])
            assert resolved.status_code == 200, resolved.text

            async def all_resolved() -> bool:
                for service_id, _ in targets.values():
                    states = [i["status"] for i in await incidents_of(admin, service_id)]
                    if states != ["RESOLVED"]:
                        return False
                return True

            assert await eventually(all_resolved), (tmp_path / "alertmanager.log").read_text()[
                -3000:
            ]


@pytest.mark.parametrize("scheme", ["GenieKey", "Token token="])
async def test_integration_key_headers_do_not_authenticate_the_rest_api(
    client: httpx.AsyncClient, admin: Api, scheme: str
) -> None:
    _, key = await new_integration(admin, "not-an-api-key")
    answer = await client.get("/api/services", headers={"Authorization": f"{scheme} {key}"})
    assert answer.status_code == 401


async def test_an_integration_keeps_the_key_it_had_in_the_old_tool(
    client: httpx.AsyncClient, admin: Api
) -> None:
    service = await admin.create("/api/services", {"name": unique("imported")})
    path = f"/api/services/{service['id']}/integrations"
    pagerduty_key = "R0" + secrets.token_hex(15)  # PagerDuty's 32 characters
    opsgenie_key = str(uuid.uuid4())  # Opsgenie's API keys are UUIDs
    # A sender already pointed at OpsKnight before the key was imported is refused…
    early = await client.post("/v2/enqueue", json={"routing_key": pagerduty_key,
        "event_action": "trigger", "payload": {"summary": "s", "source": "s", "severity": "info"}})  # fmt: skip
    assert early.status_code == 400
    kept = await admin.create(path, {"name": "From PagerDuty", "key": pagerduty_key})
    assert kept["key"] == pagerduty_key
    # …and accepted at once after.
    late = await client.post("/v2/enqueue", json={"routing_key": pagerduty_key,
        "event_action": "trigger", "payload": {"summary": "s", "source": "s", "severity": "info"}})  # fmt: skip
    assert late.status_code == 202, late.text
    genie_integration = await admin.create(path, {"name": "From Opsgenie", "key": opsgenie_key})
    created = await client.post("/v2/alerts", json={"message": "m"}, headers=genie(opsgenie_key))
    assert created.status_code == 202 and genie_integration["key"] == opsgenie_key

    taken = await admin.post(path, {"name": "again", "key": pagerduty_key})
    assert taken.status_code == 409
    assert taken.json()["error"]["details"] == {"field": "key", "reason": "duplicate"}
    for bad in ("short", "x" * 65, "has space in it 1234", 42):
        refused = await admin.post(path, {"key": bad})
        assert refused.status_code == 400 and refused.json()["error"]["details"]["field"] == "key"
    responder = await make_api(client, role="RESPONDER")
    forbidden = await responder.post(path, {"key": "a" * 32})
    assert forbidden.status_code == 403
    listed = await admin.get(path)
    assert sorted(i["name"] for i in listed.json()["data"]) == ["From Opsgenie", "From PagerDuty"]


async def test_concurrent_senders_with_different_keys_each_reach_their_own_service(
    unlimited: httpx.AsyncClient, served_url: str
) -> None:
    """Two senders at the same instant, one with a routing key in its body and one with a
    GenieKey header, and the same dedup key: neither request sees the other's credential."""
    admin = await make_api(unlimited)
    (first_service, routing_key), (second_service, genie_key) = [
        await new_integration(admin, name) for name in ("first", "second")
    ]
    async with httpx.AsyncClient(base_url=f"http://{served_url}") as sender:
        for _ in range(20):
            dedup_key = unique("same")
            by_routing_key, by_genie_key = await asyncio.gather(
                sender.post("/v2/enqueue", json={
                    "routing_key": routing_key, "event_action": "trigger", "dedup_key": dedup_key,
                    "payload": {"summary": "pd", "source": "s", "severity": "error"}}),
                sender.post("/v2/alerts", json={"message": "og", "alias": dedup_key},
                            headers=genie(genie_key)),
            )  # fmt: skip
            assert by_routing_key.json()["data"]["action"] == "triggered"
            assert by_genie_key.json()["data"]["action"] == "triggered"
    assert len(await incidents_of(admin, first_service)) == 20
    assert len(await incidents_of(admin, second_service)) == 20


# --- PagerDuty-shaped outbound webhooks -------------------------------------------------


class PagerDutyVerifier:
    """Verification exactly as PagerDuty documents it ("Verifying Signatures"): HMAC-SHA256
    of the raw body keyed with the secret, hex, compared to each `v1=` entry."""

    def __init__(self, key: str, version: str = "v1") -> None:
        self.key, self.version = key, version

    def verify(self, payload: str, signatures: str) -> bool:
        signature = hmac.new(self.key.encode("ASCII"), payload.encode(), hashlib.sha256)
        signed_version = self.version + "=" + signature.hexdigest()
        return any(hmac.compare_digest(signed_version, item) for item in signatures.split(","))


def verified(received: Received, secret: str) -> dict[str, Any]:
    assert PagerDutyVerifier(secret).verify(
        received.body.decode(), received.headers["x-pagerduty-signature"]
    ), "the signature does not verify"
    event: dict[str, Any] = received.json["event"]
    return event


async def test_a_pagerduty_v3_webhook_keeps_pagerduty_consumers_working(
    admin: Api, receiver: Receiver, client: httpx.AsyncClient
) -> None:
    service_id, key = await new_integration(admin, "pd-webhooks")
    secret = "pd-subscription-secret-" + secrets.token_hex(8)  # kept from PagerDuty
    hook = await admin.create("/api/webhooks", {
        "url": receiver.url("/pd"), "format": "pagerduty-v3", "secret": secret,
        "service_ids": [service_id]})  # fmt: skip
    assert hook["format"] == "pagerduty-v3" and hook["secret"] == secret

    await client.post("/v2/enqueue", json={"routing_key": key, "event_action": "trigger",
        "dedup_key": "disk-1", "payload": {"summary": "Disk full", "source": "db-1",
                                           "severity": "critical"}})  # fmt: skip
    [incident] = await incidents_of(admin, service_id)
    path = f"/api/incidents/{incident['id']}"
    assert (await admin.patch(path, {"priority": "P1"})).status_code == 200
    note = await admin.post(f"{path}/notes", {"content": "Looking into it"})
    assert note.status_code == 201
    for status in ("ACKNOWLEDGED", "OPEN", "RESOLVED", "OPEN"):
        changed = await admin.patch(path, {"status": status})
        assert changed.status_code == 200, changed.text
    assert (await admin.patch(path, {"assignee_id": admin.user_id})).status_code == 200

    received = await receiver.wait_for("/pd", 8)
    events = [verified(r, secret) for r in received]
    assert [e["event_type"] for e in events] == [
        "incident.triggered", "incident.priority_updated", "incident.annotated",
        "incident.acknowledged", "incident.unacknowledged", "incident.resolved",
        "incident.reopened", "incident.reassigned",
    ]  # fmt: skip
    triggered = events[0]
    assert triggered["resource_type"] == "incident" and triggered["occurred_at"].endswith("Z")
    assert triggered["agent"]["type"] == "service_reference"
    data = triggered["data"]
    assert data["type"] == "incident" and data["number"] == incident["number"]
    assert (data["status"], data["urgency"], data["incident_key"]) == ("triggered", "high",
                                                                       "disk-1")  # fmt: skip
    assert data["title"] == "Disk full" and data["service"]["id"] == service_id
    assert data["service"]["type"] == "service_reference"
    assert data["html_url"].endswith(f"/incidents/{incident['id']}")
    assert events[1]["data"]["priority"]["summary"] == "P1"
    assert events[1]["agent"] == {**events[1]["agent"], "type": "api_key_reference"}
    annotated = events[2]["data"]
    assert annotated["type"] == "incident_note" and annotated["content"] == "Looking into it"
    assert annotated["incident"]["id"] == incident["id"]
    assert [e["data"]["status"] for e in events[3:7]] == [
        "acknowledged", "triggered", "resolved", "triggered"]  # fmt: skip
    assert events[7]["data"]["assignees"][0]["id"] == admin.user_id
    assert len({r.headers["x-webhook-id"] for r in received}) == 8
    assert all(r.headers["x-webhook-subscription"] == hook["id"] for r in received)

    # PagerDuty's test event.
    pinged = await admin.post(f"/api/webhooks/{hook['id']}/ping")
    assert pinged.json()["data"]["status"] == "delivered"
    ping = verified(receiver.at("/pd")[-1], secret)
    assert ping["event_type"] == "pagey.ping" and ping["data"]["type"] == "ping"


async def test_pagerduty_v3_signatures_through_rotation_and_retries(
    admin: Api, receiver: Receiver
) -> None:
    service = await admin.create("/api/services", {"name": unique("pd-rotation")})
    hook = await admin.create("/api/webhooks", {
        "url": receiver.url("/pd-rotate"), "format": "pagerduty-v3",
        "events": ["incident.triggered"], "service_ids": [service["id"]]})  # fmt: skip
    old = hook["secret"]
    rotated = await admin.post(f"/api/webhooks/{hook['id']}/rotate-secret",
                               {"secret": "the-next-secret-1234"})  # fmt: skip
    assert rotated.status_code == 200 and rotated.json()["data"]["secret"] == "the-next-secret-1234"
    receiver.script("/pd-rotate", Reply(503))  # the first attempt fails, the retry lands
    await open_incident(admin, service["id"], title="Rotating")
    first, retry = await receiver.wait_for("/pd-rotate", 2, timeout=20)
    for attempt in (first, retry):
        assert attempt.headers["x-pagerduty-signature"].count("v1=") == 2
        verified(attempt, old)
        verified(attempt, "the-next-secret-1234")
    assert first.headers["x-webhook-id"] == retry.headers["x-webhook-id"]
    assert first.body == retry.body


async def test_pagerduty_v3_webhook_settings_are_checked(admin: Api) -> None:
    cases = [
        ({"format": "pagerduty-v2"}, "format"),
        ({"format": "pagerduty-v3", "events": ["incident.assigned"]}, "events[0]"),
        ({"events": ["incident.annotated"]}, "events[0]"),
        ({"secret": "short"}, "secret"),
    ]
    for fields, field in cases:
        refused = await admin.post("/api/webhooks", {"url": "https://example.com/h", **fields})
        assert refused.status_code == 400, refused.text
        assert refused.json()["error"]["details"]["field"] == field
    hook = await admin.create("/api/webhooks", {"url": "https://example.com/h"})
    patched = await admin.patch(f"/api/webhooks/{hook['id']}", {"secret": "x" * 20})
    assert patched.status_code == 400 and "rotate-secret" in patched.json()["error"]["message"]
    switched = await admin.patch(f"/api/webhooks/{hook['id']}", {"format": "pagerduty-v3"})
    assert switched.status_code == 200 and switched.json()["data"]["events"] == ["*"]


ALERTMANAGER_V1_CONFIG = """
route:
  receiver: legacy-v1
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: legacy-v1
    pagerduty_configs:
      - service_key: "{service_key}"
        http_config:
          proxy_url: "http://{proxy}"
          tls_config:
            ca_file: "{cafile}"
"""


async def test_alertmanagers_service_key_receiver_works_where_its_hostname_leads_here(
    unlimited: httpx.AsyncClient, served_url: str, tmp_path: Path
) -> None:
    """Alertmanager ignores `url` for `service_key` (Events API v1) and always posts to
    events.pagerduty.com. Where the network leads that name to OpsKnight (here a proxy
    that ends TLS with a certificate the sender trusts), its v1 events work unchanged."""
    import trustme

    admin = await make_api(unlimited)
    authority = trustme.CA()
    certfile, cafile = tmp_path / "pagerduty.pem", tmp_path / "ca.pem"
    authority.issue_cert("events.pagerduty.com").private_key_and_cert_chain_pem.write_to_path(
        certfile
    )
    authority.cert_pem.write_to_path(cafile)
    service_id, key = await new_integration(admin, "v1")
    alert = {"labels": {"alertname": "QueueStuck", "severity": "warning"},
             "annotations": {"summary": "Queue stuck"}}  # fmt: skip
    async with intercepting_proxy(str(certfile), served_url) as proxy:
        config = ALERTMANAGER_V1_CONFIG.format(service_key=key, proxy=proxy, cafile=cafile)
        with alertmanager(config, tmp_path) as base:
            async with httpx.AsyncClient(base_url=base) as manager:
                assert (await manager.post("/api/v2/alerts", json=[alert])).status_code == 200

                async def opened() -> list[dict[str, Any]]:
                    return await incidents_of(admin, service_id)

                incidents = await eventually(opened)
                assert incidents, (tmp_path / "alertmanager.log").read_text()[-3000:]
                [incident] = incidents
                assert incident["title"].startswith("[FIRING:1] QueueStuck")
                assert incident["client"] == "Alertmanager"
                ended = {**alert, "endsAt": clock.isoformat_z(clock.now() - timedelta(seconds=1))}
                assert (await manager.post("/api/v2/alerts", json=[ended])).status_code == 200

                async def resolved() -> bool:
                    states = [i["status"] for i in await incidents_of(admin, service_id)]
                    return states == ["RESOLVED"]

                assert await eventually(resolved), (tmp_path / "alertmanager.log").read_text()
