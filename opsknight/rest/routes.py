"""The REST route table: method, path, scope, the GraphQL document, and how the
request's path, query, headers and body become that document's variables."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from opsknight.rest import operations as ops

# A path parameter of a route, `{name}` or with a Starlette convertor, `{name:path}`.
PATH_PARAMETER = re.compile(r"{(\w+)(?::\w+)?}")


@dataclass(frozen=True)
class Param:
    """A query-string parameter: the variable it feeds (dotted for nested) and its kind."""

    variable: str
    kind: str = "str"  # str | int | bool | csv | datetime


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    scope: str | None
    document: str
    status: int = 200
    # "*": each body key is a variable; any other name: the whole body is that variable.
    body: str | None = None
    # False for the Events API, whose routes authenticate with integration keys too.
    authenticated: bool = True
    # How a success is wrapped: "data" (§1), the Events API's "event", "events", "change",
    # "pagerduty-v1" (Events API v1), "opsgenie" (Opsgenie's Alert API),
    # "stream": a subscription sent as server-sent events; "csv": a text/csv download.
    envelope: str = "data"
    query: dict[str, Param] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    paged: bool = False
    location: str | None = None
    etag: bool = False


_PAGE = {"limit": Param("limit", "int"), "offset": Param("offset", "int")}
_NAMED_LIST = {"q": Param("q"), **_PAGE}

_INCIDENT_QUERY = {
    "status": Param("filter.statuses", "csv"),
    "urgency": Param("filter.urgencies", "csv"),
    "priority": Param("filter.priorities", "csv"),
    "service_id": Param("filter.serviceIds", "csv"),
    "team_id": Param("filter.teamIds", "csv"),
    "assignee_id": Param("filter.assigneeIds", "csv"),
    "created_after": Param("filter.createdAfter", "datetime"),
    "created_before": Param("filter.createdBefore", "datetime"),
    "q": Param("filter.q"),
    "include_merged": Param("filter.includeMerged", "bool"),
    "sort": Param("sort"),
    "order": Param("order"),
    **_PAGE,
}

ROUTES: tuple[Route, ...] = (
    # events first: the hot path, and Starlette matches routes in order
    *(Route("POST", path, None, ops.SEND_EVENT, 202, body="event", authenticated=False,
            envelope="event") for path in ("/api/events", "/v2/enqueue")),
    Route("POST", "/v2/change/enqueue", None, ops.SEND_CHANGE_EVENT, 202, body="event",
          authenticated=False, envelope="change"),
    Route("POST", "/generic/2010-04-15/create_event.json", None, ops.SEND_PAGERDUTY_V1_EVENT,
          body="event", authenticated=False, envelope="pagerduty-v1"),
    Route("POST", "/v2/alerts", None, ops.CREATE_OPSGENIE_ALERT, 202, body="payload",
          authenticated=False, envelope="opsgenie"),
    *(Route("POST", f"/v2/alerts/{{identifier:path}}/{action}", None, document, 202,
            body="payload", authenticated=False, envelope="opsgenie",
            query={"identifierType": Param("identifierType")})
      for action, document in (("close", ops.CLOSE_OPSGENIE_ALERT),
                               ("acknowledge", ops.ACKNOWLEDGE_OPSGENIE_ALERT))),
    Route("POST", "/api/integrations/alertmanager", None, ops.SEND_ALERTMANAGER, 202,
          body="payload", authenticated=False, envelope="events",
          query={"integration_key": Param("integrationKey")}),
    Route("POST", "/api/integrations/webhook", None, ops.SEND_WEBHOOK_EVENT, 202,
          body="payload", authenticated=False, envelope="event",
          query={"integration_key": Param("integrationKey")}),
    *(Route(method, "/api/heartbeats/{token}/ping", None, ops.PING_HEARTBEAT,
            authenticated=False) for method in ("POST", "GET")),
    # users
    Route("GET", "/api/users", "users:read", ops.LIST_USERS, paged=True, query={
        **_NAMED_LIST, "role": Param("role"), "status": Param("status"), "email": Param("email"),
    }),
    Route("POST", "/api/users", "users:write", ops.CREATE_USER, 201, body="input",
          location="/api/users/{id}"),
    Route("GET", "/api/users/me", None, ops.GET_VIEWER),
    Route("GET", "/api/users/{id}", "users:read", ops.GET_USER),
    Route("PATCH", "/api/users/{id}", "users:write", ops.UPDATE_USER, body="input"),
    Route("DELETE", "/api/users/{id}", "users:write", ops.DELETE_USER),
    # teams
    Route("GET", "/api/teams", "teams:read", ops.LIST_TEAMS, paged=True, query=_NAMED_LIST),
    Route("POST", "/api/teams", "teams:write", ops.CREATE_TEAM, 201, body="input",
          location="/api/teams/{id}"),
    Route("GET", "/api/teams/{id}", "teams:read", ops.GET_TEAM),
    Route("PATCH", "/api/teams/{id}", "teams:write", ops.UPDATE_TEAM, body="input"),
    Route("DELETE", "/api/teams/{id}", "teams:write", ops.DELETE_TEAM),
    Route("POST", "/api/teams/{team_id}/members", "teams:write", ops.ADD_TEAM_MEMBER,
          body="input"),
    Route("DELETE", "/api/teams/{team_id}/members/{user_id}", "teams:write",
          ops.REMOVE_TEAM_MEMBER),
    # services and integrations
    Route("GET", "/api/services", "services:read", ops.LIST_SERVICES, paged=True,
          query={**_NAMED_LIST, "team_id": Param("teamId")}),
    Route("POST", "/api/services", "services:write", ops.CREATE_SERVICE, 201, body="input",
          location="/api/services/{id}"),
    Route("GET", "/api/services/{id}", "services:read", ops.GET_SERVICE),
    Route("PATCH", "/api/services/{id}", "services:write", ops.UPDATE_SERVICE, body="input"),
    Route("DELETE", "/api/services/{id}", "services:write", ops.DELETE_SERVICE),
    Route("GET", "/api/services/{service_id}/integrations", "services:read",
          ops.LIST_INTEGRATIONS),
    Route("POST", "/api/services/{service_id}/integrations", "services:write",
          ops.CREATE_INTEGRATION, 201, body="input",
          location="/api/services/{service_id}/integrations/{id}"),
    Route("DELETE", "/api/services/{service_id}/integrations/{id}", "services:write",
          ops.DELETE_INTEGRATION),
    # schedules
    Route("GET", "/api/schedules", "schedules:read", ops.LIST_SCHEDULES, paged=True,
          query=_NAMED_LIST),
    Route("POST", "/api/schedules", "schedules:write", ops.CREATE_SCHEDULE, 201, body="input",
          location="/api/schedules/{id}"),
    Route("GET", "/api/schedules/{id}", "schedules:read", ops.GET_SCHEDULE),
    Route("PATCH", "/api/schedules/{id}", "schedules:write", ops.UPDATE_SCHEDULE, body="input"),
    Route("DELETE", "/api/schedules/{id}", "schedules:write", ops.DELETE_SCHEDULE),
    Route("GET", "/api/schedules/{schedule_id}/overrides", "schedules:read", ops.LIST_OVERRIDES,
          paged=True, query=_PAGE),
    Route("POST", "/api/schedules/{schedule_id}/overrides", "schedules:write",
          ops.CREATE_OVERRIDE, 201, body="input",
          location="/api/schedules/{schedule_id}/overrides/{id}"),
    Route("DELETE", "/api/schedules/{schedule_id}/overrides/{id}", "schedules:write",
          ops.DELETE_OVERRIDE),
    Route("GET", "/api/schedules/{id}/on-call", "schedules:read", ops.SCHEDULE_ON_CALL,
          query={"at": Param("at", "datetime")}),
    Route("GET", "/api/schedules/{id}/shifts", "schedules:read", ops.SCHEDULE_SHIFTS,
          query={"since": Param("since", "datetime"), "until": Param("until", "datetime")}),
    Route("GET", "/api/on-call", "schedules:read", ops.ON_CALL, query={
        "at": Param("at", "datetime"), "schedule_id": Param("scheduleId"),
        "user_id": Param("userId"),
    }),
    # escalation policies
    Route("GET", "/api/escalation-policies", "escalation_policies:read", ops.LIST_POLICIES,
          paged=True, query=_NAMED_LIST),
    Route("POST", "/api/escalation-policies", "escalation_policies:write", ops.CREATE_POLICY,
          201, body="input", location="/api/escalation-policies/{id}"),
    Route("GET", "/api/escalation-policies/{id}", "escalation_policies:read", ops.GET_POLICY),
    Route("PATCH", "/api/escalation-policies/{id}", "escalation_policies:write",
          ops.UPDATE_POLICY, body="input"),
    Route("DELETE", "/api/escalation-policies/{id}", "escalation_policies:write",
          ops.DELETE_POLICY),
    # heartbeats
    Route("GET", "/api/heartbeats", "services:read", ops.LIST_HEARTBEATS, paged=True,
          query={"service_id": Param("serviceId"), **_PAGE}),
    Route("POST", "/api/heartbeats", "services:write", ops.CREATE_HEARTBEAT, 201,
          body="input", location="/api/heartbeats/{id}"),
    Route("GET", "/api/heartbeats/{id}", "services:read", ops.GET_HEARTBEAT),
    Route("PATCH", "/api/heartbeats/{id}", "services:write", ops.UPDATE_HEARTBEAT,
          body="input"),
    Route("DELETE", "/api/heartbeats/{id}", "services:write", ops.DELETE_HEARTBEAT),
    # event rules
    Route("GET", "/api/event-rules", "services:read", ops.LIST_RULES, paged=True,
          query={"service_id": Param("serviceId"), **_PAGE}),
    Route("POST", "/api/event-rules", "services:write", ops.CREATE_RULE, 201,
          body="input", location="/api/event-rules/{id}"),
    Route("GET", "/api/event-rules/{id}", "services:read", ops.GET_RULE),
    Route("PATCH", "/api/event-rules/{id}", "services:write", ops.UPDATE_RULE, body="input"),
    Route("DELETE", "/api/event-rules/{id}", "services:write", ops.DELETE_RULE),
    Route("GET", "/api/suspended-events", "incidents:read", ops.LIST_SUSPENDED, paged=True,
          query={"service_id": Param("serviceId"), "status": Param("status"), **_PAGE}),
    Route("GET", "/api/alerts/{id}", "incidents:read", ops.GET_ALERT),
    Route("GET", "/api/services/{service_id}/escalation-preview", "services:read",
          ops.ESCALATION_PREVIEW,
          query={"at": Param("at", "datetime"), "urgency": Param("urgency")}),
    Route("GET", "/api/readiness", "services:read", ops.READINESS),
    Route("GET", "/api/audit-log", "audit:read", ops.AUDIT_LOG, paged=True, query={
        "resource_type": Param("resourceType"), "resource_id": Param("resourceId"),
        "actor_id": Param("actorId"), "action": Param("action"),
        "since": Param("since", "datetime"), "until": Param("until", "datetime"), **_PAGE}),
    # shadow mode (a parallel run beside the tool being replaced)
    Route("GET", "/api/shadow-mode", "services:read", ops.GET_SHADOW_MODE),
    Route("PUT", "/api/shadow-mode", "services:write", ops.SET_SHADOW_MODE, body="*"),
    Route("GET", "/api/shadow-report", "incidents:read", ops.SHADOW_REPORT, paged=True, query={
        "since": Param("since", "datetime"), "until": Param("until", "datetime"),
        "service_id": Param("serviceId"), **_PAGE}),
    # analytics
    *(Route("GET", path, "incidents:read", document, envelope=envelope, query={
        "since": Param("since", "datetime"), "until": Param("until", "datetime"),
        "service_id": Param("serviceId"), "team_id": Param("teamId")})
      for path, document, envelope in (
          ("/api/analytics", ops.ANALYTICS, "data"),
          ("/api/analytics/incidents.csv", ops.ANALYTICS_CSV, "csv"))),
    # maintenance windows
    Route("GET", "/api/maintenance-windows", "maintenance:read", ops.LIST_WINDOWS, paged=True,
          query={"service_id": Param("serviceId"), **_PAGE}),
    Route("POST", "/api/maintenance-windows", "maintenance:write", ops.CREATE_WINDOW, 201,
          body="input", location="/api/maintenance-windows/{id}"),
    Route("GET", "/api/maintenance-windows/{id}", "maintenance:read", ops.GET_WINDOW),
    Route("PATCH", "/api/maintenance-windows/{id}", "maintenance:write", ops.UPDATE_WINDOW,
          body="input"),
    Route("DELETE", "/api/maintenance-windows/{id}", "maintenance:write", ops.DELETE_WINDOW),
    # webhooks
    Route("GET", "/api/webhooks", "webhooks:read", ops.LIST_WEBHOOKS, paged=True, query=_PAGE),
    Route("POST", "/api/webhooks", "webhooks:write", ops.CREATE_WEBHOOK, 201, body="input",
          location="/api/webhooks/{id}"),
    Route("GET", "/api/webhooks/{id}", "webhooks:read", ops.GET_WEBHOOK),
    Route("PATCH", "/api/webhooks/{id}", "webhooks:write", ops.UPDATE_WEBHOOK, body="input"),
    Route("DELETE", "/api/webhooks/{id}", "webhooks:write", ops.DELETE_WEBHOOK),
    Route("POST", "/api/webhooks/{id}/rotate-secret", "webhooks:write",
          ops.ROTATE_WEBHOOK_SECRET, body="*"),
    Route("GET", "/api/webhooks/{webhook_id}/deliveries", "webhooks:read", ops.LIST_DELIVERIES,
          paged=True, query=_PAGE),
    Route("POST", "/api/webhooks/{webhook_id}/deliveries/{id}/redeliver", "webhooks:write",
          ops.REDELIVER, 202),
    Route("POST", "/api/webhooks/{id}/ping", "webhooks:write", ops.PING_WEBHOOK),
    # contact methods (a user manages their own; others' need users:write)
    Route("GET", "/api/users/{user_id}/contact-methods", "users:read",
          ops.LIST_CONTACT_METHODS),
    Route("POST", "/api/users/{user_id}/contact-methods", "users:read",
          ops.CREATE_CONTACT_METHOD, 201, body="input",
          location="/api/users/{user_id}/contact-methods/{id}"),
    Route("DELETE", "/api/users/{user_id}/contact-methods/{id}", "users:read",
          ops.DELETE_CONTACT_METHOD),
    Route("POST", "/api/users/{user_id}/contact-methods/{id}/test", "users:read",
          ops.TEST_CONTACT_METHOD),
    Route("GET", "/api/users/{user_id}/notification-rules", "users:read",
          ops.LIST_NOTIFICATION_RULES),
    Route("PUT", "/api/users/{user_id}/notification-rules", "users:read",
          ops.SET_NOTIFICATION_RULES, body="*"),
    # API keys
    Route("GET", "/api/api-keys", "api_keys:read", ops.LIST_API_KEYS, paged=True, query=_PAGE),
    Route("POST", "/api/api-keys", "api_keys:write", ops.CREATE_API_KEY, 201, body="input",
          location="/api/api-keys/{id}"),
    Route("DELETE", "/api/api-keys/{id}", "api_keys:write", ops.REVOKE_API_KEY),
    # incidents (the stream before /api/incidents/{id}: routes match in order)
    Route("GET", "/api/incidents/stream", "incidents:read", ops.INCIDENT_STREAM,
          envelope="stream", headers={"last-event-id": "after"}, query={
              "service_id": Param("filter.serviceIds", "csv"),
              "team_id": Param("filter.teamIds", "csv"),
              "status": Param("filter.statuses", "csv"),
              "urgency": Param("filter.urgencies", "csv"),
          }),
    Route("GET", "/api/incidents", "incidents:read", ops.LIST_INCIDENTS, paged=True,
          query=_INCIDENT_QUERY),
    Route("POST", "/api/incidents", "incidents:write", ops.CREATE_INCIDENT, 201, body="input",
          headers={"idempotency-key": "idempotencyKey"}, location="/api/incidents/{id}",
          etag=True),
    Route("POST", "/api/incidents/bulk", "incidents:write", ops.BULK_UPDATE_INCIDENTS, body="*"),
    Route("GET", "/api/incidents/{id}", "incidents:read", ops.GET_INCIDENT, etag=True),
    Route("PATCH", "/api/incidents/{id}", "incidents:write", ops.UPDATE_INCIDENT, body="input",
          headers={"if-match": "ifMatch"}, etag=True),
    Route("DELETE", "/api/incidents/{id}", "incidents:delete", ops.DELETE_INCIDENT),
    Route("POST", "/api/incidents/{incident_id}/notes", "incidents:write", ops.ADD_NOTE, 201,
          body="input", location="/api/incidents/{incident_id}/notes/{id}"),
    Route("GET", "/api/incidents/{incident_id}/notes", "incidents:read", ops.LIST_NOTES,
          paged=True, query=_PAGE),
    Route("GET", "/api/incidents/{incident_id}/timeline", "incidents:read", ops.LIST_TIMELINE),
    Route("GET", "/api/incidents/{incident_id}/alerts", "incidents:read", ops.LIST_ALERTS,
          paged=True, query=_PAGE),
    Route("POST", "/api/incidents/{id}/merge", "incidents:write", ops.MERGE_INCIDENTS, body="*"),
    Route("GET", "/api/services/{service_id}/changes", "services:read",
          ops.LIST_SERVICE_CHANGES, paged=True, query=_PAGE),
)  # fmt: skip
