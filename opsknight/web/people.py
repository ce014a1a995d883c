"""The console's people and teams. Administrators add people, change their role and
disable them; everyone sees the teams, administrators change who is in them."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from opsknight.auth import sessions
from opsknight.errors import NotFound, OpsKnightError
from opsknight.web.console import (
    Form,
    action,
    admin_action,
    admin_page,
    not_found,
    page,
    perform,
    refusal,
    render,
    run,
)

ROLES = ("RESPONDER", "ADMIN", "USER")
TEAM_ROLES = ("MEMBER", "ADMIN", "OWNER")
_USERS = """
query Users($q: String) {
  users(q: $q, limit: 100) { nodes { id name email role status timeZone } pagination { total } }
}
"""
_CREATE_USER = "mutation Create($input: UserInput!) { createUser(input: $input) { id } }"
_UPDATE_USER = """
mutation Update($id: ID!, $input: UserInput!) { updateUser(id: $id, input: $input) { id } }
"""
_TEAMS = """
query Teams { teams(limit: 100) { nodes { id name description lead { name } members { role } } } }
"""
_TEAM = """
query Team($id: ID!) {
  team(id: $id) {
    id name description lead { id name }
    members { role receiveTeamNotifications user { id name email } }
  }
  users(limit: 100, status: ACTIVE) { nodes { id name } }
}
"""
_CREATE_TEAM = "mutation Create($input: TeamInput!) { createTeam(input: $input) { id } }"
_ADD_MEMBER = """
mutation Add($id: ID!, $input: TeamMemberInput!) {
  addTeamMember(teamId: $id, input: $input) { id }
}
"""
_REMOVE_MEMBER = """
mutation Remove($id: ID!, $user: ID!) { removeTeamMember(teamId: $id, userId: $user) { id } }
"""


@admin_page
async def users_page(request: Request, current: sessions.Current) -> Response:
    return await _users(request, current)


async def _users(
    request: Request, current: sessions.Current, error: OpsKnightError | None = None,
    form: Form | None = None,
) -> Response:  # fmt: skip
    q = request.query_params.get("q", "")[:100]
    data = await run(current, _USERS, {"q": q or None})
    return render(
        request, "users.html", title="People", me=current.user, csrf=current.session.csrf_token,
        users=data["users"]["nodes"], total=data["users"]["pagination"]["total"], q=q,
        roles=ROLES, values=form or {}, **refusal(error),
    )  # fmt: skip


@admin_action
async def create_user(request: Request, current: sessions.Current, form: Form) -> Response:
    person: dict[str, Any] = {"name": form.get("name", ""), "email": form.get("email", ""),
                              "role": form.get("role") or "RESPONDER"}  # fmt: skip
    if form.get("password"):
        person["password"] = form["password"]

    async def redisplay(exc: OpsKnightError) -> Response:
        return await _users(request, current, exc, form)

    return await perform(current, _CREATE_USER, {"input": person}, redisplay=redisplay,
                         then="/users")  # fmt: skip


@admin_action
async def update_user(request: Request, current: sessions.Current, form: Form) -> Response:
    change = {"role": form.get("role", ""), "status": form.get("status", "")}

    async def redisplay(exc: OpsKnightError) -> Response:
        return await _users(request, current, exc)

    return await perform(current, _UPDATE_USER, {"id": request.path_params["id"], "input": change},
                         redisplay=redisplay, then="/users")  # fmt: skip


@page
async def teams_page(request: Request, current: sessions.Current) -> Response:
    return await _teams(request, current)


async def _teams(
    request: Request, current: sessions.Current, error: OpsKnightError | None = None,
    form: Form | None = None,
) -> Response:  # fmt: skip
    data = await run(current, _TEAMS, {})
    return render(
        request, "teams.html", title="Teams", me=current.user, csrf=current.session.csrf_token,
        teams=data["teams"]["nodes"], values=form or {},
        may_write=current.principal.may("teams:write"), **refusal(error),
    )  # fmt: skip


@action
async def create_team(request: Request, current: sessions.Current, form: Form) -> Response:
    team = {"name": form.get("name", ""), "description": form.get("description") or None}

    async def redisplay(exc: OpsKnightError) -> Response:
        return await _teams(request, current, exc, form)

    return await perform(current, _CREATE_TEAM, {"input": team}, redisplay=redisplay,
                         then=lambda data: f"/teams/{data['createTeam']['id']}")  # fmt: skip


@page
async def team_page(request: Request, current: sessions.Current) -> Response:
    return await _team(request, current)


async def _team(
    request: Request, current: sessions.Current, error: OpsKnightError | None = None
) -> Response:
    try:
        data = await run(current, _TEAM, {"id": request.path_params["id"]})
    except NotFound:
        return await not_found(request)
    team = data["team"]
    members = {m["user"]["id"] for m in team["members"]}
    return render(
        request, "team.html", title=team["name"], me=current.user,
        csrf=current.session.csrf_token, team=team, team_roles=TEAM_ROLES,
        others=[u for u in data["users"]["nodes"] if u["id"] not in members],
        may_write=current.principal.may("teams:write"), **refusal(error),
    )  # fmt: skip


async def _team_change(
    request: Request, current: sessions.Current, document: str, variables: dict[str, Any]
) -> Response:
    team_id = request.path_params["id"]

    async def redisplay(exc: OpsKnightError) -> Response:
        return await _team(request, current, exc)

    return await perform(current, document, {"id": team_id, **variables},
                         redisplay=redisplay, then=f"/teams/{team_id}")  # fmt: skip


@action
async def add_member(request: Request, current: sessions.Current, form: Form) -> Response:
    member = {"userId": form.get("user_id", ""), "role": form.get("role") or "MEMBER"}
    return await _team_change(request, current, _ADD_MEMBER, {"input": member})


@action
async def remove_member(request: Request, current: sessions.Current, form: Form) -> Response:
    return await _team_change(request, current, _REMOVE_MEMBER,
                              {"user": request.path_params["user"]})  # fmt: skip


ROUTES = [
    Route("/users", users_page, methods=["GET"]),
    Route("/users", create_user, methods=["POST"]),
    Route("/users/{id}", update_user, methods=["POST"]),
    Route("/teams", teams_page, methods=["GET"]),
    Route("/teams", create_team, methods=["POST"]),
    Route("/teams/{id}", team_page, methods=["GET"]),
    Route("/teams/{id}/members", add_member, methods=["POST"]),
    Route("/teams/{id}/members/{user}/remove", remove_member, methods=["POST"]),
]
