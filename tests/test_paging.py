"""Paging people (issue: reach people): email over a real SMTP server."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
import pytest

from tests.conftest import Api, SmtpSink, make_api, unique
from tests.receiver import Receiver, Reply, eventually


@pytest.fixture
async def admin(unlimited: httpx.AsyncClient) -> Api:
    return await make_api(unlimited)


async def paged_by_email(api: Api) -> tuple[dict[str, Any], dict[str, Any]]:
    """A responder with an email contact, and a service whose policy pages them."""
    user = await api.create(
        "/api/users",
        {"name": "Ada Oncall", "email": f"{unique('ada')}@example.com", "role": "RESPONDER"},
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


async def test_pages_share_an_smtp_session_and_survive_a_server_restart(
    admin: Api, smtp_sink: SmtpSink
) -> None:
    _, service = await paged_by_email(admin)
    for title in ("Disk full", "Queue stuck"):
        await admin.create("/api/incidents", {"title": title, "service_id": service["id"]})
        await smtp_sink.wait_for(len(smtp_sink.messages) + 1)
    assert len(smtp_sink.greetings) == 1  # one session carried both pages
    # The server drops every session: the next page opens a new one and still arrives.
    smtp_sink.restart()
    await admin.create("/api/incidents", {"title": "Cache cold", "service_id": service["id"]})
    messages = await smtp_sink.wait_for(3)
    assert [m["Subject"].split(": ", 1)[1] for m in messages] == [
        "Disk full", "Queue stuck", "Cache cold"]  # fmt: skip
    assert len(smtp_sink.greetings) == 2


async def test_a_title_with_line_breaks_and_accents_is_one_subject_line(
    admin: Api, smtp_sink: SmtpSink
) -> None:
    _, service = await paged_by_email(admin)
    title = "Dépôt plein ✓\r\nBcc: attacker@example.com"
    incident = await admin.create("/api/incidents", {"title": title, "service_id": service["id"]})
    (message,) = await smtp_sink.wait_for(1)
    number = incident["number"]
    assert (
        message["Subject"] == f"[OpsKnight] #{number} LOW: Dépôt plein ✓ Bcc: attacker@example.com"
    )
    assert message["Bcc"] is None
    assert "Dépôt plein ✓" in message.get_body(("plain",)).get_content()


def test_the_smtp_url_bounds_its_connections() -> None:
    from opsknight.notifications.email import parse_smtp_url

    assert parse_smtp_url("smtp://mail:25", "").connections == 4
    assert parse_smtp_url("smtp://mail:25?connections=16", "").connections == 16
    for bad in ("0", "65", "many"):
        with pytest.raises(ValueError, match="connections must be a number from 1 to 64"):
            parse_smtp_url(f"smtp://mail:25?connections={bad}", "")


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


@pytest.fixture
def public_links(served_url: str) -> Any:
    """Links in pages point at the test's server."""
    from opsknight.notifications import links

    links.configure(f"http://{served_url}", 24)
    yield links
    links.configure("http://127.0.0.1:8080", 24)


async def paged_incident(
    api: Api, sink: SmtpSink, title: str
) -> tuple[dict[str, Any], dict[str, Any], Any]:
    """An incident that pages a responder by email: the responder, the incident, the email."""
    user, service = await paged_by_email(api)
    incident = await api.create("/api/incidents", {"title": title, "service_id": service["id"]})
    (message,) = await sink.wait_for(1)
    return user, incident, message


def _link(message: Any, action: str) -> str:
    text = message.get_body(("plain",)).get_content()
    found = re.search(rf"{action.capitalize()}: (\S+)", text)
    assert found, text
    return found.group(1)


