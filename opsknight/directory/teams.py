"""Teams and their members."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from opsknight import clock, validation
from opsknight.audit import service as audit
from opsknight.auth.principal import Principal
from opsknight.batch import group_in_key_order, rows_by_ids
from opsknight.directory.models import Team, TeamMember, User
from opsknight.errors import NotFound, ValidationFailed
from opsknight.inputs import UNSET, Unset, or_none
from opsknight.paging import Page, page_of
from opsknight.records import get_or_404, matching_name
from opsknight.transaction import atomic
from opsknight.unique import unique_field


class TeamRole(Enum):
    OWNER = "OWNER"
    ADMIN = "ADMIN"
    MEMBER = "MEMBER"


MEMBER_ROLES = tuple(r.value for r in TeamRole)


async def _get(team_id: str) -> Team:
    return await get_or_404(Team, team_id, "team")


async def get_team(principal: Principal, team_id: str) -> Team:
    principal.require("teams:read")
    return await _get(team_id)


async def list_teams(
    principal: Principal, *, q: str | None, limit: int | None, offset: int | None
) -> Page[Team]:
    principal.require("teams:read")
    query = Team.all()
    query = matching_name(query, q)
    return await page_of(query, limit, offset, "name_key", "id")


AUDITED = ("name", "description", "lead_id")


@dataclass(frozen=True)
class TeamFields:
    """What creating or changing a team takes (UNSET: not sent)."""

    name: str | Unset | None = UNSET
    description: str | Unset | None = UNSET
    lead_id: str | Unset | None = UNSET


@dataclass(frozen=True)
class MemberFields:
    """Who joins a team, and as what."""

    user_id: str | None = None
    role: str | Unset | None = UNSET
    receive_team_notifications: bool | Unset | None = UNSET


async def create_team(principal: Principal, fields: TeamFields) -> Team:
    """Create a team; a ``lead_id`` joins the team as its OWNER."""
    principal.require("teams:write")
    name = validation.text(or_none(fields.name), "name", max_length=100)
    now = clock.now()
    team = Team(
        name=name,
        name_key=name.lower(),
        description=validation.optional_text(
            or_none(fields.description), "description", max_length=5000
        ),
        created_at=now,
        updated_at=now,
    )
    lead_id = or_none(fields.lead_id)
    lead = None
    if lead_id is not None:
        lead = validation.referenced(await User.get_or_none(id=lead_id), lead_id, "lead_id", "user")
        team.lead = lead
    async with atomic(), unique_field("name", name):
        await team.save()
        if lead is not None:
            await TeamMember.create(team=team, user=lead, role="OWNER", created_at=now)
        await audit.record(principal, "team.created", "team", team.id, None,
                           audit.snapshot(team, AUDITED))  # fmt: skip
    return team


async def update_team(principal: Principal, team_id: str, fields: TeamFields) -> Team:
    principal.require("teams:write")
    team = await _get(team_id)
    before = audit.snapshot(team, AUDITED)
    changed = []
    if fields.name is not UNSET:
        team.name = validation.text(fields.name, "name", max_length=100)
        team.name_key = team.name.lower()
        changed += ["name", "name_key"]
    if fields.description is not UNSET:
        team.description = validation.optional_text(  # type: ignore[assignment]
            fields.description, "description", max_length=5000
        )
        changed.append("description")
    if fields.lead_id is not UNSET:
        lead_id = fields.lead_id
        if lead_id is not None and not await TeamMember.exists(team_id=team.id, user_id=lead_id):
            raise ValidationFailed(
                "the team lead must be a member of the team", field="lead_id", reason="not_a_member"
            )
        team.lead_id = lead_id
        changed.append("lead_id")
    if changed:
        team.updated_at = clock.now()
        async with atomic(), unique_field("name", team.name):
            await team.save(update_fields=[*changed, "updated_at"])
            await audit.record(principal, "team.updated", "team", team.id, before,
                               audit.snapshot(team, AUDITED))  # fmt: skip
    return team


async def delete_team(principal: Principal, team_id: str) -> str:
    principal.require("teams:write")
    team = await _get(team_id)
    async with atomic():
        await team.delete()
        await audit.record(principal, "team.deleted", "team", team.id,
                           audit.snapshot(team, AUDITED), None)  # fmt: skip
    return team_id


async def add_member(principal: Principal, team_id: str, fields: MemberFields) -> Team:
    """Add a user to a team, or change the role of one already in it."""
    principal.require("teams:write")
    team = await _get(team_id)
    user_id = fields.user_id
    user = validation.referenced(
        await User.get_or_none(id=user_id), str(user_id), "user_id", "user"
    )
    role = validation.choice(or_none(fields.role) or "MEMBER", "role", MEMBER_ROLES)
    notify = or_none(fields.receive_team_notifications)
    existing = await TeamMember.get_or_none(team_id=team.id, user_id=user.id)
    membership = ("user_id", "role", "receive_team_notifications")
    before = None if existing is None else audit.snapshot(existing, membership)
    async with atomic():
        if existing is not None:
            existing.role = role
            if notify is not None:
                existing.receive_team_notifications = notify
            await existing.save()
        else:
            existing = await TeamMember.create(
                team=team,
                user=user,
                role=role,
                receive_team_notifications=True if notify is None else notify,
                created_at=clock.now(),
            )
        action = "team.member_added" if before is None else "team.member_updated"
        await audit.record(principal, action, "team", team.id, before,
                           audit.snapshot(existing, membership))  # fmt: skip
    return team


async def remove_member(principal: Principal, team_id: str, user_id: str) -> Team:
    """Remove a member; removing the lead clears the lead."""
    principal.require("teams:write")
    team = await _get(team_id)
    async with atomic():
        removed = await TeamMember.filter(team_id=team.id, user_id=user_id).delete()
        if not removed:
            raise NotFound(f"user {user_id} is not a member of team {team_id}")
        if team.lead_id == user_id:  # type: ignore[attr-defined]
            team.lead_id = None
            await team.save(update_fields=["lead_id"])
        await audit.record(principal, "team.member_removed", "team", team.id,
                           {"user_id": user_id}, None)  # fmt: skip
    return team


async def members_by_team(team_ids: list[str]) -> list[list[TeamMember]]:
    """Batch load for DataLoaders: each team's members, in key order."""
    rows = await TeamMember.filter(team_id__in=team_ids).order_by("created_at", "id")
    return group_in_key_order(list(rows), "team_id", team_ids)


async def teams_by_ids(team_ids: list[str]) -> list[Team | None]:
    return await rows_by_ids(Team, team_ids)
