"""The console's on-call pages: who is on call now on every schedule, and one schedule's
next two weeks of shifts (gaps marked) with a form to add an override."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from opsknight import clock
from opsknight.auth import sessions
from opsknight.errors import NotFound, OpsKnightError, ValidationFailed
from opsknight.web.console import Form, action, not_found, page, perform, refusal, render, run

WINDOW = timedelta(days=14)

_NOW = """
query OnCallNow {
  schedules(limit: 100) { nodes { id name timeZone } }
  onCall { schedule { id } user { name } end }
}
"""
_SCHEDULE = """
query Schedule($id: ID!, $since: DateTime!, $until: DateTime!) {
  schedule(id: $id) {
    id name timeZone
    shifts(since: $since, until: $until) {
      shifts { user { name } start end override }
      gaps { start end }
    }
  }
  users(limit: 100) { nodes { id name } }
}
"""
_OVERRIDE = """
mutation Override($id: ID!, $input: OverrideInput!) {
  createOverride(scheduleId: $id, input: $input) { id }
}
"""


@page
async def on_call_page(request: Request, current: sessions.Current) -> Response:
    data = await run(current, _NOW, {})
    by_schedule: dict[str, list[dict[str, Any]]] = {}
    for entry in data["onCall"]:
        by_schedule.setdefault(entry["schedule"]["id"], []).append(entry)
    return render(
        request, "on_call.html", title="On call", me=current.user,
        csrf=current.session.csrf_token, schedules=data["schedules"]["nodes"],
        on_call=by_schedule,
    )  # fmt: skip


@page
async def schedule_page(request: Request, current: sessions.Current) -> Response:
    return await _schedule(request, current)


async def _schedule(
    request: Request,
    current: sessions.Current,
    error: OpsKnightError | None = None,
    form: Form | None = None,
) -> Response:
    since = clock.now().replace(minute=0, second=0, microsecond=0)
    variables = {"id": request.path_params["id"], "since": clock.isoformat_z(since),
                 "until": clock.isoformat_z(since + WINDOW)}  # fmt: skip
    try:
        data = await run(current, _SCHEDULE, variables)
    except NotFound:
        return await not_found(request)
    rendered = data["schedule"]["shifts"]
    timeline = sorted(
        [{"kind": "shift", **s} for s in rendered["shifts"]]
        + [{"kind": "gap", **g} for g in rendered["gaps"]],
        key=lambda item: item["start"],
    )
    return render(
        request, "schedule.html", title=data["schedule"]["name"], me=current.user,
        csrf=current.session.csrf_token, schedule=data["schedule"], timeline=timeline,
        users=data["users"]["nodes"], form=form or {},
        may_write=current.principal.may("schedules:write"), **refusal(error),
    )  # fmt: skip


def _instant(value: str, field: str) -> str:
    """A form's date and time (``2026-12-05T18:00``, UTC) as the API's timestamp."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(f"{field} must be a date and time", field=field) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=clock.now().tzinfo)
    return clock.isoformat_z(moment)


@action
async def add_override(request: Request, current: sessions.Current, form: Form) -> Response:
    schedule_id = request.path_params["id"]

    def variables() -> dict[str, Any]:
        override = {"start": _instant(form.get("start", ""), "start"),
                    "end": _instant(form.get("end", ""), "end"),
                    "userId": form.get("user_id", "")}  # fmt: skip
        return {"id": schedule_id, "input": override}

    async def redisplay(exc: OpsKnightError) -> Response:
        return await _schedule(request, current, exc, form)

    return await perform(current, _OVERRIDE, variables, redisplay=redisplay,
                         then=f"/schedules/{schedule_id}")  # fmt: skip


ROUTES = [
    Route("/on-call", on_call_page, methods=["GET"]),
    Route("/schedules/{id}", schedule_page, methods=["GET"]),
    Route("/schedules/{id}/overrides", add_override, methods=["POST"]),
]
