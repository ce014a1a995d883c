"""The pages behind a page's response links (``/respond/{secret}[/{action}]``).

``GET`` shows the incident and a button and changes nothing (mail scanners and chat
unfurlers open links first); the button ``POST``s, which acknowledges or resolves as the
person paged and shows the result. Both run GraphQL documents of the one schema.
"""

from __future__ import annotations

import html
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from opsknight.auth.principal import ANONYMOUS
from opsknight.errors import HTTP_STATUS
from opsknight.graphql.context import Context
from opsknight.graphql.schema import schema
from opsknight.notifications.links import ACTIONS, PATH, SHORT_PATH

_FIELDS = "incidentId number title status urgency serviceName recipientName channel expiresAt"
_OPEN = f"query($secret: String!) {{ pageLink(secret: $secret) {{ {_FIELDS} }} }}"
_RESPOND = (
    "mutation($secret: String!, $action: PageAction!) { respondToPage(secret: $secret, "
    f"action: $action) {{ outcome link {{ {_FIELDS} }} }} }}"
)
_OUTCOMES = {
    "acknowledged": "You acknowledged the incident. Escalation has stopped.",
    "resolved": "You resolved the incident.",
    "already_acknowledged": "The incident was already acknowledged. Nothing changed.",
    "already_resolved": "The incident is already resolved. Nothing changed.",
}
# The secret is in the address: keep it out of caches, referrers and search engines.
_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
}


async def _run(document: str, variables: dict[str, Any]) -> tuple[dict[str, Any] | None, Any]:
    result = await schema.execute(
        document, variable_values=variables, context_value=Context(credential=ANONYMOUS)
    )
    if result.errors:
        return None, result.errors[0]
    return result.data, None


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    document = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)} · OpsKnight</title><style>"
        "body{font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem}"
        "button{font-size:1.2rem;padding:.8rem 1.4rem;margin:.3rem .3rem 0 0;cursor:pointer}"
        ".muted{color:#666}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    return HTMLResponse(document, status_code=status, headers=_HEADERS)


def _incident(link: dict[str, Any]) -> str:
    return (
        f"<p><strong>#{link['number']} {html.escape(link['urgency'])}</strong>: "
        f"{html.escape(link['title'])}</p>"
        f"<p>Service: {html.escape(link['serviceName'] or '—')} · status "
        f"<strong>{html.escape(link['status'])}</strong></p>"
        f'<p class="muted">Paged to {html.escape(link["recipientName"])} by '
        f"{html.escape(link['channel'].lower())}; this link works until "
        f"{html.escape(link['expiresAt'])}.</p>"
    )


def _refused(error: Any) -> HTMLResponse:
    code = (error.extensions or {}).get("code", "INTERNAL_ERROR")
    return _page("This link cannot be used", f"<p>{html.escape(error.message)}</p>",
                 HTTP_STATUS.get(code, 400))  # fmt: skip


async def show(request: Request) -> Response:
    secret = request.path_params["secret"]
    action = request.path_params.get("action")
    if action is not None and action not in ACTIONS:
        return _page("Unknown action", "<p>This link is not valid.</p>", 404)
    data, error = await _run(_OPEN, {"secret": secret})
    if error is not None:
        return _refused(error)
    assert data is not None
    link = data["pageLink"]
    wanted = [action] if action else list(ACTIONS)
    buttons = "".join(
        f'<form method="post" action="{PATH}/{html.escape(secret)}/{name}" style="display:inline">'
        f'<button type="submit">{name.capitalize()}</button></form>'
        for name in wanted
        if link["status"] != "RESOLVED"
    )
    return _page(f"Incident #{link['number']}", _incident(link) + buttons)


async def act(request: Request) -> Response:
    secret, action = request.path_params["secret"], request.path_params["action"]
    if action not in ACTIONS:
        return _page("Unknown action", "<p>This link is not valid.</p>", 404)
    data, error = await _run(_RESPOND, {"secret": secret, "action": action.upper()})
    if error is not None:
        return _refused(error)
    assert data is not None
    answer = data["respondToPage"]
    return _page(_OUTCOMES.get(answer["outcome"], answer["outcome"]), _incident(answer["link"]))


ROUTES = [
    Route(PATH + "/{secret}", show, methods=["GET"]),
    Route(SHORT_PATH + "/{secret}", show, methods=["GET"]),
    Route(PATH + "/{secret}/{action}", show, methods=["GET"]),
    Route(PATH + "/{secret}/{action}", act, methods=["POST"]),
]
