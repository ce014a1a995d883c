"""Write fields for escalation policies."""

from __future__ import annotations

import strawberry

from opsknight import inputs
from opsknight.escalation import policies
from opsknight.graphql.context import Info
from opsknight.graphql.types.common import Deleted, provided
from opsknight.graphql.types.directory import EscalationPolicy, EscalationPolicyInput


@strawberry.type
class EscalationMutation:
    @strawberry.mutation
    async def create_escalation_policy(
        self, info: Info, input: EscalationPolicyInput
    ) -> EscalationPolicy:
        row = await policies.create_policy(
            info.context.principal(), inputs.of(policies.PolicyFields, provided(input))
        )
        return EscalationPolicy.from_row(row)

    @strawberry.mutation(description="`steps`, when given, replace all steps.")
    async def update_escalation_policy(
        self, info: Info, id: strawberry.ID, input: EscalationPolicyInput
    ) -> EscalationPolicy:
        row = await policies.update_policy(
            info.context.principal(), id, inputs.of(policies.PolicyFields, provided(input))
        )
        return EscalationPolicy.from_row(row)

    @strawberry.mutation
    async def delete_escalation_policy(self, info: Info, id: strawberry.ID) -> Deleted:
        deleted = await policies.delete_policy(info.context.principal(), id)
        return Deleted(id=strawberry.ID(deleted))
