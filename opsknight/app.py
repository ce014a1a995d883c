"""create_app(settings): routes, middleware, lifespan."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from cross_web import HTTPException as GraphQLHTTPException
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route, WebSocketRoute
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.types.unset import UNSET
from tortoise.contrib.starlette import RegisterTortoise

from opsknight import jsoncodec
from opsknight.auth.principal import ANONYMOUS, api_key_from_headers, authenticate
from opsknight.config import Settings, get_settings
from opsknight.db import tortoise_config
from opsknight.errors import (
    HTTP_STATUS,
    MethodNotAllowed,
    NotFound,
    OpsKnightError,
    ValidationFailed,
)
from opsknight.graphql import ide
from opsknight.graphql.context import Context
from opsknight.graphql.schema import OpsKnightSchema
from opsknight.graphql.schema import schema as default_schema
from opsknight.graphql.websocket import LegacyWSHandler, PushTransportWSHandler
from opsknight.jobs.worker import configure as configure_jobs
from opsknight.jobs.worker import running_jobs
from opsknight.middleware import BodyLimit, Credentials, Edge
from opsknight.observability import RequestMetrics, metrics, readyz_endpoint
from opsknight.ratelimit import Limiter, RateLimit, graphql_charges, parse_limits
from opsknight.rest.adapter import FixedRoutes, RouteHandler, route_path
from opsknight.rest.openapi import openapi_document
from opsknight.rest.responses import JsonResponse, error_response
from opsknight.rest.routes import ROUTES
from opsknight.runtime import Runtime, activated
from opsknight.web import console, oncall, people, policies, profile, respond, services, webhooks

logger = logging.getLogger("opsknight")
_GRAPHIQL_PAGE = ide.page_html()
KEEP_ALIVE_SECONDS = 15
MAX_SUBSCRIPTIONS_PER_CONNECTION = 20


class RefusedJson(json.JSONDecodeError):
    """A WebSocket message the JSON decoder refused (Strawberry closes with 4400)."""

    def __init__(self, error: ValidationFailed) -> None:
        super().__init__(error.message, "", 0)


class GraphQLRequestRefused(Exception):
    def __init__(self, error: OpsKnightError) -> None:
        super().__init__(error.message)
        self.error = error


def graphql_error_response(error: OpsKnightError, status: int | None = None) -> Response:
    """A request refused before execution: the §1 error envelope, and the same error as
    a GraphQL `errors` entry for GraphQL clients."""
    body = {
        "error": {"code": error.code, "message": error.message, "details": error.details},
        "errors": [
            {
                "message": error.message,
                "extensions": {"code": error.code, "details": error.details},
            }
        ],
    }
    return JsonResponse(body, status_code=status or HTTP_STATUS[error.code])


class GraphQLApp(GraphQL[Context, None]):
    """Strawberry's ASGI app with our context: the credential the middleware resolved,
    or for a WebSocket the key sent in `connection_init`."""

    graphql_transport_ws_handler_class = PushTransportWSHandler
    graphql_ws_handler_class = LegacyWSHandler
    limiter: Limiter | None = None
    max_message_bytes = 1_048_576

    async def get_context(self, request: Any, response: Any) -> Context:
        credential = getattr(request.state, "credential", ANONYMOUS)
        return Context(credential=credential, request=request)

    def encode_json(self, data: object) -> str:
        # Text, not bytes: a WebSocket message in bytes would go out as a binary frame.
        return jsoncodec.encode(data).decode()

    def decode_json(self, data: str | bytes) -> object:
        # WebSocket messages come here directly: a refused one closes the socket with
        # 4400, as graphql-transport-ws does for any message that is not JSON.
        if len(data) > self.max_message_bytes // 4 and _size(data) > self.max_message_bytes:
            raise RefusedJson(
                ValidationFailed(f"a message may be at most {self.max_message_bytes} bytes")
            )
        try:
            return jsoncodec.decode(data, root="message")  # every protocol message is an object
        except ValidationFailed as exc:
            raise RefusedJson(exc) from None

    def parse_json(self, data: str | bytes, root: str = "") -> Any:
        # HTTP bodies, GET's `variables` and `extensions`: refused with 400 VALIDATION_ERROR.
        try:
            return jsoncodec.decode(data, root=root)
        except ValidationFailed as exc:
            raise GraphQLRequestRefused(exc) from None

    def parse_query_params(self, params: Any) -> dict[str, Any]:
        parsed = dict(params)
        for name in ("variables", "extensions"):
            if parsed.get(name):
                parsed[name] = self.parse_json(parsed[name], root=name)
        return parsed

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        try:
            response = await self.run(Request(scope=scope, receive=receive))
        except GraphQLRequestRefused as exc:
            response = graphql_error_response(exc.error)
        except GraphQLHTTPException as exc:  # Strawberry's own refusals
            error: OpsKnightError = {
                404: NotFound(exc.reason),
                405: MethodNotAllowed(exc.reason),
            }.get(exc.status_code) or ValidationFailed(exc.reason, reason="invalid_request")
            response = graphql_error_response(error, status=exc.status_code)
        await response(scope, receive, send)

    async def render_graphql_ide(self, request: Request) -> Response:
        return HTMLResponse(_GRAPHIQL_PAGE)

    async def on_ws_connect(self, context: Context) -> Any:
        credential = await authenticate(_connection_key(context))
        if credential.principal is None:
            raise ConnectionRejectionError()  # closes the socket with 4403
        context.credential = credential
        return UNSET

    async def admit(self, context: Context, payload: dict[str, Any]) -> Refusal | None:
        """Whether a WebSocket operation may start: its key is checked again and its
        rate-limit class charged, as for an HTTP request."""
        credential = await authenticate(_connection_key(context))
        principal, before = credential.principal, context.credential.principal
        if principal is None:
            return Refusal(
                "UNAUTHORIZED", credential.problem or "the API key no longer works", 4401
            )
        if before is not None and principal.role != before.role:
            return Refusal("FORBIDDEN", "the owner's role changed: connect again", 4403)
        context.credential = credential
        if self.limiter is None:
            return None
        who = f"key:{principal.api_key_id}"
        for kind, units in graphql_charges(payload):
            decision = await self.limiter.spend(kind, who, units)
            if not decision.allowed:
                seconds = decision.retry_after
                return Refusal(
                    "RATE_LIMITED", f"Too many requests. Retry after {seconds} seconds.",
                    details={"retry_after": seconds},
                )  # fmt: skip
        return None


@dataclass(frozen=True)
class Refusal:
    """Why a WebSocket operation may not start; with a close code, the socket ends."""

    code: str
    message: str
    close_code: int | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def error(self) -> dict[str, Any]:
        return {"message": self.message, "extensions": {"code": self.code, "details": self.details}}


def _size(data: str | bytes) -> int:
    return len(data) if isinstance(data, bytes) else len(data.encode("utf-8", "surrogatepass"))


def _connection_key(context: Context) -> str | None:
    params = context.connection_params or {}
    header = params.get("Authorization") or params.get("authorization")
    return api_key_from_headers({"authorization": header}) if isinstance(header, str) else None


_API_PATHS = ("/api", "/graphql", "/v2", "/generic", "/metrics", "/healthz", "/readyz")


async def _not_found(request: Request, exc: Exception) -> Response:
    if not request.url.path.startswith(_API_PATHS) and "text/html" in request.headers.get(
        "accept", ""
    ):
        return await console.not_found(request)  # a page for browsers
    return error_response("NOT_FOUND", f"no route for {request.method} {request.url.path}")


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        return error_response(
            "METHOD_NOT_ALLOWED",
            f"{request.method} is not allowed on {request.url.path}",
            headers=dict(exc.headers or {}),
        )
    if exc.status_code == 404:
        return await _not_found(request, exc)
    return JsonResponse(
        {"error": {"code": "INTERNAL_ERROR", "message": exc.detail, "details": {}}},
        status_code=exc.status_code,
    )


def _method_not_allowed(allowed: list[str]) -> Any:
    async def endpoint(request: Request) -> Response:
        raise HTTPException(405, headers={"Allow": ", ".join(allowed)})

    return endpoint


async def _server_error(request: Request, exc: Exception) -> Response:
    logger.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    response = error_response("INTERNAL_ERROR", "Internal server error")
    request_id = request.scope.get("state", {}).get("request_id")
    if request_id:
        response.headers["X-Request-ID"] = request_id
    return response


class OpsKnightApp(Starlette):
    """Starlette with one shortcut: a `/graphql` WebSocket goes straight to the GraphQL
    app. The middleware stack only passes WebSockets through (they authenticate in
    `connection_init`), but each layer would keep a suspended frame for as long as the
    connection lives: thousands of idle subscribers pay for that in memory and in every
    full garbage collection."""

    def __init__(self, *, runtime: Runtime, graphql_websocket: Any, **options: Any) -> None:
        super().__init__(**options)
        self.runtime = runtime
        self.graphql_websocket = graphql_websocket

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        # Everything serving this scope, and every task it starts, uses this app's runtime.
        with activated(self.runtime):
            await self._serve(scope, receive, send)

    async def _serve(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            # Each request writes its credential and body into `state`. ASGI servers hand
            # every request a copy of the lifespan state, but some wrappers (asgi-lifespan)
            # pass the one shared dict: concurrent requests would read each other's.
            scope["state"] = dict(scope.get("state") or {})
        if scope["type"] == "websocket" and route_path(scope) == "/graphql":
            scope["app"] = self
            await self.graphql_websocket(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def create_app(
    settings: Settings | None = None,
    *,
    graphql_schema: OpsKnightSchema | None = None,
    runtime: Runtime | None = None,
) -> OpsKnightApp:
    """The ASGI application. Migrations are applied separately (``opsknight migrate``).

    ``graphql_schema`` serves the API (GraphQL and REST) instead of the default one, e.g.
    one built with more extensions (``build_schema``). The app owns a new ``Runtime``
    (batcher, live hub, job queue, memos) unless given one to share.
    """
    settings = settings or get_settings()
    runtime = runtime or Runtime()
    schema = graphql_schema or default_schema
    configure_jobs(settings)
    graphql_app = GraphQLApp(
        schema,
        graphql_ide="graphiql",
        keep_alive=True,
        keep_alive_interval=KEEP_ALIVE_SECONDS,
        max_subscriptions_per_connection=MAX_SUBSCRIPTIONS_PER_CONNECTION,
    )
    limiter = _limiter(settings)
    graphql_app.limiter = limiter
    graphql_app.max_message_bytes = settings.max_body_bytes
    routes: list[Any] = []
    handlers = [RouteHandler(schema, route) for route in ROUTES]
    guarded: set[str] = set()
    for handler in handlers:
        route = handler.route
        routes.append(Route(route.path, handler.handle, methods=[route.method]))
        if "{" not in route.path and route.path not in guarded:
            guarded.add(route.path)
            # A fixed path answers 405 for its other methods, not a parametrised route's
            # 404 (`GET /api/incidents/bulk` is not the incident "bulk").
            allowed = sorted({r.method for r in ROUTES if r.path == route.path})
            others = sorted({"GET", "POST", "PUT", "PATCH", "DELETE"} - set(allowed))
            routes.append(Route(route.path, _method_not_allowed(allowed), methods=others))
    routes += [
        Route("/graphql", graphql_app, methods=["GET", "POST"]),
        Route(f"{ide.ASSET_PATH}/{{name}}", ide.asset, methods=["GET"]),
        WebSocketRoute("/graphql", graphql_app),  # OpsKnightApp takes these before routing
        *respond.ROUTES,
        *console.ROUTES,
        *profile.ROUTES,
        *oncall.ROUTES,
        *services.ROUTES,
        *policies.ROUTES,
        *people.ROUTES,
        *webhooks.ROUTES,
        Route("/healthz", _healthz, methods=["GET"]),
        Route("/readyz", readyz_endpoint(settings), methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/api/openapi.json", _openapi, methods=["GET"]),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with (
            RegisterTortoise(app, config=tortoise_config(settings.database_url)),
            running_jobs(settings, serve=True),
        ):
            try:
                yield
            finally:
                await runtime.close()

    app = OpsKnightApp(
        runtime=runtime,
        graphql_websocket=graphql_app,
        routes=routes,
        middleware=[
            Middleware(Edge, metrics=RequestMetrics(), trusted=settings.trusted_proxies),
            Middleware(
                BodyLimit,
                max_bytes=settings.max_body_bytes,
                timeout=settings.body_timeout_seconds,
                max_pending=settings.max_pending_body_bytes,
            ),
            Middleware(Credentials),
            Middleware(RateLimit, limiter=limiter),
            Middleware(FixedRoutes, handlers=handlers),
        ],
        exception_handlers={
            404: _not_found,
            HTTPException: _http_error,
            Exception: _server_error,
        },
        lifespan=lifespan,
    )
    app.state.settings = settings
    return app


def _limiter(settings: Settings) -> Limiter | None:
    limits = parse_limits(settings.rate_limits)
    if limits is None:
        return None
    return Limiter(limits, settings.redis_url, prefix=settings.redis_prefix)


async def _openapi(request: Request) -> Response:
    return JsonResponse(openapi_document())


async def _healthz(request: Request) -> Response:
    return JsonResponse({"status": "ok"})
