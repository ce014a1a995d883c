"""The Incidents API (SPEC §5) over REST, with the GraphQL twin where it matters."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.conftest import Api, make_api, open_incident, unique

ALLOWED = {
    "OPEN": ["ACKNOWLEDGED", "RESOLVED", "SNOOZED", "SUPPRESSED"],
    "ACKNOWLEDGED": ["OPEN", "RESOLVED", "SNOOZED"],
    "SNOOZED": ["OPEN", "ACKNOWLEDGED", "RESOLVED"],
    "SUPPRESSED": ["OPEN", "RESOLVED"],
    "RESOLVED": ["OPEN"],
}
FORBIDDEN = [
    ("RESOLVED", "ACKNOWLEDGED"),
    ("RESOLVED", "SNOOZED"),
    ("RESOLVED", "SUPPRESSED"),
    ("SUPPRESSED", "ACKNOWLEDGED"),
    ("SUPPRESSED", "SNOOZED"),
    ("ACKNOWLEDGED", "SUPPRESSED"),
    ("SNOOZED", "SUPPRESSED"),
]
ENTRY = {
    ("OPEN", "ACKNOWLEDGED"): "acknowledged",
    ("OPEN", "RESOLVED"): "resolved",
    ("OPEN", "SNOOZED"): "snoozed",
    ("OPEN", "SUPPRESSED"): "suppressed",
    ("ACKNOWLEDGED", "OPEN"): "unacknowledged",
    ("ACKNOWLEDGED", "RESOLVED"): "resolved",
    ("ACKNOWLEDGED", "SNOOZED"): "snoozed",
    ("SNOOZED", "OPEN"): "unsnoozed",
    ("SNOOZED", "ACKNOWLEDGED"): "acknowledged",
    ("SNOOZED", "RESOLVED"): "resolved",
    ("SUPPRESSED", "OPEN"): "unsuppressed",
    ("SUPPRESSED", "RESOLVED"): "resolved",
    ("RESOLVED", "OPEN"): "reopened",
}
UPDATE = """
mutation($id: ID!, $input: UpdateIncidentInput!) {
  updateIncident(id: $id, input: $input) { id status timeline { type } }
}"""


def status_body(status: str) -> dict[str, Any]:
    # Snoozes here last 10,080 minutes (~17 s at the tests' time scale): longer than a test.
    return {"status": status, **({"snooze_duration": 10080} if status == "SNOOZED" else {})}


async def set_status(api: Api, incident_id: str, status: str, via: str = "rest") -> dict[str, Any]:
    if via == "graphql":
        graphql_input: dict[str, Any] = {"status": status}
        if status == "SNOOZED":
            graphql_input["snoozeDuration"] = 10080
        result = await api.graphql(UPDATE, {"id": incident_id, "input": graphql_input})
        if "errors" in result:
            return {"error": result["errors"][0]}
        return {"data": result["data"]["updateIncident"]}
    return (await api.patch(f"/api/incidents/{incident_id}", status_body(status))).json()


async def incident_in(api: Api, service_id: str, status: str) -> dict[str, Any]:
    incident = await open_incident(api, service_id)
    if status != "OPEN":
        assert "data" in await set_status(api, incident["id"], status)
    return incident


async def timeline_types(api: Api, incident_id: str) -> list[str]:
    return [
        e["type"] for e in (await api.get(f"/api/incidents/{incident_id}/timeline")).json()["data"]
    ]


async def test_create_returns_201_location_etag_and_numbers(
    admin: Api, service: dict[str, Any]
) -> None:
    response = await admin.post(
        "/api/incidents",
        {"title": "Checkout 5xx", "serviceId": service["id"], "urgency": "HIGH", "priority": "P2",
         "assigneeId": admin.user_id, "customDetails": {"pod": "web-1"},
         "links": [{"href": "https://grafana.example.com/d/1", "text": "dashboard"}],
         "dedupKey": unique("dk"), "description": "Errors spiking"},
    )  # fmt: skip
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    assert response.headers["location"] == f"/api/incidents/{data['id']}"
    assert response.headers["etag"]
    assert data["id"].startswith("inc_")
    assert data["status"] == "OPEN" and data["urgency"] == "HIGH" and data["priority"] == "P2"
    assert data["assignee"] == {
        "id": admin.user_id,
        "name": data["assignee"]["name"],
        "email": data["assignee"]["email"],
    }
    assert data["service"]["id"] == service["id"]
    assert data["custom_details"] == {"pod": "web-1"}
    assert data["links"] == [{"href": "https://grafana.example.com/d/1", "text": "dashboard"}]
    assert data["created_at"].endswith("Z")
    assert data["escalation_status"] == "NONE" and data["alert_count"] == 0
    assert [e["type"] for e in data["timeline"]] == ["created"]
    assert data["timeline"][0]["actor"]["type"] == "api_key"
    follow = await open_incident(admin, service["id"])
    assert follow["number"] > data["number"] >= 1
    assert (await open_incident(admin, service["id"]))["urgency"] == "LOW"  # the default


async def test_get_returns_full_object_list_returns_summary(
    admin: Api, service: dict[str, Any]
) -> None:
    incident = await open_incident(admin, service["id"])
    full = await admin.get(f"/api/incidents/{incident['id']}")
    assert (
        full.headers["etag"]
        == (await admin.get(f"/api/incidents/{incident['id']}")).headers["etag"]
    )
    assert {"timeline", "notes", "recent_changes"} <= set(full.json()["data"])
    listed = (await admin.get(f"/api/incidents?service_id={service['id']}")).json()["data"]
    assert "timeline" not in listed[0] and "notes" not in listed[0]
    assert set(full.json()["data"]) - set(listed[0]) == {"timeline", "notes"}


async def test_idempotency_key_replays_the_first_incident(
    admin: Api, service: dict[str, Any]
) -> None:
    key = unique("idem")
    body = {"title": "Once only", "service_id": service["id"]}
    first = await admin.post("/api/incidents", body, headers={"Idempotency-Key": key})
    second = await admin.post("/api/incidents", body, headers={"Idempotency-Key": key})
    assert first.status_code == second.status_code == 201
    assert first.json()["data"]["id"] == second.json()["data"]["id"]
    listed = await admin.get(f"/api/incidents?service_id={service['id']}&q=Once only")
    assert listed.json()["pagination"]["total"] == 1
    changed = await admin.post(
        "/api/incidents", {**body, "title": "Different"}, headers={"Idempotency-Key": key}
    )
    assert changed.status_code == 409


async def test_concurrent_idempotent_creates_make_one_incident(
    admin: Api, service: dict[str, Any]
) -> None:
    key = unique("race")
    body = {"title": "Raced create", "service_id": service["id"]}
    responses = await asyncio.gather(
        *(admin.post("/api/incidents", body, headers={"Idempotency-Key": key}) for _ in range(5))
    )
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["data"]["id"] for r in responses}) == 1


@pytest.mark.parametrize("via", ["rest", "graphql"])
@pytest.mark.parametrize(
    ("current", "target"), [(c, t) for c, targets in ALLOWED.items() for t in targets]
)
async def test_every_allowed_transition(
    admin: Api, service: dict[str, Any], current: str, target: str, via: str
) -> None:
    incident = await incident_in(admin, service["id"], current)
    result = await set_status(admin, incident["id"], target, via)
    assert "data" in result, result
    assert result["data"]["status"] == target
    types = await timeline_types(admin, incident["id"])
    assert types[-1] == ENTRY[(current, target)]
    # Exactly one entry per change: created + one per move.
    assert len(types) == 1 + (current != "OPEN") + 1


@pytest.mark.parametrize("via", ["rest", "graphql"])
@pytest.mark.parametrize(("current", "target"), FORBIDDEN)
async def test_forbidden_transitions(
    admin: Api, service: dict[str, Any], current: str, target: str, via: str
) -> None:
    incident = await incident_in(admin, service["id"], current)
    before = await timeline_types(admin, incident["id"])
    result = await set_status(admin, incident["id"], target, via)
    code = result["error"]["code"] if via == "rest" else result["error"]["extensions"]["code"]
    assert code == "INVALID_STATUS"
    assert await timeline_types(admin, incident["id"]) == before


async def test_same_status_is_a_no_op(admin: Api, service: dict[str, Any]) -> None:
    incident = await incident_in(admin, service["id"], "ACKNOWLEDGED")
    etag = (await admin.get(f"/api/incidents/{incident['id']}")).headers["etag"]
    again = await admin.patch(f"/api/incidents/{incident['id']}", {"status": "ACKNOWLEDGED"})
    assert again.status_code == 200
    assert await timeline_types(admin, incident["id"]) == ["created", "acknowledged"]
    assert again.headers["etag"] == etag


async def test_timestamps_follow_the_status(admin: Api, service: dict[str, Any]) -> None:
    incident = await open_incident(admin, service["id"])
    acked = (await set_status(admin, incident["id"], "ACKNOWLEDGED"))["data"]
    assert acked["acknowledged_at"] and acked["resolved_at"] is None
    resolved = (await set_status(admin, incident["id"], "RESOLVED"))["data"]
    assert resolved["resolved_at"] and resolved["last_status_change"] == resolved["resolved_at"]
    reopened = (await set_status(admin, incident["id"], "OPEN"))["data"]
    assert reopened["resolved_at"] is None and reopened["acknowledged_at"] is None


async def test_snooze_needs_a_duration_in_range(admin: Api, service: dict[str, Any]) -> None:
    incident = await open_incident(admin, service["id"])
    path = f"/api/incidents/{incident['id']}"
    for body, reason in (
        ({"status": "SNOOZED"}, "required"),
        ({"status": "SNOOZED", "snooze_duration": 0}, "out_of_range"),
        ({"status": "SNOOZED", "snoozeDuration": 10081}, "out_of_range"),
        ({"status": "ACKNOWLEDGED", "snooze_duration": 5}, "invalid"),
    ):
        response = await admin.patch(path, body)
        assert response.status_code == 400, body
        assert response.json()["error"]["details"] == {
            "field": "snooze_duration",
            "reason": reason,
        } | ({"minimum": 1, "maximum": 10080} if reason == "out_of_range" else {})
    assert await timeline_types(admin, incident["id"]) == ["created"]


async def test_snooze_ends_by_itself(admin: Api, service: dict[str, Any]) -> None:
    incident = await open_incident(admin, service["id"])
    # One minute at the tests' time scale of 600 is 0.1 s.
    snoozed = await admin.patch(
        f"/api/incidents/{incident['id']}", {"status": "SNOOZED", "snooze_duration": 1}
    )
    assert snoozed.json()["data"]["snoozed_until"]
    for _ in range(100):
        current = (await admin.get(f"/api/incidents/{incident['id']}")).json()["data"]
        if current["status"] == "OPEN":
            break
        await asyncio.sleep(0.05)
    assert current["status"] == "OPEN"
    assert current["snoozed_until"] is None
    last = current["timeline"][-1]
    assert last["type"] == "unsnoozed" and last["actor"]["type"] == "system"
    assert [e["type"] for e in current["timeline"]] == ["created", "snoozed", "unsnoozed"]


async def test_patch_writes_one_entry_per_change(admin: Api, service: dict[str, Any]) -> None:
    team = await admin.create("/api/teams", {"name": unique("Ops")})
    incident = await open_incident(admin, service["id"], custom_details={"a": 1, "b": 2})
    first = await admin.get(f"/api/incidents/{incident['id']}")
    response = await admin.patch(
        f"/api/incidents/{incident['id']}",
        {"status": "ACKNOWLEDGED", "urgency": "HIGH", "priority": "P1", "assignee_id": admin.user_id,
         "assigned_team_id": team["id"], "title": "Renamed", "custom_details": {"b": 3, "c": 4}},
        headers={"If-Match": first.headers["etag"]},
    )  # fmt: skip
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert response.headers["etag"] != first.headers["etag"]
    assert data["title"] == "Renamed" and data["custom_details"] == {"a": 1, "b": 3, "c": 4}
    assert data["assigned_team"] == {"id": team["id"], "name": team["name"]}
    assert [e["type"] for e in data["timeline"]] == [
        "created", "acknowledged", "urgency_changed", "priority_changed", "assigned", "assigned",
    ]  # fmt: skip
    # Reassign, then unassign with null.
    other = await make_api(admin.client)
    again = await admin.patch(
        f"/api/incidents/{incident['id']}", {"assignee_id": other.user_id, "priority": None}
    )
    assert again.json()["data"]["assignee"]["id"] == other.user_id
    assert again.json()["data"]["priority"] is None
    cleared = await admin.patch(f"/api/incidents/{incident['id']}", {"assignee_id": None})
    assert cleared.json()["data"]["assignee"] is None
    types = await timeline_types(admin, incident["id"])
    assert types[-3:] == ["priority_changed", "reassigned", "reassigned"]
    stale = await admin.patch(
        f"/api/incidents/{incident['id']}",
        {"urgency": "LOW"},
        headers={"If-Match": first.headers["etag"]},
    )
    assert stale.status_code == 409
    missing = await admin.patch(f"/api/incidents/{incident['id']}", {"assignee_id": "usr_nobody"})
    assert (
        missing.status_code == 400 and missing.json()["error"]["details"]["field"] == "assignee_id"
    )


async def test_resolution_note_becomes_a_note(admin: Api, service: dict[str, Any]) -> None:
    incident = await open_incident(admin, service["id"])
    response = await admin.patch(
        f"/api/incidents/{incident['id']}", {"status": "RESOLVED", "resolutionNote": "Rolled back"}
    )
    data = response.json()["data"]
    assert [n["content"] for n in data["notes"]] == ["Rolled back"]
    assert [e["type"] for e in data["timeline"]] == ["created", "resolved", "note_added"]


async def test_notes(admin: Api, service: dict[str, Any]) -> None:
    incident = await open_incident(admin, service["id"])
    path = f"/api/incidents/{incident['id']}/notes"
    response = await admin.post(path, {"content": "Looking into it", "is_internal": True})
    assert response.status_code == 201
    note = response.json()["data"]
    assert response.headers["location"] == f"{path}/{note['id']}"
    assert note["id"].startswith("note_") and note["is_internal"] is True
    assert note["author"]["id"] == admin.user_id
    for i in range(3):
        await admin.post(path, {"content": f"update {i}"})
    page = (await admin.get(f"{path}?limit=2&offset=2")).json()
    assert [n["content"] for n in page["data"]] == ["update 1", "update 2"]
    assert page["pagination"] == {"total": 4, "limit": 2, "offset": 2, "has_more": False}
    for body in ({"content": ""}, {"content": "x" * 10001}, {}):
        assert (await admin.post(path, body)).status_code == 400
    assert (await timeline_types(admin, incident["id"])).count("note_added") == 4


async def test_alerts_list_is_paged(admin: Api, service: dict[str, Any]) -> None:
    incident = await open_incident(admin, service["id"])
    page = (await admin.get(f"/api/incidents/{incident['id']}/alerts")).json()
    assert page == {
        "data": [],
        "pagination": {"total": 0, "limit": 25, "offset": 0, "has_more": False},
    }


async def test_merge(admin: Api, service: dict[str, Any]) -> None:
    target = await open_incident(admin, service["id"], title="Target")
    sources = [await open_incident(admin, service["id"], title=f"Source {i}") for i in range(2)]
    ids = [s["id"] for s in sources]
    response = await admin.post(f"/api/incidents/{target['id']}/merge", {"sourceIncidentIds": ids})
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["id"] == target["id"] and data["merged_incidents"] == ids and data["merged_at"]
    merged = (await admin.get(f"/api/incidents/{ids[0]}")).json()["data"]
    assert merged["status"] == "RESOLVED" and merged["merged_into"] == target["id"]
    assert merged["timeline"][-1]["type"] == "merged"
    refreshed = (await admin.get(f"/api/incidents/{target['id']}")).json()["data"]
    assert refreshed["related_incidents"] == ids
    assert refreshed["timeline"][-1]["type"] == "merged"
    # Merged incidents are read-only and hidden from lists unless asked for.
    assert (await admin.patch(f"/api/incidents/{ids[0]}", {"status": "OPEN"})).status_code == 409
    assert (await admin.post(f"/api/incidents/{ids[0]}/notes", {"content": "x"})).status_code == 409
    listed = {
        i["id"]
        for i in (await admin.get(f"/api/incidents?service_id={service['id']}")).json()["data"]
    }
    assert target["id"] in listed and not listed & set(ids)
    everything = await admin.get(f"/api/incidents?service_id={service['id']}&include_merged=true")
    assert set(ids) <= {i["id"] for i in everything.json()["data"]}
    again = await admin.post(
        f"/api/incidents/{target['id']}/merge", {"source_incident_ids": ids[:1]}
    )
    assert again.status_code == 409
    itself = await admin.post(
        f"/api/incidents/{target['id']}/merge", {"source_incident_ids": [target["id"]]}
    )
    assert itself.status_code == 400
    empty = await admin.post(f"/api/incidents/{target['id']}/merge", {"source_incident_ids": []})
    assert empty.status_code == 400


async def test_bulk_reports_each_item(admin: Api, service: dict[str, Any]) -> None:
    good = await open_incident(admin, service["id"])
    resolved = await incident_in(admin, service["id"], "RESOLVED")
    missing = "inc_00000000000000000000000000"
    response = await admin.post(
        "/api/incidents/bulk",
        {
            "incidentIds": [good["id"], resolved["id"], missing],
            "updates": {"status": "ACKNOWLEDGED", "urgency": "HIGH"},
        },
    )
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["updated"] == 1 and data["failed"] == 2
    results = {r["id"]: r for r in data["results"]}
    assert results[good["id"]] == {"id": good["id"], "status": "success", "error": None}
    assert results[resolved["id"]]["error"]["code"] == "INVALID_STATUS"
    assert results[missing]["error"]["code"] == "NOT_FOUND"
    acked = (await admin.get(f"/api/incidents/{good['id']}")).json()["data"]
    assert acked["status"] == "ACKNOWLEDGED" and acked["urgency"] == "HIGH"
    untouched = (await admin.get(f"/api/incidents/{resolved['id']}")).json()["data"]
    assert untouched["urgency"] == "LOW"
    too_many = await admin.post(
        "/api/incidents/bulk", {"incident_ids": [good["id"]] * 101, "updates": {"urgency": "LOW"}}
    )
    assert (
        too_many.status_code == 400
        and too_many.json()["error"]["details"]["field"] == "incident_ids"
    )


async def test_delete_needs_incidents_delete(
    client: httpx.AsyncClient, admin: Api, service: dict[str, Any]
) -> None:
    incident = await open_incident(admin, service["id"])
    writer = await make_api(client, scopes=["incidents:read", "incidents:write"])
    assert (await writer.delete(f"/api/incidents/{incident['id']}")).status_code == 403
    response = await admin.delete(f"/api/incidents/{incident['id']}")
    assert response.json() == {"data": {"id": incident["id"], "deleted": True}}
    assert (await admin.get(f"/api/incidents/{incident['id']}")).status_code == 404
    assert (await admin.get(f"/api/incidents/{incident['id']}/timeline")).status_code == 404


async def test_list_filters(admin: Api) -> None:
    team = await admin.create("/api/teams", {"name": unique("Filters")})
    owned = await admin.create("/api/services", {"name": unique("owned"), "team_id": team["id"]})
    other = await admin.create("/api/services", {"name": unique("other")})
    a = await open_incident(admin, owned["id"], title="alpha disk", urgency="HIGH", priority="P1")
    b = await open_incident(admin, other["id"], title="beta", urgency="LOW", assigned_team_id=team["id"],
                            assignee_id=admin.user_id, description="the DISK is full")  # fmt: skip
    c = await open_incident(admin, other["id"], title="gamma", urgency="MEDIUM")
    await set_status(admin, c["id"], "ACKNOWLEDGED")
    scope = f"service_id={owned['id']},{other['id']}"

    async def ids(query: str) -> set[str]:
        response = await admin.get(f"/api/incidents?{scope}&{query}&limit=100")
        assert response.status_code == 200, response.text
        return {i["id"] for i in response.json()["data"]}

    assert await ids("status=OPEN") == {a["id"], b["id"]}
    assert await ids("status=OPEN,ACKNOWLEDGED") == {a["id"], b["id"], c["id"]}
    assert await ids("urgency=HIGH,MEDIUM") == {a["id"], c["id"]}
    assert await ids("priority=P1") == {a["id"]}
    assert await ids(f"team_id={team['id']}") == {a["id"], b["id"]}
    assert await ids(f"assignee_id={admin.user_id}") == {b["id"]}
    assert await ids("q=disk") == {a["id"], b["id"]}
    created_b = (await admin.get(f"/api/incidents/{b['id']}")).json()["data"]["created_at"]
    assert await ids(f"created_after={created_b}") == {b["id"], c["id"]}
    assert await ids(f"created_before={created_b}") == {a["id"]}
    offset_form = created_b.replace("Z", "+00:00").replace("+", "%2B")
    assert await ids(f"created_after={offset_form}") == {b["id"], c["id"]}


SORT_KEYS = {
    "urgency": {"HIGH": 3, "MEDIUM": 2, "LOW": 1},
    "status": {"OPEN": 1, "ACKNOWLEDGED": 2, "SNOOZED": 3, "SUPPRESSED": 4, "RESOLVED": 5},
}


@pytest.mark.parametrize("order", ["asc", "desc"])
@pytest.mark.parametrize("sort", ["created_at", "updated_at", "urgency", "status", "priority"])
async def test_pagination_walk_never_skips_or_repeats(admin: Api, sort: str, order: str) -> None:
    service = await admin.create("/api/services", {"name": unique("walk")})
    made = []
    combos = [("HIGH", "P1", "OPEN"), ("LOW", None, "RESOLVED"), ("MEDIUM", "P3", "ACKNOWLEDGED"),
              ("HIGH", None, "SUPPRESSED"), ("LOW", "P3", "OPEN"), ("MEDIUM", "P5", "SNOOZED"),
              ("HIGH", "P3", "OPEN")]  # fmt: skip
    for urgency, priority, status in combos:
        incident = await open_incident(admin, service["id"], urgency=urgency, priority=priority)
        if status != "OPEN":
            await set_status(admin, incident["id"], status)
        made.append(incident["id"])
    seen: list[dict[str, Any]] = []
    offset = 0
    while True:
        page = (await admin.get(
            f"/api/incidents?service_id={service['id']}&sort={sort}&order={order}&limit=2&offset={offset}"
        )).json()  # fmt: skip
        seen += page["data"]
        assert page["pagination"]["total"] == len(made)
        if not page["pagination"]["has_more"]:
            break
        offset += 2
    assert sorted(i["id"] for i in seen) == sorted(made)
    assert len({i["id"] for i in seen}) == len(seen)
    if sort in SORT_KEYS:
        ranks = [SORT_KEYS[sort][i[sort]] for i in seen]
        # Urgency ranks HIGH highest; status ranks OPEN first, so `asc` starts at OPEN.
        assert ranks == sorted(ranks, reverse=order == "desc")
    elif sort == "priority":
        present = [i["priority"] for i in seen if i["priority"]]
        assert [i["priority"] for i in seen][len(present) :] == [None] * (len(seen) - len(present))
        assert present == sorted(present, reverse=order == "desc")
    else:
        stamps = [i[sort] for i in seen]
        assert stamps == sorted(stamps, reverse=order == "desc")


async def test_graphql_incidents_connection_matches_rest(
    admin: Api, service: dict[str, Any]
) -> None:
    for urgency in ("LOW", "HIGH"):
        await open_incident(admin, service["id"], urgency=urgency)
    result = await admin.graphql(
        """query($s: [ID!]) { incidents(filter: {serviceIds: $s, urgencies: [HIGH]}, sort: urgency, limit: 5) {
             nodes { id urgency service { name } } pagination { total limit offset hasMore } } }""",
        {"s": [service["id"]]},
    )
    rest = (
        await admin.get(
            f"/api/incidents?service_id={service['id']}&urgency=HIGH&sort=urgency&limit=5"
        )
    ).json()
    assert [n["id"] for n in result["data"]["incidents"]["nodes"]] == [
        i["id"] for i in rest["data"]
    ]
    assert result["data"]["incidents"]["pagination"] == {
        "total": 1,
        "limit": 5,
        "offset": 0,
        "hasMore": False,
    }


async def _totals(api: Api) -> dict[str, int]:
    totals = {}
    for path in ("/api/incidents?include_merged=true", "/api/services", "/api/teams",
                 "/api/escalation-policies", "/api/schedules", "/api/webhooks"):  # fmt: skip
        response = await api.get(path)
        assert response.status_code == 200, response.text
        totals[path] = response.json()["pagination"]["total"]
    return totals


async def test_failed_creates_leave_nothing_and_a_retry_makes_exactly_one(
    admin: Api, service: dict[str, Any]
) -> None:
    before = await _totals(admin)
    key = unique("idem")
    failing = [
        ("/api/incidents", b'{"title": "t", "service_id": "SVC", "custom_details": {"x": NaN}}'),
        ("/api/incidents", b'{"title": "t\\ud800", "service_id": "SVC"}'),
        ("/api/incidents", b'{"title": "t", "service_id": "SVC", "assignee_id": "usr_nobody"}'),
        ("/api/incidents", b'{"title": "t", "service_id": "SVC", "severity": "HIGH"}'),
        ("/api/services", b'{"name": "s", "escalation_policy_id": "pol_nobody"}'),
        ("/api/teams", b'{"name": "t", "lead_id": "usr_nobody"}'),
        ("/api/escalation-policies",
         b'{"name": "p", "steps": [{"target_type": "USER", "target_id": "usr_nobody"}]}'),
        ("/api/schedules", b'{"name": "s", "time_zone": "UTC", "layers": [{"users": ["usr_x"]}]}'),
        ("/api/webhooks", b'{"url": "http://hooks.example.com:99999/x"}'),
    ]  # fmt: skip
    for path, body in failing:
        response = await admin.post(
            path,
            content=body.replace(b"SVC", service["id"].encode()),
            headers={"content-type": "application/json", "Idempotency-Key": key},
        )
        assert response.status_code == 400, (path, response.text)
    assert await _totals(admin) == before
    # The client fixes its request and retries with the same key: one incident, however
    # many times it retries.
    good = {"title": "Checkout down", "service_id": service["id"]}
    made = [
        await admin.post("/api/incidents", good, headers={"Idempotency-Key": key}) for _ in range(3)
    ]
    assert [r.status_code for r in made] == [201, 201, 201]
    assert len({r.json()["data"]["id"] for r in made}) == 1
    after = await _totals(admin)
    assert (
        after["/api/incidents?include_merged=true"]
        == before["/api/incidents?include_merged=true"] + 1
    )
