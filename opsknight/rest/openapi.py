"""The OpenAPI 3.1 document, generated from the route table and the GraphQL schema.

Request bodies come from the GraphQL input type each route's body feeds; responses from
the selection set of each route's fixed document (aliases are the wire names). So the
document cannot drift from what the adapter serves.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    parse,
)
from graphql.pyutils import Undefined

from opsknight import __version__
from opsknight.graphql import compat
from opsknight.rest.adapter import Operation, snake
from opsknight.rest.routes import PATH_PARAMETER, ROUTES, Param, Route

_SCALARS: dict[str, dict[str, Any]] = {
    "String": {"type": "string"},
    "ID": {"type": "string"},
    "Int": {"type": "integer"},
    "Float": {"type": "number"},
    "Boolean": {"type": "boolean"},
    "DateTime": {"type": "string", "format": "date-time"},
    "JSON": {},
}
_PARAM_SCHEMAS: dict[str, dict[str, Any]] = {
    "str": {"type": "string"},
    "int": {"type": "integer"},
    "bool": {"type": "boolean"},
    "csv": {"type": "string", "description": "comma-separated values"},
    "datetime": {"type": "string", "format": "date-time"},
}
ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {"type": "object"},
                "retry_after": {"type": "integer"},
            },
        }
    },
}
PAGINATION = {
    "type": "object",
    "required": ["total", "limit", "offset", "has_more"],
    "properties": {
        "total": {"type": "integer"},
        "limit": {"type": "integer"},
        "offset": {"type": "integer"},
        "has_more": {"type": "boolean"},
    },
}
_ERRORS = {
    "400": "Invalid request (VALIDATION_ERROR, INVALID_STATUS)",
    "401": "Missing or invalid credential",
    "403": "The credential lacks the scope or role",
    "404": "No such resource",
    "409": "Conflict",
    "413": "Body too large",
    "429": "Rate limited",
}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]} if schema else schema


def _input_schema(type_: Any, nullable: bool = True) -> dict[str, Any]:
    """The JSON schema of a GraphQL input type, with snake_case field names."""
    if isinstance(type_, GraphQLNonNull):
        return _input_schema(type_.of_type, nullable=False)
    schema: dict[str, Any]
    if isinstance(type_, GraphQLList):
        schema = {"type": "array", "items": _input_schema(type_.of_type)}
    elif isinstance(type_, GraphQLEnumType):
        schema = {"type": "string", "enum": list(type_.values)}
    elif isinstance(type_, GraphQLScalarType):
        schema = dict(_SCALARS.get(type_.name, {}))
    else:
        assert isinstance(type_, GraphQLInputObjectType)
        schema = {
            "type": "object",
            "properties": {snake(n): _input_schema(f.type) for n, f in type_.fields.items()},
            "additionalProperties": False,
        }
        required = sorted(
            snake(n)
            for n, f in type_.fields.items()
            if isinstance(f.type, GraphQLNonNull) and f.default_value is Undefined
        )
        if required:
            schema["required"] = required
    return _nullable(schema) if nullable else schema


class _Selections:
    """Turns a document's selection sets into JSON schemas of the response."""

    def __init__(self, schema: GraphQLSchema, fragments: dict[str, FragmentDefinitionNode]) -> None:
        self.schema = schema
        self.fragments = fragments

    def fields(self, selection_set: SelectionSetNode, parent: GraphQLObjectType) -> dict[str, Any]:
        properties: dict[str, Any] = {}
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                name = selection.alias.value if selection.alias else selection.name.value
                if name.startswith("_"):
                    continue  # taken by the adapter for a header (the ETag), not in the body
                field = parent.fields[selection.name.value]
                properties[name] = self.output(field.type, selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments[selection.name.value]
                properties.update(self.fields(fragment.selection_set, parent))
            elif isinstance(selection, InlineFragmentNode):
                properties.update(self.fields(selection.selection_set, parent))
        return properties

    def output(
        self, type_: Any, selection_set: SelectionSetNode | None, nullable: bool = True
    ) -> dict[str, Any]:
        if isinstance(type_, GraphQLNonNull):
            return self.output(type_.of_type, selection_set, nullable=False)
        if isinstance(type_, GraphQLList):
            schema: dict[str, Any] = {
                "type": "array",
                "items": self.output(type_.of_type, selection_set),
            }
        elif isinstance(type_, GraphQLEnumType):
            schema = {"type": "string", "enum": list(type_.values)}
        elif isinstance(type_, GraphQLScalarType):
            schema = dict(_SCALARS.get(type_.name, {}))
        else:
            assert isinstance(type_, GraphQLObjectType) and selection_set is not None
            properties = self.fields(selection_set, type_)
            schema = {"type": "object", "properties": properties, "required": sorted(properties)}
        return _nullable(schema) if nullable else schema


_STRING = {"type": "string"}
# The fields beside `data` of the Events API's envelopes, in the sender's product's shape.
_ENVELOPE_FIELDS: dict[str, dict[str, Any]] = {
    "event": {"status": _STRING, "message": _STRING, "dedup_key": _STRING},
    "events": {"status": _STRING, "message": _STRING},
    "change": {"status": _STRING, "message": _STRING},
    "pagerduty-v1": {"status": _STRING, "message": _STRING, "incident_key": _STRING},
    "opsgenie": {"result": _STRING, "took": {"type": "number"}, "requestId": _STRING},
}


def _response_schema(schema: GraphQLSchema, route: Route) -> dict[str, Any]:
    document = parse(route.document)
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    root = schema.mutation_type if operation.operation.value == "mutation" else schema.query_type
    assert root is not None
    selections = _Selections(schema, fragments)
    result_field = next(s for s in operation.selection_set.selections if isinstance(s, FieldNode))
    value = selections.output(root.fields[result_field.name.value].type, result_field.selection_set)
    if route.paged:
        page = value["properties"] if "properties" in value else value["anyOf"][0]["properties"]
        return {
            "type": "object",
            "required": ["data", "pagination"],
            "properties": {"data": page["nodes"], "pagination": PAGINATION},
        }
    extra = _ENVELOPE_FIELDS.get(route.envelope)
    if extra is not None:
        return {
            "type": "object",
            "required": [*extra, "data"],
            "properties": {**extra, "data": value},
        }
    return {"type": "object", "required": ["data"], "properties": {"data": value}}


def _parameters(route: Route) -> list[dict[str, Any]]:
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in PATH_PARAMETER.findall(route.path)
    ]
    for name, param in route.query.items():
        parameters.append(
            {
                "name": name,
                "in": "query",
                "required": _required_param(route, param),
                "schema": _PARAM_SCHEMAS[param.kind],
            }
        )
    for header in route.headers:
        parameters.append(
            {
                "name": header.title(),
                "in": "header",
                "required": False,
                "schema": {"type": "string"},
            }
        )
    return parameters


