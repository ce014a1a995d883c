"""Pages by email over SMTP (aiosmtplib): a plain-text and an HTML part, the subject
naming the incident's number, urgency and title.

``OPSKNIGHT_SMTP_URL`` says where: ``smtp://user:pass@host:587?starttls=true`` (STARTTLS),
``smtps://…:465`` (TLS from the start) or ``smtp://host:25``; ``OPSKNIGHT_SMTP_FROM``
the sender. Without an SMTP URL, email contact methods cannot be saved.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
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


def parse_smtp_url(url: str, sender: str) -> SmtpServer:
    """The server an ``OPSKNIGHT_SMTP_URL`` names; ValueError naming what is wrong."""
    parsed = urlparse(url)
    if parsed.scheme not in ("smtp", "smtps") or not parsed.hostname:
        raise ValueError(
            "OPSKNIGHT_SMTP_URL must look like smtp://user:pass@host:587?starttls=true"
        )
    options = {k: v[-1].lower() for k, v in parse_qs(parsed.query).items()}
    use_tls = parsed.scheme == "smtps"
    return SmtpServer(
        host=parsed.hostname,
        port=parsed.port or (465 if use_tls else 25),
        username=unquote(parsed.username) if parsed.username else None,
        password=unquote(parsed.password) if parsed.password else None,
        use_tls=use_tls,
        start_tls=not use_tls and options.get("starttls") in _TRUE,
        sender=sender,
    )


_server: SmtpServer | None = None


def configure(url: str | None, sender: str) -> None:
    global _server
    _server = parse_smtp_url(url, sender) if url else None


def configured() -> bool:
    return _server is not None


def check_address(value: Any, field: str) -> str:
    """An email contact's address, refused when no SMTP server is configured."""
    from opsknight import validation

    address = validation.email(value, field)
    if _server is None:
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


def message_for(contact: ContactMethod, notification: Notification, sender: str) -> EmailMessage:
    """The page as an email: text and HTML, with the response links of the payload."""
    payload = notification.payload
    if payload.get("text"):  # a notice that is not about an incident (a handoff)
        notice = EmailMessage()
        notice["Subject"], notice["From"], notice["To"] = (
            subject_of(payload),
            sender,
            contact.address,
        )
        notice["Message-ID"] = make_msgid(idstring=notification.id)
        notice.set_content(str(payload["text"]) + "\n")
        notice.add_alternative(f"<p>{html.escape(str(payload['text']))}</p>", subtype="html")
        return notice
    incident = payload.get("incident") or {}
    links = payload.get("links") or {}
    number, urgency, title = incident.get("number"), incident.get("urgency"), incident.get("title")
    service = (incident.get("service") or {}).get("name")
    message = EmailMessage()
    message["Subject"] = subject_of(payload)
    message["From"] = sender
    message["To"] = contact.address
    message["Message-ID"] = make_msgid(idstring=notification.id)
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
    message.set_content("\n".join(lines) + "\n")
    buttons = "".join(
        f'<p><a href="{html.escape(href)}">{html.escape(label)}</a></p>' for label, href in actions
    )
    urgency_, title_, service_, status_ = (
        html.escape(str(value)) for value in (urgency, title, service, incident.get("status"))
    )
    message.add_alternative(
        f"<html><body><h2>#{number} {urgency_}: {title_}</h2>"
        f"<p>Service: {service_} — status {status_}"
        f"<br>You are paged at escalation step {payload.get('step')}.</p>{buttons}"
        "</body></html>",
        subtype="html",
    )
    return message


class EmailNotifier:
    channel = "EMAIL"

    async def send(self, contact: ContactMethod, notification: Notification) -> Attempt:
        server = _server
        if server is None:
            return Attempt(None, "no SMTP server is configured (OPSKNIGHT_SMTP_URL)")
        message = message_for(contact, notification, server.sender)
        try:
            await aiosmtplib.send(
                message,
                hostname=server.host,
                port=server.port,
                username=server.username,
                password=server.password,
                use_tls=server.use_tls,
                start_tls=server.start_tls,
                timeout=TIMEOUT_SECONDS,
            )
        except (aiosmtplib.SMTPException, OSError) as exc:
            # The server's answer, never the credentials in the URL.
            return Attempt(None, f"SMTP: {type(exc).__name__}: {exc}"[:500])
        return Attempt(250, None)
