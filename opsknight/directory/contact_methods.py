"""A user's contact methods: where escalation reaches them.

``webhook``: a URL the user registers, signed like a §10 delivery. ``email``: an address,
paged over SMTP (notifications/email.py). ``chat``, ``sms``, ``push``: an Apprise URL
(notifications/apprise_channel.py), shown masked. Users manage their own contact methods;
managing someone else's takes ``users:write``.
"""

from __future__ import annotations

from dataclasses import dataclass

from opsknight import clock, validation
from opsknight.auth.principal import Principal
from opsknight.directory.models import ContactMethod, User
from opsknight.errors import NotFound, ValidationFailed
from opsknight.notifications import apprise_channel, email
from opsknight.records import get_or_404
from opsknight.webhooks import guard
from opsknight.webhooks.signing import new_secret

TYPES = ("webhook", "email", *apprise_channel.TYPES)
MAX_PER_USER = 20


def may_manage(principal: Principal, user_id: str) -> None:
    if principal.user_id == user_id:
        principal.require("users:read")
    else:
        principal.require("users:write")


async def list_contact_methods(principal: Principal, user_id: str) -> list[ContactMethod]:
    principal.require("users:read")
    await get_or_404(User, user_id, "user")
    return list(await ContactMethod.filter(user_id=user_id).order_by("created_at", "id"))


@dataclass(frozen=True)
class ContactFields:
    """A new contact method: its type and address."""

    type: str | None = None
    address: str | None = None


async def create_contact_method(
    principal: Principal, user_id: str, fields: ContactFields
) -> ContactMethod:
    """Register a contact; a webhook contact gets a secret, shown only in this answer."""
    may_manage(principal, user_id)
    user = await get_or_404(User, user_id, "user")
    kind = validation.choice(fields.type, "type", TYPES)
    if kind == "email":
        address = email.check_address(fields.address, "address")
    elif kind in apprise_channel.TYPES:
        address = await apprise_channel.check_address(fields.address, "address")
    else:
        address = validation.http_url(fields.address, "address")
        address = await guard.checked_url(address, "address")
    if await ContactMethod.filter(user_id=user.id).count() >= MAX_PER_USER:
        raise ValidationFailed(
            f"a user has at most {MAX_PER_USER} contact methods", field="type", reason="too_many"
        )
    return await ContactMethod.create(
        user_id=user.id,
        type=kind,
        address=address,
        secret=new_secret() if kind == "webhook" else None,
        created_at=clock.now(),
    )


def shown_address(method: ContactMethod) -> str:
    """The address as the API shows it: Apprise URLs hold tokens, so they are masked."""
    if method.type in apprise_channel.TYPES:
        return apprise_channel.masked(method.address)
    return method.address


async def delete_contact_method(principal: Principal, user_id: str, method_id: str) -> str:
    may_manage(principal, user_id)
    method = await ContactMethod.get_or_none(id=method_id, user_id=user_id)
    if method is None:
        raise NotFound.of("contact method", method_id)
    await method.delete()
    return method_id
