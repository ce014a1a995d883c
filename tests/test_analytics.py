"""Incident analytics (issue: run incidents like the best teams, item 6): MTTA/MTTR,
counts, noise and pages for a date range, as JSON and CSV.

The incidents are made through the API and then moved to a week of March 2020 with
known response times, so the figures are exact and no other test's incidents count."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from opsknight.incidents.models import Incident
from opsknight.notifications.models import Notification
from tests.conftest import Api, make_api, unique

WEEK = {"since": "2020-03-02T00:00:00Z", "until": "2020-03-09T00:00:00Z"}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@pytest.fixture
async def admin(unlimited: httpx.AsyncClient) -> Api:
    return await make_api(unlimited)


async def move(incident_id: str, opened: str, acked: float | None, resolved: float | None,
               alerts: int) -> None:  # fmt: skip
    start = at(opened)
    await Incident.filter(id=incident_id).update(
        created_at=start, alert_count=alerts, updated_at=datetime.now(UTC),
        acknowledged_at=None if acked is None else start + timedelta(seconds=acked),
        resolved_at=None if resolved is None else start + timedelta(seconds=resolved),
    )  # fmt: skip


async def test_response_times_counts_noise_and_pages_for_a_range(admin: Api, receiver: Any) -> None:
    team = await admin.create("/api/teams", {"name": unique("payments")})
    person = await admin.create("/api/users", {
        "name": unique("Nadia"), "email": f"{unique('n')}@example.com", "role": "RESPONDER",
        "time_zone": "America/New_York"})  # fmt: skip
    await admin.create(f"/api/users/{person['id']}/contact-methods",
                       {"type": "webhook", "address": receiver.url("/pages")})  # fmt: skip
    policy = await admin.create("/api/escalation-policies", {"name": unique("pol"), "steps": [
        {"target_type": "USER", "target_id": person["id"], "delay_minutes": 30}]})  # fmt: skip
    checkout = await admin.create("/api/services", {
        "name": unique("checkout"), "team_id": team["id"],
        "escalation_policy_id": policy["id"]})  # fmt: skip
    search = await admin.create("/api/services", {"name": unique("search")})
    made = [
        await admin.create("/api/incidents", {"title": f"Incident {n}", "service_id": svc,
                                              "urgency": urgency})
        for n, (svc, urgency) in enumerate([
            (checkout["id"], "HIGH"), (checkout["id"], "LOW"), (search["id"], "HIGH"),
            (search["id"], "LOW")])
    ]  # fmt: skip
    await move(made[0]["id"], "2020-03-02T10:00:00Z", 60, 600, 3)
    await move(made[1]["id"], "2020-03-02T12:00:00Z", 120, 1200, 1)
    await move(made[2]["id"], "2020-03-03T09:00:00Z", None, 300, 5)
    await move(made[3]["id"], "2020-03-04T09:00:00Z", None, None, 1)
    for _ in range(100):  # the two checkout incidents page Nadia at once
        sent = await Notification.filter(incident_id__in=[made[0]["id"], made[1]["id"]])
        if len(sent) == 2:
            break
        await asyncio.sleep(0.05)
    # 10:00 on a Monday in New York, then 22:00 that Monday: off hours.
    by_incident = {n.incident_id: n for n in sent}  # type: ignore[attr-defined]
    await Notification.filter(id=by_incident[made[0]["id"]].id).update(
        created_at=at("2020-03-02T15:00:00Z")
    )
    await Notification.filter(id=by_incident[made[1]["id"]].id).update(
        created_at=at("2020-03-03T03:00:00Z")
    )

    answer = await admin.get("/api/analytics", params=WEEK)
    assert answer.status_code == 200, answer.text
    report = answer.json()["data"]
    assert (report["incidents"], report["alerts"], report["alerts_per_incident"]) == (4, 10, 2.5)
    assert report["mtta"] == {"count": 2, "mean": 90.0, "p50": 60.0, "p90": 120.0}
    assert report["mttr"] == {"count": 3, "mean": 700.0, "p50": 600.0, "p90": 1200.0}
    services = {g["key"]: (g["incidents"], g["alerts"], g["mtta"], g["mttr"])
                for g in report["by_service"]}  # fmt: skip
    assert services == {checkout["id"]: (2, 4, 90.0, 900.0), search["id"]: (2, 6, None, 300.0)}
    assert {g["key"]: g["incidents"] for g in report["by_team"]} == {team["id"]: 2, "": 2}
    assert [(g["key"], g["incidents"]) for g in report["by_urgency"]] == [("HIGH", 2), ("LOW", 2)]
    assert [(g["key"], g["incidents"]) for g in report["by_day"]] == [
        ("2020-03-02", 2),
        ("2020-03-03", 1),
        ("2020-03-04", 1),
    ]
    assert [(r["user_id"], r["pages"], r["off_hours_pages"]) for r in report["responders"]] == [
        (person["id"], 2, 1)
    ]
    assert report["off_hours_pages"] == 1

    team_only = (await admin.get("/api/analytics", params={**WEEK, "team_id": team["id"]})).json()
    assert team_only["data"]["incidents"] == 2
    one = (await admin.get("/api/analytics", params={**WEEK, "service_id": search["id"]})).json()
    assert one["data"]["incidents"] == 2 and one["data"]["responders"] == []

    exported = await admin.get("/api/analytics/incidents.csv", params=WEEK)
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert 'filename="incidents.csv"' in exported.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["id"] for r in rows] == [m["id"] for m in made]
    assert rows[0]["created_at"] == "2020-03-02T10:00:00Z"
    assert (rows[0]["seconds_to_acknowledge"], rows[0]["seconds_to_resolve"]) == ("60.0", "600.0")
    assert rows[3]["resolved_at"] == "" and rows[3]["service"] == search["name"]

    graphql = await admin.graphql(
        "query($since: DateTime) { analytics(since: $since, until: \"2020-03-09T00:00:00Z\")"
        " { incidents mtta { mean } } }", {"since": WEEK["since"]})  # fmt: skip
    assert graphql["data"]["analytics"] == {"incidents": 4, "mtta": {"mean": 90.0}}


async def test_bad_ranges_are_refused_naming_the_field(admin: Api) -> None:
    cases = {
        "since": {"since": "2020-03-02T00:00:00", "until": "2020-03-09T00:00:00Z"},
        "until": {"since": "2020-03-09T00:00:00Z", "until": "2020-03-02T00:00:00Z"},
    }
    for field, params in cases.items():
        answer = await admin.get("/api/analytics", params=params)
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"]["details"]["field"] == field
    too_long = await admin.get("/api/analytics/incidents.csv", params={
        "since": "2019-01-01T00:00:00Z", "until": "2020-03-09T00:00:00Z"})  # fmt: skip
    assert too_long.status_code == 400 and too_long.json()["error"]["details"]["field"] == "until"
    default = (await admin.get("/api/analytics")).json()["data"]
    span = datetime.fromisoformat(default["until"]) - datetime.fromisoformat(default["since"])
    assert span == timedelta(days=30)


async def test_reports_follow_changes_and_deletions_and_match_a_count_of_the_incidents(
    admin: Api,
) -> None:
    """Whole days come from the daily rollups, the partial days at the ends from the
    incidents; after acknowledging, re-prioritising and deleting, the account-wide
    report still equals the one counted straight from the incidents (one service)."""
    service = await admin.create("/api/services", {"name": unique("rollups")})
    made = [await admin.create("/api/incidents", {"title": f"Rollup {n}", "urgency": "HIGH",
                                                  "service_id": service["id"]})
            for n in range(4)]  # fmt: skip
    await move(made[0]["id"], "2020-04-06T18:00:00Z", None, None, 2)  # partial first day
    await move(made[1]["id"], "2020-04-07T10:00:00Z", 30, 90, 1)
    await move(made[2]["id"], "2020-04-08T10:00:00Z", 45, None, 4)
    await move(made[3]["id"], "2020-04-09T03:00:00Z", None, None, 1)  # partial last day
    span = {"since": "2020-04-06T12:00:00Z", "until": "2020-04-09T06:00:00Z"}

    async def both() -> tuple[dict[str, Any], dict[str, Any]]:
        everyone = (await admin.get("/api/analytics", params=span)).json()["data"]
        counted = (await admin.get("/api/analytics",
                                   params={**span, "service_id": service["id"]})).json()["data"]  # fmt: skip
        for report in (everyone, counted):
            report.pop("responders")
        return everyone, counted

    everyone, counted = await both()
    assert everyone == counted
    assert (everyone["incidents"], everyone["alerts"]) == (4, 8)
    assert everyone["mtta"] == {"count": 2, "mean": 37.5, "p50": 30.0, "p90": 45.0}
    assert [g["key"] for g in everyone["by_day"]] == [
        "2020-04-06", "2020-04-07", "2020-04-08", "2020-04-09"]  # fmt: skip

    # Changes through the API reach the next report: acknowledging (years after it
    # opened), a new urgency, and a deletion.
    acked = await admin.patch(f"/api/incidents/{made[0]['id']}", {"status": "ACKNOWLEDGED"})
    assert acked.status_code == 200, acked.text
    changed = await admin.patch(f"/api/incidents/{made[1]['id']}", {"urgency": "LOW"})
    assert changed.status_code == 200, changed.text
    assert (await admin.delete(f"/api/incidents/{made[2]['id']}")).status_code in (200, 204)
    everyone, counted = await both()
    assert everyone == counted
    assert (everyone["incidents"], everyone["alerts"]) == (3, 4)
    assert everyone["mtta"]["count"] == 2 and everyone["mtta"]["p50"] == 30.0
    assert everyone["mtta"]["p90"] > 365 * 86400  # the acknowledgement just made
    assert [(g["key"], g["incidents"]) for g in everyone["by_urgency"]] == [("HIGH", 2),
                                                                            ("LOW", 1)]  # fmt: skip
    assert [g["key"] for g in everyone["by_day"]] == ["2020-04-06", "2020-04-07", "2020-04-09"]

    # A deleted service takes its incidents out of the report.
    for incident in (made[0], made[1], made[3]):
        await admin.patch(f"/api/incidents/{incident['id']}", {"status": "RESOLVED"})
    assert (await admin.delete(f"/api/services/{service['id']}")).status_code in (200, 204)
    gone = (await admin.get("/api/analytics", params=span)).json()["data"]
    assert (gone["incidents"], gone["by_day"], gone["mttr"]["count"]) == (0, [], 0)
