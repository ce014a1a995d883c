"""Paging benchmark: 1,000 incidents opened at once, each paging 3 people by email.

One `opsknight serve` process on a fresh SQLite database; an SMTP server (aiosmtpd) in
this process on loopback; one escalation step that pages a team of three, each with an
email contact method. 1,000 Events API triggers with distinct dedup keys go out on 64
connections; the benchmark waits until the SMTP server has accepted all 3,000 messages
(or a bound of 180 s). Reported: the time until the last message is accepted, the
first-page latency of each incident (from its event's 202 to the first email about it)
p50/p99, messages lost, and duplicates. Loopback only, bounded in time.

    python -m benchmarks.notify [--incidents 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from benchmarks.events import _free_port, admin_key, serving

PEOPLE = 3
CONNECTIONS = 64
BOUND_SECONDS = 180


class _Inbox:
    """What the SMTP server accepted: (arrival time, incident number) per message."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[float, int]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        subject = re.search(rb"Subject: \[OpsKnight\] #(\d+)", envelope.content)
        if subject is not None:
            with self.lock:
                self.arrivals.append((time.perf_counter(), int(subject.group(1))))
        return "250 OK"


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


async def _trigger(base: str, routing_key: str, count: int) -> dict[int, float]:
    """Send the events; the time each incident's 202 came back, by incident number."""
    accepted: dict[int, float] = {}
    pending = iter(range(count))

    async def worker(client: httpx.AsyncClient) -> None:
        for index in pending:
            event = {"routing_key": routing_key, "event_action": "trigger",
                     "dedup_key": f"bench-{index}",
                     "payload": {"summary": f"Bench {index}", "source": "bench",
                                 "severity": "critical"}}  # fmt: skip
            response = await client.post("/v2/enqueue", json=event)
            response.raise_for_status()
            accepted[response.json()["data"]["incident"]["number"]] = time.perf_counter()

    limits = httpx.Limits(max_connections=CONNECTIONS)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
        await asyncio.gather(*(worker(client) for _ in range(CONNECTIONS)))
    return accepted


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(database_url: str, incidents: int) -> dict[str, Any]:
    from aiosmtpd.controller import Controller

    inbox = _Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    smtp.start()
    env = {
        **os.environ,
        "OPSKNIGHT_DATABASE_URL": database_url,
        "OPSKNIGHT_LOG_LEVEL": "warning",
        "OPSKNIGHT_RATE_LIMITS": "off",
        "OPSKNIGHT_SMTP_URL": f"smtp://127.0.0.1:{smtp.port}",
    }
    try:
        key = admin_key(env)
        with serving(env) as (_, base):
            routing_key = _setup(base, key)
            started = time.perf_counter()
            accepted = asyncio.run(_trigger(base, routing_key, incidents))
            sent_in = time.perf_counter() - started
            expected = incidents * PEOPLE
            deadline = time.perf_counter() + BOUND_SECONDS
            while len(inbox.arrivals) < expected and time.perf_counter() < deadline:
                time.sleep(0.05)
            with inbox.lock:
                arrivals = list(inbox.arrivals)
    finally:
        smtp.stop()
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
