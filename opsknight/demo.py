"""`opsknight demo`: sample data for a first look, and an admin key to explore it with.

Everything is found by name (or email, or dedup key) before it is created, so running
the demo twice adds nothing; each run prints a fresh admin key and revokes the previous
demo key (a key is shown only once, so a second run cannot print the first one).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

from opsknight import clock
from opsknight.auth.api_keys import issue
from opsknight.auth.models import ApiKey
from opsknight.auth.principal import Principal
from opsknight.auth.scopes import ALL_SCOPES
from opsknight.directory import contact_methods, services, teams
from opsknight.directory.models import ContactMethod, Integration, Service, Team, User
from opsknight.directory.users import UserFields, new_user
from opsknight.escalation import policies
from opsknight.escalation.models import EscalationPolicy
from opsknight.incidents.commands import (
    IncidentChange,
    NewIncident,
    create_incident,
    update_incident,
)
from opsknight.incidents.models import Incident
from opsknight.jobs import queue
from opsknight.schedules import service as schedules
from opsknight.schedules.models import Schedule
from opsknight.webhooks import guard
from opsknight.webhooks import service as webhooks
from opsknight.webhooks.models import Webhook

ADMIN_EMAIL = "demo-admin@opsknight.local"
ECHO = "http://127.0.0.1:8765"
KEY_NAME = "demo"
PEOPLE = [
    ("Alice Ng", "alice@opsknight.local"),
    ("Bob Okafor", "bob@opsknight.local"),
    ("Carol Diaz", "carol@opsknight.local"),
    ("Dave Kim", "dave@opsknight.local"),
]
INCIDENTS = [
    # (dedup key, service, title, urgency, status it is left in)
    ("demo-checkout-5xx", "Checkout API", "Checkout 5xx rate above 2%", "HIGH", "OPEN"),
    ("demo-db-lag", "Payments DB", "Replication lag 45 s on payments-db-2", "HIGH", "ACKNOWLEDGED"),
    ("demo-edge-cert", "Edge proxy", "TLS certificate expires in 7 days", "LOW", "SNOOZED"),
    ("demo-checkout-p99", "Checkout API", "Checkout p99 latency 1.8 s", "MEDIUM", "RESOLVED"),
]


class _LeaveToTheServer:
    """Jobs from the demo's changes (the first escalation steps) are not run here: the
    rows are due in the database and the server's sweeper runs them when it starts."""

    async def enqueue(self, name: str, *args: str, at: Any = None, job_id: Any = None) -> None:
        return None

    async def close(self) -> None:
        return None


@dataclass
class DemoResult:
    key: str
    integration_key: str
    admin_email: str


async def _person(name: str, email: str, role: str) -> User:
    found = await User.get_or_none(email_key=email)
    return found or await new_user(UserFields(name=name, email=email, role=role))


async def _named(model: Any, name: str, create: Any) -> Any:
    found = await model.get_or_none(name_key=name.lower())
    return found or await create()


