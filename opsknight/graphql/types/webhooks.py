"""Outbound webhooks, their deliveries, and users' contact methods."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from opsknight.directory import contact_methods
from opsknight.graphql.types.rows import from_row


@strawberry.type
class Webhook:
    id: strawberry.ID
    name: str | None
    url: str
    format: str = strawberry.field(
        description="opsknight (SPEC §10) or pagerduty-v3: PagerDuty's v3 envelope, event "
        "types and X-PagerDuty-Signature header, for consumers written against PagerDuty."
    )
    events: list[str]
    enabled: bool
    include_test: bool
    service_ids: list[strawberry.ID] | None
    consecutive_failures: int
    disabled_reason: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: Any) -> Webhook:
        return from_row(cls, row)


@strawberry.type
class IssuedWebhook(Webhook):
    secret: str = strawberry.field(
        description="The signing secret (whsec_…). Shown only on create and on rotation."
    )


@strawberry.type
class WebhookDelivery:
    id: strawberry.ID
    event: str
    event_id: str
    incident_id: strawberry.ID | None
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    next_attempt_at: datetime | None
    payload: JSON

    @classmethod
    def from_row(cls, row: Any) -> WebhookDelivery:
        # A pending delivery shows when it is next tried; others have no next attempt.
        pending = row.status == "pending"
        return from_row(cls, row, next_attempt_at=row.next_attempt_at if pending else None)


@strawberry.input
class WebhookInput:
    url: str | None = strawberry.UNSET
    name: str | None = strawberry.UNSET
    format: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="opsknight (the default) or pagerduty-v3; events are named as the "
        "format names them.",
    )
    secret: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="On create only: a signing secret to keep (e.g. the PagerDuty "
        "subscription's), 16 to 128 printable characters; generated when omitted.",
    )
    events: list[str] | None = strawberry.UNSET
    enabled: bool | None = strawberry.UNSET
    include_test: bool | None = strawberry.UNSET
    service_ids: list[strawberry.ID] | None = strawberry.UNSET


@strawberry.type
class ContactMethod:
    id: strawberry.ID
    user_id: strawberry.ID
    type: str
    address: str
    created_at: datetime

    @classmethod
    def from_row(cls, row: Any) -> ContactMethod:
        return from_row(cls, row, address=contact_methods.shown_address(row))


@strawberry.type
class IssuedContactMethod(ContactMethod):
    secret: str | None = strawberry.field(
        description="The signing secret of a webhook contact (null for other types). "
        "Shown only on create."
    )


@strawberry.input
class ContactMethodInput:
    type: str
    address: str


@strawberry.type(description="Which contact method, how long after being paged, for which urgency.")
class NotificationRule:
    id: strawberry.ID
    contact_method_id: strawberry.ID
    delay_minutes: int
    urgency: str

    @classmethod
    def from_row(cls, row: Any) -> NotificationRule:
        return cls(
            id=strawberry.ID(row.id),
            contact_method_id=strawberry.ID(row.contact_method_id),
            delay_minutes=row.delay_minutes,
            urgency=row.urgency,
        )


@strawberry.input
class NotificationRuleInput:
    contact_method_id: strawberry.ID
    delay_minutes: int = 0
    urgency: str = strawberry.field(default="ANY", description="HIGH, MEDIUM, LOW or ANY")


@strawberry.type(description="The outcome of one test message through a contact method.")
class ContactMethodTest:
    delivered: bool
    error: str | None
