"""Shadow mode: its state, and the report of a parallel run."""

from __future__ import annotations

from datetime import datetime

import strawberry

from opsknight.graphql.context import Info
from opsknight.graphql.types.common import Connection, Pagination
from opsknight.graphql.types.shadow import ShadowMode, WouldPage
from opsknight.shadow import service


@strawberry.type
class ShadowQuery:
    @strawberry.field(description="Whether a parallel run holds pages and webhooks back.")
    async def shadow_mode(self, info: Info) -> ShadowMode:
        return ShadowMode.of(await service.state(info.context.principal()))

    @strawberry.field(
        description="The pages shadow mode held back, oldest first: compare them with what "
        "the old tool did."
    )
    async def shadow_report(
        self,
        info: Info,
        since: datetime | None = None,
        until: datetime | None = None,
        service_id: strawberry.ID | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> Connection[WouldPage]:
        page = await service.report(
            info.context.principal(), since, until, service_id, limit, offset
        )
        return Connection(
            nodes=[WouldPage.from_row(r) for r in page.items], pagination=Pagination.of(page)
        )


@strawberry.type
class ShadowMutation:
    @strawberry.mutation(
        description="Turn account-wide shadow mode on or off. Pages planned from then on are "
        "sent or held back; nothing held back is sent later."
    )
    async def set_shadow_mode(self, info: Info, enabled: bool) -> ShadowMode:
        return ShadowMode.of(await service.set_account_wide(info.context.principal(), enabled))