async def run_demo() -> DemoResult:
    queue.use(_LeaveToTheServer())
    guard.configure(True)  # the demo's webhook and pager point at a local echo
    admin = await _person("Demo Admin", ADMIN_EMAIL, "ADMIN")
    me = Principal(admin.id, admin.name, "ADMIN", frozenset(ALL_SCOPES), "live")
    alice, bob, carol, dave = [await _person(n, e, "RESPONDER") for n, e in PEOPLE]

    payments = await _named(Team, "Payments", lambda: teams.create_team(
        me, teams.TeamFields(name="Payments", description="Checkout and the payments database",
                             lead_id=alice.id)))  # fmt: skip
    for member in (bob, carol):
        if not await payments.memberships.filter(user_id=member.id).exists():
            await teams.add_member(me, payments.id, teams.MemberFields(user_id=member.id))
    platform = await _named(Team, "Platform", lambda: teams.create_team(
        me, teams.TeamFields(name="Platform", lead_id=dave.id)))  # fmt: skip

    schedule = await _named(Schedule, "Payments primary", lambda: schedules.create_schedule(
        me, schedules.ScheduleFields(
        name="Payments primary", time_zone="Europe/Berlin", team_id=payments.id,
        layers=[
            {"name": "Weekly rotation", "rotation_type": "weekly",
             "handoff_start": "2024-01-01T09:00:00", "users": [alice.id, bob.id, carol.id]},
            {"name": "Business-hours lead", "rotation_type": "daily",
             "handoff_start": "2024-01-01T09:00:00", "users": [alice.id],
             "restrictions": [{"days": ["MON", "TUE", "WED", "THU", "FRI"],
                               "start_time": "09:00", "end_time": "17:00"}]},
        ],
    )))  # fmt: skip
    policy = await _named(EscalationPolicy, "Payments escalation", lambda: policies.create_policy(
        me, policies.PolicyFields(name="Payments escalation", repeat=True, repeat_limit=1, steps=[
            {"target_type": "SCHEDULE", "target_id": schedule.id, "delay_minutes": 10},
            {"target_type": "TEAM", "target_id": payments.id, "delay_minutes": 15},
        ])))  # fmt: skip

    rows: dict[str, Service] = {}
    for name, team, with_policy in (("Checkout API", payments, True),
                                    ("Payments DB", payments, True),
                                    ("Edge proxy", platform, False)):  # fmt: skip
        rows[name] = await _named(Service, name, lambda n=name, t=team, p=with_policy: (
            services.create_service(me, services.ServiceFields(
                name=n, team_id=t.id, escalation_policy_id=policy.id if p else None))
        ))  # fmt: skip
    checkout = rows["Checkout API"]
    integration = await Integration.filter(service_id=checkout.id).first()
    if integration is None:
        integration = await services.create_integration(
            me, checkout.id, services.IntegrationFields(name="Prometheus", type="events_api")
        )
    if not await Integration.filter(service_id=rows["Payments DB"].id).exists():
        await services.create_integration(
            me,
            rows["Payments DB"].id,
            services.IntegrationFields(name="Alertmanager", type="alertmanager"),
        )

    if not await ContactMethod.filter(user_id=alice.id).exists():
        await contact_methods.create_contact_method(
            me, alice.id, contact_methods.ContactFields("webhook", f"{ECHO}/page/alice")
        )
    if not await Webhook.filter(url=f"{ECHO}/webhooks").exists():
        await webhooks.create_webhook(
            me, webhooks.WebhookFields(url=f"{ECHO}/webhooks", name="Local echo", events=["*"])
        )

    for dedup_key, service_name, title, urgency, status in INCIDENTS:
        service = rows[service_name]
        if await Incident.filter(service_id=service.id, dedup_key=dedup_key).exists():
            continue
        incident = await create_incident(me, NewIncident(
            title=title, service_id=service.id, urgency=urgency, dedup_key=dedup_key,
            source="demo",
        ))  # fmt: skip
        change = IncidentChange(status=status)
        if status == "SNOOZED":
            change = replace(change, snooze_duration=240)
        if status == "RESOLVED":
            change = replace(
                change, resolution_note="Rolled back the deploy; latency is normal again."
            )
        if status != "OPEN":
            await update_incident(me, incident.id, change)

    await ApiKey.filter(user_id=admin.id, name=KEY_NAME, revoked_at=None).update(
        revoked_at=clock.now()
    )
    issued = await issue(admin, KEY_NAME, list(ALL_SCOPES), "live")
    return DemoResult(issued.secret, integration.key, ADMIN_EMAIL)


def instructions(result: DemoResult, base_url: str) -> str:
    api = f"{base_url}/api"
    return f"""OpsKnight demo data is ready (run it again any time: nothing is duplicated).

Admin API key (shown once; each demo run issues a new one): {result.key}

Start the server, and (in another terminal) an echo that prints what the demo's
webhook and pager receive; a page shows links to acknowledge or resolve the incident
from a browser, as the person paged:
  OPSKNIGHT_WEBHOOK_ALLOW_PRIVATE=true opsknight serve
  python3 -m opsknight.demo

Then try:
  export H="Authorization: Bearer {result.key}"
  curl -s {api}/incidents -H "$H"
  curl -s "{api}/incidents?status=OPEN,ACKNOWLEDGED&sort=urgency" -H "$H"
  curl -s {api}/on-call -H "$H"
  curl -s {api}/services -H "$H"
  curl -s -X POST {base_url}/v2/enqueue -H 'Content-Type: application/json' -d \\
    '{{"routing_key": "{result.integration_key}", "event_action": "trigger",
      "payload": {{"summary": "Checkout errors", "source": "prom", "severity": "critical"}}}}'
  open {base_url}/graphql in a browser for GraphiQL
"""


def page_text(body: bytes) -> str | None:
    """A page as a person would read it (with its response links), or None."""
    try:
        page = json.loads(body)
    except ValueError:
        return None
    if not isinstance(page, dict) or page.get("event") != "notification":
        return None
    incident = page.get("incident") or {}
    links = page.get("links") or {}
    lines = [
        f"PAGE for {page.get('recipient', {}).get('name')}: #{incident.get('number')} "
        f"{incident.get('urgency')} {incident.get('title')}",
        *(f"  {action.capitalize()}: {links[action]}" for action in ("acknowledge", "resolve")
          if links.get(action)),
    ]  # fmt: skip
    return "\n".join(lines)


class _Echo(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        page = page_text(body)
        if page is not None:
            print(page, "\n  (open a link in a browser: no API key needed)", flush=True)
        else:
            print(self.path, self.headers.get("X-OpsKnight-Event"), body.decode(), flush=True)
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return None


if __name__ == "__main__":
    # `python3 -m opsknight.demo`: the local echo the demo's webhook and pager point at.
    print(f"echoing POSTs on {ECHO}", flush=True)
    HTTPServer(("127.0.0.1", 8765), _Echo).serve_forever()
