"""The console in a real browser: Debian's Chromium driven by Playwright (no browser
download; the system's /usr/bin/chromium), against the app on a loopback port.

With ``OPSKNIGHT_SCREENSHOTS=<dir>`` the tests also save screenshots of the pages they
visit (``scripts/screenshots`` refreshes docs/screenshots with them)."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Api, make_api, unique
from tests.console import PASSWORD, person

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Without these, Chromium keeps reaching for Google's hosts, which this network refuses.
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


@pytest.fixture(scope="module")
async def chromium() -> AsyncIterator[Any]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail("Chromium is required under CI=true (apt-get install chromium)")
        pytest.skip("Debian's chromium is not installed")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


@pytest.fixture
async def admin(unlimited: httpx.AsyncClient) -> Api:
    return await make_api(unlimited)


@pytest.fixture
async def page(chromium: Any) -> AsyncIterator[Any]:
    context = await chromium.new_context(viewport={"width": 1200, "height": 800})
    yield await context.new_page()
    await context.close()


async def screenshot(page: Any, name: str) -> None:
    folder = os.environ.get("OPSKNIGHT_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


async def signed_in(page: Any, base: str, email: str) -> None:
    await page.goto(f"{base}/")
    assert "/sign-in" in page.url
    await screenshot(page, "sign-in")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{base}/")


async def test_a_new_event_appears_on_the_open_board_and_is_acknowledged_there(
    admin: Api, page: Any, served_url: str
) -> None:
    from playwright.async_api import expect

    base = f"http://{served_url}"
    user = await person(admin)
    service = await admin.create("/api/services", {"name": unique("payments")})
    integration = await admin.create(
        f"/api/services/{service['id']}/integrations", {"name": "am", "type": "events_api"}
    )
    await signed_in(page, base, user["email"])
    await expect(page.get_by_role("heading", name="Incidents", exact=True)).to_be_visible()
    marker = await page.evaluate("() => (window.boardMarker = Math.random())")
    before = int((await page.locator("#board-count").text_content() or "").split()[0])

    title = f"Card payments failing {unique('x')}"
    async with httpx.AsyncClient(base_url=base) as client:
        sent = await client.post("/v2/enqueue", json={
            "routing_key": integration["key"], "event_action": "trigger",
            "payload": {"summary": title, "source": "prometheus", "severity": "critical"}})  # fmt: skip
        assert sent.status_code == 202, sent.text
    number = sent.json()["data"]["incident"]["number"]
    row = page.locator(f'tr[data-number="{number}"]')
    await expect(row).to_contain_text(title, timeout=2000)
    # The same page, not a reload; the count under the board follows.
    assert await page.evaluate("() => window.boardMarker") == marker
    await expect(page.locator("#board-count")).to_contain_text(f"{before + 1} incident")
    await screenshot(page, "board")

    await row.get_by_role("button", name=f"Acknowledge #{number}").click()
    await expect(page.locator(f'tr[data-number="{number}"]')).to_contain_text("ACKNOWLEDGED")
    incident_id = sent.json()["data"]["incident"]["id"]
    entries = (await admin.get(f"/api/incidents/{incident_id}/timeline")).json()["data"]
    acked = next(e for e in entries if e["type"] == "acknowledged")
    assert acked["actor"]["name"] == "Ada Console"

    await page.get_by_role("link", name=title).click()
    await expect(page.get_by_role("heading", name=f"#{number} {title}")).to_be_visible()
    await expect(page.locator("ol.timeline")).to_contain_text("acknowledged by Ada Console")
    await screenshot(page, "incident")


async def test_signing_out_in_the_browser_ends_the_session(
    admin: Api, page: Any, served_url: str
) -> None:
    base = f"http://{served_url}"
    user = await person(admin)
    await signed_in(page, base, user["email"])
    await page.get_by_role("button", name="Sign out").click()
    await page.wait_for_url(f"{base}/sign-in")
    await page.goto(f"{base}/")
    assert "/sign-in" in page.url


async def test_the_board_fits_a_phone_and_follows_dark_mode(
    admin: Api, chromium: Any, served_url: str
) -> None:
    base = f"http://{served_url}"
    user = await person(admin)
    context = await chromium.new_context(
        viewport={"width": 360, "height": 740}, color_scheme="dark"
    )
    phone = await context.new_page()
    try:
        await signed_in(phone, base, user["email"])
        width = await phone.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 360
        background = await phone.evaluate("() => getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(18, 20, 23)"
        await screenshot(phone, "board-phone-dark")
    finally:
        await context.close()


async def test_a_responder_cannot_open_admin_pages(admin: Api, page: Any, served_url: str) -> None:
    from playwright.async_api import expect

    base = f"http://{served_url}"
    responder = await person(admin)
    await signed_in(page, base, responder["email"])
    nav = page.get_by_role("navigation", name="Main")
    await expect(nav.get_by_role("link", name="Services")).to_be_visible()
    await expect(nav.get_by_role("link", name="People")).to_have_count(0)
    await expect(nav.get_by_role("link", name="Webhooks")).to_have_count(0)
    for path in ("/users", "/webhooks"):
        answer = await page.goto(f"{base}{path}")
        assert answer is not None and answer.status == 403
        await expect(page.get_by_role("alert")).to_contain_text("Only administrators")
    answer = await page.goto(f"{base}/api-keys")
    assert answer is not None and answer.status == 200
    await expect(page.get_by_role("button", name="Create API key")).to_have_count(0)


async def test_a_post_without_the_csrf_token_changes_nothing(
    admin: Api, page: Any, served_url: str
) -> None:
    base = f"http://{served_url}"
    user = await person(admin)
    service = await admin.create("/api/services", {"name": unique("csrf")})
    incident = await admin.create(
        "/api/incidents", {"title": "Leave me open", "service_id": service["id"]}
    )
    await signed_in(page, base, user["email"])
    # The session cookie goes along (same site), the token does not.
    status = await page.evaluate(
        """async (path) => (await fetch(path, {method: "POST", body: "status=RESOLVED",
            headers: {"Content-Type": "application/x-www-form-urlencoded"}})).status""",
        f"/incidents/{incident['id']}/status",
    )
    assert status == 403
    after = (await admin.get(f"/api/incidents/{incident['id']}")).json()["data"]
    assert after["status"] == "OPEN"


# What sticks out of a phone's screen, to name it when a page is too wide.
WIDER_THAN_SCREEN = """() => [...document.querySelectorAll("body *")]
  .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
  .slice(0, 5).map((e) => `${e.tagName}.${e.className}`)"""


async def test_every_page_fits_a_phone_for_an_administrator(
    admin: Api, chromium: Any, served_url: str
) -> None:
    base = f"http://{served_url}"
    boss = await person(admin, role="ADMIN")
    policy = await admin.create("/api/escalation-policies", {"name": unique("primary"), "steps": [
        {"target_type": "USER", "target_id": boss["id"], "delay_minutes": 15}]})  # fmt: skip
    service = await admin.create(
        "/api/services", {"name": unique("payments"), "escalation_policy_id": policy["id"]}
    )
    await admin.create(f"/api/services/{service['id']}/integrations",
                       {"name": "Alertmanager", "type": "alertmanager"})  # fmt: skip
    incident = await admin.create(
        "/api/incidents", {"title": "Card payments failing", "service_id": service["id"]}
    )
    team = await admin.create("/api/teams", {"name": unique("platform")})
    context = await chromium.new_context(viewport={"width": 360, "height": 740})
    phone = await context.new_page()
    try:
        await signed_in(phone, base, boss["email"])
        pages = {
            "services": "/services", "service": f"/services/{service['id']}",
            "policies": "/escalation-policies", "policy": f"/escalation-policies/{policy['id']}",
            "incident-phone": f"/incidents/{incident['id']}", "on-call": "/on-call",
            "teams": "/teams", "team": f"/teams/{team['id']}", "people": "/users",
            "webhooks": "/webhooks", "profile": "/profile", "api-keys-phone": "/api-keys",
        }  # fmt: skip
        for name, path in pages.items():
            await phone.goto(f"{base}{path}")
            assert "/sign-in" not in phone.url
            for opened in await phone.locator("details").all():
                await opened.evaluate("(d) => { d.open = true; }")
            width = await phone.evaluate("() => document.documentElement.scrollWidth")
            overflowing = await phone.evaluate(WIDER_THAN_SCREEN)
            assert width <= 360, f"{path} is {width} px wide: {overflowing}"
            if name in ("service", "policy"):
                await screenshot(phone, f"{name}-phone")
    finally:
        await context.close()


async def test_keys_select_acknowledge_and_resolve_on_the_board(
    admin: Api, page: Any, served_url: str
) -> None:
    from playwright.async_api import expect

    base = f"http://{served_url}"
    user = await person(admin)
    service = await admin.create("/api/services", {"name": unique("keys")})
    made = [
        await admin.create("/api/incidents", {"title": f"Key {n} {unique('k')}",
                                              "service_id": service["id"]})
        for n in (1, 2)
    ]  # fmt: skip
    await signed_in(page, base, user["email"])
    # The newest incident is first: j selects it, j again the one before.
    await page.keyboard.press("j")
    await page.keyboard.press("j")
    older = page.locator(f'tr[data-number="{made[0]["number"]}"]')
    await expect(older).to_have_attribute("aria-selected", "true")
    await page.keyboard.press("a")
    await expect(older).to_contain_text("ACKNOWLEDGED")
    await expect(older).to_have_attribute("aria-selected", "true")  # kept across the reload
    await page.keyboard.press("r")
    await expect(older).to_have_count(0)  # resolved incidents leave the board
    statuses = [
        (await admin.get(f"/api/incidents/{m['id']}")).json()["data"]["status"] for m in made
    ]
    assert statuses == ["RESOLVED", "OPEN"]


async def test_ticks_survive_a_live_refresh_and_acknowledge_together(
    admin: Api, page: Any, served_url: str
) -> None:
    from playwright.async_api import expect

    base = f"http://{served_url}"
    user = await person(admin)
    service = await admin.create("/api/services", {"name": unique("ticks")})
    first, second, third = [
        await admin.create("/api/incidents", {"title": f"Tick {n}", "service_id": service["id"]})
        for n in (1, 2, 3)
    ]
    await signed_in(page, base, user["email"])
    await page.goto(f"{base}/?service={service['id']}")
    await page.get_by_label(f"Tick #{first['number']}").check()
    await page.keyboard.press("j")  # the newest (third) is selected first
    await page.keyboard.press("x")
    await expect(page.get_by_label(f"Tick #{third['number']}")).to_be_checked()

    # A new incident refreshes the rows; what was ticked stays ticked.
    await admin.create("/api/incidents", {"title": "Tick 4", "service_id": service["id"]})
    await expect(page.locator("#rows")).to_contain_text("Tick 4")
    await expect(page.get_by_label(f"Tick #{first['number']}")).to_be_checked()
    await expect(page.get_by_label(f"Tick #{third['number']}")).to_be_checked()

    await page.locator("#bulk").get_by_role("button", name="Acknowledge").click()
    row = page.locator(f'tr[data-number="{first["number"]}"]')
    await expect(row).to_contain_text("ACKNOWLEDGED")
    await expect(page.get_by_label(f"Tick #{first['number']}")).not_to_be_checked()
    statuses = [
        (await admin.get(f"/api/incidents/{i['id']}")).json()["data"]["status"]
        for i in (first, second, third)
    ]
    assert statuses == ["ACKNOWLEDGED", "OPEN", "ACKNOWLEDGED"]


async def test_an_api_key_is_shown_once_with_a_copy_button(
    admin: Api, chromium: Any, served_url: str
) -> None:
    from playwright.async_api import expect

    base = f"http://{served_url}"
    boss = await person(admin, role="ADMIN")
    context = await chromium.new_context(viewport={"width": 1200, "height": 900})
    await context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    page = await context.new_page()
    try:
        await signed_in(page, base, boss["email"])
        await page.get_by_role("link", name="API keys").click()
        await page.get_by_label("Name").fill("Alertmanager")
        await page.get_by_label("events:write").check()
        await page.get_by_role("button", name="Create API key").click()
        key = await page.locator("#new-key").text_content()
        assert key is not None and key.startswith("sk_live_")
        await screenshot(page, "api-keys")
        await page.get_by_role("button", name="Copy").click()
        await expect(page.get_by_role("button", name="Copied")).to_be_visible()
        assert await page.evaluate("() => navigator.clipboard.readText()") == key
        await page.goto(f"{base}/api-keys")
        assert key not in await page.content()
        await expect(page.get_by_role("cell", name=f"sk_live_…{key[-4:]}")).to_be_visible()
    finally:
        await context.close()
