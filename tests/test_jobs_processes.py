"""Jobs across real processes: a crash mid-escalation, several servers and workers on one
PostgreSQL + Redis, and a Redis outage. Every process is `opsknight serve` or
`opsknight worker` on loopback ports; notifications and webhooks reach a receiver here."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import _create_postgres_database, _drop_postgres_database, unique
from tests.receiver import Receiver, eventually
from tests.servers import Processes, cli, free_port, wait_until_up

SERVER_URL = os.environ.get("OPSKNIGHT_TEST_DATABASE_URL")
needs_postgres = pytest.mark.skipif(
    not SERVER_URL, reason="several processes writing at once need PostgreSQL (the CI pass)"
)


@pytest.fixture
async def database(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """A fresh, migrated database of the kind the suite runs on."""
    if SERVER_URL:
        url, name = await _create_postgres_database(SERVER_URL)
    else:
        url, name = f"sqlite://{tmp_path_factory.mktemp('jobs') / 'jobs.db'}", ""
    cli({**os.environ, "OPSKNIGHT_DATABASE_URL": url}, "migrate")
    try:
        yield url
    finally:
        if SERVER_URL:
            await _drop_postgres_database(SERVER_URL, name)


def environment(database: str, time_scale: int, redis_url: str | None = None) -> dict[str, str]:
    env = {
        **os.environ,
        "OPSKNIGHT_DATABASE_URL": database,
        "OPSKNIGHT_TIME_SCALE": str(time_scale),
        "OPSKNIGHT_WEBHOOK_ALLOW_PRIVATE": "true",
        "OPSKNIGHT_SWEEP_SECONDS": "0.2",
        "OPSKNIGHT_RATE_LIMITS": "off",
        "OPSKNIGHT_LOG_LEVEL": "warning",
    }
    env.pop("OPSKNIGHT_REDIS_URL", None)
    if redis_url:
        env["OPSKNIGHT_REDIS_URL"] = redis_url
        env["OPSKNIGHT_REDIS_PREFIX"] = unique("jobs-test")
    return env


@pytest.fixture
def processes() -> Iterator[list[Processes]]:
    started: list[Processes] = []
    yield started
    for group in started:
        group.stop_all()


async def created(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(path, json=body)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def paging_setup(
    client: httpx.AsyncClient, receiver: Receiver, delays: list[int], **policy: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A user with a webhook contact, and a service whose policy pages them at each step."""
    user = await created(client, "/api/users", {"name": "Pager", "email": f"{unique('p')}@x.io"})
    await created(
        client,
        f"/api/users/{user['id']}/contact-methods",
        {"type": "webhook", "address": receiver.url(f"/u/{user['id']}")},
    )
    steps = [{"target_type": "USER", "target_id": user["id"], "delay_minutes": d} for d in delays]
    policy_row = await created(
        client, "/api/escalation-policies", {"name": unique("pol"), "steps": steps, **policy}
    )
    service = await created(
        client,
        "/api/services",
        {"name": unique("svc"), "escalation_policy_id": policy_row["id"]},
    )
    return user, service


async def entries(client: httpx.AsyncClient, incident_id: str, kind: str) -> list[Any]:
    body = (await client.get(f"/api/incidents/{incident_id}/timeline")).json()
    return [e for e in body["data"] if e["type"] == kind]


