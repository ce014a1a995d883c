"""The console's webhooks (administrators): add one (its signing secret shown once),
switch it off and on, send a test ping, and read its delivery log with each payload and
a redeliver button."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from opsknight.auth import sessions
from opsknight.errors import NotFound, OpsKnightError
from opsknight.web.console import (
    Form,
    admin_action,
    admin_page,
    not_found,
    perform,
    refusal,
    render,
    run,
)
from opsknight.webhooks.outbox import EVENTS

DELIVERIES_SHOWN = 25
_WEBHOOKS = """
query Webhooks {
  webhooks(limit: 100) {
    nodes { id name url events enabled consecutiveFailures disabledReason createdAt }
  }
}
"""
_WEBHOOK = """
query Webhook($id: ID!, $limit: Int, $offset: Int) {
  webhook(id: $id) {
    id name url events enabled includeTest consecutiveFailures disabledReason createdAt
  }
  webhookDeliveries(webhookId: $id, limit: $limit, offset: $offset) {
    nodes {
      id event status attempts lastStatusCode lastError createdAt deliveredAt nextAttemptAt
      incidentId payload
    }
    pagination { total hasMore }
  }
}
"""
_CREATE = """
mutation Create($input: WebhookInput!) { createWebhook(input: $input) { id name url secret } }
"""
_UPDATE = """
mutation Update($id: ID!, $input: WebhookInput!) { updateWebhook(id: $id, input: $input) { id } }
"""
_PING = "mutation Ping($id: ID!) { pingWebhook(id: $id) { id } }"
_REDELIVER = """
mutation Redeliver($id: ID!, $delivery: ID!) {
  redeliverWebhookDelivery(webhookId: $id, id: $delivery) { id }
}
"""


@admin_page
async def webhooks_page(request: Request, current: sessions.Current) -> Response:
    return await _webhooks(request, current)


async def _webhooks(
    request: Request,
    current: sessions.Current,
    error: OpsKnightError | None = None,
    form: Form | None = None,
    issued: dict[str, Any] | None = None,
) -> Response:
    data = await run(current, _WEBHOOKS, {})
    shown = refusal(error)
    if issued:
        shown["status"] = 201
    return render(
        request, "webhooks.html", title="Webhooks", me=current.user,
        csrf=current.session.csrf_token, webhooks=data["webhooks"]["nodes"], events=EVENTS,
        values=form or {}, chosen=form.every("events") if form else [], issued=issued,
        **shown,
    )  # fmt: skip


@admin_action
async def create_webhook(request: Request, current: sessions.Current, form: Form) -> Response:
    webhook = {"url": form.get("url", ""), "name": form.get("name") or None,
               "events": form.every("events") or None}  # fmt: skip
    try:
        data = await run(current, _CREATE, {"input": webhook})
    except OpsKnightError as exc:
        return await _webhooks(request, current, exc, form)
    return await _webhooks(request, current, issued=data["createWebhook"])


@admin_page
async def webhook_page(request: Request, current: sessions.Current) -> Response:
    return await _webhook(request, current)


async def _webhook(
    request: Request, current: sessions.Current, error: OpsKnightError | None = None
) -> Response:
    page_number = request.query_params.get("page", "1")
    number = int(page_number) if page_number.isdigit() and 0 < int(page_number) < 10_000 else 1
    variables = {"id": request.path_params["id"], "limit": DELIVERIES_SHOWN,
                 "offset": (number - 1) * DELIVERIES_SHOWN}  # fmt: skip
    try:
        data = await run(current, _WEBHOOK, variables)
    except NotFound:
        return await not_found(request)
    deliveries = data["webhookDeliveries"]
    return render(
        request, "webhook.html", title=data["webhook"]["name"] or data["webhook"]["url"],
        me=current.user, csrf=current.session.csrf_token, webhook=data["webhook"],
        deliveries=deliveries["nodes"], total=deliveries["pagination"]["total"],
        page=number, more=deliveries["pagination"]["hasMore"], **refusal(error),
    )  # fmt: skip


async def _webhook_change(
    request: Request, current: sessions.Current, document: str, variables: dict[str, Any]
) -> Response:
    webhook_id = request.path_params["id"]

    async def redisplay(exc: OpsKnightError) -> Response:
        return await _webhook(request, current, exc)

    return await perform(current, document, {"id": webhook_id, **variables},
                         redisplay=redisplay, then=f"/webhooks/{webhook_id}")  # fmt: skip


@admin_action
async def switch(request: Request, current: sessions.Current, form: Form) -> Response:
    """Turn deliveries on (which also clears an automatic switch-off) or off."""
    enabled = form.get("enabled") == "true"
    return await _webhook_change(request, current, _UPDATE, {"input": {"enabled": enabled}})


@admin_action
async def ping(request: Request, current: sessions.Current, form: Form) -> Response:
    return await _webhook_change(request, current, _PING, {})


@admin_action
async def redeliver(request: Request, current: sessions.Current, form: Form) -> Response:
    return await _webhook_change(request, current, _REDELIVER,
                                 {"delivery": request.path_params["delivery"]})  # fmt: skip


ROUTES = [
    Route("/webhooks", webhooks_page, methods=["GET"]),
    Route("/webhooks", create_webhook, methods=["POST"]),
    Route("/webhooks/{id}", webhook_page, methods=["GET"]),
    Route("/webhooks/{id}/switch", switch, methods=["POST"]),
    Route("/webhooks/{id}/ping", ping, methods=["POST"]),
    Route("/webhooks/{id}/deliveries/{delivery}/redeliver", redeliver, methods=["POST"]),
]
