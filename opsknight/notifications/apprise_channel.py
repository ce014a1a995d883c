"""Chat, SMS and push pages through Apprise URLs (Slack, Microsoft Teams, Mattermost,
Telegram, Discord, Matrix, ntfy, Gotify, Pushover, Twilio, AWS SNS, …), so no client is
written per service.

Apprise is synchronous: each send runs in a small thread pool of its own, so a slow
service never blocks the event loop and only ``MAX_SENDS`` sends run at once. A URL
whose host the user chooses (``json://``, self-hosted ntfy, Mattermost, Gotify, …) passes
the private-address guard when saved and again before every send. Addresses hold
secrets (tokens, passwords): the API shows them masked, as Apprise's privacy form does,
and errors never carry them.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote, urlparse

import apprise

from opsknight.directory.models import ContactMethod
from opsknight.errors import ValidationFailed
from opsknight.notifications.email import subject_of
from opsknight.notifications.models import Notification
from opsknight.webhooks import guard
from opsknight.webhooks.transport import Attempt

TYPES = {"chat": "CHAT", "sms": "SMS", "push": "PUSH"}
MAX_SENDS = 8
# Schemes whose host is whatever the user writes (self-hosted services, plain webhooks):
# those hosts pass the private-address guard. Vendor services (slack://, tgram://, …)
# carry tokens where a URL has its host, and always go to the vendor.
_USER_HOSTS = frozenset({
    "json", "jsons", "xml", "xmls", "form", "forms", "mmost", "mmosts", "gotify", "gotifys",
    "matrix", "matrixs", "rocket", "rockets", "apprise", "apprises", "nctalk", "nctalks",
    "ncloud", "nclouds", "ntfy", "ntfys", "mqtt", "mqtts", "synology", "synologys",
})  # fmt: skip

# What Apprise logs can hold the URLs' secrets: it reaches only LogCapture, never our logs.
logging.getLogger("apprise").propagate = False

_pool = ThreadPoolExecutor(max_workers=MAX_SENDS, thread_name_prefix="apprise")
_allowed_schemes: frozenset[str] | None = None


def configure(schemes: str) -> None:
    """OPSKNIGHT_NOTIFY_SCHEMES: the Apprise schemes users may save (empty: any)."""
    global _allowed_schemes
    names = {part.strip().lower() for part in schemes.split(",") if part.strip()}
    _allowed_schemes = frozenset(names) if names else None


def _instance(url: str) -> Any:
    return apprise.Apprise.instantiate(url, suppress_exceptions=True)


def _guarded_url(instance: Any) -> str | None:
    """The http(s) address the guard checks for a user-chosen host, or None."""
    scheme = urlparse(instance.url()).scheme.lower()
    if scheme not in _USER_HOSTS or getattr(instance, "mode", None) == "cloud":
        return None
    host = getattr(instance, "host", None)
    if not host:
        return None
    port = getattr(instance, "port", None)
    secure = scheme.endswith("s")
    netloc = f"[{host}]" if ":" in host else host
    return f"{'https' if secure else 'http'}://{netloc}{f':{port}' if port else ''}/"


async def check_address(value: Any, field: str) -> str:
    """An Apprise URL that Apprise understands, with an allowed scheme and a host the
    guard accepts; a 400 naming ``field`` otherwise."""
    from opsknight import validation

    url = validation.text(value, field, max_length=2048)
    scheme = urlparse(url).scheme.lower()
    if _allowed_schemes is not None and scheme not in _allowed_schemes:
        raise ValidationFailed(
            f"{field}: the scheme {scheme or '(none)'}:// is not allowed here "
            f"(allowed: {', '.join(sorted(_allowed_schemes))}; OPSKNIGHT_NOTIFY_SCHEMES)",
            field=field,
            reason="scheme_not_allowed",
            allowed=sorted(_allowed_schemes),
        )
    instance = _instance(url)
    if instance is None:
        raise ValidationFailed(
            f"{field} is not an Apprise URL that can be used (e.g. slack://…, "
            "ntfys://ntfy.example.com/topic, mmost://host/token)",
            field=field,
            reason="invalid",
        )
    target = _guarded_url(instance)
    if target is not None:
        await guard.checked_url(target, field)
    return url


def masked(url: str) -> str:
    """The address as the API shows it: tokens and passwords elided."""
    instance = _instance(url)
    if instance is None:
        return urlparse(url).scheme + "://…"
    return str(instance.url(privacy=True)).split("?", 1)[0]


def _send(url: str, title: str, body: str) -> str | None:
    """One send, in the pool; the problem, or None."""
    notifier = apprise.Apprise()
    if not notifier.add(url):
        return "the Apprise URL is no longer valid"
    with apprise.LogCapture(level=apprise.logging.WARNING) as captured:  # type: ignore[no-untyped-call]
        ok = notifier.notify(title=title, body=body)
        log = captured.getvalue()
    if ok:
        return None
    reason = " ".join(line.strip() for line in log.splitlines() if line.strip())[-400:]
    return (reason or "the service refused the message").replace(url, masked(url))


def message(notification: Notification) -> tuple[str, str]:
    payload = notification.payload
    if payload.get("text"):  # a notice that is not about an incident (a handoff)
        return subject_of(payload), str(payload["text"])
    if notification.channel == "SMS":
        # One short line and one short link: the page offers both actions.
        link = (payload.get("links") or {}).get("short", "")
        return "", f"{subject_of(payload)} {link}".strip()
    incident = payload.get("incident") or {}
    links = payload.get("links") or {}
    title = subject_of(payload)
    service = (incident.get("service") or {}).get("name")
    lines = [f"{service}: {incident.get('title')} ({incident.get('status')})"]
    lines += [
        f"{label}: {links[key]}"
        for key, label in (("acknowledge", "Acknowledge"), ("resolve", "Resolve"))
        if links.get(key)
    ]
    return title, "\n".join(lines)


# ntfy shows buttons (its "actions"): the app POSTs to the link itself, which acts like
# the button on the link's page. Apprise passes them on from the URL's query.
_BUTTON_SCHEMES = ("ntfy", "ntfys")


def with_buttons(url: str, notification: Notification) -> str:
    """The contact's URL, plus action buttons and a tap target where the service has them."""
    links = notification.payload.get("links") or {}
    if urlparse(url).scheme not in _BUTTON_SCHEMES or not links.get("incident"):
        return url
    buttons = [
        f"http, {label}, {links[key]}, method=POST, clear=true"
        for key, label in (("acknowledge", "Acknowledge"), ("resolve", "Resolve"))
        if links.get(key)
    ]
    query = f"actions={quote('; '.join(buttons))}&click={quote(links['incident'], safe='')}"
    return f"{url}{'&' if '?' in url else '?'}{query}"


class AppriseNotifier:
    def __init__(self, channel: str) -> None:
        self.channel = channel

    async def send(self, contact: ContactMethod, notification: Notification) -> Attempt:
        instance = _instance(contact.address)
        target = _guarded_url(instance) if instance is not None else None
        if target is not None and not guard.private_allowed():
            try:
                await guard.check_host(target)
            except guard.PrivateAddress as exc:
                return Attempt(None, str(exc))
        title, body = message(notification)
        loop = asyncio.get_running_loop()
        url = with_buttons(contact.address, notification)
        problem = await loop.run_in_executor(_pool, _send, url, title, body)
        return Attempt(None, problem) if problem else Attempt(200, None)
