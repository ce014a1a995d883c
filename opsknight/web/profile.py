"""The console's profile page: name, time zone, handoff notices, password, contact
methods and sessions (with "sign out everywhere")."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from opsknight.auth import sessions
from opsknight.errors import OpsKnightError, ValidationFailed
from opsknight.web.console import (
    SESSION_COOKIE,
    Form,
    Redisplay,
    action,
    page,
    perform,
    refusal,
    render,
    run,
    signed_in,
)

_PROFILE = """
query Profile($id: ID!) {
  viewer { id name email role timeZone handoffNotices shiftEndNotices }
  contactMethods(userId: $id) { id type address }
  notificationRules(userId: $id) { contactMethodId delayMinutes urgency }
}
"""
_ADD_CONTACT = """
mutation Add($id: ID!, $input: ContactMethodInput!) {
  createContactMethod(userId: $id, input: $input) { id type address secret }
}
"""
_TEST_CONTACT = """
mutation Test($id: ID!, $method: ID!) {
  testContactMethod(userId: $id, id: $method) { delivered error }
}
"""
_DELETE_CONTACT = """
mutation Delete($id: ID!, $method: ID!) { deleteContactMethod(userId: $id, id: $method) { id } }
"""
_SET_RULES = """
mutation Rules($id: ID!, $rules: [NotificationRuleInput!]!) {
  setNotificationRules(userId: $id, rules: $rules) { id }
}
"""
CONTACT_TYPES = (
    ("email", "Email", "you@example.com"),
    (
        "push",
        "Push (ntfy, Gotify, Pushover… as an Apprise address)",
        "ntfys://ntfy.example.com/my-pages",
    ),
    (
        "sms",
        "Text message (an Apprise address: Twilio, Vonage, AWS SNS…)",
        "twilio://SID:TOKEN@+15550001/+15550002",
    ),
    (
        "chat",
        "Chat (an Apprise address: Slack, Teams, Mattermost, Telegram, Matrix…)",
        "slack://TokenA/TokenB/TokenC/#oncall",
    ),
    ("webhook", "Webhook (signed JSON to an address of yours)", "https://hooks.example.com/pages"),
)
URGENCIES = ("ANY", "HIGH", "LOW")
MAX_RULES = 20
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
    issued: dict[str, Any] | None = None,
    form: Form | None = None,
) -> Response:
    data = await run(current, _PROFILE, {"id": current.user.id})
    return render(
        request, "profile.html", title="My profile", me=current.user,
        csrf=current.session.csrf_token, profile=data["viewer"], notice=notice,
        contact_methods=data["contactMethods"], rules=data["notificationRules"],
        contact_types=CONTACT_TYPES, urgencies=URGENCIES, issued=issued, values=form or {},
        **refusal(error),
        sessions=await sessions.open_sessions(current.user.id), this_session=current.session.id,
    )  # fmt: skip


def _redisplay(request: Request, current: sessions.Current) -> Redisplay:
    async def redisplay(exc: OpsKnightError) -> Response:
        return await _profile(request, current, error=exc)

    return redisplay


@action
async def update_profile(request: Request, current: sessions.Current, form: Form) -> Response:
    change = {"name": form.get("name", ""), "timeZone": form.get("time_zone", ""),
              "handoffNotices": form.get("handoff_notices") == "on",
              "shiftEndNotices": form.get("shift_end_notices") == "on"}  # fmt: skip
    return await perform(current, _UPDATE_PROFILE, {"input": change},
                         redisplay=_redisplay(request, current), then="/profile")  # fmt: skip


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


@action
async def add_contact_method(request: Request, current: sessions.Current, form: Form) -> Response:
    method = {"type": form.get("type", ""), "address": form.get("address", "").strip()}
    try:
        data = await run(current, _ADD_CONTACT, {"id": current.user.id, "input": method})
    except OpsKnightError as exc:
        return await _profile(request, current, error=exc, form=form)
    issued = data["createContactMethod"]
    if issued["secret"]:  # a webhook's signing secret: shown on this page only
        return await _profile(request, current, issued=issued)
    return RedirectResponse("/profile#contact-methods", status_code=303)


@action
async def test_contact_method(request: Request, current: sessions.Current, form: Form) -> Response:
    """Send a test message and say how it went, on the profile page."""
    variables = {"id": current.user.id, "method": request.path_params["id"]}
    try:
        data = await run(current, _TEST_CONTACT, variables)
    except OpsKnightError as exc:
        return await _profile(request, current, error=exc)
    outcome = data["testContactMethod"]
    notice = ("Test message sent: check that it arrived." if outcome["delivered"]
              else f"The test message was not delivered: {outcome['error']}")  # fmt: skip
    return await _profile(request, current, notice=notice)


@action
async def delete_contact_method(
    request: Request, current: sessions.Current, form: Form
) -> Response:
    variables = {"id": current.user.id, "method": request.path_params["id"]}
    return await perform(
        current, _DELETE_CONTACT, variables, redisplay=_redisplay(request, current),
        then="/profile#contact-methods",
    )  # fmt: skip


def rules_of(form: Form) -> list[dict[str, Any]]:
    """The notification rules a profile form sends, in order; rows without a contact
    method are dropped."""
    rules: list[dict[str, Any]] = []
    for row in range(MAX_RULES + 1):
        method = form.get(f"rule-{row}-method", "")
        if not method:
            continue
        delay = form.get(f"rule-{row}-delay", "0").strip() or "0"
        if not delay.isdigit() or len(delay) > 5:
            raise ValidationFailed(
                f"rule {len(rules) + 1}: after must be a whole number of minutes",
                field=f"rules[{len(rules)}].delay_minutes",
            )
        rules.append({"contactMethodId": method, "delayMinutes": int(delay),
                      "urgency": form.get(f"rule-{row}-urgency") or "ANY"})  # fmt: skip
    return rules


@action
async def set_rules(request: Request, current: sessions.Current, form: Form) -> Response:
    return await perform(current, _SET_RULES,
                         lambda: {"id": current.user.id, "rules": rules_of(form)},
                         redisplay=_redisplay(request, current), then="/profile#rules")  # fmt: skip


ROUTES = [
    Route("/profile", profile_page, methods=["GET"]),
    Route("/profile", update_profile, methods=["POST"]),
    Route("/profile/password", change_password, methods=["POST"]),
    Route("/profile/sign-out-everywhere", sign_out_everywhere, methods=["POST"]),
    Route("/profile/contact-methods", add_contact_method, methods=["POST"]),
    Route("/profile/contact-methods/{id}/test", test_contact_method, methods=["POST"]),
    Route("/profile/contact-methods/{id}/delete", delete_contact_method, methods=["POST"]),
    Route("/profile/notification-rules", set_rules, methods=["POST"]),
]
