"""Console benchmark: the incidents board's first byte with 100,000 incidents on SQLite.

The database holds --incidents incidents over 50 services, created over the last 90
days: 0.5 % open, 1.5 % acknowledged, the rest resolved (as a year of a busy team looks),
each with a timeline entry. One `opsknight serve` process on loopback; a signed-in
browser-like client asks, one request at a time, for the board (open + acknowledged),
the board of every status (page 1 and page 100), the live refresh's rows and an incident
page. Time to first byte is measured to the first body byte.

    python -m benchmarks.board [--incidents 100000] [--requests 200]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import httpx

from benchmarks.events import _opsknight, serving

PASSWORD = "bench board password"
SERVICES = 50


async def fill(database_url: str, count: int) -> str:
    """``count`` incidents with their timeline entries; the id of one open incident."""
    from tortoise import Tortoise

    from opsknight import clock, ids
    from opsknight.db import tortoise_config
    from opsknight.directory.models import Service
    from opsknight.incidents.models import Incident, IncidentCounter, TimelineEvent

    await Tortoise.init(config=tortoise_config(database_url))
    try:
        now = clock.now()
        services = [
            await Service.create(name=f"service-{n:02d}", name_key=f"service-{n:02d}",
                                 created_at=now, updated_at=now)
            for n in range(SERVICES)
        ]  # fmt: skip
        rng = random.Random(11)
        open_id = ""
        for start in range(0, count, 2000):
            incidents, entries = [], []
            for number in range(start + 1, min(start + 2000, count) + 1):
                created = now - timedelta(seconds=(count - number) * 90 * 86400 / count)
                roll = rng.random()
                status = "OPEN" if roll < 0.005 else "ACKNOWLEDGED" if roll < 0.02 else "RESOLVED"
                incident = Incident(
                    id=ids.new_id("inc"), number=number, title=f"High latency on api-{number % 97}",
                    status=status, urgency=rng.choice(["HIGH", "LOW"]),
                    service=services[number % SERVICES], dedup_key=f"k-{number}",
                    active=None if status == "RESOLVED" else True, created_at=created,
                    updated_at=created, last_status_change=created,
                    acknowledged_at=None if status == "OPEN"
                    else created + timedelta(seconds=rng.uniform(30, 1800)),
                    resolved_at=created + timedelta(seconds=rng.uniform(1800, 14400))
                    if status == "RESOLVED" else None,
                    alert_count=rng.randint(1, 5),
                )  # fmt: skip
                if status == "OPEN":
                    open_id = incident.id
                incidents.append(incident)
                entries.append(TimelineEvent(
                    id=ids.new_id("evt"), incident_id=incident.id, type="triggered",
                    actor_type="INTEGRATION",
                    timestamp=created, details={},
                ))  # fmt: skip
            await Incident.bulk_create(incidents)
            await TimelineEvent.bulk_create(entries)
        await IncidentCounter.update_or_create(defaults={"value": count}, environment="live")
        return open_id
    finally:
        await Tortoise.close_connections()


def _sign_in(client: httpx.Client) -> None:
    form = client.get("/sign-in").text
    csrf = re.search(r'name="csrf" value="([^"]*)"', form)
    assert csrf is not None
    form = {"csrf": csrf.group(1), "next": "/", "email": "bench@example.com",
            "password": PASSWORD}  # fmt: skip
    signed = client.post("/sign-in", data=form)
    assert signed.status_code == 303, signed.text


def _first_byte_ms(client: httpx.Client, path: str, requests: int) -> dict[str, float]:
    times = []
    for _ in range(requests):
        began = time.perf_counter()
        with client.stream("GET", path) as response:
            chunks = response.iter_raw()
            next(chunks)
            times.append((time.perf_counter() - began) * 1000)
            assert response.status_code == 200, (path, response.status_code)
            for _ in chunks:  # the rest of the page
                pass
    times.sort()
    return {
        "p50": statistics.median(times),
        "p95": times[int(len(times) * 0.95) - 1],
        "p99": times[int(len(times) * 0.99) - 1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="opsknight-bench-") as tmp:
        database_url = f"sqlite://{Path(tmp) / 'board.db'}"
        env = {**os.environ, "OPSKNIGHT_DATABASE_URL": database_url,
               "OPSKNIGHT_LOG_LEVEL": "warning", "OPSKNIGHT_RATE_LIMITS": "off"}  # fmt: skip
        _opsknight(env, "migrate")
        _opsknight(env, "user", "--name", "Bench", "--email", "bench@example.com",
                   "--role", "responder", "--password", PASSWORD)  # fmt: skip
        began = time.perf_counter()
        open_id = asyncio.run(fill(database_url, args.incidents))
        print(f"filled {args.incidents:,} incidents in {time.perf_counter() - began:.1f} s")
        every = "status=OPEN&status=ACKNOWLEDGED&status=SNOOZED&status=RESOLVED&status=SUPPRESSED"
        views = [
            ("board: open + acknowledged", "/"),
            ("board: every status, page 1", f"/?{every}"),
            ("board: every status, page 100", f"/?{every}&page=100"),
            ("board rows (live refresh)", "/board/rows"),
            ("incident page", f"/incidents/{open_id}"),
        ]
        with serving(env) as (_, base), httpx.Client(base_url=base) as client:
            _sign_in(client)
            print(f"| View ({args.incidents:,} incidents) | first byte p50 | p95 | p99 |")
            print("|---|---|---|---|")
            for label, path in views:
                _first_byte_ms(client, path, 10)  # warm up
                result = _first_byte_ms(client, path, args.requests)
                print(f"| {label} | {result['p50']:.1f} ms | {result['p95']:.1f} ms "
                      f"| {result['p99']:.1f} ms |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
