"""Rate limits (SPEC §3): three classes, per credential or client IP, shared through
Redis when it is configured, in process memory otherwise.

If Redis fails, the limiter falls back to memory and says so in the log: a request is
never refused because the limiter is down.
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
from dataclasses import dataclass
from typing import Any

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import FixedWindowRateLimiter
from starlette.datastructures import MutableHeaders, QueryParams
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from opsknight.auth.principal import Credential
from opsknight.observability import RATE_LIMITED

logger = logging.getLogger("opsknight.ratelimit")

CLASSES = ("events", "read", "write")
DEFAULT = "events=100/60,read=300/60,write=100/60"
_SPEC = re.compile(r"^(events|read|write)=(\d+)/(\d+)$")
_MUTATION = re.compile(r"^\s*(#[^\n]*\n\s*)*mutation\b")
_EVENT_PATHS = ("/api/events", "/v2/", "/api/integrations/")
_LIMITED_PATHS = ("/api", "/v2", "/graphql")


def parse_limits(text: str) -> dict[str, RateLimitItem] | None:
    """``events=100/60,read=300/60,write=100/60`` as limit items; None for ``off``."""
    if text.strip().lower() == "off":
        return None
    limits: dict[str, RateLimitItem] = {}
    for part in text.split(","):
        match = _SPEC.match(part.strip())
        if match is None:
            raise ValueError(
                f"OPSKNIGHT_RATE_LIMITS: {part.strip()!r} is not CLASS=COUNT/SECONDS "
                f"(classes: {', '.join(CLASSES)}), or the whole value 'off'"
            )
        kind, count, seconds = match.group(1), int(match.group(2)), int(match.group(3))
        limits[kind] = RateLimitItemPerSecond(count, seconds)
    missing = [c for c in CLASSES if c not in limits]
    if missing:
        defaults = parse_limits(DEFAULT)
        assert defaults is not None
        for kind in missing:
            limits[kind] = defaults[kind]
    return limits


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_at: float  # unix time at which the window ends

    @property
    def reset(self) -> int:
        return math.ceil(self.reset_at)

    @property
    def retry_after(self) -> int:
        return max(1, math.ceil(self.reset_at - time.time()))


class Limiter:
    """Counts requests per (class, identity); Redis-backed when ``redis_url`` is set."""

    def __init__(
        self, limits: dict[str, RateLimitItem], redis_url: str | None, prefix: str = "opsknight"
    ) -> None:
        self.limits = limits
        self._memory = FixedWindowRateLimiter(MemoryStorage())
        self._shared: FixedWindowRateLimiter | None = None
        if redis_url:
            uri = "async+" + redis_url if not redis_url.startswith("async+") else redis_url
            storage: Storage = RedisStorage(
                uri, key_prefix=f"{prefix}:ratelimit", wrap_exceptions=True
            )
            self._shared = FixedWindowRateLimiter(storage)
        self._degraded = False

    async def hit(self, kind: str, identity: str) -> Decision:
        item = self.limits[kind]
        if self._shared is not None:
            try:
                decision = await self._check(self._shared, item, kind, identity)
            except Exception:
                if not self._degraded:
                    logger.exception("rate-limit store unreachable; limiting in memory")
                    self._degraded = True
            else:
                if self._degraded:
                    logger.warning("rate-limit store reachable again")
                    self._degraded = False
                return decision
        return await self._check(self._memory, item, kind, identity)

    @staticmethod
    async def _check(
        limiter: FixedWindowRateLimiter, item: RateLimitItem, kind: str, identity: str
    ) -> Decision:
        allowed = await limiter.hit(item, kind, identity)
        stats = await limiter.get_window_stats(item, kind, identity)
        return Decision(allowed, item.amount, max(0, stats.remaining), stats.reset_time)


def classify(scope: Scope, body: bytes) -> str:
    """The limit class of a request: events, read or write."""
    path: str = scope["path"]
    method: str = scope["method"]
    if path.startswith(_EVENT_PATHS):
        return "events"
    if path.startswith("/graphql") and method == "POST":
        query = _graphql_query(body)
        if _MUTATION.match(query):
            return "events" if "sendEvent" in query else "write"
        return "read"
    return "read" if method in ("GET", "HEAD", "OPTIONS") else "write"


def _graphql_query(body: bytes) -> str:
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return ""
    query = document.get("query") if isinstance(document, dict) else None
    return query if isinstance(query, str) else ""


def identity(scope: Scope, credential: Credential, kind: str, body: bytes) -> str:
    """Whose budget a request spends: the API key, the integration key, else the IP."""
    if credential.principal is not None and credential.principal.api_key_id:
        return f"key:{credential.principal.api_key_id}"
    if kind == "events":
        key = credential.integration_key or QueryParams(scope.get("query_string", b"")).get(
            "integration_key"
        )
        if key is None:
            try:
                document: Any = json.loads(body) if body else None
            except (ValueError, UnicodeDecodeError, RecursionError):
                document = None
            if isinstance(document, dict) and isinstance(document.get("routing_key"), str):
                key = document["routing_key"]
        if key:
            return f"integration:{key[:64]}"
    client = scope.get("client")
    return f"ip:{client[0] if client else 'unknown'}"


class RateLimit:
    """ASGI middleware: limit headers on every /api, /v2 and /graphql response; 429 over."""

    def __init__(self, app: ASGIApp, limiter: Limiter | None) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            self.limiter is None
            or scope["type"] != "http"
            or not scope["path"].startswith(_LIMITED_PATHS)
        ):
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        body: bytes = state.get("body", b"")
        kind = classify(scope, body)
        who = identity(scope, state.get("credential", Credential()), kind, body)
        decision = await self.limiter.hit(kind, who)
        headers = {
            "X-RateLimit-Limit": str(decision.limit),
            "X-RateLimit-Remaining": str(decision.remaining),
            "X-RateLimit-Reset": str(decision.reset),
        }
        if not decision.allowed:
            RATE_LIMITED.labels(kind).inc()
            await _too_many(send, decision, headers)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                response_headers = MutableHeaders(scope=message)
                for name, value in headers.items():
                    response_headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _too_many(send: Send, decision: Decision, headers: dict[str, str]) -> None:
    seconds = decision.retry_after
    body = json.dumps(
        {
            "error": {
                "code": "RATE_LIMITED",
                "message": f"Too many requests. Retry after {seconds} seconds.",
                "retry_after": seconds,
                "details": {"retry_after": seconds},
            }
        }
    ).encode()
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    raw += [
        (b"retry-after", str(seconds).encode()),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": 429, "headers": raw})
    await send({"type": "http.response.body", "body": body})
