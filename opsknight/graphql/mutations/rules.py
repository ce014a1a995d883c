"""Write fields for event rules."""

from __future__ import annotations

import strawberry

from opsknight import inputs
from opsknight.graphql.context import Info
from opsknight.graphql.types.common import Deleted, provided
from opsknight.graphql.types.rules import EventRule, EventRuleInput
from opsknight.rules import service


@strawberry.type
class RuleMutation:
    @strawberry.mutation
    async def create_event_rule(self, info: Info, input: EventRuleInput) -> EventRule:
        row = await service.create_rule(
            info.context.principal(), inputs.of(service.RuleFields, provided(input))
        )
        return EventRule.from_row(row)

    @strawberry.mutation
    async def update_event_rule(
        self, info: Info, id: strawberry.ID, input: EventRuleInput
    ) -> EventRule:
        row = await service.update_rule(
            info.context.principal(), id, inputs.of(service.RuleFields, provided(input))
        )
        return EventRule.from_row(row)

    @strawberry.mutation
    async def delete_event_rule(self, info: Info, id: strawberry.ID) -> Deleted:
        return Deleted(id=strawberry.ID(await service.delete_rule(info.context.principal(), id)))
