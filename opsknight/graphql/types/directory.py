"""Users, teams, services, integrations, API keys and policy summaries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from opsknight.graphql.context import Info
from opsknight.graphql.types.enums import (
    Environment,
    IntegrationType,
    Role,
    ServiceHealth,
    TeamRole,
    UserStatus,
)
from opsknight.graphql.types.rows import from_row


@strawberry.type
class User:
    id: strawberry.ID
    name: str
    email: str
    role: Role
    status: UserStatus
    time_zone: str
    handoff_notices: bool = strawberry.field(
        description="Whether this person is told when an on-call shift of theirs starts."
    )
    shift_end_notices: bool = strawberry.field(
        description="Whether this person is told when an on-call shift of theirs ends."
    )
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: Any) -> User:
        return from_row(cls, row)


async def load_user(info: Info, user_id: str | None) -> User | None:
    if user_id is None:
        return None
    row = await info.context.loaders.user.load(user_id)
    return None if row is None else User.from_row(row)


@strawberry.type
class TeamMember:
    role: TeamRole
    receive_team_notifications: bool
    user_id: strawberry.Private[str]

    @strawberry.field
    async def user(self, info: Info) -> User:
        found = await load_user(info, self.user_id)
        assert found is not None  # members cascade with their user
        return found


@strawberry.type
class Team:
    id: strawberry.ID
    name: str
    description: str | None
    created_at: datetime
    updated_at: datetime
    lead_id: strawberry.Private[str | None]

    @classmethod
    def from_row(cls, row: Any) -> Team:
        return from_row(cls, row)

    @strawberry.field
    async def lead(self, info: Info) -> User | None:
        return await load_user(info, self.lead_id)

    @strawberry.field
    async def members(self, info: Info) -> list[TeamMember]:
        rows = await info.context.loaders.team_members.load(str(self.id))
        return [
            TeamMember(
                role=TeamRole(r.role),
                receive_team_notifications=r.receive_team_notifications,
                user_id=r.user_id,
            )
            for r in rows
        ]


async def load_team(info: Info, team_id: str | None) -> Team | None:
    if team_id is None:
        return None
    row = await info.context.loaders.team.load(team_id)
    return None if row is None else Team.from_row(row)


@strawberry.type
class StepTarget:
    type: str = strawberry.field(description="USER, TEAM or SCHEDULE.")
    id: strawberry.ID
    name: str | None


@strawberry.type
class EscalationStep:
    position: int
    target_type: str
    target_id: strawberry.ID
    delay_minutes: int
    notify_team_lead_only: bool
    channels: list[str] | None

    @strawberry.field(description="The target as it is now; null if it was deleted.")
    async def target(self, info: Info) -> StepTarget | None:
        loader = {
            "USER": info.context.loaders.user,
            "TEAM": info.context.loaders.team,
            "SCHEDULE": info.context.loaders.schedule,
        }[self.target_type]
        row = await loader.load(str(self.target_id))
        if row is None:
            return None
        return StepTarget(type=self.target_type, id=strawberry.ID(row.id), name=row.name)


@strawberry.type
class EscalationPolicy:
    id: strawberry.ID
    name: str
    description: str | None
    repeat: bool
    repeat_limit: int
    reminder_minutes: int | None = strawberry.field(
        description="While an incident stays OPEN, page the current step again this often."
    )
    ack_reminder_minutes: int | None = strawberry.field(
        description="While an incident stays ACKNOWLEDGED, page the current step this often."
    )
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: Any) -> EscalationPolicy:
        return from_row(cls, row)

    @strawberry.field(description="In order; each step's delay is the wait before the next.")
    async def steps(self, info: Info) -> list[EscalationStep]:
        rows = await info.context.loaders.policy_steps.load(str(self.id))
        return [
            EscalationStep(
                position=row.position,
                target_type=row.target_type,
                target_id=strawberry.ID(row.target_id),
                delay_minutes=row.delay_minutes,
                notify_team_lead_only=row.notify_team_lead_only,
                channels=row.channels,
            )
            for row in rows
        ]


async def load_policy(info: Info, policy_id: str | None) -> EscalationPolicy | None:
    if policy_id is None:
        return None
    row = await info.context.loaders.policy.load(policy_id)
    return None if row is None else EscalationPolicy.from_row(row)


@strawberry.type
class Integration:
    id: strawberry.ID
    name: str
    type: IntegrationType
    secret_key: strawberry.Private[str]
    created_at: datetime
    service_id: strawberry.ID

    @strawberry.field(
        description="The integration key; null unless the caller may manage services "
        "(services:write): anyone holding it can open and resolve incidents."
    )
    def key(self, info: Info) -> str | None:
        principal = info.context.credential.principal
        if principal is None or not principal.may("services:write"):
            return None
        return self.secret_key

    @classmethod
    def from_row(cls, row: Any) -> Integration:
        return cls(
            id=strawberry.ID(row.id),
            name=row.name,
            type=IntegrationType(row.type),
            secret_key=row.key,
            created_at=row.created_at,
            service_id=strawberry.ID(row.service_id),
        )


@strawberry.type
class Service:
    id: strawberry.ID
    name: str
    description: str | None
    region: str | None
    sla_tier: str | None
    runbook_url: str | None
    acknowledgement_timeout: int | None = strawberry.field(
        description="Minutes after which an acknowledged incident opens and escalates again."
    )
    auto_resolve_timeout: int | None = strawberry.field(
        description="Minutes after which an incident still active is resolved."
    )
    urgency_rule: str = strawberry.field(
        description="Urgency of incidents from events: SEVERITY (from the event), HIGH, LOW, "
        "or SUPPORT_HOURS (HIGH inside supportHours, LOW outside)."
    )
    support_hours: JSON | None = strawberry.field(
        description='{"time_zone", "days": ["MON", …], "start_time": "HH:MM", "end_time"}'
    )
    shadow: bool = strawberry.field(
        description="Shadow mode: incidents and escalation run, pages and webhooks are "
        "recorded (shadowReport), not sent."
    )
    created_at: datetime
    updated_at: datetime
    team_id: strawberry.Private[str | None]
    policy_id: strawberry.Private[str | None]

    @classmethod
    def from_row(cls, row: Any) -> Service:
        return cls(
            id=strawberry.ID(row.id),
            name=row.name,
            description=row.description,
            region=row.region,
            sla_tier=row.sla_tier,
            runbook_url=row.runbook_url,
            acknowledgement_timeout=row.acknowledgement_timeout,
            auto_resolve_timeout=row.auto_resolve_timeout,
            urgency_rule=row.urgency_rule,
            support_hours=row.support_hours,
            shadow=row.shadow,
            created_at=row.created_at,
            updated_at=row.updated_at,
            team_id=row.team_id,
            policy_id=row.escalation_policy_id,
        )

    @strawberry.field
    async def team(self, info: Info) -> Team | None:
        return await load_team(info, self.team_id)

    @strawberry.field
    async def escalation_policy(self, info: Info) -> EscalationPolicy | None:
        return await load_policy(info, self.policy_id)

    async def _health(self, info: Info) -> tuple[str, int]:
        environment = info.context.principal().environment
        result: tuple[str, int] = await info.context.loaders.service_health(environment).load(
            str(self.id)
        )
        return result

    @strawberry.field(description="CRITICAL, DEGRADED or OPERATIONAL from active incidents.")
    async def health(self, info: Info) -> ServiceHealth:
        return ServiceHealth((await self._health(info))[0])

    @strawberry.field
    async def active_incident_count(self, info: Info) -> int:
        return (await self._health(info))[1]

    @strawberry.field(
        description="Whether a maintenance window is on for it now: new incidents open "
        "SUPPRESSED and page no one."
    )
    async def in_maintenance(self, info: Info) -> bool:
        return await info.context.loaders.maintenance.load(str(self.id)) is not None


async def load_service(info: Info, service_id: str | None) -> Service | None:
    if service_id is None:
        return None
    row = await info.context.loaders.service.load(service_id)
    return None if row is None else Service.from_row(row)


@strawberry.type
class ApiKey:
    id: strawberry.ID
    name: str
    prefix: str
    last4: str
    scopes: list[str]
    environment: Environment
    created_at: datetime
    last_used_at: datetime | None
    user_id: strawberry.Private[str]

    @classmethod
    def from_row(cls, row: Any) -> ApiKey:
        return cls(
            id=strawberry.ID(row.id),
            name=row.name,
            prefix=row.prefix,
            last4=row.last4,
            scopes=list(row.scopes),
            environment=Environment(row.environment),
            created_at=row.created_at,
            last_used_at=row.last_used_at,
            user_id=row.user_id,
        )

    @strawberry.field
    async def user(self, info: Info) -> User | None:
        return await load_user(info, self.user_id)


@strawberry.type
class IssuedApiKey(ApiKey):
    key: str = strawberry.field(description="The secret key. Shown only in this response.")


@strawberry.input
class UserInput:
    name: str | None = strawberry.UNSET
    email: str | None = strawberry.UNSET
    role: Role | None = strawberry.UNSET
    status: UserStatus | None = strawberry.UNSET
    time_zone: str | None = strawberry.UNSET
    handoff_notices: bool | None = strawberry.UNSET
    shift_end_notices: bool | None = strawberry.UNSET
    password: str | None = strawberry.UNSET


@strawberry.input
class ProfileInput:
    name: str | None = strawberry.UNSET
    time_zone: str | None = strawberry.UNSET
    handoff_notices: bool | None = strawberry.UNSET
    shift_end_notices: bool | None = strawberry.UNSET


@strawberry.input
class TeamInput:
    name: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    lead_id: strawberry.ID | None = strawberry.UNSET


@strawberry.input
class TeamMemberInput:
    user_id: strawberry.ID
    role: TeamRole | None = strawberry.UNSET
    receive_team_notifications: bool | None = strawberry.UNSET


@strawberry.input
class ServiceInput:
    name: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    team_id: strawberry.ID | None = strawberry.UNSET
    escalation_policy_id: strawberry.ID | None = strawberry.UNSET
    region: str | None = strawberry.UNSET
    sla_tier: str | None = strawberry.UNSET
    runbook_url: str | None = strawberry.UNSET
    acknowledgement_timeout: int | None = strawberry.UNSET
    auto_resolve_timeout: int | None = strawberry.UNSET
    urgency_rule: str | None = strawberry.UNSET
    support_hours: JSON | None = strawberry.UNSET
    shadow: bool | None = strawberry.UNSET


@strawberry.input
class IntegrationInput:
    name: str | None = strawberry.UNSET
    type: IntegrationType | None = strawberry.UNSET
    key: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="An existing key to keep (administrators only): a PagerDuty routing key "
        "or an Opsgenie API key, 16 to 64 letters, digits, '-' or '_'. Unique; a fresh "
        "32-character key when omitted.",
    )


@strawberry.input
class ApiKeyInput:
    name: str
    scopes: list[str]
    environment: Environment | None = strawberry.UNSET
    user_id: strawberry.ID | None = strawberry.UNSET


@strawberry.input
class EscalationStepInput:
    target_type: str
    target_id: strawberry.ID
    delay_minutes: int | None = strawberry.UNSET
    notify_team_lead_only: bool | None = strawberry.UNSET
    channels: list[str] | None = strawberry.UNSET


@strawberry.input
class EscalationPolicyInput:
    name: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    repeat: bool | None = strawberry.UNSET
    repeat_limit: int | None = strawberry.UNSET
    reminder_minutes: int | None = strawberry.UNSET
    ack_reminder_minutes: int | None = strawberry.UNSET
    steps: list[EscalationStepInput] | None = strawberry.UNSET