async def test_the_recipient_acknowledges_and_resolves_from_the_email_without_a_key(
    admin: Api, smtp_sink: SmtpSink, public_links: Any
) -> None:
    user, incident, message = await paged_incident(admin, smtp_sink, "Disk full")
    acknowledge, resolve = _link(message, "acknowledge"), _link(message, "resolve")
    assert acknowledge.endswith("/acknowledge") and resolve.endswith("/resolve")
    async with httpx.AsyncClient(timeout=10) as browser:  # no API key anywhere
        opened = await browser.get(acknowledge)
        assert opened.status_code == 200 and "Disk full" in opened.text
        assert 'method="post"' in opened.text
        assert opened.headers["referrer-policy"] == "no-referrer"
        # Opening (as a mail scanner would) changed nothing.
        assert (await admin.get(f"/api/incidents/{incident['id']}")).json()["data"][
            "status"
        ] == "OPEN"

        acted = await browser.post(acknowledge)
        assert acted.status_code == 200 and "You acknowledged" in acted.text
        again = await browser.post(acknowledge)
        assert again.status_code == 200 and "already acknowledged" in again.text
        resolved = await browser.post(resolve)
        assert "You resolved" in resolved.text
        replay = await browser.post(resolve)
        assert replay.status_code == 200 and "already resolved" in replay.text
        after = await browser.get(resolve)
        assert after.status_code == 200 and "RESOLVED" in after.text
        assert 'method="post"' not in after.text  # nothing left to do

    timeline = (await admin.get(f"/api/incidents/{incident['id']}/timeline")).json()["data"]
    moves = [e for e in timeline if e["type"] in ("acknowledged", "resolved")]
    assert [e["type"] for e in moves] == ["acknowledged", "resolved"]
    for entry in moves:
        assert entry["actor"] == {"type": "user", "id": user["id"], "name": "Ada Oncall"}
        assert entry["details"]["via"] == "EMAIL"


async def test_expired_unknown_and_disabled_links_show_a_clear_page_and_change_nothing(
    admin: Api, smtp_sink: SmtpSink, public_links: Any
) -> None:
    user, incident, message = await paged_incident(admin, smtp_sink, "Queue stuck")
    acknowledge = _link(message, "acknowledge")
    async with httpx.AsyncClient(timeout=10) as browser:
        unknown = await browser.post(acknowledge.replace("/respond/", "/respond/x"))
        assert unknown.status_code == 404 and "not valid" in unknown.text

        public_links.configure(public_links._public_url, 1 / 3600_000)  # a millisecond
        await asyncio.sleep(0.01)
        expired = await browser.post(acknowledge)
        assert expired.status_code == 403 and "expired" in expired.text
        public_links.configure(public_links._public_url, 24)

        disabled = await admin.patch(f"/api/users/{user['id']}", {"status": "DISABLED"})
        assert disabled.status_code == 200
        refused = await browser.post(acknowledge)
        assert refused.status_code == 403 and "disabled" in refused.text
    assert (await admin.get(f"/api/incidents/{incident['id']}")).json()["data"]["status"] == "OPEN"


async def paged_through(api: Api, kind: str, address: str) -> dict[str, Any]:
    """A responder reached through one contact method, and an incident that pages them."""
    user = await api.create(
        "/api/users",
        {"name": "Grace Oncall", "email": f"{unique('g')}@example.com", "role": "RESPONDER"},
    )
    await api.create(f"/api/users/{user['id']}/contact-methods", {"type": kind, "address": address})
    policy = await api.create(
        "/api/escalation-policies",
        {"name": unique("pol"), "steps": [{"target_type": "USER", "target_id": user["id"]}]},
    )
    service = await api.create(
        "/api/services", {"name": unique("payments"), "escalation_policy_id": policy["id"]}
    )
    return await api.create(
        "/api/incidents", {"title": "Card payments failing", "service_id": service["id"]}
    )


@pytest.mark.parametrize(
    ("kind", "address", "path"),
    [
        ("chat", "json://127.0.0.1:PORT/chat-hook", "/chat-hook"),
        ("push", "ntfy://127.0.0.1:PORT/oncall-topic", None),
    ],
)
async def test_a_page_reaches_an_apprise_target_with_its_links(
    admin: Api, receiver: Receiver, public_links: Any, kind: str, address: str, path: str | None
) -> None:
    incident = await paged_through(admin, kind, address.replace("PORT", str(receiver.port)))

    async def arrived() -> list[Any]:
        return [r for r in receiver.received if path is None or r.path == path]

    (request,) = await eventually(arrived)
    text = request.body.decode()
    assert f"#{incident['number']}" in text and "Card payments failing" in text
    assert "/respond/" in text and "/acknowledge" in text

    async def delivered() -> bool:
        entries = (await admin.get(f"/api/incidents/{incident['id']}/timeline")).json()["data"]
        return any(e["type"] == "notification_sent" for e in entries)

    await eventually(delivered)
    entries = (await admin.get(f"/api/incidents/{incident['id']}/timeline")).json()["data"]
    sent = next(e for e in entries if e["type"] == "notification_sent")
    assert sent["details"]["channel"] == kind.upper()


