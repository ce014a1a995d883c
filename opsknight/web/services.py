"""The console's services: their health and open incidents, and their integrations with
copy-paste set-up for Alertmanager, Grafana and curl. Administrators add and change
services and integrations here."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from opsknight.auth import sessions
from opsknight.errors import NotFound, OpsKnightError
from opsknight.notifications import links
from opsknight.web.console import Form, action, not_found, page, perform, refusal, render, run

_CHOICES = """
  teams(limit: 100) { nodes { id name } }
  escalationPolicies(limit: 100) { nodes { id name } }
"""
_SERVICES = (
    """
query Services {
  services(limit: 100) {
    nodes {
      id name health activeIncidentCount shadow team { name } escalationPolicy { id name }
    }
  }
"""
    + _CHOICES
    + "}"
)
_SERVICE = (
    """
query Service($id: ID!) {
  service(id: $id) {
    id name description runbookUrl region slaTier health activeIncidentCount shadow
    team { id name } escalationPolicy { id name }
  }
  integrations(serviceId: $id) { id name type key createdAt }
  incidents(filter: {serviceIds: [$id], statuses: [OPEN, ACKNOWLEDGED, SNOOZED]}, limit: 20) {
    nodes { id number title status urgency createdAt }
    pagination { total }
  }
"""
    + _CHOICES
    + "}"
)
_CREATE = "mutation Create($input: ServiceInput!) { createService(input: $input) { id } }"
_UPDATE = """
mutation Update($id: ID!, $input: ServiceInput!) { updateService(id: $id, input: $input) { id } }
"""
_ADD_INTEGRATION = """
mutation Add($id: ID!, $input: IntegrationInput!) {
  createIntegration(serviceId: $id, input: $input) { id }
}
"""
_DELETE_INTEGRATION = """
mutation Delete($id: ID!, $integration: ID!) {
  deleteIntegration(serviceId: $id, id: $integration) { id }
}
"""


def setup_snippets(integration: dict[str, Any]) -> list[tuple[str, str]]:
    """(title, text) of the configuration that sends to this integration, by its type."""
    base, key = links.public_url(), integration["key"]
    if key is None:
        return []
    curl_body = json.dumps({
        "routing_key": key, "event_action": "trigger", "dedup_key": "disk-db-1",
        "payload": {"summary": "Disk almost full on db-1", "source": "db-1",
                    "severity": "critical"},
    })  # fmt: skip
    if integration["type"] == "alertmanager":
        url = f"{base}/api/integrations/alertmanager?integration_key={key}"
        return [
            ("Alertmanager (alertmanager.yml)",
             "receivers:\n  - name: opsknight\n    webhook_configs:\n"
             f'      - url: "{url}"\n        send_resolved: true'),
            ("Grafana (Alerting → Contact points → Webhook)",
             f"URL: {url}\nHTTP method: POST"),
        ]  # fmt: skip
    if integration["type"] == "webhook":
        return [
            ("Any tool that posts JSON (curl)",
             f"curl -X POST '{base}/api/integrations/webhook?integration_key={key}' \\\n"
             "  -H 'Content-Type: application/json' \\\n"
             """  -d '{"title": "Disk almost full on db-1", "status": "triggered", """
             """"id": "disk-db-1", "severity": "critical"}'"""),
        ]  # fmt: skip
    return [
        ("Alertmanager with pagerduty_configs (alertmanager.yml)",
         "receivers:\n  - name: opsknight\n    pagerduty_configs:\n"
         f'      - routing_key: "{key}"\n        url: "{base}/v2/enqueue"'),
        ("Events API v2 (curl)",
         f"curl -X POST '{base}/v2/enqueue' \\\n  -H 'Content-Type: application/json' \\\n"
         f"  -d '{curl_body}'"),
        ("Alertmanager with opsgenie_configs (alertmanager.yml)",
         "receivers:\n  - name: opsknight\n    opsgenie_configs:\n"
         f'      - api_key: "{key}"\n        api_url: "{base}/"'),
        ("Opsgenie Alert API (Grafana: Alert API URL)",
         f"Alert API URL: {base}/v2/alerts\nAPI key: {key}"),
    ]  # fmt: skip


