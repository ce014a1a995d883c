"""Outbound webhooks (SPEC §10): CRUD, the outbox, signatures, retries, disabling, the
private-address guard. Deliveries go to a real receiver on a loopback port."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook as StandardWebhook

from opsknight.attempts import retry_wait
from opsknight.transaction import after_commit, atomic
from opsknight.webhooks import delivery, guard
from opsknight.webhooks.models import Webhook, WebhookDelivery
from tests.conftest import TIME_SCALE, Api, make_api, open_incident, unique
from tests.receiver import Receiver, Reply, eventually


@pytest.fixture
async def admin(unlimited: httpx.AsyncClient) -> Api:
    """An admin on the server without rate limits: these tests poll while work runs."""
    return await make_api(unlimited)


@pytest.fixture
def guarded() -> Iterator[None]:
    """The private-address guard on, as in production (the suite allows loopback)."""
    guard.configure(False)
    try:
        yield
    finally:
        guard.configure(True)


async def subscribe(api: Api, receiver: Receiver, path: str, **fields: Any) -> dict[str, Any]:
    return await api.create("/api/webhooks", {"url": receiver.url(path), **fields})


async def deliveries(api: Api, webhook_id: str) -> list[dict[str, Any]]:
    body = (await api.get(f"/api/webhooks/{webhook_id}/deliveries")).json()
    return list(body["data"])


def hmac_hex(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def test_webhook_crud_shows_the_secret_once(admin: Api, receiver: Receiver) -> None:
    created = await subscribe(
        admin, receiver, "/crud", events=["incident.triggered"], include_test=True
    )
    secret = created["secret"]
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32
    assert created["events"] == ["incident.triggered"] and created["enabled"] is True
    fetched = (await admin.get(f"/api/webhooks/{created['id']}")).json()["data"]
    assert "secret" not in fetched and fetched["url"] == receiver.url("/crud")
    listed = (await admin.get("/api/webhooks")).json()
    assert created["id"] in {w["id"] for w in listed["data"]}
    patched = await admin.patch(f"/api/webhooks/{created['id']}", {"events": ["*"]})
    assert patched.json()["data"]["events"] == ["*"]
    assert (await admin.delete(f"/api/webhooks/{created['id']}")).status_code == 200
    assert (await admin.get(f"/api/webhooks/{created['id']}")).status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://example.com/x"}, "url"),
        ({"url": "not a url"}, "url"),
        ({}, "url"),
        ({"url": "https://example.com/x", "events": ["incident.exploded"]}, "events[0]"),
        ({"url": "https://example.com/x", "events": []}, "events"),
        ({"url": "https://example.com/x", "service_ids": ["svc_nope"]}, "service_ids[0]"),
    ],
)
async def test_bad_webhooks_name_the_field_and_store_nothing(
    admin: Api, body: dict[str, Any], field: str
) -> None:
    before = await Webhook.all().count()
    response = await admin.post("/api/webhooks", body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["details"]["field"] == field
    assert await Webhook.all().count() == before


async def test_only_admins_manage_webhooks(client: httpx.AsyncClient) -> None:
    responder = await make_api(client, role="RESPONDER")
    response = await responder.post("/api/webhooks", {"url": "https://example.com/x"})
    assert response.status_code == 403


async def test_a_change_is_delivered_signed_both_ways(
    admin: Api, receiver: Receiver, service: dict[str, Any]
) -> None:
    hook = await subscribe(admin, receiver, "/signed", service_ids=[service["id"]])
    incident = await open_incident(admin, service["id"], title="Signed")
    (received,) = await receiver.wait_for("/signed", 1)
    body, headers = received.body, received.headers
    payload = received.json
    assert payload["event"] == "incident.triggered"
    assert payload["incident"]["id"] == incident["id"]
    assert payload["incident"]["service"] == {"id": service["id"], "name": service["name"]}
    assert set(payload["incident"]) >= {
        "id", "number", "title", "status", "urgency", "priority", "environment", "service",
        "assignee", "created_at",
    }  # fmt: skip
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"] == "OpsKnight-Webhooks/1"
    assert headers["x-opsknight-event"] == "incident.triggered"
    assert headers["x-opsknight-delivery"].startswith("dlv_")
    assert headers["webhook-id"] == payload["id"]
    assert abs(int(headers["x-opsknight-timestamp"]) - datetime.now(UTC).timestamp()) < 30
    # The seed's scheme, checked with the standard library only.
    assert headers["x-opsknight-signature"] == f"sha256={hmac_hex(hook['secret'], body)}"
    # Standard Webhooks, checked with the standard's own verifier.
    StandardWebhook(hook["secret"]).verify(body, headers)

    listed = await eventually(lambda: _delivered(admin, hook["id"]))
    assert listed[0]["attempts"] == 1 and listed[0]["last_status_code"] == 200
    assert listed[0]["event"] == "incident.triggered" and listed[0]["next_attempt_at"] is None


async def _delivered(api: Api, webhook_id: str) -> list[dict[str, Any]] | None:
    found = await deliveries(api, webhook_id)
    return found if found and all(d["status"] == "delivered" for d in found) else None


async def test_event_service_and_environment_filters(
    admin: Api, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    mine = await admin.create("/api/services", {"name": unique("mine")})
    other = await admin.create("/api/services", {"name": unique("other")})
    await subscribe(
        admin, receiver, "/acks", events=["incident.acknowledged"],
        service_ids=[mine["id"], other["id"]],
    )  # fmt: skip
    await subscribe(admin, receiver, "/mine", service_ids=[mine["id"]])
    await subscribe(admin, receiver, "/sandbox", include_test=True, service_ids=[mine["id"]])
    sandbox = await make_api(client, environment="test")

    ours = await open_incident(admin, mine["id"])
    await open_incident(admin, other["id"])
    await open_incident(sandbox, mine["id"])
    await admin.patch(f"/api/incidents/{ours['id']}", {"status": "ACKNOWLEDGED"})

    await receiver.wait_for("/acks", 1)
    await receiver.wait_for("/mine", 2)
    sandboxed = await receiver.wait_for("/sandbox", 3)
    await asyncio.sleep(0.2)
    assert [(r.json["event"], r.json["incident"]["id"]) for r in receiver.at("/acks")] == [
        ("incident.acknowledged", ours["id"])
    ]
    assert [r.json["event"] for r in receiver.at("/mine")] == [
        "incident.triggered",
        "incident.acknowledged",
    ]
    assert {r.json["incident"]["environment"] for r in sandboxed} == {"live", "test"}


async def test_a_receiver_that_fails_twice_gets_a_third_attempt(
    admin: Api, receiver: Receiver, service: dict[str, Any]
) -> None:
    receiver.script("/flaky", Reply(500), Reply(502))
    hook = await subscribe(admin, receiver, "/flaky", service_ids=[service["id"]])
    await open_incident(admin, service["id"])
    attempts = await receiver.wait_for("/flaky", 3)
    # Every attempt carries the same event id: receivers dedupe on it.
    assert len({r.json["id"] for r in attempts}) == 1
    (row,) = await eventually(lambda: _delivered(admin, hook["id"]))
    assert row["attempts"] == 3 and row["last_status_code"] == 200


async def test_retry_after_is_honoured(
    admin: Api, receiver: Receiver, service: dict[str, Any]
) -> None:
    # 3000 s at TIME_SCALE 600 is 5 s, far longer than the scheduled 10 s / 600.
    receiver.script("/busy", Reply(429, {"Retry-After": "3000"}))
    hook = await subscribe(admin, receiver, "/busy", service_ids=[service["id"]])
    await open_incident(admin, service["id"])
    await receiver.wait_for("/busy", 1)

    async def waiting() -> list[dict[str, Any]] | None:
        found = await deliveries(admin, hook["id"])
        return found if found and found[0]["attempts"] == 1 else None

    (row,) = await eventually(waiting)
    assert row["status"] == "pending" and row["last_status_code"] == 429
    due = datetime.fromisoformat(row["next_attempt_at"])
    # Due about 5 s after the attempt (not 10 s / 600 = 17 ms later, the scheduled wait).
    assert timedelta(seconds=3) < due - datetime.now(UTC) <= timedelta(seconds=5)


def test_the_retry_schedule() -> None:
    waits = [retry_wait(n, delivery.RETRY_SCHEDULE, None) for n in range(1, 10)]
    minutes = [None if w is None else round(w.total_seconds() * TIME_SCALE / 60, 3) for w in waits]
    assert minutes == [0.167, 0.5, 2, 10, 30, 60, 180, 360, None]
    # A receiver's Retry-After replaces the scheduled wait (capped at 6 h).
    honoured = retry_wait(1, delivery.RETRY_SCHEDULE, 90.0)
    capped = retry_wait(1, delivery.RETRY_SCHEDULE, 1e9)
    assert honoured is not None and round(honoured.total_seconds() * TIME_SCALE) == 90
    assert capped is not None and round(capped.total_seconds() * TIME_SCALE) == 6 * 3600


async def test_gone_disables_the_webhook_and_fifty_failures_do_too(
    admin: Api, receiver: Receiver, service: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver.script("/gone", Reply(410))
    gone = await subscribe(admin, receiver, "/gone", service_ids=[service["id"]])
    await open_incident(admin, service["id"])

    async def disabled(webhook_id: str) -> dict[str, Any] | None:
        found = (await admin.get(f"/api/webhooks/{webhook_id}")).json()["data"]
        return None if found["enabled"] else found

    assert "410" in (await eventually(lambda: disabled(gone["id"])))["disabled_reason"]
    (failed,) = await deliveries(admin, gone["id"])
    assert failed["status"] == "failed" and failed["attempts"] == 1

    # A receiver that always fails: 49 failed deliveries already, the 50th disables it.
    # (The real schedule spans hours; its waits are checked in test_the_retry_schedule.)
    monkeypatch.setattr(delivery, "RETRY_SCHEDULE", (1,) * 8)
    receiver.script("/down", *[Reply(500)] * 20)
    down = await subscribe(admin, receiver, "/down", service_ids=[service["id"]])
    await Webhook.filter(id=down["id"]).update(consecutive_failures=49)
    await open_incident(admin, service["id"])
    found = await eventually(lambda: disabled(down["id"]), timeout=10)
    assert found["consecutive_failures"] == 50 and "50" in found["disabled_reason"]
    (last,) = await deliveries(admin, down["id"])
    assert last["status"] == "failed" and last["attempts"] == 9  # 1 + the 8 retries
    # Re-enabling with PATCH starts a fresh run.
    enabled = await admin.patch(f"/api/webhooks/{down['id']}", {"enabled": True})
    assert enabled.json()["data"]["consecutive_failures"] == 0


async def test_rotation_signs_with_both_secrets(
    admin: Api, receiver: Receiver, service: dict[str, Any]
) -> None:
    hook = await subscribe(admin, receiver, "/rotate", service_ids=[service["id"]])
    rotated = await admin.post(f"/api/webhooks/{hook['id']}/rotate-secret")
    assert rotated.status_code == 200
    new = rotated.json()["data"]["secret"]
    assert new != hook["secret"] and new.startswith("whsec_")
    await open_incident(admin, service["id"])
    (received,) = await receiver.wait_for("/rotate", 1)
    signatures = received.headers["x-opsknight-signature"].split(",")
    assert signatures == [
        f"sha256={hmac_hex(new, received.body)}",
        f"sha256={hmac_hex(hook['secret'], received.body)}",
    ]
    assert len(received.headers["webhook-signature"].split(" ")) == 2
    StandardWebhook(new).verify(received.body, received.headers)
    StandardWebhook(hook["secret"]).verify(received.body, received.headers)

    # After 24 h only the new secret signs.
    await Webhook.filter(id=hook["id"]).update(
        previous_secret_expires_at=datetime.now(UTC) - timedelta(seconds=1)
    )
    await open_incident(admin, service["id"])
    later = (await receiver.wait_for("/rotate", 2))[1]
    assert later.headers["x-opsknight-signature"] == f"sha256={hmac_hex(new, later.body)}"


async def test_ping_and_redeliver(admin: Api, receiver: Receiver, service: dict[str, Any]) -> None:
    hook = await subscribe(admin, receiver, "/ops", service_ids=[service["id"]])
    pinged = await admin.post(f"/api/webhooks/{hook['id']}/ping")
    assert pinged.status_code == 200
    ping = pinged.json()["data"]
    assert ping["event"] == "ping" and ping["status"] == "delivered" and ping["attempts"] == 1
    assert receiver.at("/ops")[0].json["webhook"]["id"] == hook["id"]

    await open_incident(admin, service["id"])
    await receiver.wait_for("/ops", 2)
    original = await eventually(
        lambda: _first(admin, hook["id"], "incident.triggered", "delivered")
    )
    again = await admin.post(f"/api/webhooks/{hook['id']}/deliveries/{original['id']}/redeliver")
    assert again.status_code == 202
    copy = again.json()["data"]
    assert copy["id"] != original["id"] and copy["event_id"] == original["event_id"]
    received = await receiver.wait_for("/ops", 3)
    assert received[2].json["id"] == received[1].json["id"]
    missing = await admin.post(f"/api/webhooks/{hook['id']}/deliveries/dlv_nope/redeliver")
    assert missing.status_code == 404


async def _first(api: Api, webhook_id: str, event: str, status: str) -> dict[str, Any] | None:
    for found in await deliveries(api, webhook_id):
        if found["event"] == event and found["status"] == status:
            return found
    return None


@pytest.mark.usefixtures("guarded")
@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://10.0.0.1/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]:8080/hook",
        "http://localhost:9/hook",
        "http://192.168.1.20/hook",
        "http://[::ffff:127.0.0.1]/hook",
    ],
)
async def test_the_guard_refuses_private_targets(admin: Api, url: str) -> None:
    response = await admin.post("/api/webhooks", {"url": url})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["details"]["field"] == "url"
    assert error["details"]["reason"] == "private_address"
    contact = await admin.post(
        f"/api/users/{admin.user_id}/contact-methods", {"type": "webhook", "address": url}
    )
    assert contact.status_code == 400
    assert contact.json()["error"]["details"]["field"] == "address"


async def test_the_guard_checks_again_at_delivery(
    admin: Api, receiver: Receiver, service: dict[str, Any]
) -> None:
    # Saved while private targets were allowed; the operator then turned that off.
    hook = await subscribe(admin, receiver, "/inside", service_ids=[service["id"]])
    guard.configure(False)
    try:
        pinged = (await admin.post(f"/api/webhooks/{hook['id']}/ping")).json()["data"]
    finally:
        guard.configure(True)
    assert pinged["status"] == "failed" and "127.0.0.1" in pinged["last_error"]
    assert receiver.at("/inside") == []


async def test_a_hanging_receiver_is_cut_at_ten_seconds_and_blocks_no_one(
    admin: Api, receiver: Receiver, service: dict[str, Any]
) -> None:
    # Both the first attempt and its retry hang.
    receiver.script("/hang", Reply(200, delay=30), Reply(200, delay=30))
    slow = await subscribe(admin, receiver, "/hang", service_ids=[service["id"]])
    await subscribe(admin, receiver, "/quick", service_ids=[service["id"]])
    started = asyncio.get_running_loop().time()
    await open_incident(admin, service["id"])
    await receiver.wait_for("/quick", 1, timeout=2)
    assert asyncio.get_running_loop().time() - started < 2

    async def cut() -> dict[str, Any] | None:
        found = await deliveries(admin, slow["id"])
        return found[0] if found and found[0]["attempts"] >= 1 else None

    timed_out = await eventually(cut, timeout=14)
    elapsed = asyncio.get_running_loop().time() - started
    assert 9.5 <= elapsed < 14
    assert "timed out" in timed_out["last_error"] and timed_out["last_status_code"] is None


async def test_outbox_rows_and_jobs_exist_only_if_the_change_commits(
    service: dict[str, Any],
) -> None:
    ran: list[str] = []

    async def follow_up() -> None:
        ran.append("ran")

    # Subscribed to no events, so no other test's changes reach it.
    webhook = await Webhook.create(
        url="https://example.com/x", secret="whsec_x", events=[], created_at=datetime.now(UTC),
        updated_at=datetime.now(UTC),
    )  # fmt: skip
    with pytest.raises(RuntimeError):
        async with atomic():
            await WebhookDelivery.create(
                webhook_id=webhook.id, event="incident.triggered", event_id="evt_x", payload={},
                created_at=datetime.now(UTC),
            )  # fmt: skip
            await after_commit(follow_up)
            assert ran == []
            raise RuntimeError("the change fails")
    assert ran == []
    assert await WebhookDelivery.filter(webhook_id=webhook.id).count() == 0

    async with atomic():
        await after_commit(follow_up)
        assert ran == []
    assert ran == ["ran"]
    await webhook.delete()


async def test_redirects_are_not_followed(
    admin: Api, receiver: Receiver, service: dict[str, Any]
) -> None:
    receiver.script("/moved", Reply(302, {"Location": receiver.url("/elsewhere")}))
    hook = await subscribe(admin, receiver, "/moved", service_ids=[service["id"]])
    await open_incident(admin, service["id"])
    # The 302 is a failed attempt; the retry goes to the same URL again.
    await receiver.wait_for("/moved", 2)
    assert receiver.at("/elsewhere") == []
    (row,) = await eventually(lambda: _delivered(admin, hook["id"]))
    assert row["attempts"] == 2


async def test_changes_to_one_incident_arrive_in_order(
    admin: Api, receiver: Receiver, service: dict[str, Any]
) -> None:
    await subscribe(admin, receiver, "/ordered", service_ids=[service["id"]])
    incident = await open_incident(admin, service["id"])
    path = f"/api/incidents/{incident['id']}"
    # One change with three parts: three deliveries enqueued at the same moment.
    body = {"status": "ACKNOWLEDGED", "urgency": "HIGH", "priority": "P1"}
    assert (await admin.patch(path, body)).status_code == 200
    assert (await admin.patch(path, {"status": "RESOLVED"})).status_code == 200
    received = await receiver.wait_for("/ordered", 5)
    assert [r.json["event"] for r in received] == [
        "incident.triggered", "incident.acknowledged", "incident.urgency_changed",
        "incident.priority_changed", "incident.resolved",
    ]  # fmt: skip


async def test_contact_methods_are_managed_by_their_owner_or_an_admin(
    admin: Api, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    responder = await make_api(client, role="RESPONDER")
    own = f"/api/users/{responder.user_id}/contact-methods"
    created = await responder.post(own, {"type": "webhook", "address": receiver.url("/me")})
    assert created.status_code == 201, created.text
    method = created.json()["data"]
    assert method["secret"].startswith("whsec_") and method["type"] == "webhook"
    listed = (await responder.get(own)).json()["data"]
    assert [m["id"] for m in listed] == [method["id"]] and "secret" not in listed[0]

    # Someone else's contact methods: readable, not writable, without users:write.
    others = f"/api/users/{admin.user_id}/contact-methods"
    refused = await responder.post(others, {"type": "webhook", "address": receiver.url("/x")})
    assert refused.status_code == 403
    bad = await responder.post(own, {"type": "carrier-pigeon", "address": receiver.url("/y")})
    assert bad.status_code == 400 and bad.json()["error"]["details"]["field"] == "type"
    assert len((await responder.get(own)).json()["data"]) == 1

    assert (await admin.delete(f"{own}/{method['id']}")).status_code == 200
    assert (await responder.get(own)).json()["data"] == []
    assert (await admin.delete(f"{own}/{method['id']}")).status_code == 404


async def test_webhooks_and_contact_methods_over_graphql(
    admin: Api, receiver: Receiver, service: dict[str, Any]
) -> None:
    created = await admin.graphql(
        """mutation($url: String!, $s: [ID!]) {
          createWebhook(input: {url: $url, events: ["incident.triggered"], serviceIds: $s}) {
            id secret events serviceIds enabled } }""",
        {"url": receiver.url("/gql"), "s": [service["id"]]},
    )
    hook = created["data"]["createWebhook"]
    assert hook["secret"].startswith("whsec_") and hook["serviceIds"] == [service["id"]]
    await open_incident(admin, service["id"])
    await receiver.wait_for("/gql", 1)

    async def delivered() -> list[dict[str, Any]] | None:
        result = await admin.graphql(
            "query($id: ID!) { webhookDeliveries(webhookId: $id) { nodes { event status } } }",
            {"id": hook["id"]},
        )
        nodes: list[dict[str, Any]] = result["data"]["webhookDeliveries"]["nodes"]
        return nodes if nodes and nodes[0]["status"] == "delivered" else None

    assert await eventually(delivered) == [{"event": "incident.triggered", "status": "delivered"}]
    refused = await admin.graphql(
        'mutation { createWebhook(input: {url: "https://example.com", events: ["nope"]}) { id } }'
    )
    assert refused["errors"][0]["extensions"]["code"] == "VALIDATION_ERROR"
    contact = await admin.graphql(
        """mutation($u: ID!, $a: String!) {
          createContactMethod(userId: $u, input: {type: "webhook", address: $a}) {
            id secret type } }""",
        {"u": admin.user_id, "a": receiver.url("/me")},
    )
    assert contact["data"]["createContactMethod"]["type"] == "webhook"
    listed = await admin.graphql(
        "query($u: ID!) { contactMethods(userId: $u) { id address } }", {"u": admin.user_id}
    )
    assert listed["data"]["contactMethods"][0]["address"] == receiver.url("/me")


class _Recorder:
    """A bare HTTP server on one loopback address: records each request's Host header."""

    def __init__(self) -> None:
        self.hosts: list[str] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        length = 0
        for line in head.split("\r\n")[1:]:
            name, _, value = line.partition(":")
            if name.lower() == "host":
                self.hosts.append(value.strip())
            if name.lower() == "content-length":
                length = int(value)
        await reader.readexactly(length)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        await writer.drain()
        writer.close()


