"""Paging benchmark: 1,000 incidents opened at once, each paging 3 people by email.

One `opsknight serve` process on a fresh SQLite database; an SMTP server (aiosmtpd) on
loopback in a process of its own; one escalation step that pages a team of three, each
with an email contact method. 1,000 Events API triggers with distinct dedup
keys on 64 connections; the benchmark waits until the SMTP server has accepted all 3,000
messages (or a bound of 180 s). Reported: the time until the last message is accepted,
the first-page latency of each incident (from its opening, the incident's created_at,
to the first email about it accepted by the SMTP server; one machine, one clock)
p50/p99, messages lost, and duplicates. Loopback only, bounded in time.

    python -m benchmarks.notify [--incidents 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import queue
import re
import sqlite3
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from benchmarks.events import _free_port, admin_key, serving

PEOPLE = 3
CONNECTIONS = 64
BOUND_SECONDS = 180


def _smtp_server(port: int, arrivals: Any, ready: Any, stop: Any) -> None:
    """The SMTP server's process: (arrival time, incident number) per accepted page."""
    from aiosmtpd.controller import Controller

    class Inbox:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            subject = re.search(rb"Subject: \[OpsKnight\] #(\d+)", envelope.content)
            if subject is not None:
                arrivals.put((time.time(), int(subject.group(1))))
            return "250 OK"

    controller = Controller(Inbox(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    stop.wait(BOUND_SECONDS + 120)
    controller.stop()


def _setup(base: str, key: str) -> str:
    """A team of three with email contacts, paged by one step; the routing key."""
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:

        def made(path: str, body: dict[str, Any]) -> dict[str, Any]:
            response = client.post(path, json=body)
            response.raise_for_status()
            data: dict[str, Any] = response.json()["data"]
            return data

        team = made("/api/teams", {"name": "Bench responders"})
        for index in range(PEOPLE):
            user = made("/api/users", {"name": f"Responder {index}", "role": "RESPONDER",
                                       "email": f"responder{index}@example.com"})  # fmt: skip
            made(f"/api/users/{user['id']}/contact-methods",
                 {"type": "email", "address": user["email"]})  # fmt: skip
            made(f"/api/teams/{team['id']}/members", {"user_id": user["id"]})
        policy = made("/api/escalation-policies", {"name": "Bench paging", "steps": [
            {"target_type": "TEAM", "target_id": team["id"], "delay_minutes": 30}]})  # fmt: skip
        service = made("/api/services", {"name": "Bench", "escalation_policy_id": policy["id"]})
        integration = made(f"/api/services/{service['id']}/integrations",
                           {"name": "bench", "type": "events_api"})  # fmt: skip
        return str(integration["key"])


async def _send_triggers(port: int, routing_key: str, count: int) -> None:
    """The triggers, on CONNECTIONS keep-alive connections of bare asyncio streams: an
    HTTP client library would take much of a core of this machine's two from the server."""
    pending = iter(range(count))

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for index in pending:
                body = json.dumps({"routing_key": routing_key, "event_action": "trigger",
                                   "dedup_key": f"bench-{index}",
                                   "payload": {"summary": f"Bench {index}", "source": "bench",
                                               "severity": "critical"}}).encode()  # fmt: skip
                writer.write(
                    b"POST /v2/enqueue HTTP/1.1\r\nHost: bench\r\n"
                    b"Content-Type: application/json\r\n"
                    b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
                )
                head = await reader.readuntil(b"\r\n\r\n")
                if not head.startswith(b"HTTP/1.1 202"):
                    raise RuntimeError(f"trigger refused: {head[:200]!r}")
                length = re.search(rb"(?i)content-length: (\d+)", head)
                await reader.readexactly(int(length.group(1)) if length else 0)
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(CONNECTIONS)))


def _trigger(base: str, routing_key: str, count: int) -> None:
    port = int(base.rsplit(":", 1)[1])
    asyncio.run(asyncio.wait_for(_send_triggers(port, routing_key, count), BOUND_SECONDS))


def _opened(database_url: str) -> dict[int, float]:
    """When each incident was opened (its created_at), by number."""
    path = database_url.removeprefix("sqlite://")
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT number, created_at FROM incidents").fetchall()
    return {number: datetime.fromisoformat(at).timestamp() for number, at in rows}


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(database_url: str, incidents: int) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    arrivals_queue, ready, stop = context.Queue(), context.Event(), context.Event()
    smtp_port = _free_port()
    smtp = context.Process(target=_smtp_server, args=(smtp_port, arrivals_queue, ready, stop))
    smtp.start()
    ready.wait(30)
    env = {
        **os.environ,
        "OPSKNIGHT_DATABASE_URL": database_url,
        "OPSKNIGHT_LOG_LEVEL": "warning",
        "OPSKNIGHT_RATE_LIMITS": "off",
        "OPSKNIGHT_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
    }
    arrivals: list[tuple[float, int]] = []
    try:
        key = admin_key(env)
        with serving(env) as (_, base):
            routing_key = _setup(base, key)
            started = time.time()
            _trigger(base, routing_key, incidents)
            sent_in = time.time() - started
            expected = incidents * PEOPLE
            deadline = time.time() + BOUND_SECONDS
            while len(arrivals) < expected and time.time() < deadline:
                with contextlib.suppress(queue.Empty):
                    arrivals.append(arrivals_queue.get(timeout=0.5))
    finally:
        stop.set()
        smtp.join(30)
    accepted = _opened(database_url)
    first: dict[int, float] = {}
    for at, number in arrivals:
        first[number] = min(at, first.get(number, at))
    latencies = [first[n] - accepted[n] for n in accepted if n in first]
    per_incident: dict[int, int] = {}
    for _, number in arrivals:
        per_incident[number] = per_incident.get(number, 0) + 1
    return {
        "incidents": incidents,
        "events_sent_in_s": round(sent_in, 2),
        "messages": len(arrivals),
        "expected": expected,
        "lost": expected - len(arrivals),
        "duplicates": sum(max(0, c - PEOPLE) for c in per_incident.values()),
        "all_accepted_in_s": round(max(at for at, _ in arrivals) - started, 2)
        if arrivals
        else None,
        "first_page_p50_s": round(_percentile(latencies, 0.50), 3) if latencies else None,
        "first_page_p99_s": round(_percentile(latencies, 0.99), 3) if latencies else None,
        "first_page_max_s": round(max(latencies), 3) if latencies else None,
        "incidents_without_a_page": incidents - len(latencies),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--incidents", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="opsknight-bench-") as workdir:
        url = f"sqlite://{Path(workdir) / 'notify.db'}"
        print(json.dumps(run(url, args.incidents), indent=2))


if __name__ == "__main__":
    main()
