"""Event rules (issue: run incidents like the best teams, item 3): ordered rules per
service and a global set that set fields, route, suppress, suspend, annotate and extract;
every alert keeps the trace of how its event was handled.

Tests run the clock 600 times faster: a rule suspending for 600 s holds a trigger 1 s."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from opsknight.errors import ValidationFailed
from opsknight.events import release
from opsknight.events.payload import parse_event
from opsknight.rules import matching
from tests.conftest import Api, make_api, unique

# --- rules checked and matched (pure) -------------------------------------------------------


def _event(**payload: Any) -> Any:
    body = {"summary": "CPU high on web-1", "source": "web-1", "severity": "warning", **payload}
    return parse_event({"event_action": "trigger", "dedup_key": "cpu", "payload": body})


def _rule(conditions: list[dict[str, Any]], actions: dict[str, Any]) -> matching.Rule:
    return matching.compile_rule(
        "rul_test", None, "", matching.checked_conditions(conditions),
        matching.checked_actions(actions),
    )  # fmt: skip


def test_conditions_read_fields_and_custom_detail_paths() -> None:
    event = _event(custom_details={"labels": {"team": "db", "replicas": 3}})
    trace: list[dict[str, Any]] = []
    holds = {
        "equals": [{"field": "source", "operator": "equals", "value": "web-1"}],
        "path": [{"field": "custom_details.labels.team", "operator": "equals", "value": "db"}],
        "number as text": [{"field": "custom_details.labels.replicas", "operator": "equals",
                            "value": "3"}],
        "contains": [{"field": "summary", "operator": "contains", "value": "CPU"}],
        "matches": [{"field": "summary", "operator": "matches", "value": r"web-\d+$"}],
        "exists": [{"field": "severity", "operator": "exists"}],
        "not_exists": [{"field": "component", "operator": "not_exists"}],
        "not_equals": [{"field": "severity", "operator": "not_equals", "value": "critical"}],
        "every condition": [],
    }  # fmt: skip
    for name, conditions in holds.items():
        rule = _rule(conditions, {"priority": "P2"})
        assert matching.first_match([rule], event, trace) is rule, name
    fails = [
        [{"field": "source", "operator": "equals", "value": "WEB-1"}],  # case-sensitive
        [{"field": "custom_details.labels.nope", "operator": "exists"}],
        [{"field": "summary", "operator": "contains", "value": "CPU"},
         {"field": "component", "operator": "exists"}],  # all must hold
    ]  # fmt: skip
    for conditions in fails:
        assert matching.first_match([_rule(conditions, {"priority": "P2"})], event, trace) is None


def test_a_runaway_regular_expression_counts_as_no_match_and_is_traced() -> None:
    event = _event(custom_details={"log": "a" * 5000 + "!"})
    slow = _rule([{"field": "custom_details.log", "operator": "matches", "value": r"^(a|a?)+$"}],
                 {"priority": "P1"})  # fmt: skip
    fallback = _rule([], {"priority": "P3"})
    trace: list[dict[str, Any]] = []
    assert matching.first_match([slow, fallback], event, trace) is fallback
    assert trace == [{"step": "rule_timed_out", "rule_id": "rul_test"}]


def test_extractions_run_first_and_set_fields() -> None:
    event = _event(custom_details={"host": "db-7.eu-west.internal"})
    rule = _rule([], {"extract": [
        {"source": "custom_details.host", "regex": r"^([a-z]+-\d+)", "target": "component"},
        {"source": "custom_details.host", "regex": r"\.([a-z-]+)\.", "target":
         "custom_details.region"}], "severity": "critical", "annotate": "See the DB runbook"})  # fmt: skip
    trace: list[dict[str, Any]] = []
    matching.apply(rule, event, trace)
    assert event.component == "db-7" and event.custom_details["region"] == "eu-west"
    assert event.severity == "critical" and event.notes == [("rul_test", "See the DB runbook")]
    assert trace[0]["applied"]["extract"] == ["component", "custom_details.region"]


def test_bad_rules_are_refused_naming_the_field() -> None:
    cases = {
        "conditions[0].value": ([{"field": "summary", "operator": "matches", "value": "(oops"}],
                                {"priority": "P1"}),
        "conditions[0].field": ([{"field": "payload.summary", "operator": "exists"}],
                                {"priority": "P1"}),
        "conditions[0].operator": ([{"field": "summary", "operator": "like", "value": "x"}],
                                   {"priority": "P1"}),
        "actions.suppress": ([], {"suppress": True, "suspend_seconds": 60}),
        "actions.suspend_seconds": ([], {"suspend_seconds": 0}),
        "actions.extract[0].regex": ([], {"extract": [
            {"source": "summary", "regex": "no group", "target": "component"}]}),
        "actions.escalate": ([], {"escalate": True}),
        "actions": ([], {}),
    }  # fmt: skip
    for field, (conditions, actions) in cases.items():
        with pytest.raises(ValidationFailed) as refused:
            matching.checked_conditions(conditions)
            matching.checked_actions(actions)
        assert refused.value.details["field"] == field, (field, refused.value.message)


# --- over HTTP ------------------------------------------------------------------------------


@pytest.fixture
async def admin(unlimited: httpx.AsyncClient) -> AsyncIterator[Api]:
    api = await make_api(unlimited)
    yield api
    # Global rules see every event of the suite: each test removes the ones it made.
    listed = (await api.get("/api/event-rules", params={"limit": 100})).json()["data"]
    for rule in listed:
        await api.delete(f"/api/event-rules/{rule['id']}")


async def service_with_key(api: Api, **fields: Any) -> tuple[dict[str, Any], str]:
    service = await api.create("/api/services", {"name": unique("rules"), **fields})
    integration = await api.create(
        f"/api/services/{service['id']}/integrations", {"name": "Prometheus"}
    )
    return service, integration["key"]


async def send(
    client: httpx.AsyncClient, key: str, dedup: str, action: str = "trigger", **payload: Any
) -> dict[str, Any]:
    body = {"summary": f"Disk full {dedup}", "source": "db-1", "severity": "warning", **payload}
    sent = await client.post("/v2/enqueue", json={
        "routing_key": key, "event_action": action, "dedup_key": dedup, "payload": body})  # fmt: skip
    assert sent.status_code == 202, sent.text
    answer: dict[str, Any] = sent.json()["data"]
    return answer


async def alerts_of(api: Api, incident_id: str) -> list[dict[str, Any]]:
    listed = await api.get(f"/api/incidents/{incident_id}/alerts")
    alerts: list[dict[str, Any]] = listed.json()["data"]
    return alerts


async def paged_person(api: Api, receiver: Any) -> tuple[dict[str, Any], dict[str, Any], str]:
    """A person with a webhook contact method on a one-step policy: (person, policy, path)."""
    person = await api.create("/api/users", {"name": "On call", "role": "RESPONDER",
                                             "email": f"{unique('oc')}@example.com"})  # fmt: skip
    path = f"/pages/{person['id']}"
    await api.create(f"/api/users/{person['id']}/contact-methods",
                     {"type": "webhook", "address": receiver.url(path)})  # fmt: skip
    policy = await api.create("/api/escalation-policies", {"name": unique("pol"), "steps": [
        {"target_type": "USER", "target_id": person["id"], "delay_minutes": 0}]})  # fmt: skip
    return person, policy, path


async def test_rules_are_checked_on_save_and_a_refusal_stores_nothing(admin: Api) -> None:
    first, _ = await service_with_key(admin)
    second, _ = await service_with_key(admin)
    refusals = {
        "conditions[0].value": {"conditions": [
            {"field": "summary", "operator": "matches", "value": "[unclosed"}],
            "actions": {"priority": "P1"}},
        "actions.route_to": {"actions": {"route_to": first["id"]}},
        "service_id": {"service_id": "svc_nosuchservice", "actions": {"priority": "P1"}},
        "actions.urgency": {"actions": {"urgency": "URGENT"}},
    }  # fmt: skip
    for field, body in refusals.items():
        answer = await admin.post("/api/event-rules", {"service_id": first["id"], **body})
        assert answer.status_code == 400, (field, answer.text)
        assert answer.json()["error"]["details"]["field"] == field, (field, answer.text)
    listed = await admin.get("/api/event-rules", params={"service_id": first["id"]})
    assert listed.json()["data"] == []

    onward = await admin.create("/api/event-rules", {
        "service_id": first["id"], "actions": {"route_to": second["id"]}})  # fmt: skip
    back = await admin.post("/api/event-rules", {
        "service_id": second["id"], "actions": {"route_to": first["id"]}})  # fmt: skip
    assert back.status_code == 400
    assert "loop" in back.json()["error"]["message"]
    assert back.json()["error"]["details"]["field"] == "actions.route_to"
    missing = await admin.post("/api/event-rules", {
        "service_id": second["id"], "actions": {"route_to": "svc_nosuchservice"}})  # fmt: skip
    assert missing.status_code == 400
    assert (await admin.get("/api/event-rules", params={"service_id": second["id"]})).json()[
        "data"
    ] == []
    assert (await admin.delete(f"/api/event-rules/{onward['id']}")).status_code == 200
    viewer = await make_api(admin.client, role="RESPONDER")
    assert (await viewer.get("/api/event-rules")).status_code == 200
    refused = await viewer.post("/api/event-rules", {"actions": {"priority": "P1"}})
    assert refused.status_code == 403


async def test_the_first_matching_rule_sets_fields_and_notes_and_the_alert_keeps_the_trace(
    admin: Api, client: httpx.AsyncClient, receiver: Any
) -> None:
    person, policy, path = await paged_person(admin, receiver)
    service, key = await service_with_key(admin, escalation_policy_id=policy["id"])
    general = await admin.create("/api/event-rules", {
        "service_id": service["id"], "description": "everything else", "conditions": [],
        "actions": {"priority": "P5"}})  # fmt: skip
    database = await admin.create("/api/event-rules", {
        "service_id": service["id"], "position": 1, "description": "database disks",
        "conditions": [{"field": "source", "operator": "matches", "value": "^db-\\d+$"},
                       {"field": "custom_details.mount", "operator": "equals", "value": "/data"}],
        "actions": {"severity": "critical", "urgency": "HIGH", "priority": "P1",
                    "annotate": "Runbook: https://runbooks.example/disk",
                    "extract": [{"source": "summary", "regex": "Disk full (\\S+)",
                                 "target": "component"}]}})  # fmt: skip
    assert database["position"] == 1
    ordered = (await admin.get("/api/event-rules", params={"service_id": service["id"]})).json()
    assert [r["id"] for r in ordered["data"]] == [database["id"], general["id"]]

    opened = await send(client, key, "vol-9", custom_details={"mount": "/data"})
    assert opened["action"] == "triggered"
    incident = (await admin.get(f"/api/incidents/{opened['incident']['id']}")).json()["data"]
    assert (incident["priority"], incident["urgency"], incident["component"]) == (
        "P1",
        "HIGH",
        "vol-9",
    )
    notes = (await admin.get(f"/api/incidents/{incident['id']}/notes")).json()["data"]
    assert [n["content"] for n in notes] == ["Runbook: https://runbooks.example/disk"]
    other = await send(client, key, "vol-1", custom_details={"mount": "/tmp"})
    shown = (await admin.get(f"/api/incidents/{other['incident']['id']}")).json()["data"]
    assert (shown["priority"], shown["urgency"]) == ("P5", "MEDIUM")  # severity warning

    await send(client, key, "vol-9", custom_details={"mount": "/data"})  # folds in
    await receiver.wait_for(path, 2)
    first, folded = await alerts_of(admin, incident["id"])
    assert [s["step"] for s in first["trace"]] == ["rule", "opened"]
    assert first["trace"][0]["rule_id"] == database["id"]
    assert first["trace"][0]["applied"]["priority"] == "P1"
    assert folded["trace"][-1] == {"step": "deduplicated", "incident_id": incident["id"]}
    assert first["severity"] == "critical"  # as the rule set it
    assert first["payload"]["payload"]["severity"] == "warning"  # as it was sent
    traced = (await admin.get(f"/api/alerts/{first['id']}")).json()["data"]
    assert traced["incident_id"] == incident["id"]
    assert [p["user_id"] for p in traced["paged"]] == [person["id"]]
    assert traced["paged"][0]["channel"] == "WEBHOOK"
    folded_read = (await admin.get(f"/api/alerts/{folded['id']}")).json()["data"]
    assert folded_read["paged"] == []
    assert (await admin.get("/api/alerts/alr_nosuchalert")).status_code == 404


async def test_a_global_rule_routes_by_a_label_and_the_resolve_follows_it(
    admin: Api, client: httpx.AsyncClient
) -> None:
    shared, key = await service_with_key(admin)
    payments, _ = await service_with_key(admin)
    team_label = unique("payments")
    routing = await admin.create("/api/event-rules", {
        "description": "payments alerts to the payments service",
        "conditions": [{"field": "custom_details.team", "operator": "equals", "value": team_label}],
        "actions": {"route_to": payments["id"]}})  # fmt: skip
    assert routing["service_id"] is None
    global_rules = (await admin.get("/api/event-rules")).json()["data"]
    assert routing["id"] in [r["id"] for r in global_rules]
    await admin.create("/api/event-rules", {
        "service_id": payments["id"], "actions": {"priority": "P2"}})  # fmt: skip

    opened = await send(client, key, "checkout", custom_details={"team": team_label})
    incident = (await admin.get(f"/api/incidents/{opened['incident']['id']}")).json()["data"]
    assert incident["service"]["id"] == payments["id"] and incident["priority"] == "P2"
    (alert,) = await alerts_of(admin, incident["id"])
    steps = [s["step"] for s in alert["trace"]]
    assert steps == ["rule", "route", "rule", "opened"]
    assert alert["trace"][1] == {"step": "route", "rule_id": routing["id"],
                                 "from": shared["id"], "to": payments["id"]}  # fmt: skip
    unrouted = await send(client, key, "checkout", custom_details={"team": "other"})
    assert unrouted["incident"]["id"] != incident["id"]  # stays on the shared service

    resolved = await send(client, key, "checkout", "resolve", custom_details={"team": team_label})
    assert resolved["action"] == "resolved" and resolved["incident"]["id"] == incident["id"]


async def test_a_suppress_rule_stores_the_alert_and_pages_no_one(
    admin: Api, client: httpx.AsyncClient, receiver: Any
) -> None:
    _, policy, path = await paged_person(admin, receiver)
    service, key = await service_with_key(admin, escalation_policy_id=policy["id"])
    rule = await admin.create("/api/event-rules", {
        "service_id": service["id"],
        "conditions": [{"field": "severity", "operator": "equals", "value": "info"}],
        "actions": {"suppress": True}})  # fmt: skip
    quiet = await send(client, key, "chatty", severity="info")
    assert quiet["incident"]["status"] == "SUPPRESSED"
    entries = (await admin.get(f"/api/incidents/{quiet['incident']['id']}/timeline")).json()
    assert entries["data"][0]["details"]["suppressed_by_rule"] == rule["id"]
    loud = await send(client, key, "real", severity="critical")
    assert loud["incident"]["status"] == "OPEN"
    await receiver.wait_for(path, 1)
    await asyncio.sleep(0.3)
    assert len(receiver.at(path)) == 1  # only the loud one paged


async def test_a_suspended_blip_never_opens_an_incident_and_a_lasting_problem_does(
    admin: Api, client: httpx.AsyncClient, receiver: Any
) -> None:
    _, policy, path = await paged_person(admin, receiver)
    service, key = await service_with_key(admin, escalation_policy_id=policy["id"])
    await admin.create(
        "/api/event-rules", {"service_id": service["id"], "actions": {"suspend_seconds": 600}}
    )  # 1 s in tests

    held = await send(client, key, "blip")
    assert held["action"] == "suspended" and held["incident"] is None
    cleared = await send(client, key, "blip", "resolve")
    assert cleared["action"] == "resolved" and cleared["incident"] is None
    # A storm for one key is held together and released into one incident.
    storm = await asyncio.gather(*(send(client, key, "lasting") for _ in range(20)))
    assert {s["action"] for s in storm} == {"suspended"}
    listed = await admin.get("/api/suspended-events", params={"service_id": service["id"]})
    assert {(e["dedup_key"], e["status"]) for e in listed.json()["data"]} == {
        ("blip", "CANCELLED"),
        ("lasting", "PENDING"),
    }

    await asyncio.sleep(1.2)
    # Every process's sweeper may see them due at once: each is released exactly once.
    await asyncio.gather(release.sweep(), release.sweep(), release.sweep())
    incidents = (await admin.get("/api/incidents", params={
        "service_id": service["id"], "status": "OPEN,ACKNOWLEDGED,RESOLVED"})).json()["data"]  # fmt: skip
    assert [(i["dedup_key"], i["alert_count"]) for i in incidents] == [("lasting", 20)]
    await receiver.wait_for(path, 1)
    await asyncio.sleep(0.3)
    assert len(receiver.at(path)) == 1  # the blip paged no one
    alerts = await alerts_of(admin, incidents[0]["id"])
    assert [s["step"] for s in alerts[0]["trace"]] == ["rule", "suspended", "released", "opened"]
    released = await admin.get("/api/suspended-events", params={
        "service_id": service["id"], "status": "OPENED", "limit": 100})  # fmt: skip
    assert {e["incident_id"] for e in released.json()["data"]} == {incidents[0]["id"]}
    assert released.json()["pagination"]["total"] == 20
    # With the incident open, a new trigger folds in at once.
    assert (await send(client, key, "lasting"))["action"] == "deduplicated"


async def test_rules_are_readable_and_editable_through_graphql(admin: Api) -> None:
    service, _ = await service_with_key(admin)
    made = await admin.graphql(
        """mutation($input: EventRuleInput!) {
          createEventRule(input: $input) { id position serviceId actions }
        }""",
        {"input": {"serviceId": service["id"], "actions": {"priority": "P4"}}},
    )
    rule = made["data"]["createEventRule"]
    assert rule["position"] == 1 and rule["actions"] == {"priority": "P4"}
    changed = await admin.graphql(
        """mutation($id: ID!, $input: EventRuleInput!) {
          updateEventRule(id: $id, input: $input) { disabled conditions }
        }""",
        {"id": rule["id"], "input": {"disabled": True,
                                     "conditions": [{"field": "summary", "operator": "exists"}]}},
    )  # fmt: skip
    assert changed["data"]["updateEventRule"] == {
        "disabled": True,
        "conditions": [{"field": "summary", "operator": "exists"}],
    }
    bad = await admin.graphql(
        """mutation($id: ID!, $input: EventRuleInput!) {
          updateEventRule(id: $id, input: $input) { id }
        }""",
        {"id": rule["id"], "input": {"conditions": [
            {"field": "summary", "operator": "matches", "value": "*"}]}},
    )  # fmt: skip
    assert bad["errors"][0]["extensions"]["code"] == "VALIDATION_ERROR"
