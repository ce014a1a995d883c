"""Runs a route's fixed GraphQL document and maps the result to the §1 envelopes.

Request → variables: path parameters, query parameters, headers and the JSON body become
the document's variables; snake_case and camelCase input keys are both accepted, unknown
keys are dropped, and each variable is checked against its GraphQL type here so that a
bad value is a 400 naming the field.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    OperationDefinitionNode,
)
from graphql.utilities import type_from_ast, validate_input_value
from starlette.requests import Request
from starlette.responses import Response

from opsknight import jsoncodec, validation
from opsknight.auth.principal import Credential, require
from opsknight.errors import OpsKnightError, ValidationFailed
from opsknight.graphql import compat
from opsknight.graphql.context import Context
from opsknight.graphql.schema import OpsKnightSchema
from opsknight.jsoncodec import printable
from opsknight.rest.responses import JsonResponse, error_response
from opsknight.rest.routes import PATH_PARAMETER, Param, Route
from opsknight.rest.stream import event_stream

logger = logging.getLogger("opsknight.rest")
_TRUE = {"true", "1", "yes"}
# The Events API's envelopes: its errors come in PagerDuty's shape as well as §1's.
_EVENT_ENVELOPES = ("event", "events", "change", "pagerduty-v1")
_FALSE = {"false", "0", "no"}
# PagerDuty's answers by envelope: the message, and the name under which the event's
# dedup key is echoed (clients resolve by it).
_PAGERDUTY_ANSWERS: dict[str, tuple[str, str | None]] = {
    "event": ("Event processed", "dedup_key"),
    "pagerduty-v1": ("Event processed", "incident_key"),
    "events": ("Events processed", None),
    "change": ("Change event processed", None),
}


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _unwrap(type_: Any) -> Any:
    return type_.of_type if isinstance(type_, GraphQLNonNull) else type_


class _UnknownKey(Exception):
    def __init__(self, path: list[str | int], key: str, known: list[str]) -> None:
        super().__init__(key)
        self.path, self.key, self.known = path, key, known


def normalise(value: Any, type_: Any, path: list[str | int] | None = None) -> Any:
    """Rename snake_case keys to the input type's camelCase fields; an unknown key raises
    _UnknownKey (a misspelt field must not be dropped: `severity` is not `urgency`)."""
    path = path or []
    inner = _unwrap(type_)
    if isinstance(inner, GraphQLList) and isinstance(value, list):
        return [normalise(item, inner.of_type, [*path, i]) for i, item in enumerate(value)]
    if isinstance(inner, GraphQLInputObjectType) and isinstance(value, dict):
        result = {}
        for key, item in value.items():
            name = key if key in inner.fields else camel(key)
            if name not in inner.fields:
                raise _UnknownKey(path, key, [snake(n) for n in inner.fields])
            result[name] = normalise(item, inner.fields[name].type, [*path, name])
        return result
    return value


def _field_name(path: list[str | int]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (("." if text else "") + snake(part))
    return text


class Operation:
    """A prepared document and the GraphQL types of its variables."""

    def __init__(self, schema: OpsKnightSchema, source: str) -> None:
        self.source = source
        self.document = document = schema.prepare(source)
        self.compiled = schema.compile(document)
        definition = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
        core = compat.core_schema(schema)
        self.variables: dict[str, GraphQLInputType] = {}
        for var in definition.variable_definitions or ():
            var_type = type_from_ast(core, var.type)
            assert var_type is not None, f"unknown type for ${var.variable.name.value}"
            self.variables[var.variable.name.value] = var_type  # type: ignore[assignment]

    def check(
        self, raw: dict[str, Any], field_of: Callable[[str, list[str | int]], str]
    ) -> dict[str, Any]:
        """Normalised variables, or ValidationFailed naming the first bad field."""
        checked: dict[str, Any] = {}
        for name, var_type in self.variables.items():
            if name not in raw:
                if isinstance(var_type, GraphQLNonNull):
                    field = field_of(name, [])
                    raise ValidationFailed(f"{field} is required", field=field, reason="required")
                continue
            try:
                value = normalise(raw[name], var_type)
            except _UnknownKey as unknown:
                parent = field_of(name, unknown.path)
                field = unknown.key if parent == "body" else f"{parent}.{unknown.key}"
                raise validation.unknown_name(
                    unknown.key, unknown.known, field=printable(field), what="field"
                ) from None
            problems: list[tuple[list[str | int], str]] = []

            def on_error(error: GraphQLError, path: list[str | int]) -> None:
                missing = compat.missing_input_field(error.message)
                full = [*path, missing] if missing else list(path)
                problems.append((full, error.message))  # noqa: B023

            validate_input_value(value, var_type, on_error)
            if problems:
                path, message = problems[0]
                field = field_of(name, path)
                reason = compat.input_problem(message)
                text = (
                    f"{field} is required"
                    if reason == "required"
                    else f"{field}: {_plain(message)}"
                )
                extra: dict[str, Any] = {}
                enum = _type_at(var_type, path)
                if reason == "invalid_enum" and isinstance(enum, GraphQLEnumType):
                    extra["allowed"] = list(enum.values)
                    text = f"{field} must be one of {', '.join(enum.values)}"
                raise ValidationFailed(text, field=field, reason=reason, **extra)
            checked[name] = value
        return checked


def _type_at(type_: Any, path: list[str | int]) -> Any:
    """The named input type found by following ``path`` from ``type_``."""
    for part in path:
        type_ = _unwrap(type_)
        if isinstance(type_, GraphQLList) and isinstance(part, int):
            type_ = type_.of_type
        elif isinstance(type_, GraphQLInputObjectType) and part in type_.fields:
            type_ = type_.fields[part].type
        else:
            return None
    type_ = _unwrap(type_)
    return _unwrap(type_.of_type) if isinstance(type_, GraphQLList) else type_


def _plain(message: str) -> str:
    return message.rstrip(".")


def _parse_param(name: str, raw: str, param: Param) -> Any:
    if param.kind == "int":
        try:
            return int(raw)
        except ValueError:
            raise ValidationFailed(
                f"{name} must be an integer", field=name, reason="invalid_type"
            ) from None
    if param.kind == "bool":
        lowered = raw.lower()
        if lowered not in _TRUE | _FALSE:
            raise ValidationFailed(
                f"{name} must be true or false", field=name, reason="invalid_type"
            )
        return lowered in _TRUE
    if param.kind == "csv":
        return [part.strip() for part in raw.split(",") if part.strip()]
    if param.kind == "datetime":
        # Query strings turn '+' into a space; put a lost offset sign back.
        repaired = re.sub(r" (\d\d:?\d\d)$", r"+\1", raw)
        try:
            datetime.fromisoformat(repaired.replace("z", "Z"))
        except ValueError:
            raise ValidationFailed(
                f"{name} must be an ISO 8601 date-time", field=name, reason="invalid"
            ) from None
        return repaired
    return raw


def _set_path(target: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    for part in parents:
        target = target.setdefault(part, {})
    target[leaf] = value


class RouteHandler:
    """The Starlette endpoint for one route."""

    def __init__(self, schema: OpsKnightSchema, route: Route) -> None:
        self.schema = schema
        self.route = route
        self.operation = Operation(schema, route.document)
        self._param_of_variable = {p.variable: name for name, p in route.query.items()}
        # Query parameters by their snake_case name and their camelCase alias.
        self._query_names = {alias: name for name in route.query for alias in (name, camel(name))}
        # Variables a "*" body may set: not those filled from the path or headers.
        taken = {camel(name) for name in PATH_PARAMETER.findall(route.path)}
        taken |= set(route.headers.values())
        self._body_variables = [v for v in self.operation.variables if v not in taken]

    def _field_of(self, variable: str, path: list[str | int]) -> str:
        if variable == self.route.body:
            return _field_name(path) or "body"
        dotted = ".".join([variable, *(str(p) for p in path if isinstance(p, str))])
        for prefix in sorted(self._param_of_variable, key=len, reverse=True):
            if dotted == prefix or dotted.startswith(prefix + "."):
                return self._param_of_variable[prefix]
        return _field_name([variable, *path])

    async def _variables(self, request: Request) -> dict[str, Any]:
        raw: dict[str, Any] = {camel(k): v for k, v in request.path_params.items()}
        for name, value in [*request.path_params.items(), *request.query_params.items()]:
            if "\x00" in value:
                raise ValidationFailed(f"{name} may not contain NUL characters", field=name)
        for given, value in request.query_params.items():
            known = self._query_names.get(given)
            if known is None:
                if self.route.authenticated:  # senders of events may add their own
                    raise validation.unknown_name(
                        given, self.route.query, field=printable(given), what="query parameter"
                    )
                continue
            param = self.route.query[known]
            _set_path(raw, param.variable, _parse_param(known, value, param))
        for header, variable in self.route.headers.items():
            if header in request.headers:
                raw[variable] = request.headers[header]
        if self.route.body == "*":
            for key, value in (await _json_body(request)).items():
                variable = key if key in self._body_variables else camel(key)
                if variable not in self._body_variables:
                    raise validation.unknown_name(
                        key,
                        [snake(v) for v in self._body_variables],
                        field=printable(key),
                        what="field",
                    )
                raw[variable] = value
        elif self.route.body is not None:
            raw[self.route.body] = await _json_body(request)
        return self.operation.check(raw, self._field_of)

    async def handle(self, request: Request) -> Response:
        credential: Credential = request.state.credential
        started = time.perf_counter()
        try:
            if self.route.authenticated:
                require(credential, self.route.scope)
            variables = await self._variables(request)
        except OpsKnightError as exc:
            return self._error(exc.code, exc.message, exc.details, request, started)
        context = Context(credential=credential, request=request)
        if self.route.envelope == "stream":
            return await event_stream(self.schema, self.route.document, variables, context)
        operation = self.operation
        result = await self.schema.execute_rest(
            operation.source, operation.document, operation.compiled, variables, context
        )
        if result.errors:
            first = result.errors[0]
            extensions = first.extensions or {}
            details = extensions.get("details")
            return self._error(
                str(extensions.get("code", "INTERNAL_ERROR")),
                first.message,
                details if isinstance(details, dict) else {},
                request,
                started,
            )
        assert result.data is not None
        return self._success(request, result.data["result"], started)

    def _error(
        self, code: str, message: str, details: dict[str, Any], request: Request, started: float
    ) -> Response:
        response = error_response(code, message, details)
        if self.route.envelope == "opsgenie":
            # Opsgenie's shape (and its 422 for a request it cannot process) beside §1's.
            invalid = code == "VALIDATION_ERROR"
            fields = details.get("fields") or {details.get("field") or "body": message}
            body = {
                "error": {"code": code, "message": message, "details": details},
                "message": "Request body is not processable. Please check the errors."
                if invalid
                else message,
                **({"errors": fields} if invalid else {}),
                **_opsgenie_receipt(request, started),
            }
            return JsonResponse(body, status_code=422 if invalid else response.status_code)
        if self.route.envelope in _EVENT_ENVELOPES and code == "VALIDATION_ERROR":
            # The Events API answers bad events in PagerDuty's shape as well as §1's.
            problems = details.get("errors") or [message]
            body = {
                "error": {"code": code, "message": message, "details": details},
                "status": "invalid event",
                "message": "Event object is invalid",
                "errors": problems,
            }
            response = JsonResponse(body, status_code=response.status_code)
        return response

    def _success(self, request: Request, value: Any, started: float) -> Response:
        headers: dict[str, str] = {}
        if isinstance(value, dict) and "_etag" in value:
            etag = value.pop("_etag")
            if self.route.etag:
                headers["ETag"] = etag
        if self.route.location and isinstance(value, dict):
            headers["Location"] = self.route.location.format(**request.path_params, id=value["id"])
        if self.route.envelope == "csv":
            name = self.route.path.rsplit("/", 1)[-1]
            headers["Content-Disposition"] = f'attachment; filename="{name}"'
            return Response(value, media_type="text/csv; charset=utf-8", headers=headers)
        body: dict[str, Any]
        if self.route.paged:
            body = {"data": value["nodes"], "pagination": value["pagination"]}
        elif self.route.envelope == "opsgenie":
            body = {
                "result": "Request will be processed",
                **_opsgenie_receipt(request, started),
                "data": value,
            }
        elif self.route.envelope in _PAGERDUTY_ANSWERS:
            message, key_name = _PAGERDUTY_ANSWERS[self.route.envelope]
            body = {"status": "success", "message": message}
            if key_name is not None:
                body[key_name] = value["dedup_key"]
            body["data"] = value
        else:
            body = {"data": value}
        return JsonResponse(body, status_code=self.route.status, headers=headers)


def _opsgenie_receipt(request: Request, started: float) -> dict[str, Any]:
    """The `took` (seconds) and `requestId` every Opsgenie answer carries."""
    return {
        "took": round(time.perf_counter() - started, 3),
        "requestId": getattr(request.state, "request_id", None),
    }


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    body: dict[str, Any] = jsoncodec.decode(raw)
    return body


class FixedRoutes:
    """The innermost middleware: a request for a route with a fixed path (the Events API's
    above all) goes straight to its handler, skipping Starlette's exception layer, router
    and request wrapper, which each event would otherwise pass through; every other
    request goes on to them as before. The handler answers errors
    itself, and anything it raises reaches the server-error layer as from a route."""

    def __init__(self, app: Callable[..., Any], handlers: list[RouteHandler]) -> None:
        self.app = app
        self.handlers = {
            (h.route.method, h.route.path): h
            for h in handlers
            if "{" not in h.route.path and h.route.envelope != "stream"
        }

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            handler = self.handlers.get((scope["method"], route_path(scope)))
            if handler is not None:
                # What the router would have set: metrics read the endpoint's route.
                scope["endpoint"] = handler.handle
                scope["path_params"] = {}
                response = await handler.handle(Request(scope, receive, send))
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def route_path(scope: Any) -> str:
    # As Starlette's router matches it: the path below the root path the app is served at.
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path
