"""Analytics benchmark: the report and the CSV export over 100,000 incidents on SQLite.

The database is the console benchmark's (``benchmarks.board.fill``: --incidents over 50
services in the last 90 days, with acknowledge and resolve times and 1-5 alerts each).
One `opsknight serve` process on loopback; one client asks, one request at a time, for
the report over the whole 90 days (every incident), over the last 30 days, over 90
days again with an incident changed before each request (so each report first recounts
that incident's day), for one service, and for the CSV of the last 7 days. Times are
whole responses.

    python -m benchmarks.analytics [--incidents 100000] [--requests 50] [--postgres URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from benchmarks.board import PASSWORD, fill
from benchmarks.events import _opsknight, fresh_postgres, serving


def _ms(
    client: httpx.Client,
    path: str,
    params: dict[str, str],
    requests: int,
    before: Callable[[int], None] | None = None,
) -> list[float]:
    times = []
    for n in range(requests):
        if before is not None:
            before(n)
        began = time.perf_counter()
        response = client.get(path, params=params)
        times.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, (path, response.text[:200])
    return sorted(times)


def run(label: str, database_url: str, incidents: int, requests: int) -> None:
    env = {**os.environ, "OPSKNIGHT_DATABASE_URL": database_url,
           "OPSKNIGHT_LOG_LEVEL": "warning", "OPSKNIGHT_RATE_LIMITS": "off"}  # fmt: skip
    _opsknight(env, "migrate")
    _opsknight(env, "user", "--name", "Bench", "--email", "bench@example.com",
               "--role", "admin", "--password", PASSWORD)  # fmt: skip
    key = json.loads(_opsknight(env, "api-key", "create", "--owner", "bench@example.com",
                                "--name", "bench", "--json"))["key"]  # fmt: skip
    began = time.perf_counter()
    open_incident = asyncio.run(fill(database_url, incidents))
    print(f"{label}: filled {incidents:,} incidents in {time.perf_counter() - began:.1f} s")
    now = datetime.now(UTC)

    def since(days: int) -> str:
        return (now - timedelta(days=days)).isoformat()

    with (
        serving(env) as (_, base),
        httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=60
        ) as client,
    ):
        services = client.get("/api/services", params={"limit": 1}).json()["data"]

        def change(n: int) -> None:  # an update, so the report recounts that incident's day
            answer = client.patch(
                f"/api/incidents/{open_incident}", json={"priority": f"P{n % 5 + 1}"}
            )
            assert answer.status_code == 200, answer.text

        views = [
            ("report, 90 days (every incident)", "/api/analytics", {"since": since(91)}),
            ("report, last 30 days", "/api/analytics", {"since": since(30)}),
            ("report, 90 days, an incident changed before each", "/api/analytics",
             {"since": since(91)}, change),
            ("report, one service, 90 days", "/api/analytics",
             {"since": since(91), "service_id": services[0]["id"]}),
            ("CSV, last 7 days", "/api/analytics/incidents.csv", {"since": since(7)}),
        ]  # fmt: skip
        print(f"| {label}: request ({incidents:,} incidents) | p50 | p95 | max |")
        print("|---|---|---|---|")
        for name, path, params, *before in views:
            _ms(client, path, params, 3, *before)  # warm up
            times = _ms(client, path, params, requests, *before)
            print(f"| {name} | {statistics.median(times):.1f} ms | "
                  f"{times[int(len(times) * 0.95) - 1]:.1f} ms | {times[-1]:.1f} ms |",
                  flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument(
        "--postgres", help="also on this PostgreSQL server (a fresh database is made on it)"
    )
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.database_url:  # one database per process: Tortoise keeps its queries per model
        label = "SQLite" if args.database_url.startswith("sqlite") else "PostgreSQL"
        run(label, args.database_url, args.incidents, args.requests)
        return

    def in_own_process(database_url: str) -> None:
        subprocess.run(
            [sys.executable, "-m", "benchmarks.analytics", "--incidents", str(args.incidents),
             "--requests", str(args.requests), "--database-url", database_url], check=True,
        )  # fmt: skip

    with tempfile.TemporaryDirectory(prefix="opsknight-bench-") as tmp:
        in_own_process(f"sqlite://{Path(tmp) / 'analytics.db'}")
    if args.postgres:
        with fresh_postgres(args.postgres) as database_url:
            in_own_process(database_url)


if __name__ == "__main__":
    main()
