"""Authentication and authorisation (SPEC §2) through REST and GraphQL."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from opsknight.directory.models import User
from tests.conftest import Api, make_api, open_incident, unique


@pytest.mark.parametrize(
    "header",
    [
        lambda key: {"Authorization": f"Bearer {key}"},
        lambda key: {"Authorization": f"Api-Key {key}"},
        lambda key: {"X-API-Key": key},
    ],
    ids=["bearer", "api-key", "x-api-key"],
)
async def test_each_header_form_authenticates(
    client: httpx.AsyncClient, admin: Api, header: Any
) -> None:
    response = await client.get("/api/users/me", headers=header(admin.key))
    assert response.status_code == 200
    assert response.json()["data"]["id"] == admin.user_id


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer not-a-key"},
        {"Authorization": "Bearer sk_live_" + "a" * 40},
        {"Authorization": "Token token=0123456789abcdef0123456789abcdef"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
    ],
    ids=["missing", "malformed", "unknown", "integration-key", "basic"],
)
async def test_bad_credentials_are_401(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    response = await client.get("/api/incidents", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHORIZED"


async def test_revoked_key_stops_working(client: httpx.AsyncClient, admin: Api) -> None:
    other = await make_api(client)
    assert (await other.get("/api/users/me")).status_code == 200
    assert (await admin.delete(f"/api/api-keys/{other.key_id}")).status_code == 200
    response = await other.get("/api/users/me")
    assert response.status_code == 401
    assert "revoked" in response.json()["error"]["message"]


async def test_a_key_records_when_it_was_last_used(client: httpx.AsyncClient, admin: Api) -> None:
    other = await make_api(client)

    async def last_used() -> str | None:
        keys = (await admin.get("/api/api-keys?limit=100")).json()["data"]
        (row,) = [k for k in keys if k["id"] == other.key_id]
        return row["last_used_at"]

    assert await last_used() is None
    assert (await other.get("/api/users/me")).status_code == 200
    used = await last_used()
    assert used is not None and used.endswith("Z")


async def test_disabled_owner_key_is_401(client: httpx.AsyncClient, admin: Api) -> None:
    responder = await make_api(client, role="RESPONDER")
    response = await admin.patch(f"/api/users/{responder.user_id}", {"status": "DISABLED"})
    assert response.status_code == 200
    assert (await responder.get("/api/incidents")).status_code == 401
    await admin.patch(f"/api/users/{responder.user_id}", {"status": "ACTIVE"})
    assert (await responder.get("/api/incidents")).status_code == 200


async def test_missing_scope_is_403_on_rest_and_graphql(client: httpx.AsyncClient) -> None:
    reader = await make_api(client, scopes=["incidents:read"])
    response = await reader.post("/api/services", {"name": unique("svc")})
    assert response.status_code == 403
    assert response.json()["error"]["details"]["scope"] == "services:write"
    result = await reader.graphql('mutation { createService(input: {name: "x"}) { id } }')
    assert result["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await reader.get("/api/incidents")).status_code == 200


async def test_roles_limit_what_a_full_scope_key_can_do(
    client: httpx.AsyncClient, service: dict[str, Any]
) -> None:
    responder = await make_api(client, role="RESPONDER")
    user = await make_api(client, role="USER")
    # RESPONDER: incidents yes, configuration no.
    await open_incident(responder, service["id"])
    denied = await responder.post("/api/services", {"name": unique("svc")})
    assert denied.status_code == 403
    assert denied.json()["error"]["details"]["role"] == "RESPONDER"
    assert (
        await responder.post("/api/users", {"name": "x", "email": "x@example.com"})
    ).status_code == 403
    # USER: read only.
    assert (await user.get("/api/incidents")).status_code == 200
    assert (await user.get("/api/services")).status_code == 200
    created = await user.post("/api/incidents", {"title": "t", "service_id": service["id"]})
    assert created.status_code == 403
    result = await user.graphql(
        'mutation($s: ID!) { createIncident(input: {title: "t", serviceId: $s}) { id } }',
        {"s": service["id"]},
    )
    assert result["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_graphql_without_key_is_unauthorized(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json={"query": "{ viewer { id } }"})
    assert response.status_code == 200
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHORIZED"


async def test_test_keys_live_in_a_sandbox(
    client: httpx.AsyncClient, admin: Api, service: dict[str, Any]
) -> None:
    sandbox = await make_api(client, environment="test")
    assert sandbox.key.startswith("sk_test_")
    test_incident = await open_incident(sandbox, service["id"], title="sandboxed")
    live_incident = await open_incident(admin, service["id"], title="real")
    assert test_incident["environment"] == "test"
    assert live_incident["environment"] == "live"
    # Each side sees only its own environment, by id and in lists.
    assert (await admin.get(f"/api/incidents/{test_incident['id']}")).status_code == 404
    assert (await sandbox.get(f"/api/incidents/{live_incident['id']}")).status_code == 404
    denied = await sandbox.patch(f"/api/incidents/{live_incident['id']}", {"status": "RESOLVED"})
    assert denied.status_code == 404
    live_ids = {
        i["id"]
        for i in (await admin.get(f"/api/incidents?service_id={service['id']}")).json()["data"]
    }
    test_ids = {
        i["id"]
        for i in (await sandbox.get(f"/api/incidents?service_id={service['id']}")).json()["data"]
    }
    assert live_ids == {live_incident["id"]}
    assert test_ids == {test_incident["id"]}
    # Configuration is shared.
    assert (await sandbox.get(f"/api/services/{service['id']}")).status_code == 200


async def test_keys_are_stored_only_as_digests(client: httpx.AsyncClient, admin: Api) -> None:
    created = await admin.create("/api/api-keys", {"name": "ci", "scopes": ["incidents:read"]})
    key = created["key"]
    assert key.startswith("sk_live_") and len(key) >= 8 + 32
    assert created["last4"] == key[-4:]
    listed = (await admin.get("/api/api-keys?limit=100")).json()["data"]
    row = next(item for item in listed if item["id"] == created["id"])
    assert "key" not in row
    from opsknight.auth.models import ApiKey

    stored = await ApiKey.get(id=created["id"])
    assert key not in {stored.digest, stored.prefix, stored.last4}
    fresh = Api(client=client, key=key, user_id=admin.user_id, key_id=created["id"])
    assert (await fresh.get("/api/incidents")).status_code == 200
    assert (await fresh.get("/api/users")).status_code == 403


async def test_password_is_hashed_with_argon2_and_never_returned(admin: Api) -> None:
    created = await admin.create(
        "/api/users",
        {"name": "Pat", "email": f"{unique('pat')}@example.com", "password": "s3cret-pass"},
    )
    assert "password" not in created and "password_hash" not in created
    row = await User.get(id=created["id"])
    assert row.password_hash is not None and row.password_hash.startswith("$argon2")


async def test_a_key_grants_only_scopes_it_holds_in_its_own_environment(
    client: httpx.AsyncClient,
) -> None:
    minter = await make_api(client, scopes=["api_keys:write"])
    for path, body in [
        ("/api/api-keys", {"name": "wide", "scopes": ["users:write", "incidents:delete"]}),
        ("/graphql", None),
    ]:
        if body is None:
            answer = await minter.graphql(
                'mutation { createApiKey(input: {name: "w", scopes: ["users:write"]}) { id } }'
            )
            assert answer["errors"][0]["extensions"]["code"] == "FORBIDDEN"
            continue
        refused = await minter.post(path, body)
        assert refused.status_code == 403, refused.text
        assert set(refused.json()["error"]["details"]["scopes"]) == {
            "users:write",
            "incidents:delete",
        }
    narrow = await minter.create("/api/api-keys", {"name": "narrow", "scopes": ["api_keys:write"]})
    assert narrow["scopes"] == ["api_keys:write"]

    sandbox = await make_api(client, environment="test")
    live = await sandbox.post(
        "/api/api-keys", {"name": "up", "scopes": ["incidents:read"], "environment": "live"}
    )
    assert live.status_code == 403, live.text
    made = await sandbox.create("/api/api-keys", {"name": "same", "scopes": ["incidents:read"]})
    assert made["key"].startswith("sk_test_") and made["environment"] == "test"


async def test_integration_keys_are_shown_only_to_those_who_manage_services(
    client: httpx.AsyncClient, admin: Api, service: dict[str, Any]
) -> None:
    path = f"/api/services/{service['id']}/integrations"
    created = await admin.create(path, {"name": "am", "type": "events_api"})
    assert len(created["key"]) == 32
    assert (await admin.get(path)).json()["data"][0]["key"] == created["key"]
    for reader in [
        await make_api(client, role="USER"),
        await make_api(client, role="ADMIN", scopes=["services:read"]),
    ]:
        listed = await reader.get(path)
        assert listed.status_code == 200
        assert [item["key"] for item in listed.json()["data"]] == [None]


async def test_a_test_key_with_a_routing_key_opens_only_test_incidents(
    client: httpx.AsyncClient, admin: Api, service: dict[str, Any]
) -> None:
    integration = await admin.create(
        f"/api/services/{service['id']}/integrations", {"name": "am", "type": "events_api"}
    )
    sandbox = await make_api(client, environment="test")
    event = {"routing_key": integration["key"], "event_action": "trigger", "dedup_key": unique("d"),
             "payload": {"summary": "s", "source": "h", "severity": "critical"}}  # fmt: skip
    live = await client.post("/v2/enqueue", json=event)
    assert live.status_code == 202, live.text
    resolve = {**event, "event_action": "resolve"}
    through_sandbox = await sandbox.post("/v2/enqueue", resolve)
    assert through_sandbox.status_code == 202
    opened = live.json()["data"]["incident"]["id"]
    assert (await admin.get(f"/api/incidents/{opened}")).json()["data"]["status"] == "OPEN"
