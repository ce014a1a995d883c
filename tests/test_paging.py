"""Paging people (issue: reach people): email over a real SMTP server."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import Api, SmtpSink, make_api, unique


@pytest.fixture
async def admin(unlimited: httpx.AsyncClient) -> Api:
    return await make_api(unlimited)


async def paged_by_email(api: Api) -> tuple[dict[str, Any], dict[str, Any]]:
    """A responder with an email contact, and a service whose policy pages them."""
    user = await api.create(
        "/api/users", {"name": "Ada Oncall", "email": f"{unique('ada')}@example.com"}
    )
    await api.create(
        f"/api/users/{user['id']}/contact-methods", {"type": "email", "address": user["email"]}
    )
    policy = await api.create(
        "/api/escalation-policies",
        {"name": unique("pol"), "steps": [{"target_type": "USER", "target_id": user["id"]}]},
    )
    service = await api.create(
        "/api/services", {"name": unique("checkout"), "escalation_policy_id": policy["id"]}
    )
    return user, service


async def test_a_page_arrives_by_email_with_text_and_html(admin: Api, smtp_sink: SmtpSink) -> None:
    user, service = await paged_by_email(admin)
    incident = await admin.create(
        "/api/incidents",
        {"title": "Checkout is down", "service_id": service["id"], "urgency": "HIGH"},
    )
    (message,) = await smtp_sink.wait_for(1)
    assert message["To"] == user["email"]
    assert message["Subject"] == f"[OpsKnight] #{incident['number']} HIGH: Checkout is down"
    assert message["From"] == "OpsKnight <pager@example.com>"
    text = message.get_body(("plain",)).get_content()
    page = message.get_body(("html",)).get_content()
    assert "Checkout is down" in text and service["name"] in text
    assert "<h2>" in page and "Checkout is down" in page


async def test_email_contacts_are_checked_on_save(admin: Api, smtp_sink: SmtpSink) -> None:
    path = f"/api/users/{admin.user_id}/contact-methods"
    bad = await admin.post(path, {"type": "email", "address": "not an address"})
    assert bad.status_code == 400 and bad.json()["error"]["details"]["field"] == "address"
    unknown = await admin.post(path, {"type": "pigeon", "address": "x"})
    assert unknown.status_code == 400
    assert "email" in unknown.json()["error"]["details"]["allowed"]
    made = await admin.create(path, {"type": "email", "address": "me@example.com"})
    assert made["type"] == "email" and made["secret"] is None


async def test_email_contacts_need_an_smtp_server(admin: Api) -> None:
    refused = await admin.post(
        f"/api/users/{admin.user_id}/contact-methods",
        {"type": "email", "address": "me@example.com"},
    )
    assert refused.status_code == 400
    assert "OPSKNIGHT_SMTP_URL" in refused.json()["error"]["message"]
