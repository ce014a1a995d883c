"""The responder console: server-rendered pages over the GraphQL schema.

Pages read and act through the same schema as the API, as the signed-in person (their
role's scopes), so there is no second business layer. Every POST carries the session's
CSRF token (form field ``csrf`` or header ``X-CSRF-Token``); the sign-in form, before
any session, carries one from a short-lived cookie (double submit).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from opsknight.auth import sessions
from opsknight.auth.principal import Credential
from opsknight.auth.scopes import ALL_SCOPES
from opsknight.errors import (
    HTTP_STATUS,
    NotFound,
    OpsKnightError,
    RateLimited,
    ValidationFailed,
)
from opsknight.graphql.context import Context
from opsknight.graphql.schema import schema
from opsknight.rest.operations import INCIDENT_STREAM
from opsknight.rest.stream import event_stream
from opsknight.web import board
from opsknight.webhooks.outbox import EVENTS

SESSION_COOKIE = "opsknight_session"
SIGN_IN_COOKIE = "opsknight_sign_in"  # the sign-in form's CSRF token, before a session
_FORM_BYTES = 16_384

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))

# Vendored scripts, served under names that carry a hash of their content: a browser may
# keep each for a year, and an upgrade changes the name rather than breaking integrity.
ASSETS = Path(__file__).resolve().parent.parent / "static" / "console"
_SCRIPTS = ("htmx-2.0.4.min.js", "console.js")


def _served(name: str) -> tuple[str, str, str]:
    """(address name, file name, integrity) of one script."""
    content = (ASSETS / name).read_bytes()
    stem, _, suffix = name.rpartition(".")
    served = f"{stem}.{hashlib.sha256(content).hexdigest()[:10]}.{suffix}"
    integrity = "sha384-" + base64.b64encode(hashlib.sha384(content).digest()).decode()
    return served, name, integrity


_ASSET_FILES = {served: name for served, name, _ in map(_served, _SCRIPTS)}
templates.env.globals["scripts"] = [
    (f"/static/console/{served}", integrity) for served, _, integrity in map(_served, _SCRIPTS)
]
templates.env.globals["feed_events"] = " ".join(EVENTS)


def _when(value: str | None) -> str:
    """An API timestamp as people read it (the script shows it in the browser's zone)."""
    if not value:
        return "—"
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


templates.env.filters["when"] = _when

_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
}


def render(request: Request, template: str, status: int = 200, **values: Any) -> Response:
    values.setdefault("me", None)
    values.setdefault("csrf", "")
    response = templates.TemplateResponse(
        request, template, {"title": values.pop("title", "OpsKnight"), **values},
        status_code=status,
    )  # fmt: skip
    response.headers.update(_HEADERS)
    return response


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


class Form(dict[str, str]):
    """A posted form: the last value of each field, and ``every`` value of a repeated one."""

    def __init__(self, fields: list[tuple[str, str]]) -> None:
        super().__init__(fields)
        self.fields = fields

    def every(self, name: str) -> list[str]:
        return [value for key, value in self.fields if key == name]


async def _form(request: Request) -> Form:
    """The fields of a urlencoded form (the console's forms send nothing else)."""
    body = await request.body()
    if len(body) > _FORM_BYTES or not request.headers.get("content-type", "").startswith(
        "application/x-www-form-urlencoded"
    ):
        return Form([])
    return Form(parse_qsl(body.decode("utf-8", "replace"), max_num_fields=200))


