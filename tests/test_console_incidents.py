"""The console's board actions on several incidents and the incident page's details:
alerts with their payload, assignment, merge, recent changes and the escalation's next
step (issue: responder console)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.conftest import Api, make_api, unique
from tests.console import field, person, sign_in


@pytest.fixture
async def admin(unlimited: httpx.AsyncClient) -> Api:
    return await make_api(unlimited)


async def status_of(api: Api, incident: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = (await api.get(f"/api/incidents/{incident['id']}")).json()["data"]
    return data


async def test_ticked_incidents_are_acknowledged_snoozed_and_assigned_together(
    admin: Api, browser: httpx.AsyncClient
) -> None:
    user = await person(admin)
    service = await admin.create("/api/services", {"name": unique("bulk")})
    first, second, third = [
        await admin.create(
            "/api/incidents", {"title": f"Disk {n} full", "service_id": service["id"]}
        )
        for n in (1, 2, 3)
    ]
    await sign_in(browser, user["email"])
    board = await browser.get("/", params={"service": service["id"]})
    assert f'name="ids" value="{first["id"]}" form="bulk"' in board.text
    csrf, back = field(board.text, "csrf"), f"/?service={service['id']}"

    acked = await browser.post(
        "/incidents/bulk",
        data={"csrf": csrf, "back": back, "op": "acknowledge", "ids": [first["id"], second["id"]]},
        )  # fmt: skip
    assert acked.status_code == 303 and acked.headers["location"] == back
    assert [(await status_of(admin, i))["status"] for i in (first, second, third)] == [
        "ACKNOWLEDGED", "ACKNOWLEDGED", "OPEN",
    ]  # fmt: skip
    timeline = (await admin.get(f"/api/incidents/{first['id']}/timeline")).json()["data"]
    assert timeline[-1]["type"] == "acknowledged" and timeline[-1]["actor"]["id"] == user["id"]

    # With htmx, the answer is the board's rows, for the view the form was on.
    snoozed = await browser.post(
        "/incidents/bulk",
        data={"csrf": csrf, "back": back, "op": "snooze", "minutes": "240", "ids": third["id"]},
        headers={"HX-Request": "true"},
    )  # fmt: skip
    assert snoozed.status_code == 200 and "<tr" in snoozed.text and "<html" not in snoozed.text
    snoozed_row = await status_of(admin, third)
    assert snoozed_row["status"] == "SNOOZED" and snoozed_row["snoozed_until"] is not None

    assigned = await browser.post(
        "/incidents/bulk",
        data={"csrf": csrf, "back": back, "op": "assign", "assignee_id": user["id"], "ids": [first["id"], third["id"]]},
        )  # fmt: skip
    assert assigned.status_code == 303
    assert (await status_of(admin, first))["assignee"]["id"] == user["id"]
    assert (await status_of(admin, second))["assignee"] is None
    mine = await browser.get("/", params={"mine": "1", "status": ["ACKNOWLEDGED", "SNOOZED"]})
    assert "Disk 1 full" in mine.text and "Disk 3 full" in mine.text
    assert "Disk 2 full" not in mine.text


async def test_bulk_refusals_say_what_was_not_changed(
    admin: Api, browser: httpx.AsyncClient
) -> None:
    user = await person(admin)
    service = await admin.create("/api/services", {"name": unique("bulk")})
    done, live = [
        await admin.create("/api/incidents", {"title": title, "service_id": service["id"]})
        for title in ("Done already", "Still live")
    ]
    await admin.patch(f"/api/incidents/{done['id']}", {"status": "RESOLVED"})
    await sign_in(browser, user["email"])
    csrf = field((await browser.get("/")).text, "csrf")

    nothing = await browser.post("/incidents/bulk", data={"csrf": csrf, "op": "acknowledge"})
    assert nothing.status_code == 400 and "tick at least one incident" in nothing.text

    partly = await browser.post(
        "/incidents/bulk",
        data={"csrf": csrf, "op": "snooze", "minutes": "60", "ids": [done["id"], live["id"]]},
        )  # fmt: skip
    assert partly.status_code == 409 and "1 of 2 not changed" in partly.text
    assert (await status_of(admin, live))["status"] == "SNOOZED"
    assert (await status_of(admin, done))["status"] == "RESOLVED"

    forged = await browser.post("/incidents/bulk", data={"op": "resolve", "ids": live["id"]})
    assert forged.status_code == 403 and (await status_of(admin, live))["status"] == "SNOOZED"


async def test_a_user_role_cannot_act_on_ticked_incidents(
    admin: Api, browser: httpx.AsyncClient
) -> None:
    viewer = await person(admin, role="USER")
    service = await admin.create("/api/services", {"name": unique("bulk")})
    incident = await admin.create(
        "/api/incidents", {"title": "Look only", "service_id": service["id"]}
    )
    await sign_in(browser, viewer["email"])
    board = await browser.get("/")
    assert 'id="bulk"' not in board.text and 'name="ids"' not in board.text
    refused = await browser.post(
        "/incidents/bulk",
        data={"csrf": field(board.text, "csrf"), "op": "acknowledge", "ids": incident["id"]},
    )
    assert refused.status_code == 403 and "may not use incidents:write" in refused.text
    assert (await status_of(admin, incident))["status"] == "OPEN"


async def test_the_incident_page_shows_alerts_changes_and_the_next_step(
    admin: Api, browser: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    user = await person(admin)
    policy = await admin.create(
        "/api/escalation-policies",
        {"name": unique("pol"), "steps": [
            {"target_type": "USER", "target_id": user["id"], "delay_minutes": 30},
            {"target_type": "USER", "target_id": user["id"], "delay_minutes": 0},
        ]},
    )  # fmt: skip
    service = await admin.create(
        "/api/services", {"name": unique("api"), "escalation_policy_id": policy["id"]}
    )
    integration = await admin.create(
        f"/api/services/{service['id']}/integrations", {"name": "Prometheus"}
    )
    change = await client.post("/v2/change/enqueue", json={
        "routing_key": integration["key"],
        "payload": {"summary": "Deployed api v7", "source": "ci"},
        "links": [{"href": "https://ci.example.com/7", "text": "build 7"}],
    })  # fmt: skip
    assert change.status_code == 202
    for disk in ("91%", "97%"):
        sent = await client.post("/v2/enqueue", json={
            "routing_key": integration["key"], "event_action": "trigger", "dedup_key": "disk-db1",
            "payload": {"summary": "Disk almost full on db-1", "source": "db-1",
                        "severity": "critical", "custom_details": {"used": disk}},
        })  # fmt: skip
        assert sent.status_code == 202
    listed = await admin.get("/api/incidents", params={"service_id": service["id"]})
    incident_id = listed.json()["data"][0]["id"]

    await sign_in(browser, user["email"])
    for _ in range(50):  # the first step runs right away, off the request
        page = await browser.get(f"/incidents/{incident_id}")
        if "step 2 at" in page.text:
            break
        await asyncio.sleep(0.1)
    assert "step 1 paged; step 2 at" in page.text and "unless acknowledged" in page.text
    assert policy["name"] in page.text
    # Both alerts, newest first, each with its raw payload folded away.
    assert page.text.count('<details class="alert">') == 2
    alerts = page.text[page.text.index("<h2>Alerts</h2>") :]
    assert alerts.index('"used": "97%"') < alerts.index('"used": "91%"')
    assert "Deployed api v7" in page.text and 'href="https://ci.example.com/7"' in page.text

    acknowledged = await browser.post(
        f"/incidents/{incident_id}/status",
        data={"csrf": field(page.text, "csrf"), "status": "ACKNOWLEDGED",
              "back": f"/incidents/{incident_id}"},
    )  # fmt: skip
    assert acknowledged.status_code == 303
    page = await browser.get(f"/incidents/{incident_id}")
    assert "step 2 at" not in page.text


async def test_assign_and_merge_from_the_incident_page(
    admin: Api, browser: httpx.AsyncClient
) -> None:
    user = await person(admin)
    service = await admin.create("/api/services", {"name": unique("merge")})
    target, duplicate, other = [
        await admin.create("/api/incidents", {"title": title, "service_id": service["id"]})
        for title in ("Checkout errors", "Checkout 500s", "Unrelated")
    ]
    await sign_in(browser, user["email"])
    page = await browser.get(f"/incidents/{target['id']}")
    csrf = field(page.text, "csrf")
    assert f'value="{duplicate["id"]}"> #{duplicate["number"]} Checkout 500s' in page.text
    assert f'name="source_id" value="{target["id"]}"' not in page.text

    assigned = await browser.post(
        f"/incidents/{target['id']}/assign", data={"csrf": csrf, "assignee_id": user["id"]}
    )
    assert assigned.status_code == 303
    assert (await status_of(admin, target))["assignee"]["id"] == user["id"]
    unknown = await browser.post(
        f"/incidents/{target['id']}/assign", data={"csrf": csrf, "assignee_id": "usr_nobody"}
    )
    assert unknown.status_code in (400, 404) and 'role="alert"' in unknown.text

    merged = await browser.post(
        f"/incidents/{target['id']}/merge", data={"csrf": csrf, "source_id": duplicate["id"]}
    )
    assert merged.status_code == 303
    gone = await status_of(admin, duplicate)
    assert gone["status"] == "RESOLVED" and gone["merged_into"] == target["id"]
    assert (await status_of(admin, other))["status"] == "OPEN"
    page = await browser.get(f"/incidents/{target['id']}")
    assert "Merged here" in page.text and duplicate["id"] in page.text

    nothing = await browser.post(f"/incidents/{target['id']}/merge", data={"csrf": csrf})
    assert nothing.status_code == 400 and 'role="alert"' in nothing.text