async def test_an_ntfy_page_has_buttons_that_act_when_the_app_posts_them(
    admin: Api, receiver: Receiver, public_links: Any
) -> None:
    address = f"ntfy://127.0.0.1:{receiver.port}/oncall-topic"
    incident = await paged_through(admin, "push", address)

    async def arrived() -> list[Any]:
        return receiver.received

    (request,) = await eventually(arrived)
    buttons = [b.strip() for b in request.headers["x-actions"].split(";")]
    assert [b.split(", ")[:2] for b in buttons] == [["http", "Acknowledge"], ["http", "Resolve"]]
    assert all("method=POST" in b for b in buttons)
    assert "/respond/" in request.headers["x-click"]
    # What the ntfy app does on a tap: a bare POST to the button's address.
    acknowledge = buttons[0].split(", ")[2]
    async with httpx.AsyncClient() as phone:
        assert (await phone.post(acknowledge)).status_code == 200
    incident_now = (await admin.get(f"/api/incidents/{incident['id']}")).json()["data"]
    assert incident_now["status"] == "ACKNOWLEDGED"
    entries = (await admin.get(f"/api/incidents/{incident['id']}/timeline")).json()["data"]
    acked = next(e for e in entries if e["type"] == "acknowledged")
    assert acked["actor"]["name"] == "Grace Oncall" and acked["details"]["via"] == "PUSH"


