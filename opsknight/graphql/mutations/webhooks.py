"""Write fields for webhooks and contact methods."""

from __future__ import annotations

import strawberry

from opsknight import inputs
from opsknight.directory import contact_methods, notification_rules
from opsknight.graphql.context import Info
from opsknight.graphql.types.common import Deleted, provided
from opsknight.graphql.types.webhooks import (
    ContactMethod,
    ContactMethodInput,
    ContactMethodTest,
    IssuedContactMethod,
    IssuedWebhook,
    NotificationRule,
    NotificationRuleInput,
    Webhook,
    WebhookDelivery,
    WebhookInput,
)
from opsknight.notifications import dispatch
from opsknight.webhooks import service


def _issued(issued: service.IssuedSecret) -> IssuedWebhook:
    return IssuedWebhook(**vars(Webhook.from_row(issued.webhook)), secret=issued.secret)


@strawberry.type
class WebhookMutation:
    @strawberry.mutation
    async def create_webhook(self, info: Info, input: WebhookInput) -> IssuedWebhook:
        return _issued(
            await service.create_webhook(
                info.context.principal(), inputs.of(service.WebhookFields, provided(input))
            )
        )

    @strawberry.mutation
    async def update_webhook(self, info: Info, id: strawberry.ID, input: WebhookInput) -> Webhook:
        row = await service.update_webhook(
            info.context.principal(), id, inputs.of(service.WebhookFields, provided(input))
        )
        return Webhook.from_row(row)

    @strawberry.mutation
    async def delete_webhook(self, info: Info, id: strawberry.ID) -> Deleted:
        deleted = await service.delete_webhook(info.context.principal(), id)
        return Deleted(id=strawberry.ID(deleted))

    @strawberry.mutation(description="A new secret; the old one signs too for 24 hours.")
    async def rotate_webhook_secret(
        self, info: Info, id: strawberry.ID, secret: str | None = None
    ) -> IssuedWebhook:
        return _issued(await service.rotate_secret(info.context.principal(), id, secret))

    @strawberry.mutation
    async def redeliver_webhook_delivery(
        self, info: Info, webhook_id: strawberry.ID, id: strawberry.ID
    ) -> WebhookDelivery:
        row = await service.redeliver(info.context.principal(), webhook_id, id)
        return WebhookDelivery.from_row(row)

    @strawberry.mutation(description="Send a ping event now; answers with its one attempt.")
    async def ping_webhook(self, info: Info, id: strawberry.ID) -> WebhookDelivery:
        return WebhookDelivery.from_row(await service.ping(info.context.principal(), id))

    @strawberry.mutation
    async def create_contact_method(
        self, info: Info, user_id: strawberry.ID, input: ContactMethodInput
    ) -> IssuedContactMethod:
        row = await contact_methods.create_contact_method(
            info.context.principal(),
            user_id,
            inputs.of(contact_methods.ContactFields, provided(input)),
        )
        return IssuedContactMethod(**vars(ContactMethod.from_row(row)), secret=row.secret)

    @strawberry.mutation(description="Replace a person's notification rules (in order).")
    async def set_notification_rules(
        self, info: Info, user_id: strawberry.ID, rules: list[NotificationRuleInput]
    ) -> list[NotificationRule]:
        rows = await notification_rules.set_rules(
            info.context.principal(), user_id, [provided(rule) for rule in rules]
        )
        return [NotificationRule.from_row(r) for r in rows]

    @strawberry.mutation(description="Send a test message through a contact method now.")
    async def test_contact_method(
        self, info: Info, user_id: strawberry.ID, id: strawberry.ID
    ) -> ContactMethodTest:
        attempt = await dispatch.send_test(info.context.principal(), user_id, id)
        return ContactMethodTest(delivered=attempt.ok, error=attempt.problem)

    @strawberry.mutation
    async def delete_contact_method(
        self, info: Info, user_id: strawberry.ID, id: strawberry.ID
    ) -> Deleted:
        deleted = await contact_methods.delete_contact_method(info.context.principal(), user_id, id)
        return Deleted(id=strawberry.ID(deleted))