async def test_a_delivery_connects_to_the_address_the_guard_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """DNS rebinding: the name resolves to an allowed address when checked and to an
    internal one right after. The delivery must reach the checked address."""
    from tests.servers import free_port

    port = free_port()
    outside, inside = _Recorder(), _Recorder()
    servers = [
        await asyncio.start_server(outside.handle, "127.0.0.1", port),
        await asyncio.start_server(inside.handle, "127.0.0.2", port),
    ]
    answers = iter(["127.0.0.1"] + ["127.0.0.2"] * 10)
    loop = asyncio.get_running_loop()
    real_getaddrinfo = loop.getaddrinfo

    async def rebinding(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "rebind.example":
            import socket

            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port))]
        return await real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(loop, "getaddrinfo", rebinding)
    # In this test 127.0.0.1 plays a public address and 127.0.0.2 an internal one.
    monkeypatch.setattr(guard, "refused", lambda address: address == "127.0.0.2")
    try:
        from opsknight.webhooks import transport

        attempt = await transport.post(
            f"http://rebind.example:{port}/hook", {"content-type": "application/json"}, b"{}",
            allow_private=False,
        )  # fmt: skip
        assert attempt.ok, attempt
        assert outside.hosts == [f"rebind.example:{port}"]
        assert inside.hosts == []
    finally:
        for server in servers:
            server.close()
        await transport.close()


