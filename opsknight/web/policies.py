"""The console's escalation policies: who is paged, in which order, after how long.
Everyone sees them; administrators create them and edit their steps.

The steps form is plain HTML: one row per step with indexed field names
(``step-0-target``, ``step-0-delay``) plus one empty row to add a step; a row whose
target is emptied is removed. Settings the form does not show (a team step's "lead
only", a step's channels) travel in hidden fields, so saving keeps them."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from opsknight.auth import sessions
from opsknight.errors import NotFound, OpsKnightError, ValidationFailed
from opsknight.web.console import Form, action, not_found, page, perform, refusal, render, run

_TARGETS = """
  users(limit: 100, status: ACTIVE) { nodes { id name } }
  teams(limit: 100) { nodes { id name } }
  schedules(limit: 100) { nodes { id name } }
"""
_POLICIES = (
    """
query Policies {
  escalationPolicies(limit: 100) {
    nodes { id name repeat repeatLimit steps { position delayMinutes target { type name } } }
  }
"""
    + _TARGETS
    + "}"
)
_POLICY = (
    """
query Policy($id: ID!) {
  escalationPolicy(id: $id) {
    id name description repeat repeatLimit reminderMinutes ackReminderMinutes
    steps {
      position targetType targetId delayMinutes notifyTeamLeadOnly channels
      target { type id name }
    }
  }
"""
    + _TARGETS
    + "}"
)
_CREATE = """
mutation Create($input: EscalationPolicyInput!) { createEscalationPolicy(input: $input) { id } }
"""
_UPDATE = """
mutation Update($id: ID!, $input: EscalationPolicyInput!) {
  updateEscalationPolicy(id: $id, input: $input) { id }
}
"""
MAX_ROWS = 20
PATH = "/escalation-policies/"


def _targets(data: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    """The step targets to choose from, grouped, as ``TYPE:id`` values."""
    return [
        (label, [{"value": f"{kind}:{n['id']}", "name": n["name"]} for n in data[key]["nodes"]])
        for label, kind, key in (("Schedules", "SCHEDULE", "schedules"),
                                 ("Teams", "TEAM", "teams"), ("People", "USER", "users"))
    ]  # fmt: skip


def steps_of(form: Form) -> list[dict[str, Any]]:
    """The steps a policy form sends, in order; rows without a target are dropped."""
    steps: list[dict[str, Any]] = []
    for row in range(MAX_ROWS):
        target = form.get(f"step-{row}-target", "")
        if not target:
            continue
        kind, _, target_id = target.partition(":")
        delay = form.get(f"step-{row}-delay", "0").strip() or "0"
        if not delay.isdigit() or len(delay) > 5:
            raise ValidationFailed(
                f"step {len(steps) + 1}: wait must be a whole number of minutes",
                field=f"steps[{len(steps)}].delay_minutes",
            )
        step: dict[str, Any] = {"targetType": kind, "targetId": target_id,
                                "delayMinutes": int(delay)}  # fmt: skip
        if form.get(f"step-{row}-lead-only") == "on" and kind == "TEAM":
            step["notifyTeamLeadOnly"] = True
        channels = form.get(f"step-{row}-channels", "")
        if channels:
            step["channels"] = channels.split(",")
        steps.append(step)
    return steps


def _settings(form: Form) -> dict[str, Any]:
    limit = form.get("repeat_limit", "").strip() or "0"
    if not limit.isdigit() or len(limit) > 3:
        raise ValidationFailed("extra rounds must be a number from 0 to 10", field="repeat_limit")
    return {"name": form.get("name", ""), "repeat": form.get("repeat") == "on",
            "repeatLimit": int(limit), "steps": steps_of(form)}  # fmt: skip


@page
async def policies_page(request: Request, current: sessions.Current) -> Response:
    return await _policies(request, current)


async def _policies(
    request: Request, current: sessions.Current, error: OpsKnightError | None = None,
    form: Form | None = None,
) -> Response:  # fmt: skip
    data = await run(current, _POLICIES, {})
    return render(
        request, "policies.html", title="Escalation policies", me=current.user,
        csrf=current.session.csrf_token, policies=data["escalationPolicies"]["nodes"],
        targets=_targets(data), values=form or {},
        may_write=current.principal.may("escalation_policies:write"), **refusal(error),
    )  # fmt: skip


@action
async def create_policy(request: Request, current: sessions.Current, form: Form) -> Response:
    async def redisplay(exc: OpsKnightError) -> Response:
        return await _policies(request, current, exc, form)

    return await perform(current, _CREATE, lambda: {"input": _settings(form)}, redisplay=redisplay,
                         then=lambda data: PATH + data["createEscalationPolicy"]["id"])  # fmt: skip


@page
async def policy_page(request: Request, current: sessions.Current) -> Response:
    return await _policy(request, current)


async def _policy(
    request: Request, current: sessions.Current, error: OpsKnightError | None = None
) -> Response:
    try:
        data = await run(current, _POLICY, {"id": request.path_params["id"]})
    except NotFound:
        return await not_found(request)
    policy = data["escalationPolicy"]
    return render(
        request, "policy.html", title=policy["name"], me=current.user,
        csrf=current.session.csrf_token, policy=policy, targets=_targets(data),
        may_write=current.principal.may("escalation_policies:write"), **refusal(error),
    )  # fmt: skip


@action
async def update_policy(request: Request, current: sessions.Current, form: Form) -> Response:
    policy_id = request.path_params["id"]

    async def redisplay(exc: OpsKnightError) -> Response:
        return await _policy(request, current, exc)

    return await perform(current, _UPDATE, lambda: {"id": policy_id, "input": _settings(form)},
                         redisplay=redisplay, then=f"/escalation-policies/{policy_id}")  # fmt: skip


ROUTES = [
    Route("/escalation-policies", policies_page, methods=["GET"]),
    Route("/escalation-policies", create_policy, methods=["POST"]),
    Route("/escalation-policies/{id}", policy_page, methods=["GET"]),
    Route("/escalation-policies/{id}", update_policy, methods=["POST"]),
]
