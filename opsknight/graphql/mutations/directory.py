"""Write fields for users, teams, services, integrations and API keys."""

from __future__ import annotations

import strawberry

from opsknight import inputs
from opsknight.auth import api_keys
from opsknight.directory import services, teams, users
from opsknight.graphql.context import Info
from opsknight.graphql.types.common import Deleted, provided
from opsknight.graphql.types.directory import (
    ApiKey,
    ApiKeyInput,
    Integration,
    IntegrationInput,
    IssuedApiKey,
    ProfileInput,
    Service,
    ServiceInput,
    Team,
    TeamInput,
    TeamMemberInput,
    User,
    UserInput,
)


@strawberry.type
class DirectoryMutation:
    @strawberry.mutation
    async def create_user(self, info: Info, input: UserInput) -> User:
        return User.from_row(
            await users.create_user(
                info.context.principal(), inputs.of(users.UserFields, provided(input))
            )
        )

    @strawberry.mutation
    async def update_user(self, info: Info, id: strawberry.ID, input: UserInput) -> User:
        row = await users.update_user(
            info.context.principal(), id, inputs.of(users.UserFields, provided(input))
        )
        return User.from_row(row)

    @strawberry.mutation(description="Your own name, time zone and handoff notices.")
    async def update_profile(self, info: Info, input: ProfileInput) -> User:
        row = await users.update_own_profile(
            info.context.principal(), inputs.of(users.UserFields, provided(input))
        )
        return User.from_row(row)

    @strawberry.mutation(
        description="A new password for yourself; the current one is required. Your other "
        "console sessions end."
    )
    async def change_password(self, info: Info, current_password: str, new_password: str) -> User:
        row = await users.change_own_password(
            info.context.principal(), current_password, new_password
        )
        return User.from_row(row)

    @strawberry.mutation
    async def delete_user(self, info: Info, id: strawberry.ID) -> Deleted:
        return Deleted(id=strawberry.ID(await users.delete_user(info.context.principal(), id)))

    @strawberry.mutation
    async def create_team(self, info: Info, input: TeamInput) -> Team:
        return Team.from_row(
            await teams.create_team(
                info.context.principal(), inputs.of(teams.TeamFields, provided(input))
            )
        )

    @strawberry.mutation
    async def update_team(self, info: Info, id: strawberry.ID, input: TeamInput) -> Team:
        row = await teams.update_team(
            info.context.principal(), id, inputs.of(teams.TeamFields, provided(input))
        )
        return Team.from_row(row)

    @strawberry.mutation
    async def delete_team(self, info: Info, id: strawberry.ID) -> Deleted:
        return Deleted(id=strawberry.ID(await teams.delete_team(info.context.principal(), id)))

    @strawberry.mutation
    async def add_team_member(
        self, info: Info, team_id: strawberry.ID, input: TeamMemberInput
    ) -> Team:
        row = await teams.add_member(
            info.context.principal(), team_id, inputs.of(teams.MemberFields, provided(input))
        )
        return Team.from_row(row)

    @strawberry.mutation
    async def remove_team_member(
        self, info: Info, team_id: strawberry.ID, user_id: strawberry.ID
    ) -> Team:
        row = await teams.remove_member(info.context.principal(), team_id, user_id)
        return Team.from_row(row)

    @strawberry.mutation
    async def create_service(self, info: Info, input: ServiceInput) -> Service:
        row = await services.create_service(
            info.context.principal(), inputs.of(services.ServiceFields, provided(input))
        )
        return Service.from_row(row)

    @strawberry.mutation
    async def update_service(self, info: Info, id: strawberry.ID, input: ServiceInput) -> Service:
        row = await services.update_service(
            info.context.principal(), id, inputs.of(services.ServiceFields, provided(input))
        )
        return Service.from_row(row)

    @strawberry.mutation
    async def delete_service(self, info: Info, id: strawberry.ID) -> Deleted:
        deleted = await services.delete_service(info.context.principal(), id)
        return Deleted(id=strawberry.ID(deleted))

    @strawberry.mutation
    async def create_integration(
        self, info: Info, service_id: strawberry.ID, input: IntegrationInput
    ) -> Integration:
        row = await services.create_integration(
            info.context.principal(),
            service_id,
            inputs.of(services.IntegrationFields, provided(input)),
        )
        return Integration.from_row(row)

    @strawberry.mutation
    async def delete_integration(
        self, info: Info, service_id: strawberry.ID, id: strawberry.ID
    ) -> Deleted:
        deleted = await services.delete_integration(info.context.principal(), service_id, id)
        return Deleted(id=strawberry.ID(deleted))

    @strawberry.mutation(description="The response is the only time the secret key is shown.")
    async def create_api_key(self, info: Info, input: ApiKeyInput) -> IssuedApiKey:
        fields = provided(input)
        issued = await api_keys.create_api_key(
            info.context.principal(),
            name=fields["name"],
            scopes=fields["scopes"],
            environment=fields.get("environment"),
            user_id=fields.get("user_id"),
        )
        summary = ApiKey.from_row(issued.row)
        return IssuedApiKey(**{**vars(summary), "key": issued.secret})

    @strawberry.mutation
    async def revoke_api_key(self, info: Info, id: strawberry.ID) -> Deleted:
        revoked = await api_keys.revoke_api_key(info.context.principal(), id)
        return Deleted(id=strawberry.ID(revoked))
