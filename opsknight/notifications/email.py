"""Pages by email over SMTP (aiosmtplib): a plain-text and an HTML part, the subject
naming the incident's number, urgency and title.

``OPSKNIGHT_SMTP_URL`` says where: ``smtp://user:pass@host:587?starttls=true`` (STARTTLS),
``smtps://…:465`` (TLS from the start) or ``smtp://host:25``; ``OPSKNIGHT_SMTP_FROM``
the sender. Without an SMTP URL, email contact methods cannot be saved.

Sessions stay open between messages (``?connections=N``, default 4, at once): an alert
storm pages hundreds of people, and connecting, TLS and login cost more than a message.
"""

from __future__ import annotations

import asyncio
import html
import time
from dataclasses import dataclass
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr, make_msgid, parseaddr
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import aiosmtplib

from opsknight.directory.models import ContactMethod
from opsknight.errors import ValidationFailed
from opsknight.notifications.models import Notification
from opsknight.webhooks.transport import TIMEOUT_SECONDS, Attempt

_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    username: str | None
    password: str | None
    use_tls: bool
    start_tls: bool
    sender: str
    connections: int = 4


def parse_smtp_url(url: str, sender: str) -> SmtpServer:
    """The server an ``OPSKNIGHT_SMTP_URL`` names; ValueError naming what is wrong."""
    parsed = urlparse(url)
    if parsed.scheme not in ("smtp", "smtps") or not parsed.hostname:
        raise ValueError(
            "OPSKNIGHT_SMTP_URL must look like smtp://user:pass@host:587?starttls=true"
        )
    options = {k: v[-1].lower() for k, v in parse_qs(parsed.query).items()}
    use_tls = parsed.scheme == "smtps"
    connections = options.get("connections", "4")
    if not connections.isdigit() or not 1 <= int(connections) <= 64:
        raise ValueError("OPSKNIGHT_SMTP_URL: connections must be a number from 1 to 64")
    return SmtpServer(
        host=parsed.hostname,
        port=parsed.port or (465 if use_tls else 25),
        username=unquote(parsed.username) if parsed.username else None,
        password=unquote(parsed.password) if parsed.password else None,
        use_tls=use_tls,
        start_tls=not use_tls and options.get("starttls") in _TRUE,
        sender=sender,
        connections=int(connections),
    )


# A session unused for longer is closed rather than reused: servers drop idle clients
# (Postfix after 300 s), and a fresh session is cheaper than a failed send.
IDLE_SECONDS = 30.0


class SessionPool:
    """Open SMTP sessions to one server, at most ``server.connections`` at once."""

    def __init__(self, server: SmtpServer) -> None:
        self.server = server
        self._idle: list[tuple[aiosmtplib.SMTP, float]] = []
        self._slots: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _bind(self) -> asyncio.Semaphore:
        # Sessions belong to the loop that opened them (tests run one loop per test).
        loop = asyncio.get_running_loop()
        if self._slots is None or self._loop is not loop:
            self._idle, self._loop = [], loop
            self._slots = asyncio.Semaphore(self.server.connections)
        return self._slots

    async def send(self, message: Message) -> None:
        async with self._bind():
            reused = self._take()
            if reused is not None:
                try:
                    await reused.send_message(message)
                except (aiosmtplib.SMTPServerDisconnected, ConnectionError):
                    reused.close()  # the server closed it meanwhile: a fresh session
                except BaseException:
                    reused.close()
                    raise
                else:
                    self._idle.append((reused, time.monotonic()))
                    return
            session = await self._open()
            try:
                await session.send_message(message)
            except BaseException:
                session.close()
                raise
            self._idle.append((session, time.monotonic()))

    def _take(self) -> aiosmtplib.SMTP | None:
        while self._idle:
            session, since = self._idle.pop()
            if session.is_connected and time.monotonic() - since < IDLE_SECONDS:
                return session
            session.close()
        return None

    async def _open(self) -> aiosmtplib.SMTP:
        server = self.server
        session = aiosmtplib.SMTP(
            hostname=server.host,
            port=server.port,
            username=server.username,
            password=server.password,
            use_tls=server.use_tls,
            start_tls=server.start_tls,
            timeout=TIMEOUT_SECONDS,
        )
        await session.connect()
        return session


_pool: SessionPool | None = None


def configure(url: str | None, sender: str) -> None:
    global _pool
    _pool = SessionPool(parse_smtp_url(url, sender)) if url else None


