"""Read fields for users, teams, services, integrations and API keys."""

from __future__ import annotations

import strawberry

from opsknight.auth import api_keys
from opsknight.directory import services, teams, users
from opsknight.events import service as events
from opsknight.graphql.context import Info
from opsknight.graphql.types.common import Connection, Pagination
from opsknight.graphql.types.directory import ApiKey, Integration, Service, Team, User
from opsknight.graphql.types.enums import Role, UserStatus
from opsknight.graphql.types.incidents import ChangeEvent


@strawberry.type
class DirectoryQuery:
    @strawberry.field(description="The owner of the calling API key.")
    async def viewer(self, info: Info) -> User:
        return User.from_row(await users.viewer(info.context.principal()))

    @strawberry.field
    async def user(self, info: Info, id: strawberry.ID) -> User:
        return User.from_row(await users.get_user(info.context.principal(), id))

    @strawberry.field
    async def users(
        self,
        info: Info,
        q: str | None = None,
        role: Role | None = None,
        status: UserStatus | None = None,
        email: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> Connection[User]:
        page = await users.list_users(
            info.context.principal(),
            q=q,
            role=role.value if role else None,
            status=status.value if status else None,
            email=email,
            limit=limit,
            offset=offset,
        )
        return Connection(
            nodes=[User.from_row(r) for r in page.items], pagination=Pagination.of(page)
        )

    @strawberry.field
    async def team(self, info: Info, id: strawberry.ID) -> Team:
        return Team.from_row(await teams.get_team(info.context.principal(), id))

    @strawberry.field
    async def teams(
        self, info: Info, q: str | None = None, limit: int | None = None, offset: int | None = None
    ) -> Connection[Team]:
        page = await teams.list_teams(info.context.principal(), q=q, limit=limit, offset=offset)
        return Connection(
            nodes=[Team.from_row(r) for r in page.items], pagination=Pagination.of(page)
        )

    @strawberry.field
    async def service(self, info: Info, id: strawberry.ID) -> Service:
        return Service.from_row(await services.get_service(info.context.principal(), id))

    @strawberry.field
    async def services(
        self,
        info: Info,
        q: str | None = None,
        team_id: strawberry.ID | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> Connection[Service]:
        page = await services.list_services(
            info.context.principal(), q=q, team_id=team_id, limit=limit, offset=offset
        )
        return Connection(
            nodes=[Service.from_row(r) for r in page.items], pagination=Pagination.of(page)
        )

    @strawberry.field
    async def integrations(self, info: Info, service_id: strawberry.ID) -> list[Integration]:
        rows = await services.list_integrations(info.context.principal(), service_id)
        return [Integration.from_row(r) for r in rows]

    @strawberry.field(description="The service's change events, newest first.")
    async def service_changes(
        self,
        info: Info,
        service_id: strawberry.ID,
        limit: int | None = None,
        offset: int | None = None,
    ) -> Connection[ChangeEvent]:
        page = await events.list_changes(info.context.principal(), service_id, limit, offset)
        return Connection(
            nodes=[ChangeEvent.from_row(r) for r in page.items], pagination=Pagination.of(page)
        )

    @strawberry.field
    async def api_keys(
        self, info: Info, limit: int | None = None, offset: int | None = None
    ) -> Connection[ApiKey]:
        page = await api_keys.list_api_keys(info.context.principal(), limit, offset)
        return Connection(
            nodes=[ApiKey.from_row(r) for r in page.items], pagination=Pagination.of(page)
        )
