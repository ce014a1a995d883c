"""Live feed and GraphQL read benchmark.

1. Fan-out on one process: N WebSocket subscribers (graphql-transport-ws) on one
   `opsknight serve` (SQLite, no Redis); K changes made one at a time through REST.
   Latency = when a subscriber receives the change minus the change's `occurredAt` (written
   in the change's transaction, so it includes the commit).
2. The same across two processes through Redis: subscribers on server A, changes made
   through server B.
3. Memory per idle subscriber: the server's resident memory before and after N idle
   subscriptions, divided by N.
4. `incidents(limit: 100)` with nested service/team/assignee/notes on 100,000 incidents:
   sequential requests to one server.

The client is one Python process on the same 2-core machine as the servers.

    python -m benchmarks.live [--subscribers 1000] [--changes 20] [--redis redis://127.0.0.1:6379/0]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import secrets
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import websockets

from benchmarks.events import _free_port, _opsknight, _wait_up

SUBSCRIPTION = """subscription($f: IncidentChangeFilter) {
  incidentChanged(filter: $f) { id occurredAt incident { id status } } }"""
WARM_UP = 2  # changes sent first and left out of the figures
NESTED = """query($n: Int) { incidents(limit: $n) { nodes { id title
  service { name team { name } } assignee { name } notes { author { name } } } } }"""


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Cluster:
    def __init__(self, workdir: Path, redis_url: str | None) -> None:
        self.env = {
            **os.environ,
            "OPSKNIGHT_DATABASE_URL": f"sqlite://{workdir / 'live.db'}",
            "OPSKNIGHT_RATE_LIMITS": "off",
            "OPSKNIGHT_LOG_LEVEL": "warning",
        }
        if redis_url:
            self.env["OPSKNIGHT_REDIS_URL"] = redis_url
            self.env["OPSKNIGHT_REDIS_PREFIX"] = f"bench-{secrets.token_hex(4)}"
        self.processes: list[subprocess.Popen[bytes]] = []

    def prepare(self) -> str:
        _opsknight(self.env, "migrate")
        _opsknight(self.env, "user", "--name", "Bench", "--email", "b@example.com", "--role",
                   "admin")  # fmt: skip
        created = _opsknight(self.env, "api-key", "create", "--owner", "b@example.com",
                             "--name", "bench", "--json")  # fmt: skip
        key: str = json.loads(created)["key"]
        return key

    def serve(self) -> tuple[subprocess.Popen[bytes], str]:
        port = _free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "opsknight.cli", "serve", "--port", str(port)],
            env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self.processes.append(process)
        _wait_up(f"http://127.0.0.1:{port}/healthz")
        return process, f"127.0.0.1:{port}"

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.wait(timeout=30)


async def _subscribe(address: str, key: str, service_id: str, count: int) -> list[Any]:
    sockets = []
    for _ in range(count):
        socket = await websockets.connect(
            f"ws://{address}/graphql", subprotocols=["graphql-transport-ws"], max_queue=None
        )
        await socket.send(json.dumps(
            {"type": "connection_init", "payload": {"Authorization": f"Bearer {key}"}}
        ))  # fmt: skip
        sockets.append(socket)
    for socket in sockets:
        assert json.loads(await socket.recv())["type"] == "connection_ack"
        await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": {
            "query": SUBSCRIPTION, "variables": {"f": {"serviceIds": [service_id]}}}}))  # fmt: skip
    await asyncio.sleep(2.0)
    return sockets


async def _fan_out(
    subscribe_at: str, change_at: str, key: str, subscribers: int, changes: int
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=f"http://{change_at}", headers=headers) as client:
        service = (await client.post("/api/services", json={"name": secrets.token_hex(6)})).json()
        service_id = service["data"]["id"]
        incident = (await client.post(
            "/api/incidents", json={"title": "fan-out", "service_id": service_id}
        )).json()["data"]  # fmt: skip
        sockets = await _subscribe(subscribe_at, key, service_id, subscribers)
        latencies: list[float] = []
        by_change: dict[str, list[float]] = {}
        total = changes + WARM_UP

        async def receive(socket: Any) -> None:
            seen = 0
            while seen < total:
                raw = await asyncio.wait_for(socket.recv(), 60)
                arrived = time.time()
                message = json.loads(raw)
                if message["type"] != "next":
                    continue
                change = message["payload"]["data"]["incidentChanged"]
                occurred = datetime.fromisoformat(change["occurredAt"]).timestamp()
                by_change.setdefault(change["id"], []).append(arrived - occurred)
                seen += 1

        receivers = [asyncio.create_task(receive(s)) for s in sockets]
        # The client holds 1,000 connections too: its own full collections would be
        # counted as delivery latency. They are paused while it measures.
        gc.collect()
        gc.freeze()
        gc.disable()
        try:
            for i in range(total):
                urgency = "HIGH" if i % 2 == 0 else "LOW"
                response = await client.patch(
                    f"/api/incidents/{incident['id']}", json={"urgency": urgency}
                )
                assert response.status_code == 200, response.text
                await asyncio.sleep(0.5)  # one change's fan-out at a time
            await asyncio.gather(*receivers)
        finally:
            gc.enable()
            gc.unfreeze()
        await asyncio.gather(*(s.close() for s in sockets))
    # Event ids grow with time: the first WARM_UP changes are left out of the figures.
    measured = sorted(by_change)[WARM_UP:]
    for change_id in measured:
        latencies.extend(by_change[change_id])
    slowest_per_change = [round(max(by_change[c]) * 1000) for c in measured]
    return {
        "slowest_delivery_per_change_ms": slowest_per_change,
        "deliveries": len(latencies),
        "p50_ms": round(_percentile(latencies, 0.5) * 1000, 1),
        "p99_ms": round(_percentile(latencies, 0.99) * 1000, 1),
        "max_ms": round(max(latencies) * 1000, 1),
    }


async def _idle_memory(pid: int, address: str, key: str, subscribers: int) -> dict[str, Any]:
    before = _rss_kb(pid)
    sockets = await _subscribe(address, key, "svc_none", subscribers)
    after = _rss_kb(pid)
    await asyncio.gather(*(s.close() for s in sockets))
    return {
        "rss_before_mb": round(before / 1024, 1),
        "rss_after_mb": round(after / 1024, 1),
        "kb_per_subscriber": round((after - before) / subscribers, 1),
    }


def _seed_incidents(database: Path, count: int) -> None:
    """100,000 incidents on 10 services with teams, assignees and a note on every tenth."""
    db = sqlite3.connect(database)
    now = datetime.now(UTC)
    stamp = now.isoformat()
    db.executemany(
        "INSERT INTO teams (id, name, name_key, created_at, updated_at) VALUES (?,?,?,?,?)",
        [(f"team_seed{i}", f"Team {i}", f"team {i}", stamp, stamp) for i in range(10)],
    )
    db.executemany(
        "INSERT INTO users (id, name, email, email_key, role, status, time_zone, created_at,"
        " updated_at) VALUES (?,?,?,?,'RESPONDER','ACTIVE','UTC',?,?)",
        [(f"usr_seed{i}", f"User {i}", f"u{i}@seed", f"u{i}@seed", stamp, stamp)
         for i in range(50)],
    )  # fmt: skip
    db.executemany(
        "INSERT INTO services (id, name, name_key, team_id, created_at, updated_at)"
        " VALUES (?,?,?,?,?,?)",
        [(f"svc_seed{i}", f"Seed {i}", f"seed {i}", f"team_seed{i}", stamp, stamp)
         for i in range(10)],
    )  # fmt: skip
    rows = []
    for n in range(count):
        created = (now - timedelta(seconds=count - n)).isoformat()
        rows.append((
            f"inc_seed{n:07d}", n + 1, "live", f"Seeded incident {n}", "OPEN", "HIGH",
            f"svc_seed{n % 10}", f"usr_seed{n % 50}", 1, "NONE", 0, 1, "{}", "[]", "[]", 0,
            "[]", 1, created, created, created,
        ))  # fmt: skip
    db.executemany(
        "INSERT INTO incidents (id, number, environment, title, status, urgency, service_id,"
        " assignee_id, active, escalation_status, escalation_round, alert_count,"
        " custom_details, links, images, suppress_notifications, related_incidents, version,"
        " created_at, updated_at, last_status_change)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        rows,
    )
    db.executemany(
        "INSERT INTO notes (id, incident_id, author_id, content, is_internal, created_at)"
        " VALUES (?,?,?,?,0,?)",
        [(f"note_seed{n:07d}", f"inc_seed{n:07d}", f"usr_seed{n % 50}", "seeded", stamp)
         for n in range(0, count, 10)],
    )  # fmt: skip
    db.execute("UPDATE incident_counters SET value = ? WHERE environment = 'live'", (count,))
    db.commit()
    db.close()


def _nested_reads(address: str, key: str, requests: int) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {key}"}
    timings = []
    with httpx.Client(base_url=f"http://{address}", headers=headers, timeout=30) as client:
        for i in range(requests + 10):
            started = time.perf_counter()
            response = client.post("/graphql", json={"query": NESTED, "variables": {"n": 100}})
            elapsed = time.perf_counter() - started
            assert response.status_code == 200 and "errors" not in response.json(), response.text
            assert len(response.json()["data"]["incidents"]["nodes"]) == 100
            if i >= 10:  # warm-up excluded
                timings.append(elapsed)
    return {
        "requests": len(timings),
        "p50_ms": round(statistics.median(timings) * 1000, 1),
        "p99_ms": round(_percentile(timings, 0.99) * 1000, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--changes", type=int, default=20)
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        local = Cluster(Path(tmp) / "one", None)
        (Path(tmp) / "one").mkdir()
        key = local.prepare()
        try:
            process, address = local.serve()
            results["memory_idle"] = asyncio.run(
                _idle_memory(process.pid, address, key, args.subscribers)
            )
            results["fan_out_one_process"] = asyncio.run(
                _fan_out(address, address, key, args.subscribers, args.changes)
            )
        finally:
            local.stop()

        shared = Cluster(Path(tmp) / "two", args.redis)
        (Path(tmp) / "two").mkdir()
        key = shared.prepare()
        try:
            _, first = shared.serve()
            _, second = shared.serve()
            results["fan_out_two_processes_redis"] = asyncio.run(
                _fan_out(first, second, key, args.subscribers, args.changes)
            )
        finally:
            shared.stop()

        big = Cluster(Path(tmp) / "big", None)
        (Path(tmp) / "big").mkdir()
        key = big.prepare()
        started = time.perf_counter()
        _seed_incidents(Path(tmp) / "big" / "live.db", args.incidents)
        results["seeded_seconds"] = round(time.perf_counter() - started, 1)
        try:
            _, address = big.serve()
            results["graphql_incidents_100_nested"] = _nested_reads(address, key, 300)
        finally:
            big.stop()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
