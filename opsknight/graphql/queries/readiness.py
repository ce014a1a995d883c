"""Read fields for the escalation dry-run and the paging-readiness check."""

from __future__ import annotations

from datetime import datetime

import strawberry

from opsknight.escalation import preview, readiness
from opsknight.graphql.context import Info
from opsknight.graphql.types.readiness import EscalationPreview, Readiness


@strawberry.type
class ReadinessQuery:
    @strawberry.field(
        description="Who an incident opening on the service at `at` (default now) would "
        "page, step by step, when and through what, if nobody acknowledged it."
    )
    async def escalation_preview(
        self,
        info: Info,
        service_id: strawberry.ID,
        at: datetime | None = None,
        urgency: str | None = None,
    ) -> EscalationPreview:
        plan = await preview.escalation_preview(info.context.principal(), service_id, at, urgency)
        return EscalationPreview.of(plan)

    @strawberry.field(description="What would keep a page from reaching a person.")
    async def readiness(self, info: Info) -> Readiness:
        checked_at, problems = await readiness.readiness(info.context.principal())
        return Readiness.of(checked_at, problems)