async def test_a_crash_mid_escalation_loses_and_doubles_no_step(
    database: str, receiver: Receiver, processes: list[Processes]
) -> None:
    # TIME_SCALE 120: step 1's 5-minute delay lasts 2.5 s.
    group = Processes(environment(database, 120))
    processes.append(group)
    key = group.admin_key()
    server, client = await group.serve(key)
    async with client:
        user, service = await paging_setup(client, receiver, [5, 0])
        incident = await created(
            client, "/api/incidents", {"title": "db down", "service_id": service["id"]}
        )
        await receiver.wait_for(f"/u/{user['id']}", 1)
        # Between the steps: step 1's page is delivered and recorded.
        await eventually(lambda: entries(client, incident["id"], "notification_sent"))
    server.send_signal(signal.SIGKILL)  # a crash: the in-process step-2 timer dies with it
    server.wait(timeout=10)
    await asyncio.sleep(3.0)  # step 2 falls due while nothing runs
    assert len(receiver.at(f"/u/{user['id']}")) == 1

    _, client = await group.serve(key)  # the restarted server's sweeper finds it due
    async with client:
        await receiver.wait_for(f"/u/{user['id']}", 2, timeout=10)

        async def completed() -> bool:
            found = (await client.get(f"/api/incidents/{incident['id']}")).json()["data"]
            return found["escalation_status"] == "COMPLETED"

        await eventually(completed, timeout=10)
        await asyncio.sleep(0.5)
        assert len(receiver.at(f"/u/{user['id']}")) == 2
        assert len(await entries(client, incident["id"], "escalation")) == 1
        assert len(await entries(client, incident["id"], "notification_sent")) == 2


@needs_postgres
async def test_two_servers_and_two_workers_run_each_step_exactly_once(
    database: str, redis_url: str, receiver: Receiver, processes: list[Processes]
) -> None:
    group = Processes(environment(database, 600, redis_url))
    processes.append(group)
    key = group.admin_key()
    metrics_port = free_port()
    group.start("worker", "--metrics-port", str(metrics_port))
    group.start("worker")
    _, first = await group.serve(key)
    _, second = await group.serve(key)
    async with first, second:
        # Three steps, 0.1 s apart, and one repeat: six runs per incident.
        user, service = await paging_setup(first, receiver, [1, 1, 1], repeat=True, repeat_limit=1)
        hook = await created(
            second, "/api/webhooks", {"url": receiver.url("/hook"), "service_ids": [service["id"]]}
        )
        incidents = [
            await created(client, "/api/incidents", {"title": f"#{i}", "service_id": service["id"]})
            for i, client in enumerate([first, second] * 5)
        ]

        async def exhausted() -> bool:
            listed = (await first.get(f"/api/incidents?service_id={service['id']}")).json()
            return all(i["escalation_status"] == "EXHAUSTED" for i in listed["data"])

        await eventually(exhausted, timeout=30)
        await receiver.wait_for(f"/u/{user['id']}", 60, timeout=15)
        await asyncio.sleep(1.0)  # anything doubled would arrive by now
        for incident in incidents:
            assert len(await entries(first, incident["id"], "escalation")) == 5
            assert len(await entries(second, incident["id"], "notification_sent")) == 6
        pages = Counter(r.json["incident"]["id"] for r in receiver.at(f"/u/{user['id']}"))
        assert pages == dict.fromkeys((i["id"] for i in incidents), 6)
        # Webhooks: one delivery per event, each received once.
        events = Counter(r.json["id"] for r in receiver.at("/hook"))
        assert len(events) == 10 + 10 * 5  # triggered, and five escalations each
        assert set(events.values()) == {1}
        listed = (await first.get(f"/api/webhooks/{hook['id']}/deliveries?limit=100")).json()
        assert {d["status"] for d in listed["data"]} == {"delivered"}
    # The worker exports its own metrics: what it delivered and how late steps ran.
    async with httpx.AsyncClient() as plain:
        text = (await plain.get(f"http://127.0.0.1:{metrics_port}/metrics")).text
    assert 'opsknight_webhook_deliveries_total{kind="webhook",outcome="delivered"}' in text
    assert "opsknight_escalation_lag_seconds_count" in text


@pytest.fixture
def own_redis() -> Iterator[tuple[str, list[str]]]:
    """A redis-server of this test's own on a free port (never the machine's shared one)."""
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail("redis-server is required under CI=true")
        pytest.skip("redis-server is not installed")
    port = free_port()
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no"]  # fmt: skip
    yield f"redis://127.0.0.1:{port}/0", command


