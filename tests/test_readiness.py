"""The escalation dry-run and the paging-readiness check (issue: run incidents like the
best teams, item 5). The dry-run must say what the engine then does: a test runs both.

Tests run the clock 600 times faster: a step delay of 10 minutes lasts 1 s."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from opsknight import clock
from opsknight.escalation.readiness import _night_hours
from tests.conftest import Api, make_api, unique


def test_night_hours_are_counted_in_the_persons_zone() -> None:
    from zoneinfo import ZoneInfo

    start = datetime(2024, 6, 3, 0, 0, tzinfo=UTC)
    day = _night_hours(start, start + timedelta(days=1), ZoneInfo("UTC"))
    assert day == 9.0  # 00:00-07:00 and 22:00-24:00
    tokyo = _night_hours(start, start + timedelta(hours=6), ZoneInfo("Asia/Tokyo"))
    assert tokyo == 0.0  # 09:00-15:00 in Tokyo


@pytest.fixture
async def admin(unlimited: httpx.AsyncClient) -> Api:
    return await make_api(unlimited)


async def person(api: Api, receiver: Any | None = None, **fields: Any) -> dict[str, Any]:
    made = await api.create("/api/users", {"name": unique("Person"), "role": "RESPONDER",
                                           "email": f"{unique('p')}@example.com", **fields})  # fmt: skip
    if receiver is not None:
        await api.create(f"/api/users/{made['id']}/contact-methods",
                         {"type": "webhook", "address": receiver.url(f"/pages/{made['id']}")})  # fmt: skip
    return made


def iso(moment: datetime) -> str:
    return clock.isoformat_z(moment)


async def test_the_dry_run_says_what_the_engine_then_does(
    admin: Api, client: httpx.AsyncClient, receiver: Any
) -> None:
    ann = await person(admin, receiver)
    bob = await person(admin, receiver)
    cat = await person(admin)  # no contact method
    schedule = await admin.create("/api/schedules", {
        "name": unique("Primary"), "time_zone": "UTC", "layers": [
            {"rotation_type": "daily", "handoff_start": "2024-01-01T00:00:00",
             "users": [ann["id"]]}]})  # fmt: skip
    now = clock.now()
    # Bob covers from half a second on: step 2, due 1 s after the incident opens, finds
    # him on call, though Ann is on call now.
    await admin.create(f"/api/schedules/{schedule['id']}/overrides", {
        "start": iso(now + timedelta(seconds=0.5)), "end": iso(now + timedelta(hours=1)),
        "user_id": bob["id"]})  # fmt: skip
    policy = await admin.create("/api/escalation-policies", {"name": unique("pol"), "steps": [
        {"target_type": "USER", "target_id": ann["id"], "delay_minutes": 10},
        {"target_type": "SCHEDULE", "target_id": schedule["id"], "delay_minutes": 10},
        {"target_type": "USER", "target_id": cat["id"], "delay_minutes": 10}]})  # fmt: skip
    service = await admin.create("/api/services", {"name": unique("svc"),
                                                   "escalation_policy_id": policy["id"]})  # fmt: skip

    answer = await admin.get(f"/api/services/{service['id']}/escalation-preview")
    assert answer.status_code == 200, answer.text
    preview = answer.json()["data"]
    assert preview["policy_id"] == policy["id"] and preview["urgency"] == "HIGH"
    assert preview["ends_as"] == "COMPLETED"
    planned = [(s["step"], [r["user_id"] for r in s["recipients"]]) for s in preview["steps"]]
    assert planned == [(1, [ann["id"]]), (2, [bob["id"]]), (3, [cat["id"]])]
    assert preview["steps"][2]["problem"] == "no_contact_method"
    assert preview["steps"][2]["recipients"][0]["reachable"] is False
    first = preview["steps"][0]["recipients"][0]
    assert first["reachable"] is True
    assert [(n["type"], n["delay_minutes"]) for n in first["notifications"]] == [("webhook", 0)]
    times = [datetime.fromisoformat(s["at"]) for s in preview["steps"]]
    assert times[1] - times[0] == timedelta(seconds=1) == times[2] - times[1]

    opened = await admin.create("/api/incidents", {"title": "Checkout down",
                                                   "service_id": service["id"]})  # fmt: skip
    for _ in range(100):
        entries = (await admin.get(f"/api/incidents/{opened['id']}/timeline")).json()["data"]
        failed = [e for e in entries if e["type"] == "notification_failed"]
        if failed:
            break
        await asyncio.sleep(0.1)
    # What the engine did: who each step paged, through what, and when.
    paged = [e for e in entries if e["type"] in ("notification_sent", "notification_failed")]
    done = [(e["details"]["step"], e["details"]["user"]["id"]) for e in paged]
    assert done[-1] == (3, cat["id"]) and failed[0]["details"]["reason"] == "no_contact_method"
    pages = {  # (a shift starting sends its own notice besides)
        p["id"]: [r.json for r in receiver.at(f"/pages/{p['id']}")
                  if r.json.get("event") == "notification"]
        for p in (ann, bob)
    }  # fmt: skip
    assert [(m["step"], m["incident"]["id"]) for m in pages[ann["id"]]] == [(1, opened["id"])]
    assert [(m["step"], m["incident"]["id"]) for m in pages[bob["id"]]] == [(2, opened["id"])]
    ran = {e["details"]["step"]: datetime.fromisoformat(e["timestamp"]) for e in entries
           if e["type"] == "escalation"}  # fmt: skip
    offset = datetime.fromisoformat(opened["created_at"]) - times[0]
    for step in (2, 3):  # each ran when the dry-run said, from the moment it opened
        assert abs(ran[step] - (times[step - 1] + offset)) < timedelta(seconds=0.5)


async def test_a_preview_at_another_moment_and_bad_input(admin: Api) -> None:
    service = await admin.create("/api/services", {"name": unique("bare")})
    path = f"/api/services/{service['id']}/escalation-preview"
    bare = (await admin.get(path, params={"at": "2030-01-01T09:00:00+01:00"})).json()["data"]
    assert bare["policy_id"] is None and bare["steps"] == []
    assert bare["at"] == "2030-01-01T08:00:00Z"
    naive = await admin.get(path, params={"at": "2030-01-01T09:00:00"})
    assert naive.status_code == 400 and naive.json()["error"]["details"]["field"] == "at"
    wrong = await admin.get(path, params={"urgency": "SEVERE"})
    assert wrong.status_code == 400 and wrong.json()["error"]["details"]["field"] == "urgency"
    missing = await admin.get("/api/services/svc_nosuchservice/escalation-preview")
    assert missing.status_code == 404


async def test_readiness_lists_what_would_keep_a_page_from_a_person(
    admin: Api, receiver: Any
) -> None:
    lonely = await admin.create("/api/services", {"name": unique("nopolicy")})
    mute = await person(admin)  # no contact method
    gone = await person(admin, receiver)
    await admin.patch(f"/api/users/{gone['id']}", {"status": "DISABLED"})
    tokyo = await person(admin, receiver, time_zone="Asia/Tokyo")
    ends = (clock.now() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%S")
    schedule = await admin.create("/api/schedules", {
        "name": unique("Follow"), "time_zone": "UTC", "layers": [
            {"rotation_type": "daily", "handoff_start": "2024-01-01T00:00:00",
             "users": [tokyo["id"]], "end": ends}]})  # fmt: skip
    policy = await admin.create("/api/escalation-policies", {"name": unique("pol"), "steps": [
        {"target_type": "SCHEDULE", "target_id": schedule["id"], "delay_minutes": 5},
        {"target_type": "USER", "target_id": mute["id"], "delay_minutes": 5},
        {"target_type": "USER", "target_id": gone["id"], "delay_minutes": 5}]})  # fmt: skip

    answer = await admin.get("/api/readiness")
    assert answer.status_code == 200, answer.text
    report = answer.json()["data"]
    assert report["ready"] is False
    found = {(p["kind"], p["resource_id"]) for p in report["problems"]}
    assert ("service_without_policy", lonely["id"]) in found
    assert ("no_contact_method", mute["id"]) in found
    assert ("schedule_gap", schedule["id"]) in found
    assert ("night_pages", tokyo["id"]) in found
    assert ("no_contact_method", tokyo["id"]) not in found
    nobody = [p for p in report["problems"]
              if p["kind"] == "step_reaches_nobody" and p["resource_id"] == policy["id"]]  # fmt: skip
    assert [(p["details"]["step"], p["details"]["reason"]) for p in nobody] == [
        (3, "user_disabled")
    ]
    gap = next(p for p in report["problems"] if p["kind"] == "schedule_gap"
               and p["resource_id"] == schedule["id"])  # fmt: skip
    assert gap["details"]["start"].startswith(ends[:16])
    night = next(p for p in report["problems"] if p["kind"] == "night_pages"
                 and p["resource_id"] == tokyo["id"])  # fmt: skip
    assert night["severity"] == "warning" and 20 <= night["details"]["hours"] <= 30