def _required_param(route: Route, param: Param) -> bool:
    var_type = _operation(route.document).variables.get(param.variable)
    return isinstance(var_type, GraphQLNonNull)


@cache
def _operation(document: str) -> Operation:
    from opsknight.graphql.schema import schema

    return Operation(schema, document)


def _request_body(route: Route) -> dict[str, Any] | None:
    if route.body is None:
        return None
    operation = _operation(route.document)
    if route.body == "*":
        in_path = set(PATH_PARAMETER.findall(route.path))
        properties = {
            snake(name): _input_schema(type_)
            for name, type_ in operation.variables.items()
            if snake(name) not in in_path
        }
        body: dict[str, Any] = {
            "type": "object",
            "properties": properties,
            "additionalProperties": False,
        }
    else:
        body = _input_schema(operation.variables[route.body], nullable=False)
    return {"required": True, "content": {"application/json": {"schema": body}}}


_ERROR_REF = {"$ref": "#/components/schemas/Error"}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


_EVENT_STREAM = {
    "content": {
        "text/event-stream": {
            "schema": {
                "type": "string",
                "description": "Server-sent events: `id` (the event id; send it back as "
                "Last-Event-ID to resume), `event` (e.g. incident.acknowledged) and `data` "
                "(JSON: id, event, occurred_at, sequence, incident).",
            }
        }
    }
}


@cache
def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document for every REST route."""
    from opsknight.graphql.schema import schema

    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        slug = re.sub(r"[^a-z0-9]+", "_", route.path.lower()).strip("_")
        if route.envelope == "stream":
            success = _EVENT_STREAM
        elif route.envelope == "csv":
            success = {"content": {"text/csv": {"schema": {"type": "string"}}}}
        else:
            success = _json(_response_schema(compat.core_schema(schema), route))
        errors = {
            code: {"description": text, **_json(_ERROR_REF)} for code, text in _ERRORS.items()
        }
        operation: dict[str, Any] = {
            "operationId": f"{route.method.lower()}_{slug}",
            "parameters": _parameters(route),
            "responses": {str(route.status): {"description": "Success", **success}, **errors},
        }
        if route.scope:
            operation["description"] = f"Scope: `{route.scope}`."
        body = _request_body(route)
        if body is not None:
            operation["requestBody"] = body
        if route.authenticated:
            operation["security"] = [{"bearer": []}, {"apiKey": []}]
        path = PATH_PARAMETER.sub(r"{\1}", route.path)
        paths.setdefault(path, {})[route.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "OpsKnight",
            "version": __version__,
            "description": "Incident management: a REST adapter over the GraphQL API (/graphql).",
        },
        "paths": paths,
        "components": {
            "schemas": {"Error": ERROR},
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            },
        },
    }