@needs_postgres
async def test_a_redis_outage_delays_deliveries_and_loses_none(
    database: str,
    own_redis: tuple[str, list[str]],
    receiver: Receiver,
    processes: list[Processes],
) -> None:
    redis_url, command = own_redis
    redis = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        await asyncio.sleep(0.5)
        group = Processes(environment(database, 600, redis_url))
        processes.append(group)
        key = group.admin_key()
        group.start("worker")
        _, client = await group.serve(key)
        async with client:
            service = await created(client, "/api/services", {"name": unique("svc")})
            await created(
                client, "/api/webhooks",
                {"url": receiver.url("/hook"), "service_ids": [service["id"]]},
            )  # fmt: skip

            async def open_some(count: int) -> list[str]:
                return [
                    (await created(
                        client, "/api/incidents", {"title": "x", "service_id": service["id"]}
                    ))["id"]
                    for _ in range(count)
                ]  # fmt: skip

            before = await open_some(5)
            await receiver.wait_for("/hook", 5, timeout=10)
            redis.terminate()
            redis.wait(timeout=10)
            during = await open_some(5)  # enqueueing fails; the outbox rows are committed
            await asyncio.sleep(1.0)
            redis = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            after = await open_some(5)
            await receiver.wait_for("/hook", 15, timeout=20)
            await asyncio.sleep(1.0)
            received = Counter(r.json["incident"]["id"] for r in receiver.at("/hook"))
            assert received == dict.fromkeys(before + during + after, 1)
    finally:
        redis.terminate()
        redis.wait(timeout=10)


async def test_serve_with_worker_runs_jobs_itself_with_redis(
    database: str, redis_url: str, receiver: Receiver, processes: list[Processes]
) -> None:
    # One process for small setups: it enqueues to Redis and works the queue too.
    group = Processes(environment(database, 600, redis_url))
    processes.append(group)
    key = group.admin_key()
    port = free_port()
    group.start("serve", "--port", str(port), "--with-worker")
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {key}"}
    ) as client:
        await wait_until_up(client)
        user, service = await paging_setup(client, receiver, [1, 0])
        await created(client, "/api/incidents", {"title": "x", "service_id": service["id"]})
        pages = await receiver.wait_for(f"/u/{user['id']}", 2, timeout=10)
        assert [p.json["step"] for p in pages] == [1, 2]


@needs_postgres
async def test_two_workers_announce_each_shift_start_and_end_exactly_once(
    database: str, redis_url: str, receiver: Receiver, processes: list[Processes]
) -> None:
    from datetime import UTC, datetime, timedelta

    group = Processes(environment(database, 600, redis_url))
    processes.append(group)
    key = group.admin_key()
    group.start("worker")
    group.start("worker")
    _, client = await group.serve(key)
    async with client:
        people = []
        for index in range(3):
            person = await created(client, "/api/users", {
                "name": f"Cover {index}", "email": f"{unique('c')}@x.io", "role": "RESPONDER",
                "shift_end_notices": True,
            })  # fmt: skip
            await created(client, f"/api/users/{person['id']}/contact-methods",
                          {"type": "webhook", "address": receiver.url(f"/h/{person['id']}")})  # fmt: skip
            people.append(person)
        start = datetime.now(UTC) + timedelta(seconds=1)
        for index, person in enumerate(people):
            schedule = await created(client, "/api/schedules", {
                "name": unique("primary"), "time_zone": "UTC",
                "layers": [{"rotation_type": "weekly", "handoff_start": "2024-01-01T00:00:00",
                            "users": [people[(index + 1) % 3]["id"]]}],
            })  # fmt: skip
            await created(client, f"/api/schedules/{schedule['id']}/overrides", {
                "user_id": person["id"], "start": start.isoformat(),
                "end": (start + timedelta(seconds=2)).isoformat(),
            })  # fmt: skip
        # Each person covers one schedule for 2 s (a start and an end), and their own
        # layer's shift on another is cut by that schedule's cover (an end, then a start).
        for person in people:
            await receiver.wait_for(f"/h/{person['id']}", 4, timeout=15)
        await asyncio.sleep(2.0)  # both workers sweep every 0.2 s: a double would be here
        for person in people:
            notices = receiver.at(f"/h/{person['id']}")
            assert sorted(n.json["kind"] for n in notices) == ["end", "end", "start", "start"]
            assert {n.json["event"] for n in notices} == {"handoff"}
