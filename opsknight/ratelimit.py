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

from graphql import GraphQLError, OperationType
from limits import RateLimitItem, RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import FixedWindowRateLimiter
from starlette.datastructures import MutableHeaders, QueryParams
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from opsknight import jsoncodec
from opsknight.auth.principal import Credential
from opsknight.errors import ValidationFailed
from opsknight.events.routing import integration_by_key
from opsknight.graphql.documents import operation_of, parse_document, root_fields
from opsknight.observability import RATE_LIMITED

logger = logging.getLogger("opsknight.ratelimit")

CLASSES = ("events", "read", "write")
DEFAULT = "events=100/60,read=300/60,write=100/60"
_SPEC = re.compile(r"^(events|read|write)=(\d+)/(\d+)$")
_EVENT_PATHS = ("/api/events", "/v2/", "/api/integrations/", "/generic/")
_LIMITED_PATHS = ("/api", "/v2", "/graphql", "/generic")
_EVENT_MUTATIONS = ("sendEvent", "sendPagerdutyV1Event", "sendOpsgenieAlert")


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

    async def hit(self, kind: str, identity: str, cost: int = 1) -> Decision:
        """Spend ``cost`` units of ``identity``'s budget in class ``kind``."""
        return await self._decide(kind, identity, cost, spend=True)

    async def spend(self, kind: str, identity: str, units: int = 1) -> Decision:
        """Like ``hit``, but a refused hit still counts, so a request of many units is
        checked first: one too large for what is left spends nothing."""
        if units > 1:
            ahead = await self.peek(kind, identity, units)
            if not ahead.allowed:
                return ahead
        return await self.hit(kind, identity, units)

    async def peek(self, kind: str, identity: str, cost: int = 1) -> Decision:
        """Whether ``cost`` units would be allowed now, spending nothing."""
        return await self._decide(kind, identity, cost, spend=False)

    async def _decide(self, kind: str, identity: str, cost: int, spend: bool) -> Decision:
        item = self.limits[kind]
        if self._shared is not None:
            try:
                decision = await self._check(self._shared, item, kind, identity, cost, spend)
            except Exception:
                if not self._degraded:
                    logger.exception("rate-limit store unreachable; limiting in memory")
                    self._degraded = True
            else:
                if self._degraded:
                    logger.warning("rate-limit store reachable again")
                    self._degraded = False
                return decision
        return await self._check(self._memory, item, kind, identity, cost, spend)

    @staticmethod
    async def _check(
        limiter: FixedWindowRateLimiter,
        item: RateLimitItem,
        kind: str,
        identity: str,
        cost: int,
        spend: bool,
    ) -> Decision:
        if spend:
            allowed = await limiter.hit(item, kind, identity, cost=cost)
        else:
            allowed = await limiter.test(item, kind, identity, cost=cost)
        stats = await limiter.get_window_stats(item, kind, identity)
        return Decision(allowed, item.amount, max(0, stats.remaining), stats.reset_time)


def charges(scope: Scope, body: bytes) -> list[tuple[str, int]]:
    """What a request spends: (class, units) pairs, from the route, or for GraphQL from
    the operation the request would execute."""
    path: str = scope["path"]
    method: str = scope["method"]
    if path.startswith(_EVENT_PATHS):
        return [("events", 1)]
    if path.startswith("/graphql") and method == "POST":
        return graphql_charges(body)
    return [("read", 1)] if method in ("GET", "HEAD", "OPTIONS") else [("write", 1)]


def graphql_charges(body: bytes | dict[str, Any]) -> list[tuple[str, int]]:
    """A request that runs a mutation spends one write unit per mutation field (aliases
    included), event fields (`sendEvent`…) one events unit each; anything else is one read. The
    operation is found as the executor will find it: by `operationName`, or the only one."""
    try:
        request = body if isinstance(body, dict) else jsoncodec.decode(body)
        query, name = request.get("query"), request.get("operationName")
        document = parse_document(query) if isinstance(query, str) else None
    except (ValidationFailed, GraphQLError):
        document = None  # refused before anything runs
    if document is None:
        return [("read", 1)]
    operation = operation_of(document, name if isinstance(name, str) else None)
    if operation is None or operation.operation != OperationType.MUTATION:
        return [("read", 1)]
    fields = root_fields(document, operation)
    events = sum(1 for field in fields if field in _EVENT_MUTATIONS)
    writes = len(fields) - events
    spent = [("write", writes)] if writes else []
    return spent + ([("events", events)] if events else []) or [("write", 1)]


