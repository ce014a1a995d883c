"""Escalation policies CRUD (SPEC §8)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import Api, make_api, unique


async def targets(api: Api) -> dict[str, str]:
    user = await api.create("/api/users", {"name": "Primary", "email": f"{unique('p')}@x.io"})
    team = await api.create("/api/teams", {"name": unique("SRE"), "lead_id": user["id"]})
    schedule = await api.create("/api/schedules", {"name": unique("Rota"), "time_zone": "UTC"})
    return {"USER": user["id"], "TEAM": team["id"], "SCHEDULE": schedule["id"]}


async def test_policy_crud_and_use_by_a_service(admin: Api) -> None:
    ids = await targets(admin)
    created = await admin.create("/api/escalation-policies", {
        "name": unique("Payments"), "repeat": True, "repeat_limit": 2,
        "steps": [
            {"target_type": "SCHEDULE", "target_id": ids["SCHEDULE"], "delay_minutes": 15},
            {"target_type": "TEAM", "target_id": ids["TEAM"], "delay_minutes": 30, "notify_team_lead_only": True,
             "channels": ["SLACK", "SMS"]},
            {"targetType": "USER", "targetId": ids["USER"]},
        ],
    })  # fmt: skip
    assert (
        created["id"].startswith("pol_")
        and created["repeat"] is True
        and created["repeat_limit"] == 2
    )
    steps = created["steps"]
    assert [s["position"] for s in steps] == [1, 2, 3]
    assert [s["target"]["type"] for s in steps] == ["SCHEDULE", "TEAM", "USER"]
    assert steps[0]["target"]["id"] == ids["SCHEDULE"] and steps[0]["delay_minutes"] == 15
    assert steps[1]["notify_team_lead_only"] is True and steps[1]["channels"] == ["SLACK", "SMS"]
    assert steps[2]["delay_minutes"] == 0 and steps[2]["channels"] is None
    service = await admin.create(
        "/api/services", {"name": unique("svc"), "escalation_policy_id": created["id"]}
    )
    assert service["escalation_policy"] == {"id": created["id"], "name": created["name"]}
    patched = await admin.patch(f"/api/escalation-policies/{created['id']}", {
        "steps": [{"target_type": "USER", "target_id": ids["USER"], "delay_minutes": 5}],
    })  # fmt: skip
    assert [s["target_type"] for s in patched.json()["data"]["steps"]] == ["USER"]
    assert patched.json()["data"]["repeat_limit"] == 2
    listed = (await admin.get(f"/api/escalation-policies?q={created['name']}")).json()
    assert [p["id"] for p in listed["data"]] == [created["id"]]
    # A user or schedule in a step cannot be deleted.
    blocked = await admin.delete(f"/api/users/{ids['USER']}")
    assert blocked.status_code == 409 and created["name"] in blocked.json()["error"]["message"]
    assert (await admin.delete(f"/api/escalation-policies/{created['id']}")).status_code == 200
    assert (await admin.get(f"/api/services/{service['id']}")).json()["data"][
        "escalation_policy"
    ] is None
    # With the policy gone the user is in no step, so deleting them works.
    assert (await admin.delete(f"/api/users/{ids['USER']}")).status_code == 200


@pytest.mark.parametrize(
    ("steps", "field"),
    [
        ([], "steps"),
        ([{"target_type": "ROBOT", "target_id": "x"}], "steps[0].target_type"),
        (
            [{"target_type": "USER", "target_id": "usr_00000000000000000000000000"}],
            "steps[0].target_id",
        ),
        (
            [{"target_type": "USER", "target_id": "USER", "delay_minutes": 1441}],
            "steps[0].delay_minutes",
        ),
        (
            [{"target_type": "USER", "target_id": "USER", "notify_team_lead_only": True}],
            "steps[0].notify_team_lead_only",
        ),
        (
            [{"target_type": "USER", "target_id": "USER", "channels": ["PIGEON"]}],
            "steps[0].channels",
        ),
        ([{"target_type": "USER", "target_id": "USER"}] * 21, "steps"),
    ],
)
async def test_bad_policies_name_the_field(
    admin: Api, steps: list[dict[str, Any]], field: str
) -> None:
    ids = await targets(admin)
    body = {
        "name": unique("bad"),
        "steps": [
            {**s, "target_id": ids["USER"] if s.get("target_id") == "USER" else s.get("target_id")}
            for s in steps
        ],
    }
    response = await admin.post("/api/escalation-policies", body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["details"]["field"] == field
    assert (await admin.get(f"/api/escalation-policies?q={body['name']}")).json()["pagination"][
        "total"
    ] == 0


async def test_repeat_limit_range_and_roles(client: httpx.AsyncClient, admin: Api) -> None:
    ids = await targets(admin)
    step = [{"target_type": "USER", "target_id": ids["USER"]}]
    bad = await admin.post(
        "/api/escalation-policies", {"name": unique("p"), "repeat_limit": 11, "steps": step}
    )
    assert bad.status_code == 400 and bad.json()["error"]["details"]["field"] == "repeat_limit"
    responder = await make_api(client, role="RESPONDER")
    assert (
        await responder.post("/api/escalation-policies", {"name": unique("p"), "steps": step})
    ).status_code == 403
    assert (await responder.get("/api/escalation-policies")).status_code == 200


async def test_policies_over_graphql(admin: Api) -> None:
    ids = await targets(admin)
    result = await admin.graphql(
        """mutation($u: ID!, $n: String!) { createEscalationPolicy(input: {name: $n, steps: [{targetType: "USER", targetId: $u}]}) {
             id steps { target { type name } } } }""",
        {"u": ids["USER"], "n": unique("gql")},
    )
    policy = result["data"]["createEscalationPolicy"]
    assert policy["steps"] == [{"target": {"type": "USER", "name": "Primary"}}]
    listed = await admin.graphql(
        "query($id: ID!) { escalationPolicy(id: $id) { id } }", {"id": policy["id"]}
    )
    assert listed["data"]["escalationPolicy"]["id"] == policy["id"]
