"""Response links: every page carries links to acknowledge or resolve its incident as the
person paged, with no API key. The link's secret is the credential: random, one per
notification, stored only as a SHA-256 digest, valid for ``LINK_TTL`` (default 24 h), and
refused once the incident is resolved or the recipient is disabled.

Opening a link (``GET``) must change nothing: mail scanners and chat unfurlers fetch
links before people do. Only ``respond`` (a ``POST`` from the confirmation page) acts.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from opsknight import clock
from opsknight.auth.principal import Principal
from opsknight.directory.models import User
from opsknight.errors import Forbidden, NotFound
from opsknight.incidents.models import Incident
from opsknight.notifications.models import Notification

ACTIONS = {"acknowledge": "ACKNOWLEDGED", "resolve": "RESOLVED"}
PATH = "/respond"
SHORT_PATH = "/r"  # for SMS: the incident page, with both buttons

_public_url = "http://127.0.0.1:8080"
_ttl = timedelta(hours=24)


def configure(public_url: str, ttl_hours: float) -> None:
    """OPSKNIGHT_PUBLIC_URL (the base of links) and OPSKNIGHT_LINK_TTL_HOURS."""
    global _public_url, _ttl
    _public_url = public_url.rstrip("/")
    _ttl = timedelta(hours=ttl_hours)


def public_url() -> str:
    """The base of the addresses OpsKnight gives out (OPSKNIGHT_PUBLIC_URL)."""
    return _public_url


def new_secret() -> tuple[str, str]:
    """A link secret and the digest that is stored."""
    secret = secrets.token_urlsafe(24)
    return secret, digest(secret)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def links_for(secret: str) -> dict[str, str]:
    base = f"{_public_url}{PATH}/{secret}"
    return {
        "incident": base,
        **{action: f"{base}/{action}" for action in ACTIONS},
        "short": f"{_public_url}{SHORT_PATH}/{secret}",
    }


@dataclass(frozen=True)
class PageLink:
    """What a link opens: the notification, its incident, the person it paged."""

    notification: Notification
    incident: Incident
    recipient: User
    expires_at: object

    @property
    def principal(self) -> Principal:
        """The recipient, acting on this one incident through the page's channel."""
        return Principal(
            user_id=self.recipient.id,
            user_name=self.recipient.name,
            role=self.recipient.role,
            scopes=frozenset({"incidents:read", "incidents:write"}),
            environment=self.incident.environment,
            via=self.notification.channel,
        )


async def open_link(secret: str) -> PageLink:
    """The link's page, or FORBIDDEN with ``details.reason`` (unknown, expired, disabled)."""
    notification = None
    if 0 < len(secret) <= 100:
        notification = await Notification.get_or_none(link_digest=digest(secret))
    if notification is None:
        raise NotFound("this link is not valid", {"reason": "unknown"})
    expires_at = notification.created_at + _ttl
    if clock.now() > expires_at:
        raise Forbidden(
            "this link has expired; open the incident in OpsKnight instead",
            {"reason": "expired"},
        )
    recipient = await User.get(id=notification.user_id)  # type: ignore[attr-defined]
    if recipient.status != "ACTIVE":
        raise Forbidden("your account is disabled", {"reason": "disabled"})
    incident = await Incident.get_or_none(id=notification.incident_id)  # type: ignore[attr-defined]
    if incident is None:
        raise NotFound("the incident no longer exists", {"reason": "gone"})
    return PageLink(notification, incident, recipient, expires_at)


async def respond(secret: str, action: str) -> tuple[PageLink, str]:
    """Acknowledge or resolve as the recipient; the outcome: ``acknowledged``,
    ``resolved``, or ``already_acknowledged`` / ``already_resolved`` (nothing changed,
    so a replayed link is harmless)."""
    # Imported here: the commands reach the escalation engine, whose pages build links.
    from opsknight.incidents import commands

    link = await open_link(secret)
    target = ACTIONS[action]
    status = link.incident.status
    if status == "RESOLVED":
        return link, "already_resolved"
    if status == target:
        return link, "already_acknowledged"
    updated = await commands.update_incident(
        link.principal, link.incident.id, commands.IncidentChange(status=target)
    )
    return PageLink(link.notification, updated, link.recipient, link.expires_at), (
        "acknowledged" if target == "ACKNOWLEDGED" else "resolved"
    )
