"""Notifier channels: how one notification reaches one contact method.

The engine never talks to a channel directly; it writes a notification row per contact
method and ``dispatch`` hands the row to the Notifier for the method's type. Adding
email, SMS or chat is adding a Notifier here (and allowing its contact type).
"""

from __future__ import annotations

from typing import Protocol

from opsknight import clock
from opsknight.directory.models import ContactMethod
from opsknight.notifications import apprise_channel
from opsknight.notifications.apprise_channel import AppriseNotifier
from opsknight.notifications.email import EmailNotifier
from opsknight.notifications.models import Notification
from opsknight.webhooks import guard, transport
from opsknight.webhooks.delivery import body_of
from opsknight.webhooks.signing import signed_headers


class Notifier(Protocol):
    channel: str  # as named in a step's `channels` and on the timeline entry

    async def send(self, contact: ContactMethod, notification: Notification) -> transport.Attempt:
        """One attempt; the outcome comes back, it never raises for a receiver's failure."""
        ...


class WebhookNotifier:
    """A POST of the notification to the user's URL, signed like a §10 delivery."""

    channel = "WEBHOOK"

    async def send(self, contact: ContactMethod, notification: Notification) -> transport.Attempt:
        body = body_of(notification.payload)
        headers = signed_headers(
            [contact.secret or ""], notification.id, "notification", notification.id,
            clock.now(), body,
        )  # fmt: skip
        return await transport.post(contact.address, headers, body, guard.private_allowed())


# Contact-method type → the Notifier that serves it.
NOTIFIERS: dict[str, Notifier] = {
    "webhook": WebhookNotifier(),
    "email": EmailNotifier(),
    **{kind: AppriseNotifier(channel) for kind, channel in apprise_channel.TYPES.items()},
}
