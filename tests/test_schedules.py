"""Schedules and on-call over the API (SPEC §9)."""

from __future__ import annotations

from typing import Any

import pytest

from opsknight import clock
from opsknight.escalation.models import EscalationPolicy, EscalationStep
from tests.conftest import Api, unique


async def make_users(api: Api, count: int) -> list[dict[str, Any]]:
    return [
        await api.create("/api/users", {"name": f"Person {i}", "email": f"{unique('p')}@x.io"})
        for i in range(count)
    ]


async def make_schedule(api: Api, users: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    body = {
        "name": unique("Primary"),
        "time_zone": "America/New_York",
        "layers": [
            {"name": "Daily", "rotation_type": "daily", "handoff_start": "2024-03-08T09:00:00",
             "users": [u["id"] for u in users]},
        ],
        **extra,
    }  # fmt: skip
    return await api.create("/api/schedules", body)


async def test_schedule_crud_with_layers(admin: Api) -> None:
    ann, bob = await make_users(admin, 2)
    schedule = await make_schedule(admin, [ann, bob, ann], description="Payments primary")
    assert schedule["id"].startswith("sch_") and schedule["time_zone"] == "America/New_York"
    (layer,) = schedule["layers"]
    assert layer["id"].startswith("lay_") and layer["rotation_type"] == "daily"
    assert [u["id"] for u in layer["users"]] == [ann["id"], bob["id"], ann["id"]]  # repeats kept
    fetched = (await admin.get(f"/api/schedules/{schedule['id']}")).json()["data"]
    assert fetched == schedule
    patched = await admin.patch(f"/api/schedules/{schedule['id']}", {
        "layers": [
            {"id": layer["id"], "name": "Daily", "rotation_type": "daily", "handoff_start": "2024-03-08T09:00:00", "users": [bob["id"]]},
            {"name": "Business hours", "rotation_type": "weekly", "handoff_start": "2024-03-04T09:00:00", "users": [ann["id"]],
             "restrictions": [{"days": ["MON", "TUE", "WED", "THU", "FRI"], "start_time": "09:00", "end_time": "17:00"}]},
        ]
    })  # fmt: skip
    assert patched.status_code == 200, patched.text
    layers = patched.json()["data"]["layers"]
    assert layers[0]["id"] == layer["id"] and [u["id"] for u in layers[0]["users"]] == [bob["id"]]
    assert layers[1]["restrictions"][0]["days"] == ["MON", "TUE", "WED", "THU", "FRI"]
    listed = (await admin.get(f"/api/schedules?q={schedule['name']}")).json()
    assert [s["id"] for s in listed["data"]] == [schedule["id"]]
    assert (await admin.delete(f"/api/schedules/{schedule['id']}")).json()["data"][
        "deleted"
    ] is True
    assert (await admin.get(f"/api/schedules/{schedule['id']}")).status_code == 404


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"time_zone": "Mars/Olympus_Mons"}, "time_zone"),
        ({"time_zone": "Eastern Standard Time"}, "time_zone"),
        (
            {
                "layers": [
                    {
                        "rotation_type": "daily",
                        "handoff_start": "2024-01-01T09:00:00+01:00",
                        "users": ["USER"],
                    }
                ]
            },
            "layers[0].handoff_start",
        ),
        (
            {
                "layers": [
                    {
                        "rotation_type": "hourly",
                        "handoff_start": "2024-01-01T09:00:00",
                        "users": ["USER"],
                    }
                ]
            },
            "layers[0].rotation_type",
        ),
        (
            {
                "layers": [
                    {
                        "rotation_type": "custom",
                        "handoff_start": "2024-01-01T09:00:00",
                        "users": ["USER"],
                    }
                ]
            },
            "layers[0].rotation_length_hours",
        ),
        (
            {
                "layers": [
                    {
                        "rotation_type": "custom",
                        "rotation_length_hours": 9000,
                        "handoff_start": "2024-01-01T09:00:00",
                        "users": ["USER"],
                    }
                ]
            },
            "layers[0].rotation_length_hours",
        ),
        (
            {
                "layers": [
                    {
                        "rotation_type": "daily",
                        "handoff_start": "2024-01-01T09:00:00",
                        "users": ["USER", "usr_nobody"],
                    }
                ]
            },
            "layers[0].users[1]",
        ),
        (
            {
                "layers": [
                    {"rotation_type": "daily", "handoff_start": "2024-01-01T09:00:00", "users": []}
                ]
            },
            "layers[0].users",
        ),
        (
            {
                "layers": [
                    {
                        "rotation_type": "daily",
                        "handoff_start": "2024-01-01T09:00:00",
                        "users": ["USER"],
                        "restrictions": [{"start_time": "09:00", "end_time": "09:00"}],
                    }
                ]
            },
            "layers[0].restrictions[0].end_time",
        ),
        (
            {
                "layers": [
                    {
                        "rotation_type": "daily",
                        "handoff_start": "2024-01-01T09:00:00",
                        "users": ["USER"],
                        "restrictions": [{"start_time": "25:00", "end_time": "09:00"}],
                    }
                ]
            },
            "layers[0].restrictions[0].start_time",
        ),
        (
            {
                "layers": [
                    {
                        "rotation_type": "daily",
                        "handoff_start": "2024-01-01T09:00:00",
                        "users": ["USER"],
                        "restrictions": [
                            {"days": ["FUNDAY"], "start_time": "08:00", "end_time": "09:00"}
                        ],
                    }
                ]
            },
            "layers[0].restrictions[0].days[0]",
        ),
        (
            {
                "layers": [
                    {
                        "rotation_type": "daily",
                        "handoff_start": "2024-01-01T09:00:00",
                        "users": ["USER"],
                        "end": "2023-12-31T00:00:00",
                    }
                ]
            },
            "layers[0].end",
        ),
    ],
)
async def test_bad_schedules_are_400_naming_the_field(
    admin: Api, change: dict[str, Any], field: str
) -> None:
    (user,) = await make_users(admin, 1)
    name = unique("bad")
    body: dict[str, Any] = {"name": name, "time_zone": "UTC", **change}
    for layer in body.get("layers", []):
        layer["users"] = [user["id"] if u == "USER" else u for u in layer["users"]]
    response = await admin.post("/api/schedules", body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["details"]["field"] == field
    assert (await admin.get(f"/api/schedules?q={name}")).json()["pagination"]["total"] == 0


async def test_on_call_and_shifts_across_spring_forward(admin: Api) -> None:
    ann, bob, cat = await make_users(admin, 3)
    schedule = await make_schedule(admin, [ann, bob, cat])
    at = await admin.get(f"/api/schedules/{schedule['id']}/on-call?at=2024-03-10T15:00:00Z")
    assert at.status_code == 200, at.text
    data = at.json()["data"]
    assert data["schedule"] == {
        "id": schedule["id"],
        "name": schedule["name"],
        "time_zone": "America/New_York",
    }
    assert data["at"] == "2024-03-10T15:00:00Z"
    (entry,) = data["on_call"]
    assert entry["user"]["id"] == cat["id"] and entry["override"] is None
    assert entry["layer"] == {"id": schedule["layers"][0]["id"], "name": "Daily"}
    assert (entry["start"], entry["end"]) == ("2024-03-10T13:00:00Z", "2024-03-11T13:00:00Z")
    shifts = (
        await admin.get(
            f"/api/schedules/{schedule['id']}/shifts?since=2024-03-08T00:00:00Z&until=2024-03-11T00:00:00Z"
        )
    ).json()["data"]
    assert [(s["user"]["id"], s["start"], s["end"]) for s in shifts["shifts"]] == [
        (ann["id"], "2024-03-08T14:00:00Z", "2024-03-09T14:00:00Z"),
        (bob["id"], "2024-03-09T14:00:00Z", "2024-03-10T13:00:00Z"),
        (cat["id"], "2024-03-10T13:00:00Z", "2024-03-11T00:00:00Z"),
    ]
    assert shifts["gaps"] == [{"start": "2024-03-08T00:00:00Z", "end": "2024-03-08T14:00:00Z"}]


async def test_shift_range_limits(admin: Api) -> None:
    (ann,) = await make_users(admin, 1)
    schedule = await make_schedule(admin, [ann])
    base = f"/api/schedules/{schedule['id']}/shifts"
    too_long = await admin.get(f"{base}?since=2024-01-01T00:00:00Z&until=2024-04-04T00:00:00Z")
    assert too_long.status_code == 400 and too_long.json()["error"]["details"]["field"] == "until"
    backwards = await admin.get(f"{base}?since=2024-01-02T00:00:00Z&until=2024-01-01T00:00:00Z")
    assert backwards.status_code == 400
    missing = await admin.get(f"{base}?since=2024-01-01T00:00:00Z")
    assert missing.status_code == 400 and missing.json()["error"]["details"]["field"] == "until"
    naive = await admin.get(f"{base}?since=2024-01-01T00:00:00&until=2024-01-02T00:00:00Z")
    assert naive.status_code == 400 and naive.json()["error"]["details"]["field"] == "since"
    exactly = await admin.get(f"{base}?since=2024-01-01T00:00:00Z&until=2024-04-03T00:00:00Z")
    assert exactly.status_code == 200


async def test_overrides_with_and_without_replaces(admin: Api) -> None:
    ann, bob, zed = await make_users(admin, 3)
    schedule = await make_schedule(admin, [ann, bob], time_zone="UTC", layers=[
        {"rotation_type": "daily", "handoff_start": "2024-01-01T00:00:00", "users": [ann["id"], bob["id"]]},
    ])  # fmt: skip
    path = f"/api/schedules/{schedule['id']}/overrides"
    bad = await admin.post(
        path, {"start": "2024-01-02T00:00:00Z", "end": "2024-01-01T00:00:00Z", "user_id": zed["id"]}
    )
    assert bad.status_code == 400 and bad.json()["error"]["details"]["field"] == "end"
    unknown = await admin.post(
        path,
        {"start": "2024-01-01T00:00:00Z", "end": "2024-01-02T00:00:00Z", "user_id": "usr_nobody"},
    )
    assert unknown.status_code == 400 and unknown.json()["error"]["details"]["field"] == "user_id"
    replaces = await admin.create(path, {"start": "2024-01-01T12:00:00Z", "end": "2024-01-02T12:00:00Z",
                                         "userId": zed["id"], "replaces_user_id": bob["id"]})  # fmt: skip
    assert replaces["replaces_user"]["id"] == bob["id"]
    shifts = (
        await admin.get(
            f"/api/schedules/{schedule['id']}/shifts?since=2024-01-01T00:00:00Z&until=2024-01-03T00:00:00Z"
        )
    ).json()["data"]["shifts"]
    assert [(s["user"]["id"], s["start"], s["override"]) for s in shifts] == [
        (ann["id"], "2024-01-01T00:00:00Z", None),
        (zed["id"], "2024-01-02T00:00:00Z", replaces["id"]),
        (bob["id"], "2024-01-02T12:00:00Z", None),
    ]
    everyone = await admin.create(
        path, {"start": "2024-01-01T06:00:00Z", "end": "2024-01-01T08:00:00Z", "user_id": zed["id"]}
    )
    now = (
        await admin.get(f"/api/schedules/{schedule['id']}/on-call?at=2024-01-01T07:00:00Z")
    ).json()["data"]["on_call"]
    assert (
        now[0]["user"]["id"] == zed["id"]
        and now[0]["override"] == everyone["id"]
        and now[0]["layer"] is None
    )
    assert (now[0]["start"], now[0]["end"]) == ("2024-01-01T06:00:00Z", "2024-01-01T08:00:00Z")
    listed = (await admin.get(path)).json()["data"]
    assert [o["id"] for o in listed] == [everyone["id"], replaces["id"]]
    assert (await admin.delete(f"{path}/{everyone['id']}")).status_code == 200
    after = (
        await admin.get(f"/api/schedules/{schedule['id']}/on-call?at=2024-01-01T07:00:00Z")
    ).json()["data"]["on_call"]
    assert after[0]["user"]["id"] == ann["id"]


async def test_every_change_is_seen_by_the_next_lookup(admin: Api) -> None:
    """Lookups on one day reuse a render; each kind of change must still show at once."""
    ann, bob, zed = await make_users(admin, 3)
    schedule = await make_schedule(admin, [ann], time_zone="UTC", layers=[
        {"rotation_type": "weekly", "handoff_start": "2024-01-01T00:00:00", "users": [ann["id"]]},
    ])  # fmt: skip
    lookup = f"/api/schedules/{schedule['id']}/on-call?at=2024-01-03T10:00:00Z"

    async def on_call_now() -> tuple[str, str | None]:
        (entry,) = (await admin.get(lookup)).json()["data"]["on_call"]
        return entry["user"]["id"], entry["override"]

    assert await on_call_now() == (ann["id"], None)
    assert await on_call_now() == (ann["id"], None)  # the day's render is reused
    override = await admin.create(f"/api/schedules/{schedule['id']}/overrides", {
        "start": "2024-01-03T09:00:00Z", "end": "2024-01-03T11:00:00Z", "user_id": zed["id"],
    })  # fmt: skip
    assert await on_call_now() == (zed["id"], override["id"])
    assert (
        await admin.delete(f"/api/schedules/{schedule['id']}/overrides/{override['id']}")
    ).status_code == 200
    assert await on_call_now() == (ann["id"], None)
    patched = await admin.patch(f"/api/schedules/{schedule['id']}", {"layers": [
        {"rotation_type": "weekly", "handoff_start": "2024-01-01T00:00:00", "users": [bob["id"]]},
    ]})  # fmt: skip
    assert patched.status_code == 200
    assert await on_call_now() == (bob["id"], None)
    again = await admin.create(f"/api/schedules/{schedule['id']}/overrides", {
        "start": "2024-01-03T09:00:00Z", "end": "2024-01-03T11:00:00Z", "user_id": zed["id"],
    })  # fmt: skip
    assert await on_call_now() == (zed["id"], again["id"])
    # Deleting a user takes their overrides with them.
    assert (await admin.delete(f"/api/users/{zed['id']}")).status_code == 200
    assert await on_call_now() == (bob["id"], None)
    moved = await admin.patch(f"/api/schedules/{schedule['id']}", {"time_zone": "Asia/Kolkata"})
    assert moved.status_code == 200
    shift = (await admin.get(lookup)).json()["data"]["on_call"][0]
    assert shift["start"] == "2023-12-31T18:30:00Z"  # Monday 00:00 in Kolkata


async def test_one_long_shift_is_bounded_by_each_lookup_s_own_horizon(admin: Api) -> None:
    """Two lookups on one day share the widest render; each reports ±93 days of its own."""
    (ann,) = await make_users(admin, 1)
    schedule = await make_schedule(admin, [ann], time_zone="UTC", layers=[
        {"rotation_type": "weekly", "handoff_start": "2024-01-01T00:00:00", "users": [ann["id"]]},
    ])  # fmt: skip
    bounds = []
    for at in ("2024-06-01T01:00:00Z", "2024-06-01T23:00:00Z"):
        (entry,) = (await admin.get(f"/api/schedules/{schedule['id']}/on-call?at={at}")).json()[
            "data"
        ]["on_call"]
        bounds.append((entry["start"], entry["end"]))
    assert bounds == [
        ("2024-02-29T01:00:00Z", "2024-09-02T01:00:00Z"),
        ("2024-02-29T23:00:00Z", "2024-09-02T23:00:00Z"),
    ]


async def test_empty_schedule_and_gaps_are_not_errors(admin: Api) -> None:
    schedule = await admin.create(
        "/api/schedules", {"name": unique("Empty"), "time_zone": "Europe/Berlin"}
    )
    response = await admin.get(f"/api/schedules/{schedule['id']}/on-call")
    assert response.status_code == 200 and response.json()["data"]["on_call"] == []


async def test_on_call_across_schedules(admin: Api) -> None:
    ann, bob = await make_users(admin, 2)
    first = await make_schedule(admin, [ann], time_zone="UTC")
    second = await make_schedule(admin, [bob], time_zone="Asia/Kolkata")
    everything = (await admin.get("/api/on-call?at=2024-06-01T12:00:00Z")).json()["data"]
    mine = {(e["schedule"]["id"], e["user"]["id"]) for e in everything}
    assert {(first["id"], ann["id"]), (second["id"], bob["id"])} <= mine
    one = (
        await admin.get(f"/api/on-call?at=2024-06-01T12:00:00Z&schedule_id={first['id']}")
    ).json()["data"]
    assert [(e["schedule"]["id"], e["user"]["id"]) for e in one] == [(first["id"], ann["id"])]
    by_user = (await admin.get(f"/api/on-call?at=2024-06-01T12:00:00Z&user_id={bob['id']}")).json()[
        "data"
    ]
    assert [e["schedule"]["id"] for e in by_user] == [second["id"]]


async def test_graphql_on_call_and_rendered_schedule(admin: Api) -> None:
    (ann,) = await make_users(admin, 1)
    schedule = await make_schedule(admin, [ann], time_zone="UTC")
    result = await admin.graphql(
        """query($id: ID!) {
             onCall(at: "2024-06-01T12:00:00Z", scheduleId: $id) { user { id } start end }
             schedule(id: $id) { layers { users { id } }
               shifts(since: "2024-06-01T00:00:00Z", until: "2024-06-02T00:00:00Z") { shifts { user { id } } gaps { start } } } }""",
        {"id": schedule["id"]},
    )
    assert result["data"]["onCall"][0]["user"]["id"] == ann["id"]
    assert result["data"]["schedule"]["shifts"]["shifts"] == [{"user": {"id": ann["id"]}}]
    too_long = await admin.graphql(
        """query($id: ID!) { schedule(id: $id) { shifts(since: "2024-01-01T00:00:00Z", until: "2024-12-01T00:00:00Z") { gaps { start } } } }""",
        {"id": schedule["id"]},
    )
    assert too_long["errors"][0]["extensions"]["code"] == "VALIDATION_ERROR"


async def test_deleting_a_schedule_used_by_an_escalation_step_is_409(admin: Api) -> None:
    (ann,) = await make_users(admin, 1)
    schedule = await make_schedule(admin, [ann])
    now = clock.now()
    policy = await EscalationPolicy.create(
        name=unique("Pol"), name_key=unique("pol"), created_at=now, updated_at=now
    )
    await EscalationStep.create(
        policy=policy, position=1, target_type="SCHEDULE", target_id=schedule["id"]
    )
    response = await admin.delete(f"/api/schedules/{schedule['id']}")
    assert response.status_code == 409 and policy.name in response.json()["error"]["message"]
    assert (await admin.get(f"/api/schedules/{schedule['id']}")).status_code == 200
    busy = await admin.delete(f"/api/users/{ann['id']}")
    assert busy.status_code == 409 and schedule["name"] in busy.json()["error"]["message"]
