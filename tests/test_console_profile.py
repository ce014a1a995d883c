"""The console's profile: contact methods (added, tested, removed) and personal
notification rules (issue: responder console, with reach people)."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.conftest import Api, make_api
from tests.console import field, person, sign_in


@pytest.fixture
async def admin(unlimited: httpx.AsyncClient) -> Api:
    return await make_api(unlimited)


async def test_contact_methods_are_added_tested_and_removed_from_the_profile(
    admin: Api, browser: httpx.AsyncClient, receiver: Any
) -> None:
    user = await person(admin)
    await sign_in(browser, user["email"])
    page = await browser.get("/profile")
    assert "pages cannot reach you until you add one" in page.text
    csrf = field(page.text, "csrf")

    added = await browser.post("/profile/contact-methods", data={
        "csrf": csrf, "type": "webhook", "address": receiver.url("/me")})  # fmt: skip
    assert added.status_code == 200
    secret = re.search(r'<code id="new-secret">([^<]+)</code>', added.text)
    assert secret is not None
    page = await browser.get("/profile")
    assert secret.group(1) not in page.text and receiver.url("/me") in page.text
    methods = (await admin.get(f"/api/users/{user['id']}/contact-methods")).json()["data"]
    assert [m["type"] for m in methods] == ["webhook"]

    tested = await browser.post(
        f"/profile/contact-methods/{methods[0]['id']}/test", data={"csrf": csrf}
    )
    assert tested.status_code == 200 and "Test message sent" in tested.text
    assert len(await receiver.wait_for("/me", 1)) == 1

    bad = await browser.post("/profile/contact-methods", data={
        "csrf": csrf, "type": "email", "address": "not-an-email"})  # fmt: skip
    assert bad.status_code == 400 and 'id="address-error"' in bad.text
    assert 'value="not-an-email"' in bad.text  # what was typed stays to be corrected

    removed = await browser.post(
        f"/profile/contact-methods/{methods[0]['id']}/delete", data={"csrf": csrf}
    )
    assert removed.status_code == 303
    assert (await admin.get(f"/api/users/{user['id']}/contact-methods")).json()["data"] == []


async def test_notification_rules_are_set_and_removed_from_the_profile(
    admin: Api, browser: httpx.AsyncClient
) -> None:
    user = await person(admin)
    push = await admin.create(f"/api/users/{user['id']}/contact-methods",
                              {"type": "push", "address": "ntfys://ntfy.example.com/ada"})  # fmt: skip
    chat = await admin.create(f"/api/users/{user['id']}/contact-methods",
                              {"type": "chat", "address": "ntfys://ntfy.example.com/ada-later"})  # fmt: skip
    await sign_in(browser, user["email"])
    page = await browser.get("/profile")
    assert "(add a rule)" in page.text and "(remove this rule)" not in page.text
    csrf = field(page.text, "csrf")

    saved = await browser.post("/profile/notification-rules", data={
        "csrf": csrf,
        "rule-0-method": push["id"], "rule-0-delay": "0", "rule-0-urgency": "HIGH",
    })  # fmt: skip
    assert saved.status_code == 303
    page = await browser.get("/profile")
    assert "(remove this rule)" in page.text
    saved = await browser.post("/profile/notification-rules", data={
        "csrf": csrf,
        "rule-0-method": push["id"], "rule-0-delay": "0", "rule-0-urgency": "HIGH",
        "rule-1-method": chat["id"], "rule-1-delay": "5", "rule-1-urgency": "ANY",
    })  # fmt: skip
    assert saved.status_code == 303
    rules = (await admin.get(f"/api/users/{user['id']}/notification-rules")).json()["data"]
    assert [(r["contact_method_id"], r["delay_minutes"], r["urgency"]) for r in rules] == [
        (push["id"], 0, "HIGH"), (chat["id"], 5, "ANY"),
    ]  # fmt: skip

    bad = await browser.post("/profile/notification-rules", data={
        "csrf": csrf, "rule-0-method": chat["id"], "rule-0-delay": "later"})  # fmt: skip
    assert bad.status_code == 400 and "whole number of minutes" in bad.text
    cleared = await browser.post("/profile/notification-rules", data={
        "csrf": csrf, "rule-0-method": "", "rule-1-method": ""})  # fmt: skip
    assert cleared.status_code == 303
    assert (await admin.get(f"/api/users/{user['id']}/notification-rules")).json()["data"] == []