def _service_input(form: Form) -> dict[str, Any]:
    return {
        "name": form.get("name", ""),
        "description": form.get("description") or None,
        "teamId": form.get("team_id") or None,
        "escalationPolicyId": form.get("escalation_policy_id") or None,
        "runbookUrl": form.get("runbook_url") or None,
        "shadow": form.get("shadow") == "on",
    }


@page
async def services_page(request: Request, current: sessions.Current) -> Response:
    return await _services(request, current)


async def _services(
    request: Request,
    current: sessions.Current,
    error: OpsKnightError | None = None,
    form: Form | None = None,
) -> Response:
    data = await run(current, _SERVICES, {})
    return render(
        request, "services.html", title="Services", me=current.user,
        csrf=current.session.csrf_token, services=data["services"]["nodes"],
        teams=data["teams"]["nodes"], policies=data["escalationPolicies"]["nodes"],
        values=form or {}, may_write=current.principal.may("services:write"), **refusal(error),
    )  # fmt: skip


@action
async def create_service(request: Request, current: sessions.Current, form: Form) -> Response:
    async def redisplay(exc: OpsKnightError) -> Response:
        return await _services(request, current, exc, form)

    return await perform(current, _CREATE, {"input": _service_input(form)}, redisplay=redisplay,
                         then=lambda data: f"/services/{data['createService']['id']}")  # fmt: skip


@page
async def service_page(request: Request, current: sessions.Current) -> Response:
    return await _service(request, current)


async def _service(
    request: Request,
    current: sessions.Current,
    error: OpsKnightError | None = None,
    form: Form | None = None,
) -> Response:
    try:
        data = await run(current, _SERVICE, {"id": request.path_params["id"]})
    except NotFound:
        return await not_found(request)
    integrations = [{**i, "snippets": setup_snippets(i)} for i in data["integrations"]]
    service = data["service"]
    values = form or {
        "name": service["name"], "description": service["description"] or "",
        "runbook_url": service["runbookUrl"] or "",
        "team_id": (service["team"] or {}).get("id"),
        "escalation_policy_id": (service["escalationPolicy"] or {}).get("id"),
        "shadow": "on" if service["shadow"] else "",
    }  # fmt: skip
    return render(
        request, "service.html", title=data["service"]["name"], me=current.user,
        csrf=current.session.csrf_token, service=data["service"], integrations=integrations,
        incidents=data["incidents"]["nodes"], open_total=data["incidents"]["pagination"]["total"],
        teams=data["teams"]["nodes"], policies=data["escalationPolicies"]["nodes"],
        values=values, may_write=current.principal.may("services:write"), **refusal(error),
    )  # fmt: skip


async def _service_change(
    request: Request, current: sessions.Current, form: Form, document: str, variables: Any
) -> Response:
    """Run one change of the service in the address; back to its page."""
    service_id = request.path_params["id"]

    async def redisplay(exc: OpsKnightError) -> Response:
        return await _service(request, current, exc, form)

    return await perform(current, document, {"id": service_id, **variables},
                         redisplay=redisplay, then=f"/services/{service_id}")  # fmt: skip


@action
async def update_service(request: Request, current: sessions.Current, form: Form) -> Response:
    return await _service_change(request, current, form, _UPDATE,
                                 {"input": _service_input(form)})  # fmt: skip


@action
async def add_integration(request: Request, current: sessions.Current, form: Form) -> Response:
    change = {"name": form.get("integration_name", ""), "type": form.get("type") or "events_api"}
    return await _service_change(request, current, form, _ADD_INTEGRATION, {"input": change})


@action
async def delete_integration(request: Request, current: sessions.Current, form: Form) -> Response:
    return await _service_change(request, current, form, _DELETE_INTEGRATION,
                                 {"integration": request.path_params["integration"]})  # fmt: skip


ROUTES = [
    Route("/services", services_page, methods=["GET"]),
    Route("/services", create_service, methods=["POST"]),
    Route("/services/{id}", service_page, methods=["GET"]),
    Route("/services/{id}", update_service, methods=["POST"]),
    Route("/services/{id}/integrations", add_integration, methods=["POST"]),
    Route("/services/{id}/integrations/{integration}/delete", delete_integration,
          methods=["POST"]),
]  # fmt: skip