async def test_apprise_addresses_are_checked_and_shown_masked(
    admin: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opsknight.notifications import apprise_channel
    from opsknight.webhooks import guard

    path = f"/api/users/{admin.user_id}/contact-methods"
    secret_url = "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ"
    made = await admin.create(path, {"type": "chat", "address": secret_url})
    listed = (await admin.get(path)).json()["data"]
    shown = next(m["address"] for m in listed if m["id"] == made["id"])
    assert shown.startswith("slack://") and "TIiajkdnlazkcOXrIdevi7FQ" not in shown
    assert "TIiajkdnlazkcOXrIdevi7FQ" not in made["address"]

    nonsense = await admin.post(path, {"type": "chat", "address": "nosuchservice://abc"})
    assert nonsense.status_code == 400 and nonsense.json()["error"]["details"]["field"] == "address"

    apprise_channel.configure("ntfy,ntfys")
    try:
        refused = await admin.post(path, {"type": "chat", "address": secret_url})
        assert refused.status_code == 400
        assert refused.json()["error"]["details"]["reason"] == "scheme_not_allowed"
    finally:
        apprise_channel.configure("")

    monkeypatch.setattr(guard, "_allow_private", False)
    inside = await admin.post(path, {"type": "push", "address": "ntfy://10.1.2.3/alerts"})
    assert inside.status_code == 400
    assert inside.json()["error"]["details"]["reason"] == "private_address"
    # A vendor service keeps tokens where a URL has its host: nothing to guard there.
    assert (await admin.post(path, {"type": "chat", "address": secret_url})).status_code == 201


async def responder_with_hooks(api: Api, receiver: Receiver, *names: str) -> dict[str, Any]:
    """A responder with one webhook contact method per name (at /<user id>/<name>)."""
    user = await api.create(
        "/api/users", {"name": "Lin", "email": f"{unique('lin')}@example.com", "role": "RESPONDER"}
    )
    user["methods"] = {
        name: await api.create(
            f"/api/users/{user['id']}/contact-methods",
            {"type": "webhook", "address": receiver.url(f"/{user['id']}/{name}")},
        )
        for name in names
    }
    return user


async def paging_service(api: Api, user: dict[str, Any]) -> dict[str, Any]:
    policy = await api.create(
        "/api/escalation-policies",
        {"name": unique("pol"), "steps": [{"target_type": "USER", "target_id": user["id"]}]},
    )
    return await api.create(
        "/api/services", {"name": unique("svc"), "escalation_policy_id": policy["id"]}
    )


async def responder_with_rules(api: Api, receiver: Receiver) -> tuple[dict[str, Any], Any]:
    """A responder whose own rules page HIGH incidents by push at once, SMS after 2
    minutes and email after 30; and the answer to saving those rules."""
    user = await responder_with_hooks(api, receiver, "push", "sms", "email")
    methods = user["methods"]
    rules = [
        {"contact_method_id": methods["push"]["id"], "delay_minutes": 0, "urgency": "HIGH"},
        {"contact_method_id": methods["sms"]["id"], "delay_minutes": 2, "urgency": "HIGH"},
        {"contact_method_id": methods["email"]["id"], "delay_minutes": 30, "urgency": "HIGH"},
    ]
    saved = await api.request(
        "PUT", f"/api/users/{user['id']}/notification-rules", json={"rules": rules}
    )
    assert saved.status_code == 200, saved.text
    return user, saved


async def test_notification_rules_page_in_order_and_stop_once_acknowledged(
    admin: Api, receiver: Receiver
) -> None:
    user, saved = await responder_with_rules(admin, receiver)
    assert [r["delay_minutes"] for r in saved.json()["data"]] == [0, 2, 30]
    service = await paging_service(admin, user)
    incident = await admin.create(
        "/api/incidents", {"title": "Latency", "service_id": service["id"], "urgency": "HIGH"}
    )
    await receiver.wait_for(f"/{user['id']}/push", 1)
    assert receiver.at(f"/{user['id']}/sms") == []  # 2 minutes are 0.2 s here
    await receiver.wait_for(f"/{user['id']}/sms", 1)
    # Acknowledged before the 30-minute rule (3 s here): the email never goes.
    acked = await admin.patch(f"/api/incidents/{incident['id']}", {"status": "ACKNOWLEDGED"})
    assert acked.status_code == 200
    await asyncio.sleep(3.5)
    assert receiver.at(f"/{user['id']}/email") == []

    # A LOW incident matches none of the HIGH rules: every method at once.
    await admin.create("/api/incidents", {"title": "Minor", "service_id": service["id"]})
    for name in ("push", "sms", "email"):
        await receiver.wait_for(f"/{user['id']}/{name}", 2 if name != "email" else 1)


async def test_bad_notification_rules_are_refused_and_nothing_is_saved(
    admin: Api, receiver: Receiver
) -> None:
    user = await responder_with_hooks(admin, receiver, "push")
    other = await responder_with_hooks(admin, receiver, "push")
    path = f"/api/users/{user['id']}/notification-rules"
    good = {"contact_method_id": user["methods"]["push"]["id"], "delay_minutes": 1}
    assert (await admin.request("PUT", path, json={"rules": [good]})).status_code == 200
    for bad, field in [
        ({"contact_method_id": other["methods"]["push"]["id"]}, "rules[1].contact_method_id"),
        ({**good, "delay_minutes": 99999}, "rules[1].delay_minutes"),
        ({**good, "urgency": "URGENT"}, "rules[1].urgency"),
        ({**good, "delay": 5}, "rules[1].delay"),
    ]:
        refused = await admin.request("PUT", path, json={"rules": [good, bad]})
        assert refused.status_code == 400, refused.text
        assert refused.json()["error"]["details"]["field"] == field
    kept = (await admin.get(path)).json()["data"]
    assert [(r["contact_method_id"], r["delay_minutes"], r["urgency"]) for r in kept] == [
        (good["contact_method_id"], 1, "ANY")
    ]


async def test_a_test_message_reports_whether_it_was_delivered(
    admin: Api, receiver: Receiver
) -> None:
    user = await responder_with_hooks(admin, receiver, "ok", "broken")
    receiver.script(f"/{user['id']}/broken", Reply(500))
    base = f"/api/users/{user['id']}/contact-methods"
    ok = await admin.post(f"{base}/{user['methods']['ok']['id']}/test")
    assert ok.status_code == 200 and ok.json()["data"] == {"delivered": True, "error": None}
    (message,) = await receiver.wait_for(f"/{user['id']}/ok", 1)
    assert message.json["event"] == "notification.test"
    broken = await admin.post(f"{base}/{user['methods']['broken']['id']}/test")
    assert broken.json()["data"]["delivered"] is False
    assert "500" in broken.json()["data"]["error"]


async def test_an_incidents_pages_and_their_delivery_are_readable(
    admin: Api, receiver: Receiver
) -> None:
    user = await responder_with_hooks(admin, receiver, "ok", "broken")
    receiver.script(f"/{user['id']}/broken", *[Reply(500)] * 4)
    incident = await admin.create(
        "/api/incidents",
        {"title": "Pages", "service_id": (await paging_service(admin, user))["id"]},
    )
    query = """query($id: ID!) { incident(id: $id) { notifications {
      channel status attempts lastError step recipient { id name } deliveredAt } } }"""

    async def settled() -> list[dict[str, Any]]:
        pages = (await admin.graphql(query, {"id": incident["id"]}))["data"]["incident"][
            "notifications"
        ]
        return (
            pages
            if {p["status"] for p in pages} == {"delivered", "pending"}
            and any(p["attempts"] for p in pages if p["status"] == "pending")
            else []
        )

    pages = await eventually(settled)
    delivered = next(p for p in pages if p["status"] == "delivered")
    retrying = next(p for p in pages if p["status"] == "pending")
    assert delivered["channel"] == "WEBHOOK" and delivered["recipient"]["id"] == user["id"]
    assert delivered["deliveredAt"] and delivered["step"] == 1
    assert retrying["attempts"] >= 1 and "500" in retrying["lastError"]


async def test_reminders_page_the_current_step_again_while_open_and_while_acknowledged(
    admin: Api, receiver: Receiver
) -> None:
    user = await responder_with_hooks(admin, receiver, "pager")
    policy = await admin.create("/api/escalation-policies", {
        "name": unique("pol"), "reminder_minutes": 2, "ack_reminder_minutes": 3,
        "steps": [{"target_type": "USER", "target_id": user["id"]}],
    })  # fmt: skip
    assert (policy["reminder_minutes"], policy["ack_reminder_minutes"]) == (2, 3)
    service = await admin.create(
        "/api/services", {"name": unique("svc"), "escalation_policy_id": policy["id"]}
    )
    incident = await admin.create(
        "/api/incidents", {"title": "Still down", "service_id": service["id"]}
    )
    pager = f"/{user['id']}/pager"
    # The page, then a reminder every 2 minutes (0.2 s here) while OPEN.
    await receiver.wait_for(pager, 3)
    acked = await admin.patch(f"/api/incidents/{incident['id']}", {"status": "ACKNOWLEDGED"})
    assert acked.status_code == 200
    count = len(receiver.at(pager))
    await receiver.wait_for(pager, count + 1)  # every 3 minutes while acknowledged
    await admin.patch(f"/api/incidents/{incident['id']}", {"status": "RESOLVED"})
    await asyncio.sleep(0.6)
    settled = len(receiver.at(pager))
    await asyncio.sleep(0.8)
    assert len(receiver.at(pager)) == settled  # none once resolved

    entries = (await admin.get(f"/api/incidents/{incident['id']}/timeline")).json()["data"]
    sent = [e["details"] for e in entries if e["type"] == "reminder"]
    assert {d["status"] for d in sent} == {"OPEN", "ACKNOWLEDGED"}
    assert all(d["step"] == 1 for d in sent)


async def test_reminders_stop_at_their_bound(admin: Api, receiver: Receiver) -> None:
    from opsknight.escalation.reminders import MAX_REMINDERS

    user = await responder_with_hooks(admin, receiver, "pager")
    policy = await admin.create("/api/escalation-policies", {
        "name": unique("pol"), "reminder_minutes": 1,
        "steps": [{"target_type": "USER", "target_id": user["id"]}],
    })  # fmt: skip
    service = await admin.create(
        "/api/services", {"name": unique("svc"), "escalation_policy_id": policy["id"]}
    )
    await admin.create("/api/incidents", {"title": "Noisy", "service_id": service["id"]})
    await receiver.wait_for(f"/{user['id']}/pager", 1 + MAX_REMINDERS)
    await asyncio.sleep(1.0)  # ten more minutes at this scale
    assert len(receiver.at(f"/{user['id']}/pager")) == 1 + MAX_REMINDERS
    bad = await admin.patch(f"/api/escalation-policies/{policy['id']}", {"reminder_minutes": 0})
    assert bad.status_code == 400 and bad.json()["error"]["details"]["field"] == "reminder_minutes"


async def test_an_sms_page_is_one_line_with_one_short_link(
    admin: Api, receiver: Receiver, public_links: Any
) -> None:
    incident = await paged_through(
        admin, "sms", receiver.url("/sms-gateway").replace("http://", "json://")
    )
    (request,) = await receiver.wait_for("/sms-gateway", 1)
    text = request.json["message"]
    assert text.startswith(f"[OpsKnight] #{incident['number']} LOW: Card payments failing ")
    link = text.rsplit(" ", 1)[1]
    assert "/r/" in link and "/acknowledge" not in text and len(link) < 80
    async with httpx.AsyncClient(timeout=10) as browser:
        page = await browser.get(link)
    assert page.status_code == 200
    assert page.text.count('method="post"') == 2  # acknowledge and resolve


async def covered_schedules(
    api: Api, regular: dict[str, Any], covers: list[dict[str, Any]], start: float, end: float
) -> list[dict[str, Any]]:
    """One schedule per person in ``covers`` (``regular`` on call on its weekly layer),
    each with an override for that person from ``start`` to ``end`` seconds from now;
    the schedules come back with their override."""
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)

    def at(seconds: float) -> str:
        return (now + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")

    schedules = []
    for person in covers:
        schedule = await api.create("/api/schedules", {
            "name": unique("Payments primary"), "time_zone": "Europe/Berlin",
            "layers": [{"rotation_type": "weekly", "handoff_start": "2024-01-01T09:00:00",
                        "users": [regular["id"]]}],
        })  # fmt: skip
        schedule["override"] = await api.create(
            f"/api/schedules/{schedule['id']}/overrides",
            {"user_id": person["id"], "start": at(start), "end": at(end)},
        )
        schedules.append(schedule)
    return schedules


async def test_a_shift_start_is_announced_once_to_the_person_on_call(
    admin: Api, receiver: Receiver
) -> None:
    from opsknight.notifications import handoffs

    regular = await responder_with_hooks(admin, receiver, "pager")
    cover = await responder_with_hooks(admin, receiver, "pager")
    quiet = await responder_with_hooks(admin, receiver, "pager")
    assert (await admin.patch(f"/api/users/{quiet['id']}", {"handoff_notices": False})).json()[
        "data"
    ]["handoff_notices"] is False
    # Each takes over a schedule of their own in 0.3 s; on a third, the person already on
    # call covers themselves (nothing starts for them).
    schedule, *_ = await covered_schedules(admin, regular, [cover, quiet, regular], 0.3, 3600)
    (notice,) = await receiver.wait_for(f"/{cover['id']}/pager", 1)
    assert notice.json["event"] == "handoff"
    assert notice.json["subject"].startswith(f"You are on call for {schedule['name']} until ")
    assert notice.json["subject"].endswith("Europe/Berlin")
    # Any number of sweeps, in parallel (as several workers would): still one notice.
    await asyncio.gather(*(handoffs.sweep() for _ in range(4)))
    await asyncio.sleep(0.3)
    assert len(receiver.at(f"/{cover['id']}/pager")) == 1
    assert receiver.at(f"/{quiet['id']}/pager") == []
    assert receiver.at(f"/{regular['id']}/pager") == []


async def test_a_storm_of_new_incidents_pages_everyone_once_and_each_timeline_its_own(
    admin: Api, unlimited: httpx.AsyncClient, receiver: Receiver
) -> None:
    # The new incidents of a batch page together and share their delivery jobs; every
    # page must still reach its person once and be recorded on its own incident.
    first = await responder_with_hooks(admin, receiver, "hook")
    second = await responder_with_hooks(admin, receiver, "hook")
    receiver.script(f"/{second['id']}/hook", Reply(500))  # one page fails once, then retries
    team = await admin.create("/api/teams", {"name": unique("storm")})
    for user in (first, second):
        added = await admin.post(f"/api/teams/{team['id']}/members", {"user_id": user["id"]})
        assert added.status_code == 200, added.text
    policy = await admin.create(
        "/api/escalation-policies",
        {"name": unique("pol"), "steps": [{"target_type": "TEAM", "target_id": team["id"]}]},
    )
    service = await admin.create(
        "/api/services", {"name": unique("svc"), "escalation_policy_id": policy["id"]}
    )
    integration = await admin.create(
        f"/api/services/{service['id']}/integrations", {"name": "storm"}
    )
    storm = 8
    answers = await asyncio.gather(*(
        unlimited.post("/v2/enqueue", json={
            "routing_key": integration["key"], "event_action": "trigger",
            "dedup_key": unique("storm"),
            "payload": {"summary": f"Storm {n}", "source": "db", "severity": "critical"},
        })
        for n in range(storm)
    ))  # fmt: skip
    assert [answer.status_code for answer in answers] == [202] * storm

    to_first = await receiver.wait_for(f"/{first['id']}/hook", storm)
    to_second = await receiver.wait_for(f"/{second['id']}/hook", storm + 1)
    incident_ids = {page.json["incident"]["id"] for page in to_first}
    assert len(incident_ids) == storm and len(to_first) == storm
    assert {page.json["incident"]["id"] for page in to_second} == incident_ids

    async def sent_to_both(incident_id: str) -> list[dict[str, Any]]:
        timeline = (await admin.get(f"/api/incidents/{incident_id}/timeline")).json()["data"]
        sent = [e for e in timeline if e["type"] == "notification_sent"]
        return sent if len(sent) >= 2 else []

    for incident_id in incident_ids:
        sent = await eventually(lambda incident_id=incident_id: sent_to_both(incident_id))
        assert sorted(e["details"]["user"]["id"] for e in sent) == sorted(
            [first["id"], second["id"]]
        )
        pages = [p for p in to_first + to_second if p.json["incident"]["id"] == incident_id]
        assert {e["details"]["notification_id"] for e in sent} == {p.json["id"] for p in pages}


async def test_a_shift_end_is_announced_once_to_those_who_asked_for_it(
    admin: Api, receiver: Receiver
) -> None:
    from datetime import datetime

    from opsknight.notifications import handoffs

    regular = await responder_with_hooks(admin, receiver, "pager")
    cover = await responder_with_hooks(admin, receiver, "pager")
    quiet = await responder_with_hooks(admin, receiver, "pager")
    assert quiet["shift_end_notices"] is False  # end notices are asked for, not sent unasked
    asked = await admin.patch(f"/api/users/{cover['id']}", {"shift_end_notices": True})
    assert asked.json()["data"]["shift_end_notices"] is True
    # Each covers a schedule of their own for 0.4 s.
    schedule, _ = await covered_schedules(admin, regular, [cover, quiet], 0.1, 0.5)
    started, ended = await receiver.wait_for(f"/{cover['id']}/pager", 2)
    assert started.json["kind"] == "start" and ended.json["kind"] == "end"
    subject = ended.json["subject"]
    assert subject.startswith(f"Your on-call shift for {schedule['name']} ended at ")
    assert subject.endswith("Europe/Berlin")
    shift = ended.json["shift"]
    override = schedule["override"]
    assert datetime.fromisoformat(shift["start"]) == datetime.fromisoformat(override["start"])
    assert datetime.fromisoformat(shift["end"]) == datetime.fromisoformat(override["end"])
    # Any number of sweeps, in parallel (as several workers would): still one of each.
    await asyncio.gather(*(handoffs.sweep() for _ in range(4)))
    await asyncio.sleep(0.3)
    assert len(receiver.at(f"/{cover['id']}/pager")) == 2
    assert [n.json["kind"] for n in receiver.at(f"/{quiet['id']}/pager")] == ["start"]
