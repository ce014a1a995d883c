"""The console's profile page: name, time zone, handoff notices, password, contact
methods and sessions (with "sign out everywhere")."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from opsknight.auth import sessions
from opsknight.errors import OpsKnightError
from opsknight.web.console import (
    SESSION_COOKIE,
    Form,
    action,
    page,
    refusal,
    render,
    run,
    signed_in,
)

_PROFILE = """
query Profile($id: ID!) {
  viewer { id name email role timeZone handoffNotices }
  contactMethods(userId: $id) { id type address }
}
"""
_UPDATE_PROFILE = """
mutation UpdateProfile($input: ProfileInput!) { updateProfile(input: $input) { id } }
"""
_CHANGE_PASSWORD = """
mutation ChangePassword($current: String!, $new: String!) {
  changePassword(currentPassword: $current, newPassword: $new) { id }
}
"""


@page
async def profile_page(request: Request, current: sessions.Current) -> Response:
    return await _profile(request, current)


async def _profile(
    request: Request,
    current: sessions.Current,
    *,
    error: OpsKnightError | None = None,
    notice: str | None = None,
) -> Response:
    data = await run(current, _PROFILE, {"id": current.user.id})
    return render(
        request, "profile.html", title="My profile", me=current.user,
        csrf=current.session.csrf_token, profile=data["viewer"], notice=notice,
        contact_methods=data["contactMethods"], **refusal(error),
        sessions=await sessions.open_sessions(current.user.id), this_session=current.session.id,
    )  # fmt: skip


@action
async def update_profile(request: Request, current: sessions.Current, form: Form) -> Response:
    change = {"name": form.get("name", ""), "timeZone": form.get("time_zone", ""),
              "handoffNotices": form.get("handoff_notices") == "on"}  # fmt: skip
    try:
        await run(current, _UPDATE_PROFILE, {"input": change})
    except OpsKnightError as exc:
        return await _profile(request, current, error=exc)
    return RedirectResponse("/profile", status_code=303)


@action
async def change_password(request: Request, current: sessions.Current, form: Form) -> Response:
    variables = {"current": form.get("current_password", ""), "new": form.get("password", "")}
    try:
        await run(current, _CHANGE_PASSWORD, variables)
    except OpsKnightError as exc:
        return await _profile(request, current, error=exc)
    changed = await sessions.current_user(current.user.id)
    await sessions.keep_after_password_change(current.session.id, changed)
    return await _profile(
        request, (await signed_in(request)) or current,
        notice="Password changed. Your other sessions have ended.",
    )  # fmt: skip


@action
async def sign_out_everywhere(request: Request, current: sessions.Current, form: Form) -> Response:
    await sessions.sign_out_everywhere(current.user.id)
    response = RedirectResponse("/sign-in", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


ROUTES = [
    Route("/profile", profile_page, methods=["GET"]),
    Route("/profile", update_profile, methods=["POST"]),
    Route("/profile/password", change_password, methods=["POST"]),
    Route("/profile/sign-out-everywhere", sign_out_everywhere, methods=["POST"]),
]
