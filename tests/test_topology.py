"""The production topology without Docker (docker-compose.yml runs the same): two
`opsknight serve` processes and one `opsknight worker` on one PostgreSQL and one Redis,
under a mixed load through both servers."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter

from tests.conftest import unique
from tests.receiver import Receiver, Reply
from tests.servers import Processes
from tests.test_jobs_processes import created, database, environment, needs_postgres

__all__ = ["database"]  # the fixture, shared with the jobs tests

READ_BUDGET = 40


@needs_postgres
async def test_two_servers_and_a_worker_share_limits_and_lose_no_event(
    database: str, redis_url: str, receiver: Receiver
) -> None:
    env = environment(database, 600, redis_url)
    env["OPSKNIGHT_RATE_LIMITS"] = f"events=100000/60,read={READ_BUDGET}/60,write=1000/60"
    group = Processes(env)
    try:
        key = group.admin_key()
        group.start("worker")
        _, first = await group.serve(key)
        _, second = await group.serve(key)
        async with first, second:
            service = await created(first, "/api/services", {"name": unique("svc")})
            integration = await created(
                second, f"/api/services/{service['id']}/integrations", {"name": "load"}
            )
            await created(
                first, "/api/webhooks",
                {"url": receiver.url("/hook"), "service_ids": [service["id"]],
                 "events": ["incident.triggered"]},
            )  # fmt: skip

            # 400 events over 40 dedup keys, half through each server, all at once, and
            # reads through both with one key while they run.
            events = [
                {"routing_key": integration["key"], "event_action": "trigger",
                 "dedup_key": f"key-{i % 40}",
                 "payload": {"summary": f"load {i}", "source": "bench", "severity": "error"}}
                for i in range(400)
            ]  # fmt: skip
            servers = [first, second]
            sent = asyncio.gather(
                *(servers[i % 2].post("/v2/enqueue", json=e) for i, e in enumerate(events))
            )
            reads = asyncio.gather(
                *(servers[i % 2].get("/api/services") for i in range(READ_BUDGET + 20))
            )
            event_responses, read_responses = await asyncio.gather(sent, reads)

            assert Counter(r.status_code for r in event_responses) == {202: 400}
            # One budget across both processes: exactly READ_BUDGET reads got through.
            codes = Counter(r.status_code for r in read_responses)
            assert codes == {200: READ_BUDGET, 429: 20}, codes
            limited = next(r for r in read_responses if r.status_code == 429)
            assert int(limited.headers["Retry-After"]) >= 1

            # No event lost or doubled: 40 incidents holding 400 alerts, one webhook each.
            await asyncio.sleep(1.0)  # the read window has not passed; use the DB directly
            totals = await _alert_totals(database, service["id"])
            assert totals == (40, 400)
            triggered = await receiver.wait_for("/hook", 40, timeout=20)
            await asyncio.sleep(0.5)
            assert len(receiver.at("/hook")) == 40
            assert len({r.json["incident"]["id"] for r in triggered}) == 40
    finally:
        group.stop_all()


async def _alert_totals(database: str, service_id: str) -> tuple[int, int]:
    import asyncpg

    conn = await asyncpg.connect(database.replace("postgres://", "postgresql://", 1))
    try:
        row = await conn.fetchrow(
            "SELECT count(*) AS incidents, coalesce(sum(alert_count), 0) AS alerts,"
            " (SELECT count(*) FROM alerts a JOIN incidents i ON a.incident_id = i.id"
            "  WHERE i.service_id = $1) AS stored"
            " FROM incidents WHERE service_id = $1",
            service_id,
        )
    finally:
        await conn.close()
    assert row["alerts"] == row["stored"]  # the counts agree with the stored alerts
    return int(row["incidents"]), int(row["alerts"])


async def test_a_stopping_server_finishes_requests_in_flight(
    database: str, receiver: Receiver
) -> None:
    group = Processes(environment(database, 1))
    try:
        key = group.admin_key()
        server, client = await group.serve(key)
        async with client:
            hook = await created(client, "/api/webhooks", {"url": receiver.url("/slow")})
            # A ping waits for its one attempt: the receiver takes 1.5 s to answer.
            receiver.script("/slow", Reply(200, delay=1.5))
            ping = asyncio.create_task(client.post(f"/api/webhooks/{hook['id']}/ping"))
            await receiver.wait_for("/slow", 1)
            server.send_signal(signal.SIGTERM)
            response = await ping
            assert response.status_code == 200
            assert response.json()["data"]["status"] == "delivered"
            # It then exits by itself (uvicorn re-raises the signal once it has drained).
            assert server.wait(timeout=15) in (0, -signal.SIGTERM)
    finally:
        group.stop_all()
