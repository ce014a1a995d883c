"""Users, teams, services, integrations and API keys (SPEC §7)."""

from __future__ import annotations

import re
from typing import Any

import httpx

from opsknight import clock
from opsknight.escalation.models import EscalationPolicy, EscalationStep
from opsknight.schedules.models import Schedule, ScheduleLayer, ScheduleLayerMember
from tests.conftest import Api, make_api, open_incident, unique


async def test_user_crud_and_me(admin: Api) -> None:
    email = f"{unique('Grace')}@Example.com"
    created = await admin.create(
        "/api/users",
        {"name": "Grace Hopper", "email": email, "role": "RESPONDER", "timeZone": "Europe/Berlin"},
    )
    assert created["id"].startswith("usr_")
    assert created["time_zone"] == "Europe/Berlin"
    assert created["status"] == "ACTIVE"
    # Emails are unique whatever their case.
    duplicate = await admin.post("/api/users", {"name": "Other", "email": email.lower()})
    assert duplicate.status_code == 409
    assert duplicate.json()["error"]["details"]["field"] == "email"
    updated = await admin.patch(f"/api/users/{created['id']}", {"name": "Rear Admiral Hopper"})
    assert updated.json()["data"]["name"] == "Rear Admiral Hopper"
    fetched = await admin.get(f"/api/users/{created['id']}")
    assert fetched.json()["data"]["name"] == "Rear Admiral Hopper"
    me = await admin.get("/api/users/me")
    assert me.json()["data"]["id"] == admin.user_id
    deleted = await admin.delete(f"/api/users/{created['id']}")
    assert deleted.json() == {"data": {"id": created["id"], "deleted": True}}
    assert (await admin.get(f"/api/users/{created['id']}")).status_code == 404


async def test_user_list_filters_and_sorts_by_name(admin: Api) -> None:
    tag = unique("team")
    for name, role in (("Charlie", "USER"), ("alice", "RESPONDER"), ("Bob", "RESPONDER")):
        await admin.create(
            "/api/users", {"name": f"{name} {tag}", "email": f"{unique(name)}@x.io", "role": role}
        )
    listed = (await admin.get(f"/api/users?q={tag}")).json()
    assert [u["name"].split()[0] for u in listed["data"]] == ["Bob", "Charlie", "alice"]
    assert listed["pagination"] == {"total": 3, "limit": 25, "offset": 0, "has_more": False}
    responders = (await admin.get(f"/api/users?q={tag}&role=RESPONDER&limit=1")).json()
    assert responders["pagination"]["total"] == 2 and responders["pagination"]["has_more"]
    bad = await admin.get("/api/users?role=KING")
    assert bad.status_code == 400 and bad.json()["error"]["details"]["field"] == "role"


async def test_deleting_a_user_in_a_rotation_or_step_is_409_naming_where(admin: Api) -> None:
    user = await admin.create("/api/users", {"name": "Oncaller", "email": f"{unique('oc')}@x.io"})
    now = clock.now()
    schedule = await Schedule.create(
        name=unique("Primary"),
        name_key=unique("primary"),
        time_zone="UTC",
        created_at=now,
        updated_at=now,
    )
    layer = await ScheduleLayer.create(
        schedule=schedule,
        position=1,
        name="Layer 1",
        rotation_type="weekly",
        handoff_start="2024-01-01T09:00:00",
    )
    await ScheduleLayerMember.create(layer=layer, position=1, user_id=user["id"])
    policy = await EscalationPolicy.create(
        name=unique("Pol"), name_key=unique("pol"), created_at=now, updated_at=now
    )
    await EscalationStep.create(policy=policy, position=1, target_type="USER", target_id=user["id"])
    response = await admin.delete(f"/api/users/{user['id']}")
    assert response.status_code == 409
    error = response.json()["error"]
    assert schedule.name in error["message"] and policy.name in error["message"]
    used_by = error["details"]["used_by"]
    assert {"schedule_id": schedule.id, "schedule": schedule.name, "layer_id": layer.id} in used_by
    assert any(place.get("escalation_policy_id") == policy.id for place in used_by)
    assert (await admin.get(f"/api/users/{user['id']}")).status_code == 200


async def test_team_members_roles_and_lead(admin: Api) -> None:
    lead = await admin.create("/api/users", {"name": "Lead", "email": f"{unique('lead')}@x.io"})
    member = await admin.create("/api/users", {"name": "Member", "email": f"{unique('m')}@x.io"})
    team = await admin.create("/api/teams", {"name": unique("SRE"), "lead_id": lead["id"]})
    assert team["lead"]["id"] == lead["id"]
    assert team["members"] == [
        {"user": {"id": lead["id"], "name": "Lead", "email": lead["email"]}, "role": "OWNER",
         "receive_team_notifications": True}
    ]  # fmt: skip
    added = await admin.post(
        f"/api/teams/{team['id']}/members",
        {"userId": member["id"], "role": "MEMBER", "receive_team_notifications": False},
    )
    assert added.status_code == 200
    members = {m["user"]["id"]: m for m in added.json()["data"]["members"]}
    assert members[member["id"]]["receive_team_notifications"] is False
    # The lead must be a member.
    outsider = await admin.create("/api/users", {"name": "Out", "email": f"{unique('o')}@x.io"})
    bad = await admin.patch(f"/api/teams/{team['id']}", {"lead_id": outsider["id"]})
    assert bad.status_code == 400 and bad.json()["error"]["details"]["field"] == "lead_id"
    moved = await admin.patch(f"/api/teams/{team['id']}", {"lead_id": member["id"]})
    assert moved.json()["data"]["lead"]["id"] == member["id"]
    removed = await admin.delete(f"/api/teams/{team['id']}/members/{member['id']}")
    assert removed.json()["data"]["lead"] is None
    assert [m["user"]["id"] for m in removed.json()["data"]["members"]] == [lead["id"]]
    assert (
        await admin.delete(f"/api/teams/{team['id']}/members/{member['id']}")
    ).status_code == 404
    duplicate = await admin.post("/api/teams", {"name": team["name"]})
    assert duplicate.status_code == 409
    assert (await admin.delete(f"/api/teams/{team['id']}")).json()["data"]["deleted"] is True


