"""The Events API as mutations: each takes the body exactly as the sender's tool sends it."""

from __future__ import annotations

import strawberry
from strawberry.scalars import JSON

from opsknight.events import service
from opsknight.graphql.context import Info
from opsknight.graphql.types.enums import OpsgenieAction
from opsknight.graphql.types.events import EventResult
from opsknight.graphql.types.incidents import ChangeEvent


@strawberry.type
class EventMutation:
    @strawberry.mutation(
        description="A PagerDuty Events v2 event (routing_key, event_action, dedup_key, payload…)."
    )
    async def send_event(self, info: Info, event: JSON) -> EventResult:
        return EventResult.of(await service.send_event(info.context.credential, event))

    @strawberry.mutation(
        description="A PagerDuty Events API v1 event (service_key, event_type, incident_key, "
        "description, details…), as `create_event.json` takes it."
    )
    async def send_pagerduty_v1_event(self, info: Info, event: JSON) -> EventResult:
        return EventResult.of(await service.send_pagerduty_v1(info.context.credential, event))

    @strawberry.mutation(
        description="A request of Opsgenie's Alert API: create an alert (the body as Opsgenie "
        "takes it), or close or acknowledge one by its alias (identifierType alias). The "
        "integration key comes as `Authorization: GenieKey <key>`."
    )
    async def send_opsgenie_alert(
        self,
        info: Info,
        action: OpsgenieAction,
        payload: JSON | None = None,
        identifier: str | None = None,
        identifier_type: str | None = None,
    ) -> EventResult:
        outcome = await service.send_opsgenie(
            info.context.credential, action.value, payload, identifier, identifier_type
        )
        return EventResult.of(outcome)

    @strawberry.mutation(description="A PagerDuty change event; it never opens an incident.")
    async def send_change_event(self, info: Info, event: JSON) -> ChangeEvent:
        row = await service.send_change_event(info.context.credential, event)
        return ChangeEvent.from_row(row)

    @strawberry.mutation(description="An Alertmanager webhook (version 4): one event per alert.")
    async def send_alertmanager_alerts(
        self, info: Info, payload: JSON, integration_key: str | None = None
    ) -> list[EventResult]:
        outcomes = await service.send_alertmanager(
            info.context.credential, integration_key, payload
        )
        return [EventResult.of(o) for o in outcomes]

    @strawberry.mutation(description="A generic JSON webhook, mapped field by field.")
    async def send_webhook_event(
        self, info: Info, payload: JSON, integration_key: str | None = None
    ) -> EventResult:
        outcome = await service.send_generic_webhook(
            info.context.credential, integration_key, payload
        )
        return EventResult.of(outcome)