def _local(path: str | None) -> str:
    """Where to go after signing in: only a path on this server."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path


async def signed_in(request: Request) -> sessions.Current | None:
    return await sessions.current(request.cookies.get(SESSION_COOKIE))


def to_sign_in(request: Request) -> Response:
    target = quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
    return RedirectResponse(f"/sign-in?next={target}", status_code=303)


async def run(current: sessions.Current, document: str, variables: dict[str, Any]) -> Any:
    credential = Credential(principal=current.principal, presented=True)
    result = await schema.execute(
        document, variable_values=variables, context_value=Context(credential=credential)
    )
    if result.errors:
        raise result.errors[0].original_error or RuntimeError(result.errors[0].message)
    return result.data


async def sign_in_page(request: Request) -> Response:
    if await signed_in(request) is not None:
        return RedirectResponse(_local(request.query_params.get("next")), status_code=303)
    return _sign_in_form(request, next_path=_local(request.query_params.get("next")))


def _sign_in_form(
    request: Request, next_path: str, error: str | None = None, email: str = "", status: int = 200
) -> Response:
    token = secrets.token_urlsafe(24)
    response = render(
        request, "sign_in.html", status, title="Sign in", csrf=token, next=next_path,
        error=error, email=email,
    )  # fmt: skip
    response.set_cookie(
        SIGN_IN_COOKIE, token, max_age=3600, httponly=True, samesite="strict",
        secure=_secure(request), path="/sign-in",
    )  # fmt: skip
    return response


async def sign_in(request: Request) -> Response:
    form = await _form(request)
    next_path = _local(form.get("next"))
    expected = request.cookies.get(SIGN_IN_COOKIE, "")
    if not expected or not secrets.compare_digest(expected, form.get("csrf", "")):
        return _sign_in_form(
            request, next_path, "The form expired; please sign in again.", status=403
        )
    email = form.get("email", "")[:320]
    try:
        done = await sessions.sign_in(
            email,
            form.get("password", "")[:256],
            request.client.host if request.client else "",
            request.headers.get("user-agent", ""),
        )
    except RateLimited as exc:
        return _sign_in_form(request, next_path, exc.message, email, status=429)
    except OpsKnightError as exc:
        return _sign_in_form(request, next_path, exc.message, email, status=401)
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(
        SESSION_COOKIE, done.secret, max_age=int(sessions.LIFETIME.total_seconds()),
        httponly=True, samesite="lax", secure=_secure(request), path="/",
    )  # fmt: skip
    response.delete_cookie(SIGN_IN_COOKIE, path="/sign-in")
    return response


Endpoint = Callable[[Request], Awaitable[Response]]


PageHandler = Callable[[Request, sessions.Current], Awaitable[Response]]
ActionHandler = Callable[[Request, sessions.Current, Form], Awaitable[Response]]


def page(handler: PageHandler) -> Endpoint:
    """A page for the signed-in person; anyone else is asked to sign in first."""

    @functools.wraps(handler)
    async def endpoint(request: Request) -> Response:
        current = await signed_in(request)
        if current is None:
            return to_sign_in(request)
        return await handler(request, current)

    return endpoint


def action(handler: ActionHandler) -> Endpoint:
    """A form's POST for the signed-in person: without a session, sign in; with a wrong
    CSRF token, a 403 page saying nothing changed."""

    @functools.wraps(handler)
    async def endpoint(request: Request) -> Response:
        current = await signed_in(request)
        if current is None:
            return to_sign_in(request)
        form = await _form(request)
        if not csrf_ok(request, current, form):
            return _forbidden(request, current)
        return await handler(request, current, form)

    return endpoint


def admin_page(handler: PageHandler) -> Endpoint:
    """A page (or, wrapped in ``action``, a form) only administrators may open; the
    schema refuses others anyway, this answers them with a page that says so."""

    @functools.wraps(handler)
    async def guarded(request: Request, current: sessions.Current) -> Response:
        if current.user.role != "ADMIN":
            return _admins_only(request, current)
        return await handler(request, current)

    return page(guarded)


def admin_action(handler: ActionHandler) -> Endpoint:
    @functools.wraps(handler)
    async def guarded(request: Request, current: sessions.Current, form: Form) -> Response:
        if current.user.role != "ADMIN":
            return _admins_only(request, current)
        return await handler(request, current, form)

    return action(guarded)


def _admins_only(request: Request, current: sessions.Current) -> Response:
    return render(
        request, "refused.html", 403, title="Administrators only", me=current.user,
        csrf=current.session.csrf_token,
        reason="Only administrators can open this page. Nothing changed.",
    )  # fmt: skip


def refusal(error: OpsKnightError | None) -> dict[str, Any]:
    """What a page shows about a refused form: the status, the message and the field."""
    if error is None:
        return {"status": 200, "error": None, "error_field": None}
    return {"status": HTTP_STATUS[error.code], "error": error.message,
            "error_field": error.details.get("field")}  # fmt: skip


Redisplay = Callable[[OpsKnightError], Awaitable[Response]]


async def perform(
    current: sessions.Current,
    document: str,
    variables: dict[str, Any] | Callable[[], dict[str, Any]],
    *,
    redisplay: Redisplay,
    then: str | Callable[[Any], str],
) -> Response:
    """Run a form's mutation: when done, go to ``then`` (a path, or one made from the
    answer); when refused — or when ``variables``, given as a function reading the form,
    refuses it — the form's page again with the reason (``redisplay``)."""
    try:
        data = await run(current, document, variables() if callable(variables) else variables)
    except OpsKnightError as exc:
        return await redisplay(exc)
    return RedirectResponse(then(data) if callable(then) else then, status_code=303)


