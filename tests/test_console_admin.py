"""The console's services, escalation policies, people, teams and webhooks pages: what
everyone sees and what only administrators may change (issue: responder console)."""

from __future__ import annotations

import asyncio
import html
import re
from typing import Any

import httpx
import pytest
import yaml

from tests.conftest import Api, make_api, unique
from tests.console import field, person, sign_in


@pytest.fixture
async def admin(unlimited: httpx.AsyncClient) -> Api:
    return await make_api(unlimited)


async def signed_in_as(browser: httpx.AsyncClient, api: Api, role: str) -> dict[str, Any]:
    someone = await person(api, role=role)
    await sign_in(browser, someone["email"])
    return someone


def snippet(page: str, title_start: str) -> str:
    match = re.search(rf"<summary>{re.escape(title_start)}[^<]*</summary><pre[^>]*>(.*?)</pre>",
                      page, re.S)  # fmt: skip
    assert match is not None, f"no snippet {title_start!r}"
    return html.unescape(match.group(1))


async def test_an_admin_adds_a_service_and_an_integration_whose_snippet_works(
    admin: Api, browser: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    await signed_in_as(browser, admin, "ADMIN")
    csrf = field((await browser.get("/services")).text, "csrf")
    name = unique("checkout")
    created = await browser.post("/services", data={"csrf": csrf, "name": name})
    assert created.status_code == 303 and created.headers["location"].startswith("/services/svc_")
    service_path = created.headers["location"]
    listing = await browser.get("/services")
    assert name in listing.text and "none: nobody is paged" in listing.text

    duplicate = await browser.post("/services", data={"csrf": csrf, "name": name})
    assert duplicate.status_code == 409 and 'role="alert"' in duplicate.text

    added = await browser.post(
        f"{service_path}/integrations",
        data={"csrf": csrf, "integration_name": "Prometheus", "type": "alertmanager"},
    )
    assert added.status_code == 303
    page = (await browser.get(service_path)).text
    assert "Integration key: <code" in page and "operational" in page
    alertmanager = yaml.safe_load(snippet(page, "Alertmanager (alertmanager.yml)"))
    url = alertmanager["receivers"][0]["webhook_configs"][0]["url"]
    assert "/api/integrations/alertmanager?integration_key=" in url

    # Alertmanager posting to the address in the snippet opens an incident on the service.
    path = url[url.index("/api/") :]
    fired = await client.post(path, json={
        "version": "4", "status": "firing", "receiver": "opsknight", "alerts": [{
            "status": "firing", "fingerprint": "f00d", "labels": {"alertname": "DiskFull"},
            "annotations": {"summary": "Disk full on db-1"}}]})  # fmt: skip
    assert fired.status_code == 202, fired.text
    page = (await browser.get(service_path)).text
    assert "Disk full on db-1" in page and "critical" in page

    key = re.search(r'Integration key: <code id="key-([^"]+)">', page)
    assert key is not None
    deleted = await browser.post(
        f"{service_path}/integrations/{key.group(1)}/delete", data={"csrf": csrf}
    )
    assert deleted.status_code == 303
    assert "No integrations" in (await browser.get(service_path)).text


async def test_the_events_api_snippets_are_valid_alertmanager_and_curl(
    admin: Api, browser: httpx.AsyncClient
) -> None:
    await signed_in_as(browser, admin, "ADMIN")
    service = await admin.create("/api/services", {"name": unique("api")})
    integration = await admin.create(
        f"/api/services/{service['id']}/integrations", {"name": "Client library"}
    )
    page = (await browser.get(f"/services/{service['id']}")).text
    config = yaml.safe_load(snippet(page, "Alertmanager with pagerduty_configs"))
    receiver = config["receivers"][0]["pagerduty_configs"][0]
    assert receiver["routing_key"] == integration["key"]
    assert receiver["url"].endswith("/v2/enqueue")
    assert f'"routing_key": "{integration["key"]}"' in snippet(page, "Events API v2 (curl)")


async def test_responders_see_services_without_keys_or_forms(
    admin: Api, browser: httpx.AsyncClient
) -> None:
    service = await admin.create("/api/services", {"name": unique("search")})
    await admin.create(f"/api/services/{service['id']}/integrations", {"name": "Prometheus"})
    await signed_in_as(browser, admin, "RESPONDER")
    page = await browser.get(f"/services/{service['id']}")
    assert page.status_code == 200 and "Only administrators see the key" in page.text
    assert "Add an integration" not in page.text and "Change this service" not in page.text
    refused = await browser.post(
        f"/services/{service['id']}",
        data={"csrf": field(page.text, "csrf"), "name": "renamed"},
    )
    assert refused.status_code == 403 and "may not use services:write" in refused.text
    after = (await admin.get(f"/api/services/{service['id']}")).json()["data"]
    assert after["name"] == service["name"]


async def test_an_admin_builds_and_edits_an_escalation_policy(
    admin: Api, browser: httpx.AsyncClient
) -> None:
    await signed_in_as(browser, admin, "ADMIN")
    first = await person(admin)
    second = await person(admin)
    csrf = field((await browser.get("/escalation-policies")).text, "csrf")
    name = unique("primary")
    created = await browser.post("/escalation-policies", data={
        "csrf": csrf, "name": name, "step-0-target": f"USER:{first['id']}", "step-0-delay": "10",
    })  # fmt: skip
    assert created.status_code == 303
    policy_path = created.headers["location"]
    policy_id = policy_path.rsplit("/", 1)[1]

    # The page offers the existing step and an empty row to add one.
    page = (await browser.get(policy_path)).text
    assert "(remove this step)" in page and "(add a step)" in page
    edited = await browser.post(policy_path, data={
        "csrf": csrf, "name": name, "step-0-target": f"USER:{first['id']}", "step-0-delay": "5",
        "step-1-target": f"USER:{second['id']}", "step-1-delay": "0", "repeat": "on",
        "repeat_limit": "2",
    })  # fmt: skip
    assert edited.status_code == 303
    steps = (await admin.get(f"/api/escalation-policies/{policy_id}")).json()["data"]
    assert [(s["target_id"], s["delay_minutes"]) for s in steps["steps"]] == [
        (first["id"], 5), (second["id"], 0),
    ]  # fmt: skip
    assert steps["repeat"] is True and steps["repeat_limit"] == 2
    page = (await browser.get(policy_path)).text
    assert "starts again 2 more times" in page

    removed = await browser.post(policy_path, data={
        "csrf": csrf, "name": name, "step-0-target": "", "step-0-delay": "5",
        "step-1-target": f"USER:{second['id']}", "step-1-delay": "3",
    })  # fmt: skip
    assert removed.status_code == 303
    steps = (await admin.get(f"/api/escalation-policies/{policy_id}")).json()["data"]["steps"]
    assert [(s["target_id"], s["delay_minutes"]) for s in steps] == [(second["id"], 3)]

    bad = await browser.post(policy_path, data={
        "csrf": csrf, "name": name, "step-0-target": f"USER:{first['id']}",
        "step-0-delay": "soon"})  # fmt: skip
    assert bad.status_code == 400 and "whole number of minutes" in bad.text
    nothing = await browser.post(policy_path, data={"csrf": csrf, "name": name})
    assert nothing.status_code == 400 and "at least one step" in nothing.text
    steps = (await admin.get(f"/api/escalation-policies/{policy_id}")).json()["data"]["steps"]
    assert len(steps) == 1


async def test_responders_read_policies_but_cannot_change_them(
    admin: Api, browser: httpx.AsyncClient
) -> None:
    target = await person(admin)
    policy = await admin.create("/api/escalation-policies", {"name": unique("pol"), "steps": [
        {"target_type": "USER", "target_id": target["id"], "delay_minutes": 7}]})  # fmt: skip
    await signed_in_as(browser, admin, "RESPONDER")
    page = await browser.get(f"/escalation-policies/{policy['id']}")
    assert page.status_code == 200 and "Ada Console" in page.text
    assert "Change the steps" not in page.text
    refused = await browser.post(f"/escalation-policies/{policy['id']}", data={
        "csrf": field(page.text, "csrf"), "name": "mine", "step-0-target": "",
    })  # fmt: skip
    assert refused.status_code in (400, 403)
    after = (await admin.get(f"/api/escalation-policies/{policy['id']}")).json()["data"]
    assert after["name"] == policy["name"]


async def test_people_pages_are_for_administrators_only(
    admin: Api, browser: httpx.AsyncClient
) -> None:
    await signed_in_as(browser, admin, "RESPONDER")
    for path in ("/users", "/webhooks"):
        page = await browser.get(path)
        assert page.status_code == 403 and "Only administrators" in page.text
    board = await browser.get("/")
    assert 'href="/users"' not in board.text and 'href="/webhooks"' not in board.text
    email = f"{unique('sneaky')}@example.com"
    refused = await browser.post(
        "/users",
        data={"csrf": field(board.text, "csrf"), "name": "Sneaky", "email": email, "role": "ADMIN"},
    )
    assert refused.status_code == 403
    found = (await admin.get("/api/users", params={"email": email})).json()["data"]
    assert found == []


async def test_an_admin_adds_a_person_changes_their_role_and_builds_a_team(
    admin: Api, browser: httpx.AsyncClient
) -> None:
    await signed_in_as(browser, admin, "ADMIN")
    csrf = field((await browser.get("/users")).text, "csrf")
    email = f"{unique('grace')}@example.com"
    added = await browser.post("/users", data={
        "csrf": csrf, "name": "Grace Hopper", "email": email, "role": "RESPONDER",
        "password": "a long enough password"})  # fmt: skip
    assert added.status_code == 303
    again = await browser.post("/users", data={"csrf": csrf, "name": "Grace", "email": email})
    assert again.status_code == 409 and 'id="email-error"' in again.text
    grace = (await admin.get("/api/users", params={"email": email})).json()["data"][0]
    promoted = await browser.post(
        f"/users/{grace['id']}", data={"csrf": csrf, "role": "ADMIN", "status": "ACTIVE"}
    )
    assert promoted.status_code == 303
    assert (await admin.get(f"/api/users/{grace['id']}")).json()["data"]["role"] == "ADMIN"
    found = await browser.get("/users", params={"q": "Grace Hop"})
    assert email in found.text

    team_name = unique("platform")
    made = await browser.post("/teams", data={"csrf": csrf, "name": team_name})
    assert made.status_code == 303
    team_path = made.headers["location"]
    page = (await browser.get(team_path)).text
    assert f'<option value="{grace["id"]}">Grace Hopper</option>' in page
    joined = await browser.post(
        f"{team_path}/members", data={"csrf": csrf, "user_id": grace["id"], "role": "MEMBER"}
    )
    assert joined.status_code == 303
    page = (await browser.get(team_path)).text
    assert "Grace Hopper" in page and "Remove Grace Hopper" in page
    left = await browser.post(f"{team_path}/members/{grace['id']}/remove", data={"csrf": csrf})
    assert left.status_code == 303
    assert "Nobody yet." in (await browser.get(team_path)).text


async def test_webhooks_show_their_secret_once_their_deliveries_and_redeliver(
    admin: Api, browser: httpx.AsyncClient, receiver: Any
) -> None:
    await signed_in_as(browser, admin, "ADMIN")
    csrf = field((await browser.get("/webhooks")).text, "csrf")
    made = await browser.post("/webhooks", data={
        "csrf": csrf, "url": receiver.url("/console"), "name": "Chat bot",
        "events": ["incident.triggered", "incident.resolved"]})  # fmt: skip
    assert made.status_code == 201
    secret = re.search(r'<code id="new-secret">([^<]+)</code>', made.text)
    assert secret is not None
    listing = await browser.get("/webhooks")
    assert "Chat bot" in listing.text and secret.group(1) not in listing.text
    webhook_id = re.search(r'href="/webhooks/(wh[^"]+)">Chat bot', listing.text)
    assert webhook_id is not None
    path = f"/webhooks/{webhook_id.group(1)}"

    bad = await browser.post("/webhooks", data={"csrf": csrf, "url": "not an address"})
    assert bad.status_code == 400 and 'id="url-error"' in bad.text

    assert (await browser.post(f"{path}/ping", data={"csrf": csrf})).status_code == 303
    await receiver.wait_for("/console", 1)
    page = await browser.get(path)
    for _ in range(50):  # the delivery is settled just after the receiver answers
        if "delivered" in page.text:
            break
        await asyncio.sleep(0.1)
        page = await browser.get(path)
    assert "<summary>ping" in page.text and "HTTP 200" in page.text
    delivery = re.search(r'action="(/webhooks/[^"]+/deliveries/[^"]+/redeliver)"', page.text)
    assert delivery is not None
    assert (await browser.post(delivery.group(1), data={"csrf": csrf})).status_code == 303
    await receiver.wait_for("/console", 2)

    off = await browser.post(f"{path}/switch", data={"csrf": csrf, "enabled": "false"})
    assert off.status_code == 303
    assert "Switch on" in (await browser.get(path)).text


async def test_an_admin_puts_a_service_in_shadow_mode_from_its_page(
    admin: Api, browser: httpx.AsyncClient
) -> None:
    await signed_in_as(browser, admin, "ADMIN")
    service = await admin.create("/api/services", {"name": unique("parallel")})
    await admin.create(f"/api/services/{service['id']}/integrations", {"name": "Grafana"})
    page = (await browser.get(f"/services/{service['id']}")).text
    receivers = yaml.safe_load(snippet(page, "Alertmanager with opsgenie_configs"))
    assert receivers["receivers"][0]["opsgenie_configs"][0]["api_url"].endswith("/")
    assert "/v2/alerts" in snippet(page, "Opsgenie Alert API")
    saved = await browser.post(f"/services/{service['id']}", data={
        "csrf": field(page, "csrf"), "name": service["name"], "shadow": "on"})  # fmt: skip
    assert saved.status_code == 303
    assert (await admin.get(f"/api/services/{service['id']}")).json()["data"]["shadow"] is True
    page = (await browser.get(f"/services/{service['id']}")).text
    assert "<dt>Shadow mode</dt>" in page and 'name="shadow" checked' in page
    assert "shadow mode" in (await browser.get("/services")).text
    # Saving without the box ends it.
    await browser.post(f"/services/{service['id']}", data={
        "csrf": field(page, "csrf"), "name": service["name"]})  # fmt: skip
    assert (await admin.get(f"/api/services/{service['id']}")).json()["data"]["shadow"] is False
    turned_on = await admin.request("PUT", "/api/shadow-mode", json={"enabled": True})
    try:
        assert turned_on.status_code == 200
        assert "Shadow mode is on for every service" in (await browser.get("/")).text
    finally:
        await admin.request("PUT", "/api/shadow-mode", json={"enabled": False})
    assert "Shadow mode is on" not in (await browser.get("/")).text
