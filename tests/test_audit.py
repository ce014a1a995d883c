"""The audit log (issue: run incidents like the best teams, item 7): who changed what
configuration, with before and after, written with the change; administrators read it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from opsknight import clock
from opsknight.audit import service as audit
from opsknight.audit.models import AuditEntry
from opsknight.transaction import atomic
from tests.conftest import Api, make_api, unique
from tests.console import person, sign_in


@pytest.fixture
async def admin(unlimited: httpx.AsyncClient) -> Api:
    return await make_api(unlimited)


async def entries(api: Api, **params: Any) -> list[dict[str, Any]]:
    answer = await api.get("/api/audit-log", params={"limit": 100, **params})
    assert answer.status_code == 200, answer.text
    listed: list[dict[str, Any]] = answer.json()["data"]
    return listed


async def test_service_changes_are_logged_with_who_and_what_and_refusals_are_not(
    admin: Api,
) -> None:
    service = await admin.create("/api/services", {"name": unique("checkout")})
    changed = await admin.patch(f"/api/services/{service['id']}",
                                {"description": "Payments", "acknowledgement_timeout": 30})  # fmt: skip
    assert changed.status_code == 200
    refused = await admin.patch(f"/api/services/{service['id']}", {"urgency_rule": "SOMETIMES"})
    assert refused.status_code == 400
    assert (await admin.delete(f"/api/services/{service['id']}")).status_code == 200

    logged = await entries(admin, resource_id=service["id"])
    assert [e["action"] for e in logged] == [
        "service.deleted",
        "service.updated",
        "service.created",
    ]
    deleted, updated, created = logged
    assert created["changes"]["name"] == {"before": None, "after": service["name"]}
    assert updated["changes"] == {
        "acknowledgement_timeout": {"before": None, "after": 30},
        "description": {"before": None, "after": "Payments"},
    }
    assert deleted["changes"]["name"] == {"before": service["name"], "after": None}
    for entry in logged:
        assert (entry["actor_type"], entry["actor_id"], entry["api_key_id"]) == (
            "user",
            admin.user_id,
            admin.key_id,
        )
        assert entry["ip"] == "127.0.0.1" and entry["resource_type"] == "service"
    mine = await entries(admin, actor_id=admin.user_id, action="service.updated")
    assert [e["id"] for e in mine] == [updated["id"]]


async def test_secrets_are_masked_and_keys_rules_windows_and_beats_are_logged(
    admin: Api,
) -> None:
    service = await admin.create("/api/services", {"name": unique("beats")})
    beat = await admin.create("/api/heartbeats", {"service_id": service["id"], "name": "backup",
                                                  "interval_seconds": 600})  # fmt: skip
    (created,) = await entries(admin, resource_id=beat["id"])
    assert created["changes"]["token"] == {"before": None, "after": "••••••"}
    assert beat["token"] not in str(created)

    key = await admin.create("/api/api-keys", {"name": "ci", "scopes": ["incidents:read"]})
    assert (await admin.delete(f"/api/api-keys/{key['id']}")).status_code == 200
    actions = [e["action"] for e in await entries(admin, resource_id=key["id"])]
    assert actions == ["api_key.revoked", "api_key.created"]

    rule = await admin.create("/api/event-rules", {"service_id": service["id"],
                                                   "actions": {"priority": "P2"}})  # fmt: skip
    await admin.patch(f"/api/event-rules/{rule['id']}", {"actions": {"priority": "P1"}})
    (update, _) = await entries(admin, resource_id=rule["id"])
    assert update["changes"] == {
        "actions": {"before": {"priority": "P2"}, "after": {"priority": "P1"}}
    }
    now = clock.now()
    window = await admin.create("/api/maintenance-windows", {
        "name": "deploy", "service_ids": [service["id"]],
        "starts_at": (now + timedelta(hours=1)).isoformat(),
        "ends_at": (now + timedelta(hours=2)).isoformat()})  # fmt: skip
    assert (await admin.delete(f"/api/maintenance-windows/{window['id']}")).status_code == 200
    actions = [e["action"] for e in await entries(admin, resource_id=window["id"])]
    assert actions == ["maintenance_window.deleted", "maintenance_window.created"]


async def test_only_administrators_read_it_and_sign_ins_are_logged(
    admin: Api, unlimited: httpx.AsyncClient, browser: httpx.AsyncClient
) -> None:
    for role in ("RESPONDER", "USER"):
        other = await make_api(unlimited, role=role)
        refused = await other.get("/api/audit-log")
        assert refused.status_code == 403, role
    ada = await person(admin)
    assert (await sign_in(browser, ada["email"])).status_code == 303
    (signed,) = await entries(admin, resource_id=ada["id"], action="session.signed_in")
    assert signed["actor_id"] == ada["id"] and signed["session_id"]
    assert signed["ip"] == "127.0.0.1" and signed["api_key_id"] is None


async def test_entries_older_than_the_retention_are_removed(admin: Api) -> None:
    recent = await audit.record(None, "service.updated", "service", "svc_recent")
    # Written and swept in one transaction: the app's own sweeper (every 50 ms here)
    # cannot see the old entry, and so cannot remove it first.
    async with atomic():
        old = await AuditEntry.create(
            at=clock.now() - timedelta(days=400), action="service.updated",
            resource_type="service", resource_id="svc_old", actor_type="system", changes={},
        )  # fmt: skip
        assert await audit.sweep() >= 1
    assert not await AuditEntry.exists(id=old.id)
    assert await AuditEntry.exists(id=recent.id)


async def test_people_teams_policies_schedules_integrations_and_webhooks_are_logged(
    admin: Api, receiver: Any
) -> None:
    user = await admin.create("/api/users", {"name": "Kim", "email": f"{unique('k')}@x.io",
                                             "role": "RESPONDER", "password": "a long password"})  # fmt: skip
    await admin.patch(f"/api/users/{user['id']}", {"role": "ADMIN"})
    created, = [e for e in await entries(admin, resource_id=user["id"])
                if e["action"] == "user.created"]  # fmt: skip
    assert created["changes"]["password_hash"] == {"before": None, "after": "••••••"}
    (promoted,) = await entries(admin, resource_id=user["id"], action="user.updated")
    assert promoted["changes"] == {"role": {"before": "RESPONDER", "after": "ADMIN"}}

    team = await admin.create("/api/teams", {"name": unique("sre")})
    await admin.post(f"/api/teams/{team['id']}/members", {"user_id": user["id"]})
    await admin.delete(f"/api/teams/{team['id']}/members/{user['id']}")
    assert [e["action"] for e in await entries(admin, resource_id=team["id"])] == [
        "team.member_removed",
        "team.member_added",
        "team.created",
    ]

    policy = await admin.create("/api/escalation-policies", {"name": unique("pol"), "steps": [
        {"target_type": "USER", "target_id": user["id"], "delay_minutes": 5}]})  # fmt: skip
    await admin.patch(f"/api/escalation-policies/{policy['id']}", {"steps": [
        {"target_type": "USER", "target_id": user["id"], "delay_minutes": 15}]})  # fmt: skip
    (changed,) = await entries(admin, resource_id=policy["id"], action="escalation_policy.updated")
    steps = changed["changes"]["steps"]
    assert (steps["before"][0]["delay_minutes"], steps["after"][0]["delay_minutes"]) == (5, 15)

    schedule = await admin.create("/api/schedules", {
        "name": unique("Primary"), "time_zone": "UTC", "layers": [
            {"rotation_type": "daily", "handoff_start": "2024-01-01T00:00:00",
             "users": [user["id"]]}]})  # fmt: skip
    now = clock.now()
    override = await admin.create(f"/api/schedules/{schedule['id']}/overrides", {
        "user_id": admin.user_id, "start": now.isoformat(),
        "end": (now + timedelta(hours=1)).isoformat()})  # fmt: skip
    await admin.delete(f"/api/schedules/{schedule['id']}/overrides/{override['id']}")
    assert [e["action"] for e in await entries(admin, resource_id=schedule["id"])] == [
        "schedule.override_deleted",
        "schedule.override_created",
        "schedule.created",
    ]

    service = await admin.create("/api/services", {"name": unique("svc")})
    integration = await admin.create(f"/api/services/{service['id']}/integrations",
                                     {"name": "Prometheus"})  # fmt: skip
    (made,) = await entries(admin, resource_id=integration["id"])
    assert made["changes"]["key"]["after"] == "••••••"
    assert integration["key"] not in str(made)

    hook = await admin.create("/api/webhooks", {"name": "bot", "url": receiver.url("/bot")})
    rotated = await admin.post(f"/api/webhooks/{hook['id']}/rotate-secret")
    assert rotated.status_code == 200, rotated.text
    logged = await entries(admin, resource_id=hook["id"])
    assert [e["action"] for e in logged] == ["webhook.secret_rotated", "webhook.created"]
    assert logged[0]["changes"] == {"secret": {"before": "••••••", "after": "••••••"}}
    assert hook["secret"] not in str(logged)