def csrf_ok(request: Request, current: sessions.Current, form: dict[str, str]) -> bool:
    presented = request.headers.get("x-csrf-token") or form.get("csrf")
    return sessions.csrf_matches(current.session, presented)


async def sign_out(request: Request) -> Response:
    current = await signed_in(request)
    if current is None:
        return RedirectResponse("/sign-in", status_code=303)
    if not csrf_ok(request, current, await _form(request)):
        return _forbidden(request, current)
    await sessions.sign_out(current.session.id)
    response = RedirectResponse("/sign-in", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _forbidden(request: Request, current: sessions.Current) -> Response:
    return render(
        request, "refused.html", 403, title="Not done", me=current.user,
        csrf=current.session.csrf_token,
    )  # fmt: skip


@page
async def board_page(request: Request, current: sessions.Current) -> Response:
    return await _board(request, current)


async def _board(
    request: Request, current: sessions.Current, error: str | None = None, status: int = 200
) -> Response:
    return await _board_view(request, current, list(request.query_params.multi_items()),
                             "board.html", error, status)  # fmt: skip


async def _board_view(
    request: Request,
    current: sessions.Current,
    params: list[tuple[str, str]],
    template: str,
    error: str | None = None,
    status: int = 200,
) -> Response:
    """The board (or its rows) for the view the parameters ask for."""
    try:
        view = board.view_of(params)
    except OpsKnightError as exc:
        view, error, status = board.View(), exc.message, HTTP_STATUS[exc.code]
    data = await run(current, board.DOCUMENT, view.variables(current.user.id))
    incidents = data["incidents"]
    query = view.query()
    return render(
        request, template, status, title="Incidents", me=current.user,
        csrf=current.session.csrf_token, incidents=incidents["nodes"], error=error,
        rows_error=error if template == "board_rows.html" else None,
        may_write=current.principal.may("incidents:write"), view=view,
        statuses=board.STATUSES, urgencies=board.URGENCIES,
        services=data["services"]["nodes"], teams=data["teams"]["nodes"],
        users=data["users"]["nodes"], shadow=data["shadowMode"]["enabled"],
        pagination=incidents["pagination"], here="/" + (f"?{query}" if query else ""),
        rows_source="/board/rows" + (f"?{query}" if query else ""),
        previous_page=view.query(view.page - 1) if view.page > 1 else None,
        next_page=view.query(view.page + 1) if incidents["pagination"]["hasMore"] else None,
    )  # fmt: skip


_UPDATE = """
mutation Update($id: ID!, $input: UpdateIncidentInput!) {
  updateIncident(id: $id, input: $input) { id status }
}
"""
_STATUSES = ("ACKNOWLEDGED", "RESOLVED", "SNOOZED")
_BULK = """
mutation Bulk($ids: [ID!]!, $updates: BulkUpdateInput!) {
  bulkUpdateIncidents(incidentIds: $ids, updates: $updates) {
    updated failed results { id error { message } }
  }
}
"""


def _minutes(form: Form) -> int:
    minutes = form.get("minutes", "")
    return int(minutes) if minutes.isdigit() and len(minutes) < 7 else 0


@action
async def bulk_change(request: Request, current: sessions.Current, form: Form) -> Response:
    """Acknowledge, resolve, snooze or assign the incidents ticked on the board."""
    choices: dict[str, dict[str, Any]] = {
        "acknowledge": {"status": "ACKNOWLEDGED"},
        "resolve": {"status": "RESOLVED"},
        "snooze": {"status": "SNOOZED", "snoozeDuration": _minutes(form)},
        "assign": {"assigneeId": form.get("assignee_id") or None},
    }
    updates = choices.get(form.get("op", ""), {})
    ids = form.every("ids")
    try:
        if not updates:
            raise ValidationFailed("op must be one of acknowledge, resolve, snooze, assign",
                                   field="op")  # fmt: skip
        if not ids:
            raise ValidationFailed("tick at least one incident first", field="ids")
        data = await run(current, _BULK, {"ids": ids, "updates": updates})
    except OpsKnightError as exc:
        return await _board_answer(request, current, form, exc.message, HTTP_STATUS[exc.code])
    result = data["bulkUpdateIncidents"]
    error = None
    if result["failed"]:
        reasons = sorted({r["error"]["message"] for r in result["results"] if r["error"]})
        error = (f"{result['failed']} of {len(ids)} not changed: " + "; ".join(reasons))[:500]
    if error or request.headers.get("hx-request"):
        return await _board_answer(request, current, form, error, 409 if error else 200)
    return RedirectResponse(_local(form.get("back")), status_code=303)


async def _board_answer(
    request: Request, current: sessions.Current, form: Form, error: str | None, status: int
) -> Response:
    """After a board action: its rows for htmx (a refusal shown in the first row), else the
    board the form came from with the reason."""
    if request.headers.get("hx-request"):
        return await _rows(request, current, error=error)
    back = urlsplit(_local(form.get("back")))
    return await _board_view(request, current, parse_qsl(back.query), "board.html", error, status)


@action
async def change_status(request: Request, current: sessions.Current, form: Form) -> Response:
    """Acknowledge, resolve or snooze one incident from a page; back to that page."""
    status = form.get("status", "")
    change: dict[str, Any] = {"status": status}
    if status == "SNOOZED":
        change["snoozeDuration"] = _minutes(form)
    try:
        if status not in _STATUSES:
            raise ValidationFailed(f"status must be one of {', '.join(_STATUSES)}", field="status")
        await run(current, _UPDATE, {"id": request.path_params["id"], "input": change})
    except OpsKnightError as exc:
        if request.headers.get("hx-request"):
            return await _rows(request, current, error=exc.message)
        show = _incident if _local(form.get("back")).startswith("/incidents/") else _board
        return await show(request, current, error=exc.message, status=HTTP_STATUS[exc.code])
    if request.headers.get("hx-request"):  # a board button with scripts: just the rows
        return await _rows(request, current)
    return RedirectResponse(_local(form.get("back")), status_code=303)


_INCIDENT = """
query Incident($id: ID!) {
  incident(id: $id) {
    id number title description status urgency priority createdAt snoozedUntil alertCount
    escalationStatus currentEscalationStep nextEscalationAt nextEscalationStep mergedInto
    relatedIncidents service { id name } assignee { id name } escalationPolicy { id name }
    notes { content createdAt author { name } }
    timeline { type timestamp actor { name } details }
    notifications { step channel status attempts lastError recipient { name } }
    recentChanges { summary source timestamp links { href text } }
  }
  users(limit: 100, status: ACTIVE) { nodes { id name } }
  incidents(filter: {statuses: [OPEN, ACKNOWLEDGED, SNOOZED]}, limit: 50) {
    nodes { id number title }
  }
}
"""
_ALERTS = """
query Alerts($id: ID!, $offset: Int) {
  incidentAlerts(incidentId: $id, limit: 25, offset: $offset) {
    nodes { id action summary severity receivedAt payload }
  }
}
"""
ALERTS_SHOWN = 25
_ADD_NOTE = """
mutation AddNote($id: ID!, $input: NoteInput!) { addNote(incidentId: $id, input: $input) { id } }
"""
_MERGE = """
mutation Merge($id: ID!, $sources: [ID!]!) {
  mergeIncidents(id: $id, sourceIncidentIds: $sources) { id }
}
"""


@page
async def incident_page(request: Request, current: sessions.Current) -> Response:
    return await _incident(request, current)


async def _incident(
    request: Request, current: sessions.Current, error: str | None = None, status: int = 200
) -> Response:
    incident_id = request.path_params["id"]
    try:
        data = await run(current, _INCIDENT, {"id": incident_id})
    except NotFound:
        return await not_found(request)
    incident = data["incident"]
    # The latest alerts: the ones a responder compares with what they see now.
    offset = max(0, incident["alertCount"] - ALERTS_SHOWN)
    alerts = await run(current, _ALERTS, {"id": incident_id, "offset": offset})
    return render(
        request, "incident.html", status, title=f"#{incident['number']} {incident['title']}",
        me=current.user, csrf=current.session.csrf_token, incident=incident, error=error,
        may_write=current.principal.may("incidents:write"), users=data["users"]["nodes"],
        alerts=list(reversed(alerts["incidentAlerts"]["nodes"])), alerts_hidden=offset,
        merge_candidates=[i for i in data["incidents"]["nodes"] if i["id"] != incident["id"]],
    )  # fmt: skip


@action
async def assign(request: Request, current: sessions.Current, form: Form) -> Response:
    """Assign an incident to a person (or to nobody); back to the page it came from."""
    change = {"assigneeId": form.get("assignee_id") or None}
    return await _act(request, current, form, _UPDATE, {"input": change})


@action
async def merge_into(request: Request, current: sessions.Current, form: Form) -> Response:
    """Merge the chosen incidents into this one."""
    return await _act(request, current, form, _MERGE, {"sources": form.every("source_id")})


async def _act(
    request: Request,
    current: sessions.Current,
    form: Form,
    document: str,
    variables: dict[str, Any],
) -> Response:
    """Run one mutation on the incident in the address; on success back to where the form
    was, on refusal the incident page again with the reason."""
    incident_id = request.path_params["id"]

    async def redisplay(exc: OpsKnightError) -> Response:
        return await _incident(request, current, error=exc.message, status=HTTP_STATUS[exc.code])

    back = _local(form.get("back") or f"/incidents/{quote(incident_id)}")
    return await perform(current, document, {"id": incident_id, **variables},
                         redisplay=redisplay, then=back)  # fmt: skip


@action
async def add_note(request: Request, current: sessions.Current, form: Form) -> Response:
    return await _act(request, current, form, _ADD_NOTE,
                      {"input": {"content": form.get("content", "")}})  # fmt: skip


async def board_rows(request: Request) -> Response:
    """The board's rows alone, for the live refresh."""
    current = await signed_in(request)
    if current is None:
        return Response("sign in again", status_code=401, headers=_HEADERS)
    return await _rows(request, current)


async def _rows(request: Request, current: sessions.Current, error: str | None = None) -> Response:
    # For a board button, the view is the one of the board it was pressed on (``back``);
    # a refused action comes back as rows too (htmx swaps only successful answers), with
    # the reason in the first row.
    params = list(request.query_params.multi_items())
    if request.method == "POST":
        back = urlsplit(_local((await _form(request)).get("back")))
        params = parse_qsl(back.query)
    return await _board_view(request, current, params, "board_rows.html", error)


async def live_feed(request: Request) -> Response:
    """The live feed as server-sent events, for the signed-in person; it ends when their
    session does."""
    current = await signed_in(request)
    if current is None:
        return Response("sign in again", status_code=401, headers=_HEADERS)
    credential = Credential(principal=current.principal, presented=True)
    return await event_stream(schema, INCIDENT_STREAM, {}, Context(credential=credential))


async def asset(request: Request) -> Response:
    name = _ASSET_FILES.get(request.path_params["name"])
    if name is None:
        return await not_found(request)
    return FileResponse(
        ASSETS / name, headers={"Cache-Control": "public, max-age=31536000, immutable"}
    )


_KEYS = """
query Keys { apiKeys(limit: 100) { nodes { id name prefix last4 scopes environment createdAt
  lastUsedAt user { name } } } }
"""
_CREATE_KEY = """
mutation CreateKey($input: ApiKeyInput!) { createApiKey(input: $input) { name key scopes } }
"""
_REVOKE_KEY = "mutation RevokeKey($id: ID!) { revokeApiKey(id: $id) { id } }"


@page
async def api_keys_page(request: Request, current: sessions.Current) -> Response:
    return await _api_keys(request, current)


async def _api_keys(
    request: Request,
    current: sessions.Current,
    *,
    issued: dict[str, Any] | None = None,
    error: OpsKnightError | None = None,
    name: str = "",
) -> Response:
    data = await run(current, _KEYS, {})
    shown = refusal(error)
    if issued:
        shown["status"] = 201
    return render(
        request, "api_keys.html", title="API keys", me=current.user,
        csrf=current.session.csrf_token, keys=data["apiKeys"]["nodes"], issued=issued,
        name=name, all_scopes=ALL_SCOPES, may_write=current.principal.may("api_keys:write"),
        **shown,
    )  # fmt: skip


@action
async def create_api_key(request: Request, current: sessions.Current, form: Form) -> Response:
    scopes = form.every("scopes")
    name = form.get("name", "")
    try:
        data = await run(current, _CREATE_KEY, {"input": {"name": name, "scopes": scopes}})
    except OpsKnightError as exc:
        return await _api_keys(request, current, error=exc, name=name)
    return await _api_keys(request, current, issued=data["createApiKey"])


@action
async def revoke_api_key(request: Request, current: sessions.Current, form: Form) -> Response:
    try:
        await run(current, _REVOKE_KEY, {"id": request.path_params["id"]})
    except OpsKnightError as exc:
        return await _api_keys(request, current, error=exc)
    return RedirectResponse("/api-keys", status_code=303)


async def not_found(request: Request) -> Response:
    """The 404 page for browsers (JSON stays for the API)."""
    current = await signed_in(request)
    return render(
        request, "not_found.html", 404, title="Not found",
        me=current.user if current else None,
        csrf=current.session.csrf_token if current else "",
    )  # fmt: skip


ROUTES = [
    Route("/", board_page, methods=["GET"]),
    Route("/sign-in", sign_in_page, methods=["GET"]),
    Route("/sign-in", sign_in, methods=["POST"]),
    Route("/sign-out", sign_out, methods=["POST"]),
    Route("/board/rows", board_rows, methods=["GET"]),
    Route("/api-keys", api_keys_page, methods=["GET"]),
    Route("/api-keys", create_api_key, methods=["POST"]),
    Route("/api-keys/{id}/revoke", revoke_api_key, methods=["POST"]),
    Route("/live/incidents", live_feed, methods=["GET"]),
    Route("/static/console/{name}", asset, methods=["GET"]),
    Route("/incidents/bulk", bulk_change, methods=["POST"]),
    Route("/incidents/{id}", incident_page, methods=["GET"]),
    Route("/incidents/{id}/status", change_status, methods=["POST"]),
    Route("/incidents/{id}/notes", add_note, methods=["POST"]),
    Route("/incidents/{id}/assign", assign, methods=["POST"]),
    Route("/incidents/{id}/merge", merge_into, methods=["POST"]),
]
