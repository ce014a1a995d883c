"""The console's sign-in, sessions and pages, over a real socket (issue: responder console)."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest

from tests.conftest import Api, make_api, unique
from tests.console import PASSWORD, field, person, sign_in


@pytest.fixture
async def admin(unlimited: httpx.AsyncClient) -> Api:
    return await make_api(unlimited)


async def test_signing_in_opens_the_board_and_signing_out_ends_the_session(
    admin: Api, browser: httpx.AsyncClient
) -> None:
    user = await person(admin)
    service = await admin.create("/api/services", {"name": unique("checkout")})
    await admin.create("/api/incidents", {"title": "Checkout is down", "service_id": service["id"]})

    first = await browser.get("/")
    assert first.status_code == 303 and first.headers["location"] == "/sign-in?next=/"

    signed = await sign_in(browser, user["email"])
    assert signed.status_code == 303 and signed.headers["location"] == "/"
    cookie = signed.headers["set-cookie"].lower()
    assert "opsknight_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie

    board = await browser.get("/")
    assert board.status_code == 200 and "Checkout is down" in board.text
    assert "Ada Console" in board.text and board.headers["cache-control"] == "no-store"

    # Signing out needs the session's CSRF token: without it, nothing happens.
    refused = await browser.post("/sign-out")
    assert refused.status_code == 403 and "nothing changed" in refused.text
    assert (await browser.get("/")).status_code == 200

    out = await browser.post("/sign-out", data={"csrf": field(board.text, "csrf")})
    assert out.status_code == 303 and out.headers["location"] == "/sign-in"
    assert (await browser.get("/")).status_code == 303


async def test_a_stolen_cookie_stops_working_after_sign_out(
    admin: Api, browser: httpx.AsyncClient, served_url: str
) -> None:
    user = await person(admin)
    await sign_in(browser, user["email"])
    stolen = browser.cookies["opsknight_session"]
    board = await browser.get("/")
    await browser.post("/sign-out", data={"csrf": field(board.text, "csrf")})
    async with httpx.AsyncClient(base_url=f"http://{served_url}") as other:
        other.cookies.set("opsknight_session", stolen)
        assert (await other.get("/")).status_code == 303


async def test_wrong_passwords_are_refused_then_slowed_down(
    admin: Api, browser: httpx.AsyncClient
) -> None:
    user = await person(admin)
    for _ in range(3):
        wrong = await sign_in(browser, user["email"], "not the password")
        assert wrong.status_code == 401
        assert "The email or the password is wrong" in wrong.text.replace("the email", "The email")
        assert "opsknight_session" not in browser.cookies
    # The fourth failure starts a wait; meanwhile even the right password is not checked.
    assert (await sign_in(browser, user["email"], "still wrong")).status_code == 401
    blocked = await sign_in(browser, user["email"])
    assert blocked.status_code == 429 and "try again in" in blocked.text
    assert "opsknight_session" not in browser.cookies


async def test_an_unknown_account_answers_like_a_wrong_password(
    browser: httpx.AsyncClient,
) -> None:
    answer = await sign_in(browser, f"{unique('nobody')}@example.com")
    assert answer.status_code == 401 and "the password is wrong" in answer.text


async def test_a_sign_in_without_the_forms_token_is_refused(
    admin: Api, browser: httpx.AsyncClient
) -> None:
    user = await person(admin)
    forged = await browser.post(
        "/sign-in", data={"csrf": "guessed", "email": user["email"], "password": PASSWORD}
    )
    assert forged.status_code == 403 and "opsknight_session" not in browser.cookies


@pytest.mark.parametrize(
    "change",
    [{"status": "DISABLED"}, {"role": "USER"}, {"password": "a brand new password"}],
)
async def test_sessions_end_when_the_person_is_disabled_demoted_or_changes_password(
    admin: Api, browser: httpx.AsyncClient, change: dict[str, str]
) -> None:
    user = await person(admin)
    await sign_in(browser, user["email"])
    assert (await browser.get("/")).status_code == 200
    response = await admin.client.patch(
        f"/api/users/{user['id']}", json=change, headers=admin.headers
    )
    assert response.status_code == 200, response.text
    assert (await browser.get("/")).status_code == 303


async def test_after_sign_in_only_local_pages_are_followed(
    admin: Api, browser: httpx.AsyncClient
) -> None:
    user = await person(admin)
    answer = await sign_in(browser, user["email"], next_path="//evil.example.com/")
    assert answer.headers["location"] == "/"


async def test_browsers_get_a_page_for_unknown_addresses_and_the_api_keeps_json(
    browser: httpx.AsyncClient,
) -> None:
    page = await browser.get("/no-such-page")
    assert page.status_code == 404 and "Page not found" in page.text
    assert page.headers["content-type"].startswith("text/html")
    api = await browser.get("/api/no-such-route")
    assert api.status_code == 404 and api.json()["error"]["code"] == "NOT_FOUND"


async def test_acknowledge_from_the_board_is_on_the_timeline_as_the_person(
    admin: Api, browser: httpx.AsyncClient
) -> None:
    user = await person(admin)
    service = await admin.create("/api/services", {"name": unique("checkout")})
    incident = await admin.create(
        "/api/incidents", {"title": "Queue stuck", "service_id": service["id"]}
    )
    await sign_in(browser, user["email"])
    board = await browser.get("/")
    assert f'aria-label="Acknowledge #{incident["number"]}"' in board.text
    action = f"/incidents/{incident['id']}/status"

    forged = await browser.post(action, data={"status": "ACKNOWLEDGED", "back": "/"})
    assert forged.status_code == 403
    assert (await admin.get(f"/api/incidents/{incident['id']}")).json()["data"]["status"] == "OPEN"

    done = await browser.post(
        action, data={"csrf": field(board.text, "csrf"), "status": "ACKNOWLEDGED", "back": "/"}
    )
    assert done.status_code == 303 and done.headers["location"] == "/"
    assert (await admin.get(f"/api/incidents/{incident['id']}")).json()["data"][
        "status"
    ] == "ACKNOWLEDGED"
    entries = (await admin.get(f"/api/incidents/{incident['id']}/timeline")).json()["data"]
    acked = next(e for e in entries if e["type"] == "acknowledged")
    assert acked["actor"] == {"type": "user", "id": user["id"], "name": "Ada Console"}


async def test_a_user_role_sees_no_buttons_and_cannot_change_incidents(
    admin: Api, browser: httpx.AsyncClient
) -> None:
    viewer = await person(admin, role="USER")
    service = await admin.create("/api/services", {"name": unique("checkout")})
    incident = await admin.create(
        "/api/incidents", {"title": "Cache cold", "service_id": service["id"]}
    )
    await sign_in(browser, viewer["email"])
    board = await browser.get("/")
    assert "Cache cold" in board.text and "Acknowledge #" not in board.text
    refused = await browser.post(
        f"/incidents/{incident['id']}/status",
        data={"csrf": field(board.text, "csrf"), "status": "RESOLVED"},
    )
    assert refused.status_code == 403 and "USER role may not" in refused.text
    assert (await admin.get(f"/api/incidents/{incident['id']}")).json()["data"]["status"] == "OPEN"


async def test_the_incident_page_shows_the_timeline_and_takes_notes_and_a_snooze(
    admin: Api, browser: httpx.AsyncClient
) -> None:
    user = await person(admin)
    service = await admin.create("/api/services", {"name": unique("search")})
    incident = await admin.create(
        "/api/incidents", {"title": "Search <b>slow</b>", "service_id": service["id"]}
    )
    await sign_in(browser, user["email"])
    board = await browser.get("/")
    assert f'href="/incidents/{incident["id"]}"' in board.text
    page = await browser.get(f"/incidents/{incident['id']}")
    assert page.status_code == 200
    assert "Search &lt;b&gt;slow&lt;/b&gt;" in page.text and "<b>slow</b>" not in page.text
    assert "created" in page.text and service["name"] in page.text
    csrf = field(page.text, "csrf")

    noted = await browser.post(
        f"/incidents/{incident['id']}/notes", data={"csrf": csrf, "content": "Rolled back 4.2"}
    )
    assert noted.status_code == 303
    empty = await browser.post(
        f"/incidents/{incident['id']}/notes", data={"csrf": csrf, "content": " "}
    )
    assert empty.status_code == 400 and 'role="alert"' in empty.text

    snoozed = await browser.post(
        f"/incidents/{incident['id']}/status",
        data={"csrf": csrf, "status": "SNOOZED", "minutes": "60",
              "back": f"/incidents/{incident['id']}"},
    )  # fmt: skip
    assert snoozed.headers["location"] == f"/incidents/{incident['id']}"
    page = await browser.get(f"/incidents/{incident['id']}")
    assert "Rolled back 4.2" in page.text and "Ada Console" in page.text
    assert "<strong>SNOOZED</strong> until" in page.text

    missing = await browser.get("/incidents/inc_nosuchthing")
    assert missing.status_code == 404 and "Page not found" in missing.text


async def test_the_board_scripts_are_served_here_with_their_integrity(
    admin: Api, browser: httpx.AsyncClient
) -> None:
    import base64
    import hashlib

    user = await person(admin)
    await sign_in(browser, user["email"])
    board = await browser.get("/")
    scripts = re.findall(r'<script src="([^"]+)" integrity="([^"]+)"', board.text)
    assert [re.sub(r"\.[0-9a-f]{10}\.", ".", src) for src, _ in scripts] == [
        "/static/console/htmx-2.0.4.min.js", "/static/console/console.js"]  # fmt: skip
    assert "https://" not in board.text
    for src, integrity in scripts:
        served = await browser.get(src)
        assert served.status_code == 200 and "immutable" in served.headers["cache-control"]
        digest = base64.b64encode(hashlib.sha384(served.content).digest()).decode()
        assert integrity == f"sha384-{digest}"
    assert (await browser.get("/static/console/other.js")).status_code == 404


async def test_the_live_feed_brings_new_incidents_and_ends_with_the_session(
    admin: Api, browser: httpx.AsyncClient
) -> None:
    import asyncio

    user = await person(admin)
    service = await admin.create("/api/services", {"name": unique("billing")})
    await sign_in(browser, user["email"])
    board = await browser.get("/")
    assert (await browser.get("/live/incidents", headers={"Cookie": ""})).status_code == 401
    async with browser.stream("GET", "/live/incidents") as stream:
        lines = stream.aiter_lines()
        assert await anext(lines) == ": connected"
        created = await admin.create(
            "/api/incidents", {"title": "Invoices late", "service_id": service["id"]}
        )
        async with asyncio.timeout(5):
            async for line in lines:
                if line.startswith("event: incident.triggered"):
                    break
        rows = await browser.get("/board/rows")
        assert "Invoices late" in rows.text and "<html" not in rows.text
        assert f'data-number="{created["number"]}"' in rows.text

        await browser.post("/sign-out", data={"csrf": field(board.text, "csrf")})
        async with asyncio.timeout(10):
            async for line in lines:
                if line.startswith("data:") and "session has ended" in line:
                    break
    assert (await browser.get("/board/rows")).status_code == 401


async def test_a_board_button_sent_by_htmx_gets_the_rows_back(
    admin: Api, browser: httpx.AsyncClient
) -> None:
    user = await person(admin)
    service = await admin.create("/api/services", {"name": unique("hx")})
    incident = await admin.create(
        "/api/incidents", {"title": "Disk full", "service_id": service["id"]}
    )
    await sign_in(browser, user["email"])
    csrf = field((await browser.get("/")).text, "csrf")
    action = f"/incidents/{incident['id']}/status"
    rows = await browser.post(
        action, data={"csrf": csrf, "status": "ACKNOWLEDGED"}, headers={"HX-Request": "true"}
    )
    assert rows.status_code == 200 and "<html" not in rows.text
    assert f'data-number="{incident["number"]}"' in rows.text and "ACKNOWLEDGED" in rows.text
    again = await browser.post(
        action, data={"csrf": csrf, "status": "BOGUS"}, headers={"HX-Request": "true"}
    )
    assert 'role="alert">status must be one of' in again.text


async def test_an_api_key_made_in_the_console_is_shown_once_works_and_can_be_revoked(
    admin: Api, browser: httpx.AsyncClient
) -> None:
    boss = await person(admin, role="ADMIN")
    await sign_in(browser, boss["email"])
    page = await browser.get("/api-keys")
    csrf = field(page.text, "csrf")
    name = unique("grafana")
    made = await browser.post(
        "/api-keys",
        data={"csrf": csrf, "name": name, "scopes": ["incidents:read", "events:write"]},
    )  # fmt: skip
    assert made.status_code == 201 and "shown only once" in made.text
    key = re.search(r'<code id="new-key">(sk_live_[^<]+)</code>', made.text)
    assert key is not None
    async with httpx.AsyncClient(base_url=str(browser.base_url)) as api:
        bearer = {"Authorization": f"Bearer {key.group(1)}"}
        assert (await api.get("/api/incidents", headers=bearer)).status_code == 200
        later = await browser.get("/api-keys")
        assert name in later.text and key.group(1) not in later.text
        assert f"…{key.group(1)[-4:]}" in later.text
        key_id = re.search(rf'action="/api-keys/([^/]+)/revoke".*?Revoke {name}"', later.text)
        assert key_id is not None
        revoked = await browser.post(f"/api-keys/{key_id.group(1)}/revoke", data={"csrf": csrf})
        assert revoked.status_code == 303
        assert (await api.get("/api/incidents", headers=bearer)).status_code == 401


async def test_api_key_form_errors_sit_next_to_their_field(
    admin: Api, browser: httpx.AsyncClient
) -> None:
    boss = await person(admin, role="ADMIN")
    await sign_in(browser, boss["email"])
    csrf = field((await browser.get("/api-keys")).text, "csrf")
    nameless = await browser.post(
        "/api-keys", data={"csrf": csrf, "name": "", "scopes": ["incidents:read"]}
    )
    assert nameless.status_code == 400 and 'id="name-error"' in nameless.text
    scopeless = await browser.post("/api-keys", data={"csrf": csrf, "name": "x"})
    assert scopeless.status_code == 400 and 'id="scopes-error"' in scopeless.text
    assert "Traceback" not in scopeless.text


async def test_a_responder_cannot_make_api_keys_in_the_console(
    admin: Api, browser: httpx.AsyncClient
) -> None:
    user = await person(admin)
    await sign_in(browser, user["email"])
    page = await browser.get("/api-keys")
    assert page.status_code == 200 and "Create an API key" not in page.text
    refused = await browser.post(
        "/api-keys",
        data={"csrf": field(page.text, "csrf"), "name": "mine", "scopes": ["incidents:read"]},
    )
    assert refused.status_code == 403 and "RESPONDER role may not" in refused.text


async def test_the_board_filters_and_pages_like_the_api(
    admin: Api, browser: httpx.AsyncClient
) -> None:
    user = await person(admin)
    service = await admin.create("/api/services", {"name": unique("filters")})
    other = await admin.create("/api/services", {"name": unique("elsewhere")})
    high = await admin.create("/api/incidents", {"title": "High one", "service_id": service["id"],
                                                 "urgency": "HIGH"})  # fmt: skip
    low = await admin.create("/api/incidents", {"title": "Low one", "service_id": service["id"],
                                                "urgency": "LOW"})  # fmt: skip
    await admin.create("/api/incidents", {"title": "Not here", "service_id": other["id"]})
    await sign_in(browser, user["email"])

    page = await browser.get("/", params={"service": service["id"], "urgency": "HIGH"})
    assert "High one" in page.text and "Low one" not in page.text and "Not here" not in page.text
    # The rows' refresh and the buttons keep the view.
    assert f'data-source="/board/rows?urgency=HIGH&amp;service={service["id"]}"' in page.text
    rows = await browser.get("/board/rows", params={"service": service["id"]})
    assert "High one" in rows.text and "Low one" in rows.text and "Not here" not in rows.text

    csrf = field(page.text, "csrf")
    await browser.post(f"/incidents/{low['id']}/status", data={"csrf": csrf, "status": "RESOLVED"})
    resolved = await browser.get("/", params={"service": service["id"], "status": "RESOLVED"})
    assert "Low one" in resolved.text and "High one" not in resolved.text
    mine = await browser.get("/", params={"service": service["id"], "mine": "1"})
    assert "High one" not in mine.text
    assert high["number"] > 0

    bad = await browser.get("/", params={"status": "BURNING"})
    assert bad.status_code == 400 and "status must be one of" in bad.text
    assert (await browser.get("/", params={"page": "0"})).status_code == 400


def test_a_board_view_reads_and_writes_its_address() -> None:
    from opsknight.errors import ValidationFailed
    from opsknight.web.board import PAGE_SIZE, view_of

    view = view_of([("status", "open"), ("status", "SNOOZED"), ("urgency", "LOW"),
                    ("mine", "1"), ("page", "3")])  # fmt: skip
    assert view.statuses == ("OPEN", "SNOOZED") and view.page == 3
    assert view.variables("usr_1") == {
        "filter": {"statuses": ["OPEN", "SNOOZED"], "urgencies": ["LOW"],
                   "assigneeIds": ["usr_1"]},
        "limit": PAGE_SIZE, "offset": 2 * PAGE_SIZE}  # fmt: skip
    assert view.query(4) == "status=OPEN&status=SNOOZED&urgency=LOW&mine=1&page=4"
    assert view_of([]).query() == ""  # open and acknowledged, first page: a bare address
    with pytest.raises(ValidationFailed, match="urgency must be one of"):
        view_of([("urgency", "URGENT")])


async def test_the_profile_changes_name_time_zone_and_password_and_ends_other_sessions(
    admin: Api, browser: httpx.AsyncClient, served_url: str
) -> None:
    user = await person(admin)
    await sign_in(browser, user["email"])
    async with httpx.AsyncClient(base_url=f"http://{served_url}") as laptop:
        await sign_in(laptop, user["email"])  # a second session, elsewhere
        page = await browser.get("/profile")
        assert page.status_code == 200 and user["email"] in page.text
        assert page.text.count("(this one)") == 1 and page.text.count("<tr><td><time") == 2
        csrf = field(page.text, "csrf")

        bad_zone = await browser.post(
            "/profile", data={"csrf": csrf, "name": "Ada C.", "time_zone": "Mars/Olympus"}
        )
        assert bad_zone.status_code == 400 and 'aria-invalid="true"' in bad_zone.text
        assert 'name="shift_end_notices"' in page.text
        saved = await browser.post("/profile", data={
            "csrf": csrf, "name": "Ada C.", "time_zone": "Europe/Berlin",
            "shift_end_notices": "on"})  # fmt: skip
        assert saved.status_code == 303
        stored = (await admin.get(f"/api/users/{user['id']}")).json()["data"]
        assert stored["name"] == "Ada C." and stored["time_zone"] == "Europe/Berlin"
        assert stored["handoff_notices"] is False  # the box was left unticked
        assert stored["shift_end_notices"] is True

        wrong = await browser.post("/profile/password", data={
            "csrf": csrf, "current_password": "not it", "password": "a new passphrase"})  # fmt: skip
        assert wrong.status_code == 400 and "current password is wrong" in wrong.text
        changed = await browser.post("/profile/password", data={
            "csrf": csrf, "current_password": PASSWORD, "password": "a new passphrase"})  # fmt: skip
        assert changed.status_code == 200 and "Password changed" in changed.text
        assert (await browser.get("/")).status_code == 200  # this session stays
        assert (await laptop.get("/")).status_code == 303  # the other one ended
        assert (await sign_in(laptop, user["email"], "a new passphrase")).status_code == 303


async def test_sign_out_everywhere_ends_every_session(
    admin: Api, browser: httpx.AsyncClient, served_url: str
) -> None:
    user = await person(admin)
    await sign_in(browser, user["email"])
    async with httpx.AsyncClient(base_url=f"http://{served_url}") as phone:
        await sign_in(phone, user["email"])
        csrf = field((await browser.get("/profile")).text, "csrf")
        out = await browser.post("/profile/sign-out-everywhere", data={"csrf": csrf})
        assert out.status_code == 303 and out.headers["location"] == "/sign-in"
        assert (await phone.get("/")).status_code == 303
        assert (await browser.get("/")).status_code == 303


async def test_the_api_offers_the_same_self_service(admin: Api) -> None:
    user = await person(admin, role="USER")
    key = await admin.create("/api/api-keys", {"name": "own", "scopes": ["users:read"],
                                               "user_id": user["id"]})  # fmt: skip
    own = {"Authorization": f"Bearer {key['key']}"}
    document = 'mutation { updateProfile(input: {timeZone: "Asia/Tokyo"}) { timeZone } }'
    answer = await admin.client.post("/graphql", json={"query": document}, headers=own)
    assert answer.json()["data"]["updateProfile"]["timeZone"] == "Asia/Tokyo"
    role = 'mutation { updateProfile(input: {name: "x", role: ADMIN}) { id } }'
    refused = await admin.client.post("/graphql", json={"query": role}, headers=own)
    assert refused.json()["errors"]  # role is not part of a profile


async def test_on_call_now_and_a_schedule_with_its_gaps_and_an_override(
    admin: Api, browser: httpx.AsyncClient
) -> None:
    from tests.test_schedules import make_schedule

    user = await person(admin)
    covered = await make_schedule(admin, [user])
    empty = await admin.create(
        "/api/schedules", {"name": unique("Nobody"), "time_zone": "Europe/Berlin"}
    )
    await sign_in(browser, user["email"])
    now = await browser.get("/on-call")
    assert now.status_code == 200
    row = re.search(rf"{covered['name']}</a></td>\s*<td>([^<]*)</td>", now.text)
    assert row is not None and row.group(1) == "Ada Console"
    assert re.search(rf'class="gap"><td><a href="/schedules/{empty["id"]}"', now.text)

    page = await browser.get(f"/schedules/{empty['id']}")
    assert page.status_code == 200 and "Nobody on call</strong>" in page.text
    csrf = field(page.text, "csrf")
    backwards = await browser.post(f"/schedules/{empty['id']}/overrides", data={
        "csrf": csrf, "user_id": user["id"], "start": "2030-01-02T09:00",
        "end": "2030-01-01T09:00"})  # fmt: skip
    assert backwards.status_code == 400 and 'role="alert"' in backwards.text
    nonsense = await browser.post(f"/schedules/{empty['id']}/overrides", data={
        "csrf": csrf, "user_id": user["id"], "start": "tomorrow", "end": "later"})  # fmt: skip
    assert nonsense.status_code == 400 and "start must be a date and time" in nonsense.text

    from opsknight import clock

    start = (clock.now() + timedelta(hours=2)).strftime("%Y-%m-%dT%H:00")
    end = (clock.now() + timedelta(hours=6)).strftime("%Y-%m-%dT%H:00")
    added = await browser.post(f"/schedules/{empty['id']}/overrides", data={
        "csrf": csrf, "user_id": user["id"], "start": start, "end": end})  # fmt: skip
    assert added.status_code == 303
    page = await browser.get(f"/schedules/{empty['id']}")
    assert "(override)" in page.text and "Nobody on call</strong>" in page.text  # gaps around it
    assert (await browser.get("/schedules/sch_nothing")).status_code == 404