def client_ip(scope: Scope) -> str:
    client = scope.get("client")
    return f"{client[0] if client else 'unknown'}"


def _api_identity(scope: Scope, credential: Credential) -> str:
    """The API key's budget, or the client IP's when the request has no valid key."""
    if credential.principal is not None and credential.principal.api_key_id:
        return f"key:{credential.principal.api_key_id}"
    return f"ip:{client_ip(scope)}"


async def _event_sender(scope: Scope, credential: Credential, body: bytes) -> str | None:
    """The budget of a verified event sender: its API key, or an integration key that
    exists. None while unverified (the request then spends its client IP's budget), so
    made-up routing keys cannot each open a budget of their own."""
    if credential.principal is not None and credential.principal.api_key_id:
        return f"key:{credential.principal.api_key_id}"
    key = (
        credential.integration_key
        or credential.routing_key
        or QueryParams(scope.get("query_string", b"")).get("integration_key")
    )
    if key is None and body:
        try:
            document = jsoncodec.decode(body)
        except ValidationFailed:
            document = {}
        for name in ("routing_key", "service_key"):  # Events v2, Events v1
            if isinstance(document, dict) and isinstance(document.get(name), str):
                key = document[name]
                break
    if key and len(key) <= 64 and await integration_by_key(key) is not None:
        return f"integration:{key}"
    return None


def _headers(decision: Decision) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(decision.limit),
        "X-RateLimit-Remaining": str(decision.remaining),
        "X-RateLimit-Reset": str(decision.reset),
    }


def _with_headers(send: Send, headers: dict[str, str]) -> Send:
    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            response_headers = MutableHeaders(scope=message)
            for name, value in headers.items():
                response_headers[name] = value
        await send(message)

    return send_with_headers


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
        credential: Credential = state.get("credential", Credential())
        if scope["path"].startswith(_EVENT_PATHS):
            await self._event(scope, receive, send, credential, body)
            return
        decision: Decision | None = None
        who = _api_identity(scope, credential)
        for kind, units in charges(scope, body):
            spent = await self.limiter.spend(kind, who, units)
            if not spent.allowed:
                RATE_LIMITED.labels(kind).inc()
                await _too_many(send, spent, _headers(spent))
                return
            decision = decision or spent
        assert decision is not None
        await self.app(scope, receive, _with_headers(send, _headers(decision)))

    async def _event(
        self, scope: Scope, receive: Receive, send: Send, credential: Credential, body: bytes
    ) -> None:
        """A verified sender's budget pays only for events that are accepted; a refused
        event spends the client IP's budget, so a sender's mistakes never hold back its
        next real alert."""
        assert self.limiter is not None
        limiter = self.limiter
        sender = await _event_sender(scope, credential, body)
        by_ip = f"ip:{client_ip(scope)}"
        if sender is None:
            decision = await limiter.hit("events", by_ip)
            if not decision.allowed:
                RATE_LIMITED.labels("events").inc()
                await _too_many(send, decision, _headers(decision))
                return
            await self.app(scope, receive, _with_headers(send, _headers(decision)))
            return
        ahead = await limiter.peek("events", sender)
        if not ahead.allowed:
            RATE_LIMITED.labels("events").inc()
            await _too_many(send, ahead, _headers(ahead))
            return

        async def send_after_charging(message: Message) -> None:
            if message["type"] == "http.response.start":
                accepted = message["status"] < 400
                spent = await limiter.hit("events", sender if accepted else by_ip)
                MutableHeaders(scope=message).update(_headers(spent))
            await send(message)

        await self.app(scope, receive, send_after_charging)


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
