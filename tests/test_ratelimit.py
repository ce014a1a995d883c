"""Rate limits (SPEC §3): headers, 429, separate budgets, Redis sharing and fallback."""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from opsknight.app import create_app
from opsknight.config import Settings
from opsknight.ratelimit import Limiter, parse_limits
from tests.conftest import Api, make_api, unique


@pytest.fixture
async def tight(app: Any, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A second app with small limits, on the session's database (its ORM is already up)."""
    small = settings.model_copy(update={"rate_limits": "events=2/60,read=3/60,write=2/60"})
    transport = httpx.ASGITransport(app=create_app(small))
    async with httpx.AsyncClient(transport=transport, base_url="http://tight") as client:
        yield client


def test_limit_specs_parse_and_reject() -> None:
    limits = parse_limits("events=5/10,read=7/60")
    assert limits is not None and limits["events"].amount == 5 and limits["write"].amount == 100
    assert parse_limits("off") is None
    for bad in ("events=5", "reads=1/1", "read=-1/60", "events=1/60;read=2/60"):
        with pytest.raises(ValueError):
            parse_limits(bad)
    with pytest.raises(ValueError):
        Settings(rate_limits="everything=1/1")


async def test_every_api_response_carries_limit_headers(
    client: httpx.AsyncClient, admin: Api
) -> None:
    first = await admin.get("/api/users/me")
    second = await admin.get("/api/users/me")
    assert first.headers["x-ratelimit-limit"] == "300"
    assert (
        int(second.headers["x-ratelimit-remaining"])
        == int(first.headers["x-ratelimit-remaining"]) - 1
    )
    assert int(first.headers["x-ratelimit-reset"]) > 1_700_000_000
    for response in (await client.get("/api/incidents"), await admin.get("/api/nope"),
                     await admin.post("/api/services", {"name": ""})):  # fmt: skip
        assert response.status_code >= 400 and "x-ratelimit-remaining" in response.headers
    assert (await admin.post("/api/services", {"name": unique("s")})).headers[
        "x-ratelimit-limit"
    ] == "100"
    assert "x-ratelimit-limit" not in (await client.get("/healthz")).headers


async def test_over_the_limit_is_429_with_retry_after(tight: httpx.AsyncClient, admin: Api) -> None:
    codes = [
        (await tight.get("/api/users/me", headers=admin.headers)).status_code for _ in range(4)
    ]
    assert codes == [200, 200, 200, 429]
    refused = await tight.get("/api/users/me", headers=admin.headers)
    body = refused.json()
    seconds = int(refused.headers["retry-after"])
    assert 1 <= seconds <= 60
    assert body == {"error": {"code": "RATE_LIMITED", "message": f"Too many requests. Retry after {seconds} seconds.",
                              "retry_after": seconds, "details": {"retry_after": seconds}}}  # fmt: skip
    assert refused.headers["x-ratelimit-remaining"] == "0"


async def test_keys_and_classes_have_separate_budgets(
    tight: httpx.AsyncClient, client: httpx.AsyncClient, admin: Api
) -> None:
    other = await make_api(client)
    for _ in range(3):
        await tight.get("/api/users/me", headers=admin.headers)
    assert (await tight.get("/api/users/me", headers=admin.headers)).status_code == 429
    assert (
        await tight.get("/api/users/me", headers=other.headers)
    ).status_code == 200  # own budget
    # Writes are their own class: the exhausted reads do not block them.
    created = await tight.post("/api/teams", json={"name": unique("t")}, headers=admin.headers)
    assert created.status_code == 201 and created.headers["x-ratelimit-limit"] == "2"
    # A GraphQL mutation is a write; a query is a read.
    mutation = {
        "query": "mutation($n: String!) { createTeam(input: {name: $n}) { id } }",
        "variables": {"n": unique("g")},
    }
    assert (await tight.post("/graphql", json=mutation, headers=admin.headers)).headers[
        "x-ratelimit-remaining"
    ] == "0"
    assert (
        await tight.post("/graphql", json={"query": "{ viewer { id } }"}, headers=admin.headers)
    ).status_code == 429


async def test_events_count_per_integration_key(
    tight: httpx.AsyncClient, admin: Api, service: dict[str, Any]
) -> None:
    keys = [
        (await admin.create(f"/api/services/{service['id']}/integrations", {}))["key"]
        for _ in range(2)
    ]
    event = {"event_action": "trigger", "payload": {"summary": "s", "severity": "info"}}
    first = [
        (await tight.post("/v2/enqueue", json={**event, "routing_key": keys[0]})).status_code
        for _ in range(3)
    ]
    assert first == [202, 202, 429]
    assert (
        await tight.post("/v2/enqueue", json={**event, "routing_key": keys[1]})
    ).status_code == 202
    by_header = await tight.post(
        "/api/events", json=event, headers={"Authorization": f"Token token={keys[0]}"}
    )
    assert by_header.status_code == 429  # the same integration, whichever way it is named


async def test_without_a_credential_the_client_ip_is_limited(tight: httpx.AsyncClient) -> None:
    codes = [(await tight.get("/api/incidents")).status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]  # failed logins are limited too


async def test_two_processes_share_one_budget_through_redis(redis_url: str) -> None:
    limits = parse_limits("events=3/60,read=3/60,write=3/60")
    assert limits is not None
    prefix = f"opsknight-test-{secrets.token_hex(4)}"  # this run's own keys
    first, second = Limiter(limits, redis_url, prefix), Limiter(limits, redis_url, prefix)
    decisions = [
        await limiter.hit("read", "key:shared") for limiter in (first, second, first, second)
    ]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.remaining for d in decisions] == [2, 1, 0, 0]
    elsewhere = Limiter(limits, redis_url, f"{prefix}-other")
    assert (await elsewhere.hit("read", "key:shared")).allowed


