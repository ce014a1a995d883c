"""Metrics (Prometheus) and readiness checks."""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import urlparse

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Scope

from opsknight.config import Settings
from opsknight.db import is_postgres
from opsknight.logs import access_log

REQUESTS = Counter(
    "opsknight_http_requests_total", "HTTP requests by route template and status",
    ["method", "route", "status"],
)  # fmt: skip
LATENCY = Histogram(
    "opsknight_http_request_duration_seconds", "HTTP request latency by route template",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)  # fmt: skip
EVENTS = Counter("opsknight_events_total", "Events API events by resulting action", ["action"])
_events_by_action: dict[str, Any] = {}
EVENT_BATCH_SIZE = Histogram(
    "opsknight_event_batch_size", "Events applied together in one transaction",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 200),
)  # fmt: skip


def count_event(action: str) -> None:
    """Count one event by what it did (the labelled child is looked up once)."""
    counter = _events_by_action.get(action)
    if counter is None:
        counter = _events_by_action[action] = EVENTS.labels(action)
    counter.inc()


RATE_LIMITED = Counter(
    "opsknight_rate_limit_rejections_total", "Requests refused with 429, by limit class", ["kind"]
)
_ACCESS = logging.getLogger("opsknight.access")
_FIXED_PATHS = frozenset({"/graphql", "/healthz", "/readyz", "/metrics"})


def route_template(scope: Scope) -> str:
    """The matched route's template (``/api/incidents/{id}``), never a raw id."""
    handler = getattr(scope.get("endpoint"), "__self__", None)
    route = getattr(handler, "route", None)
    if route is not None:
        return str(route.path)
    path = scope.get("path", "")
    return path if path in _FIXED_PATHS else "unmatched"


class RequestMetrics:
    """Counts requests and their latency per route template, and writes the access line
    (``middleware.Edge`` calls ``record`` as each request ends)."""

    def __init__(self) -> None:
        # The labelled children, looked up once: ``labels()`` takes a lock and builds
        # its key on every call.
        self._counted: dict[tuple[str, str, int], Any] = {}
        self._timed: dict[tuple[str, str], Any] = {}

    def record(self, scope: Scope, status: int, elapsed: float) -> None:
        method: str = scope["method"]
        route = route_template(scope)
        counter = self._counted.get((method, route, status))
        if counter is None:
            counter = self._counted[method, route, status] = REQUESTS.labels(
                method, route, str(status)
            )
        timer = self._timed.get((method, route))
        if timer is None:
            timer = self._timed[method, route] = LATENCY.labels(method, route)
        counter.inc()
        timer.observe(elapsed)
        if _ACCESS.isEnabledFor(logging.INFO):  # structlog's call costs even when dropped
            access_log.info(
                "request",
                method=method,
                path=scope["path"],
                route=route,
                status=status,
                duration_ms=round(elapsed * 1000, 2),
            )


async def metrics(request: Request) -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


async def _check_database(url: str) -> None:
    """Open a fresh connection and run one query; raises when the database is unreachable."""
    if is_postgres(url):
        import asyncpg

        conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1), timeout=2)
        try:
            await conn.fetchval("SELECT 1")
        finally:
            await conn.close()
        return
    import sqlite3

    path = url.removeprefix("sqlite://")

    def probe() -> None:
        # mode=rw: a missing database file is not ready (and is not created here).
        conn = sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=2)
        try:
            conn.execute("SELECT 1")
        finally:
            conn.close()

    await asyncio.to_thread(probe)


async def _check_redis(url: str) -> None:
    parsed = urlparse(url)
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection(parsed.hostname or "127.0.0.1", parsed.port or 6379), timeout=2
    )
    try:
        if parsed.password:
            writer.write(f"AUTH {parsed.password}\r\n".encode())
            await asyncio.wait_for(reader.readline(), timeout=2)
        writer.write(b"PING\r\n")
        answer = await asyncio.wait_for(reader.readline(), timeout=2)
        if not answer.startswith(b"+PONG"):
            raise ConnectionError(f"unexpected answer {answer!r}")
    finally:
        writer.close()


async def readiness(settings: Settings) -> tuple[bool, dict[str, Any]]:
    """Whether the database and (if configured) Redis answer, with each part's state."""
    checks: dict[str, Any] = {}
    parts = [("database", _check_database(settings.database_url))]
    if settings.redis_url:
        parts.append(("redis", _check_redis(settings.redis_url)))
    else:
        checks["redis"] = "not configured"
    ready = True
    for name, check in parts:
        try:
            await asyncio.wait_for(check, timeout=3)
        except Exception as exc:  # any failure means not ready; the reason is reported
            ready = False
            checks[name] = f"unavailable: {type(exc).__name__}: {exc}"[:300]
        else:
            checks[name] = "ok"
    return ready, checks


def readyz_endpoint(settings: Settings) -> Any:
    async def readyz(request: Request) -> Response:
        ready, checks = await readiness(settings)
        failing = [name for name, state in checks.items() if str(state).startswith("unavailable")]
        body: dict[str, Any] = {"status": "ready" if ready else "unavailable", "checks": checks}
        if failing:
            body["failing"] = failing
        return JSONResponse(body, status_code=200 if ready else 503)

    return readyz


WEBHOOK_DELIVERIES = Counter(
    "opsknight_webhook_deliveries_total",
    "Webhook and notification delivery attempts by kind and outcome",
    ["kind", "outcome"],
)
ESCALATION_LAG = Histogram(
    "opsknight_escalation_lag_seconds", "How late escalation steps ran after their due time",
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
)  # fmt: skip