def configured() -> bool:
    return _pool is not None


def check_address(value: Any, field: str) -> str:
    """An email contact's address, refused when no SMTP server is configured."""
    from opsknight import validation

    address = validation.email(value, field)
    if _pool is None:
        raise ValidationFailed(
            "email contact methods need an SMTP server: set OPSKNIGHT_SMTP_URL",
            field="type",
            reason="not_configured",
        )
    return address


def subject_of(payload: dict[str, Any]) -> str:
    """A page's one line, for email subjects and chat titles."""
    if payload.get("subject"):  # a message that is not about an incident (a handoff)
        return str(payload["subject"])
    incident = payload.get("incident") or {}
    number, urgency, title = incident.get("number"), incident.get("urgency"), incident.get("title")
    return f"[OpsKnight] #{number} {urgency}: {title}"


def _message_id(notification_id: str, sender: str) -> str:
    # The sender's domain: without one, make_msgid looks up this host's name each time.
    domain = parseaddr(sender)[1].rpartition("@")[2] or "opsknight.invalid"
    return make_msgid(idstring=notification_id, domain=domain)


def message_for(contact: ContactMethod, notification: Notification, sender: str) -> Message:
    """The page as an email: text and HTML, with the response links of the payload."""
    payload = notification.payload
    if payload.get("text"):  # a notice that is not about an incident (a handoff)
        text = str(payload["text"])
        return _mail(contact, notification, sender, text + "\n", f"<p>{html.escape(text)}</p>")
    incident = payload.get("incident") or {}
    links = payload.get("links") or {}
    number, urgency, title = incident.get("number"), incident.get("urgency"), incident.get("title")
    service = (incident.get("service") or {}).get("name")
    actions = [
        (label, links[key])
        for key, label in (("acknowledge", "Acknowledge"), ("resolve", "Resolve"),
                           ("incident", "Open the incident"))
        if links.get(key)
    ]  # fmt: skip
    lines = [
        f"Incident #{number} ({urgency}) on {service}: {title}",
        f"Status: {incident.get('status')}",
        f"You are paged at escalation step {payload.get('step')}.",
        "",
        *(f"{label}: {href}" for label, href in actions),
    ]
    buttons = "".join(
        f'<p><a href="{html.escape(href)}">{html.escape(label)}</a></p>' for label, href in actions
    )
    urgency_, title_, service_, status_ = (
        html.escape(str(value)) for value in (urgency, title, service, incident.get("status"))
    )
    page = (
        f"<html><body><h2>#{number} {urgency_}: {title_}</h2>"
        f"<p>Service: {service_} — status {status_}"
        f"<br>You are paged at escalation step {payload.get('step')}.</p>{buttons}"
        "</body></html>"
    )
    return _mail(contact, notification, sender, "\n".join(lines) + "\n", page)


def _mail(
    contact: ContactMethod, notification: Notification, sender: str, text: str, page: str
) -> Message:
    # The compat32 MIME classes: a page storm builds thousands of these, and the
    # modern EmailMessage parses every header it is given (twice as slow).
    message = MIMEMultipart("alternative")
    subject = " ".join(subject_of(notification.payload).split())  # no line breaks
    message["Subject"] = (
        subject if subject.isascii() else Header(subject, "utf-8", header_name="Subject").encode()
    )
    message["From"] = formataddr(parseaddr(sender), charset="utf-8")
    message["To"] = contact.address
    message["Message-ID"] = _message_id(notification.id, sender)
    message.attach(_part(text, "plain"))
    message.attach(_part(page, "html"))
    return message


_UTF8 = Charset("utf-8")
_UTF8.body_encoding = QP  # readable in a raw message, unlike base64


def _part(body: str, subtype: str) -> MIMEText:
    return MIMEText(body, subtype, "us-ascii" if body.isascii() else _UTF8)  # type: ignore[arg-type]


class EmailNotifier:
    channel = "EMAIL"

    async def send(self, contact: ContactMethod, notification: Notification) -> Attempt:
        pool = _pool
        if pool is None:
            return Attempt(None, "no SMTP server is configured (OPSKNIGHT_SMTP_URL)")
        message = message_for(contact, notification, pool.server.sender)
        try:
            await pool.send(message)
        except (aiosmtplib.SMTPException, OSError) as exc:
            # The server's answer, never the credentials in the URL.
            return Attempt(None, f"SMTP: {type(exc).__name__}: {exc}"[:500])
        return Attempt(250, None)