async def test_a_limiter_outage_falls_back_to_memory(caplog: pytest.LogCaptureFixture) -> None:
    limits = parse_limits("events=2/60,read=2/60,write=2/60")
    assert limits is not None
    broken = Limiter(limits, "redis://127.0.0.1:1/0", "outage")  # nothing listens there
    with caplog.at_level(logging.ERROR, logger="opsknight.ratelimit"):
        decisions = [await broken.hit("write", "key:x") for _ in range(3)]
    assert [d.allowed for d in decisions] == [True, True, False]  # still limited, in memory
    assert any("limiting in memory" in r.message for r in caplog.records)


@pytest.mark.parametrize(
    "request_body",
    [
        # A query and a mutation in one document; the mutation is the one that runs.
        {"query": "query R { __typename } mutation M { createTeam(input: {name: \"NAME\"}) { id } }",
         "operationName": "M"},
        # A leading comma (insignificant in GraphQL) or a byte-order mark hid it from a regex.
        {"query": ",mutation { createTeam(input: {name: \"NAME\"}) { id } }"},
        {"query": "\ufeffmutation { createTeam(input: {name: \"NAME\"}) { id } }"},
        {"query": "mutation F { ...M } fragment M on Mutation { createTeam(input: {name: \"NAME\"}) { id } }"},
    ],
)  # fmt: skip
async def test_a_request_that_runs_a_mutation_spends_writes_however_it_is_written(
    tight: httpx.AsyncClient, client: httpx.AsyncClient, request_body: dict[str, Any]
) -> None:
    api = await make_api(client)
    body = {**request_body, "query": request_body["query"].replace("NAME", unique("t"))}
    first = await tight.post("/graphql", json=body, headers=api.headers)
    assert first.status_code == 200 and "errors" not in first.json(), first.text
    assert first.headers["x-ratelimit-limit"] == "2"  # the write class
    reads = await tight.post("/graphql", json={"query": "{ viewer { id } }"}, headers=api.headers)
    assert reads.headers["x-ratelimit-limit"] == "3"


async def test_aliased_mutations_spend_one_write_each(
    tight: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    api = await make_api(client)
    three = (
        "mutation { "
        + " ".join(f'a{i}: createTeam(input: {{name: "{unique("t")}"}}) {{ id }}' for i in range(3))
        + " }"
    )
    refused = await tight.post("/graphql", json={"query": three}, headers=api.headers)
    assert refused.status_code == 429  # 3 writes over a budget of 2: nothing runs
    two = (
        "mutation { "
        + " ".join(f'a{i}: createTeam(input: {{name: "{unique("t")}"}}) {{ id }}' for i in range(2))
        + " }"
    )
    spent = await tight.post("/graphql", json={"query": two}, headers=api.headers)
    assert spent.status_code == 200 and spent.headers["x-ratelimit-remaining"] == "0"


async def test_made_up_routing_keys_share_the_client_ips_budget(tight: httpx.AsyncClient) -> None:
    event = {"event_action": "trigger", "payload": {"summary": "s", "severity": "info"}}
    codes = [
        (
            await tight.post("/v2/enqueue", json={**event, "routing_key": secrets.token_hex(16)})
        ).status_code
        for _ in range(3)
    ]
    assert codes == [400, 400, 429]


async def test_invalid_events_do_not_spend_the_integrations_budget(
    tight: httpx.AsyncClient, admin: Api, service: dict[str, Any]
) -> None:
    key = (await admin.create(f"/api/services/{service['id']}/integrations", {}))["key"]
    bad = {"routing_key": key, "event_action": "explode"}
    for _ in range(5):
        assert (await tight.post("/v2/enqueue", json=bad)).status_code in (400, 429)
    good = {"routing_key": key, "event_action": "trigger",
            "payload": {"summary": "disk full", "source": "db1", "severity": "critical"}}  # fmt: skip
    assert (await tight.post("/v2/enqueue", json=good)).status_code == 202
    assert (await tight.post("/v2/enqueue", json=good)).status_code == 202
    assert (await tight.post("/v2/enqueue", json=good)).status_code == 429
