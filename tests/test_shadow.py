"""Shadow mode for a parallel run: everything runs, nothing is sent, and a report says who
would have been paged through what and when."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import Api, make_api, unique
from tests.receiver import Receiver, eventually
from tests.test_paging import paging_service, responder_with_hooks, responder_with_rules


@pytest.fixture
async def admin(unlimited: httpx.AsyncClient) -> Api:
    return await make_api(unlimited)


async def report(api: Api, **params: Any) -> list[dict[str, Any]]:
    answer = await api.get("/api/shadow-report", params={"limit": 100, **params})
    assert answer.status_code == 200, answer.text
    rows: list[dict[str, Any]] = answer.json()["data"]
    return rows


async def test_a_shadowed_service_pages_no_one_and_reports_who_it_would_have_paged(
    admin: Api, receiver: Receiver
) -> None:
    user, _ = await responder_with_rules(admin, receiver)
    methods = user["methods"]
    service = await paging_service(admin, user)
    shadowed = await admin.patch(f"/api/services/{service['id']}", {"shadow": True})
    assert shadowed.status_code == 200 and shadowed.json()["data"]["shadow"] is True
    await admin.create("/api/webhooks", {"url": receiver.url("/subscriber"),
                                         "service_ids": [service["id"]]})  # fmt: skip

    incident = await admin.create(
        "/api/incidents", {"title": "Checkout down", "service_id": service["id"], "urgency": "HIGH"}
    )

    async def both_due() -> list[dict[str, Any]] | None:
        rows = await report(admin, service_id=service["id"])
        done = [r for r in rows if r["outcome"] == "would_page"]
        return rows if len(done) == 2 else None

    rows = await eventually(both_due)
    assert rows, "the first two pages were not recorded"
    by_channel = {r["contact_method_id"]: r for r in rows}
    push, sms = by_channel[methods["push"]["id"]], by_channel[methods["sms"]["id"]]
    assert push["user"] == {"id": user["id"], "name": "Lin"} and push["channel"] == "WEBHOOK"
    assert push["incident"]["id"] == incident["id"] and push["step"] == 1
    assert push["due_at"] <= sms["due_at"]  # push at once, SMS two (scaled) minutes later
    # Acknowledged before the email's turn: the report says the email was not needed.
    await admin.patch(f"/api/incidents/{incident['id']}", {"status": "ACKNOWLEDGED"})

    async def email_settled() -> dict[str, Any] | None:
        rows = await report(admin, service_id=service["id"])
        email = [r for r in rows if r["contact_method_id"] == methods["email"]["id"]]
        return email[0] if email and email[0]["outcome"] != "pending" else None

    email = await eventually(email_settled, timeout=8)
    assert email and email["outcome"] == "answered"
    timeline = (await admin.get(f"/api/incidents/{incident['id']}/timeline")).json()["data"]
    held = [e for e in timeline if e["type"] == "notification_shadowed"]
    assert len(held) == 2 and {e["details"]["channel"] for e in held} == {"WEBHOOK"}
    assert receiver.received == []  # no page, no webhook

    # Off again: the next incident pages for real, and nothing held back is replayed.
    assert (
        await admin.patch(f"/api/services/{service['id']}", {"shadow": False})
    ).status_code == 200
    second = await admin.create(
        "/api/incidents", {"title": "Second", "service_id": service["id"], "urgency": "LOW"}
    )
    await receiver.wait_for(f"/{user['id']}/push", 1)
    await receiver.wait_for("/subscriber", 1)
    pages = [r for r in receiver.received if r.path.startswith(f"/{user['id']}/")]
    assert {r.json["incident"]["id"] for r in pages} == {second["id"]}
    assert {r.json["incident"]["id"] for r in receiver.at("/subscriber")} == {second["id"]}


async def test_account_wide_shadow_mode_is_one_call_each_way(
    admin: Api, receiver: Receiver, client: httpx.AsyncClient
) -> None:
    user = await responder_with_hooks(admin, receiver, "push")
    service = await paging_service(admin, user)
    responder = await make_api(client, role="RESPONDER")
    assert (
        await responder.request("PUT", "/api/shadow-mode", json={"enabled": True})
    ).status_code == 403
    refused = await admin.request("PUT", "/api/shadow-mode", json={"enabled": "yes"})
    assert refused.status_code == 400
    turned_on = await admin.request("PUT", "/api/shadow-mode", json={"enabled": True})
    try:
        assert turned_on.status_code == 200, turned_on.text
        state = turned_on.json()["data"]
        assert state["enabled"] is True and state["changed_by"]
        assert (await admin.get("/api/shadow-mode")).json()["data"]["enabled"] is True
        incident = await admin.create(
            "/api/incidents", {"title": unique("quiet"), "service_id": service["id"]}
        )

        async def recorded() -> list[dict[str, Any]] | None:
            rows = await report(admin, service_id=service["id"])
            return rows if rows and rows[0]["outcome"] == "would_page" else None

        rows = await eventually(recorded)
        assert rows and rows[0]["incident"]["id"] == incident["id"]
    finally:
        turned_off = await admin.request("PUT", "/api/shadow-mode", json={"enabled": False})
    assert turned_off.json()["data"]["enabled"] is False
    assert receiver.received == []
    loud = await admin.create("/api/incidents", {"title": "Loud", "service_id": service["id"]})
    (page,) = await receiver.wait_for(f"/{user['id']}/push", 1)
    assert page.json["incident"]["id"] == loud["id"]
    audit = (await admin.get("/api/audit-log", params={"action": "shadow_mode.changed"})).json()
    assert [e["changes"] for e in audit["data"][:2]] == [
        {"enabled": {"before": True, "after": False}},
        {"enabled": {"before": False, "after": True}},
    ]