async def test_service_health_and_active_count(admin: Api) -> None:
    team = await admin.create("/api/teams", {"name": unique("Payments")})
    service = await admin.create(
        "/api/services",
        {"name": unique("payment-api"), "team_id": team["id"], "region": "eu-west-1",
         "sla_tier": "gold", "runbook_url": "https://runbooks.example.com/pay"},
    )  # fmt: skip
    assert service["team"] == {"id": team["id"], "name": team["name"]}
    assert service["health"] == "OPERATIONAL" and service["active_incident_count"] == 0

    async def health() -> tuple[str, int]:
        data = (await admin.get(f"/api/services/{service['id']}")).json()["data"]
        return data["health"], data["active_incident_count"]

    low = await open_incident(admin, service["id"], urgency="LOW")
    assert await health() == ("DEGRADED", 1)
    high = await open_incident(admin, service["id"], urgency="HIGH")
    assert await health() == ("CRITICAL", 2)
    await admin.patch(f"/api/incidents/{high['id']}", {"status": "SNOOZED", "snooze_duration": 600})
    assert await health() == ("DEGRADED", 2)  # snoozed still counts as active, not for health
    await admin.patch(f"/api/incidents/{low['id']}", {"status": "SUPPRESSED"})
    assert await health() == ("OPERATIONAL", 2)
    blocked = await admin.delete(f"/api/services/{service['id']}")
    assert blocked.status_code == 409
    assert blocked.json()["error"]["details"]["active_incident_count"] == 2
    for incident in (low, high):
        await admin.patch(f"/api/incidents/{incident['id']}", {"status": "RESOLVED"})
    assert await health() == ("OPERATIONAL", 0)
    assert (await admin.delete(f"/api/services/{service['id']}")).status_code == 200
    assert (await admin.get(f"/api/services/{service['id']}")).status_code == 404


async def test_service_list_filters_by_team_and_search(admin: Api) -> None:
    team = await admin.create("/api/teams", {"name": unique("Search")})
    tag = unique("find")
    for name in ("zeta", "Alpha", "mid"):
        await admin.create("/api/services", {"name": f"{name}-{tag}", "teamId": team["id"]})
    await admin.create("/api/services", {"name": f"other-{tag}"})
    by_team = (await admin.get(f"/api/services?team_id={team['id']}")).json()["data"]
    assert [s["name"].split("-")[0] for s in by_team] == ["Alpha", "mid", "zeta"]
    searched = (await admin.get(f"/api/services?q={tag.upper()}")).json()["pagination"]["total"]
    assert searched == 4


async def test_integrations_have_32_hex_keys(admin: Api, service: dict[str, Any]) -> None:
    integration = await admin.create(
        f"/api/services/{service['id']}/integrations",
        {"name": "Prometheus", "type": "alertmanager"},
    )
    assert re.fullmatch(r"[0-9a-f]{32}", integration["key"])
    assert integration["type"] == "alertmanager"
    listed = (await admin.get(f"/api/services/{service['id']}/integrations")).json()["data"]
    assert [i["id"] for i in listed] == [integration["id"]]
    bad = await admin.post(
        f"/api/services/{service['id']}/integrations", {"type": "carrier-pigeon"}
    )
    assert bad.status_code == 400 and bad.json()["error"]["details"]["field"] == "type"
    gone = await admin.delete(f"/api/services/{service['id']}/integrations/{integration['id']}")
    assert gone.status_code == 200
    assert (await admin.get(f"/api/services/{service['id']}/integrations")).json()["data"] == []


async def test_api_keys_create_list_revoke(client: httpx.AsyncClient, admin: Api) -> None:
    responder = await make_api(client, role="RESPONDER")
    created = await admin.create(
        "/api/api-keys",
        {"name": "for responder", "scopes": ["incidents:read"], "environment": "test",
         "user_id": responder.user_id},
    )  # fmt: skip
    assert created["key"].startswith("sk_test_")
    assert created["user"]["id"] == responder.user_id
    assert created["environment"] == "test" and created["scopes"] == ["incidents:read"]
    assert response_has_location(
        await admin.post("/api/api-keys", {"name": "x", "scopes": ["users:read"]})
    )
    # Non-admins list only their own keys.
    own = (await responder.get("/api/api-keys")).json()["data"]
    assert {k["user"]["id"] for k in own} == {responder.user_id}
    assert (
        await responder.post("/api/api-keys", {"name": "n", "scopes": ["incidents:read"]})
    ).status_code == 403
    assert (await admin.delete(f"/api/api-keys/{created['id']}")).status_code == 200
    assert (await admin.delete(f"/api/api-keys/{created['id']}")).status_code == 404


def response_has_location(response: httpx.Response) -> bool:
    return response.status_code == 201 and response.headers["location"].startswith(
        "/api/api-keys/key_"
    )