@pytest.mark.parametrize(
    ("address", "refused"),
    [
        ("2002:7f00:1::", True),  # 6to4 of 127.0.0.1
        ("2002:a00:1::", True),  # 6to4 of 10.0.0.1
        ("64:ff9b::a9fe:a9fe", True),  # NAT64 of 169.254.169.254
        ("64:ff9b:1::c0a8:1", True),  # local-use NAT64 of 192.168.0.1
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", True),  # Teredo, client 127.0.0.1
        ("::ffff:10.1.2.3", True),
        ("2002:808:808::", False),  # 6to4 of 8.8.8.8
        ("64:ff9b::808:808", False),
        ("2606:4700::1111", False),
    ],
)
def test_ipv6_forms_that_carry_an_ipv4_address_are_judged_by_it(
    address: str, refused: bool
) -> None:
    assert guard.refused(address) is refused


@pytest.mark.usefixtures("guarded")
async def test_refusals_name_the_setting_and_keep_internal_dns_answers_private(
    admin: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    loop = asyncio.get_running_loop()
    real_getaddrinfo = loop.getaddrinfo

    async def internal(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "wiki.corp.example":
            import socket

            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.20.30.40", 443))]
        return await real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(loop, "getaddrinfo", internal)
    response = await admin.post("/api/webhooks", {"url": "https://wiki.corp.example/hook"})
    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert "OPSKNIGHT_WEBHOOK_ALLOW_PRIVATE" in message
    assert "10.20.30.40" not in message


@pytest.mark.parametrize(
    "url", ["http://hooks.example.com:99999/x", "http://hooks.example.com:abc/x", "http://[::1/x"]
)
async def test_malformed_hosts_and_ports_are_400(admin: Api, url: str) -> None:
    response = await admin.post("/api/webhooks", {"url": url})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["details"]["field"] == "url"
    contact = await admin.post(
        f"/api/users/{admin.user_id}/contact-methods", {"type": "webhook", "address": url}
    )
    assert contact.status_code == 400, contact.text
