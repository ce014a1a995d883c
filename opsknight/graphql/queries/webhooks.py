"""Read fields for webhooks, their deliveries, and contact methods."""

from __future__ import annotations

import strawberry

from opsknight.directory import contact_methods, notification_rules
from opsknight.graphql.context import Info
from opsknight.graphql.types.common import Connection, Pagination
from opsknight.graphql.types.webhooks import (
    ContactMethod,
    NotificationRule,
    Webhook,
    WebhookDelivery,
)
from opsknight.webhooks import service


@strawberry.type
class WebhookQuery:
    @strawberry.field
    async def webhook(self, info: Info, id: strawberry.ID) -> Webhook:
        return Webhook.from_row(await service.get_webhook(info.context.principal(), id))

    @strawberry.field
    async def webhooks(
        self, info: Info, limit: int | None = None, offset: int | None = None
    ) -> Connection[Webhook]:
        page = await service.list_webhooks(info.context.principal(), limit, offset)
        return Connection(
            nodes=[Webhook.from_row(r) for r in page.items], pagination=Pagination.of(page)
        )

    @strawberry.field(description="A webhook's deliveries, newest first.")
    async def webhook_deliveries(
        self,
        info: Info,
        webhook_id: strawberry.ID,
        limit: int | None = None,
        offset: int | None = None,
    ) -> Connection[WebhookDelivery]:
        page = await service.list_deliveries(info.context.principal(), webhook_id, limit, offset)
        return Connection(
            nodes=[WebhookDelivery.from_row(r) for r in page.items],
            pagination=Pagination.of(page),
        )

    @strawberry.field
    async def contact_methods(self, info: Info, user_id: strawberry.ID) -> list[ContactMethod]:
        rows = await contact_methods.list_contact_methods(info.context.principal(), user_id)
        return [ContactMethod.from_row(r) for r in rows]

    @strawberry.field(description="A person's notification rules, in order.")
    async def notification_rules(
        self, info: Info, user_id: strawberry.ID
    ) -> list[NotificationRule]:
        rows = await notification_rules.list_rules(info.context.principal(), user_id)
        return [NotificationRule.from_row(r) for r in rows]
