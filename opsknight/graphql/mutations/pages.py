"""A page's response links over GraphQL: the link's secret is the credential (no API
key), for the one incident and the one person it paged."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from opsknight.graphql.context import Info
from opsknight.notifications import links


@strawberry.enum
class PageAction(Enum):
    ACKNOWLEDGE = "acknowledge"
    RESOLVE = "resolve"


@strawberry.type(description="What a response link opens.")
class PageLink:
    incident_id: strawberry.ID
    number: int
    title: str
    status: str
    urgency: str
    service_name: str | None
    recipient_name: str
    channel: str
    expires_at: datetime


@strawberry.type
class PageResponse:
    outcome: str = strawberry.field(
        description="acknowledged, resolved, already_acknowledged or already_resolved"
    )
    link: PageLink


async def _page_link(link: links.PageLink) -> PageLink:
    incident = link.incident
    service = await incident.service
    return PageLink(
        incident_id=strawberry.ID(incident.id),
        number=incident.number,
        title=incident.title,
        status=incident.status,
        urgency=incident.urgency,
        service_name=service.name if service else None,
        recipient_name=link.recipient.name,
        channel=link.notification.channel,
        expires_at=link.expires_at,  # type: ignore[arg-type]
    )


@strawberry.type
class PageQuery:
    @strawberry.field(description="The incident a page's response link is for. Changes nothing.")
    async def page_link(self, info: Info, secret: str) -> PageLink:
        return await _page_link(await links.open_link(secret))


@strawberry.type
class PageMutation:
    @strawberry.mutation(
        description="Acknowledge or resolve through a page's response link, as the person paged."
    )
    async def respond_to_page(self, info: Info, secret: str, action: PageAction) -> PageResponse:
        link, outcome = await links.respond(secret, action.value)
        return PageResponse(outcome=outcome, link=await _page_link(link))
