"""Every GraphQL error gets ``extensions.code``; unexpected ones are logged and masked."""

from __future__ import annotations

import logging

from graphql.error import GraphQLError
from tortoise.exceptions import ValidationError as ColumnRejected

from opsknight.errors import OpsKnightError

logger = logging.getLogger("opsknight.graphql")


def classify(error: GraphQLError) -> GraphQLError:
    """The error as clients see it: with a §1 code, and no internals when unexpected."""
    original = error.original_error
    if isinstance(original, OpsKnightError):
        error.extensions = {"code": original.code, "details": original.details}
        return error
    if isinstance(original, ColumnRejected):
        # A value the database column cannot hold, e.g. an id far longer than any id: the
        # input is malformed (checked by the ORM before any SQL runs, so nothing changed).
        field = str(original).split(":", 1)[0]
        error.message = f"{field} is malformed (too long or of the wrong type)"
        error.extensions = {"code": "VALIDATION_ERROR", "details": {"field": field}}
        return error
    if error.path is None and isinstance(original, ValueError | OverflowError):
        # Raised while validating the document (graphql-core converting a literal, such as
        # an integer of 5,000 digits), not by a resolver: the input is wrong.
        error.message = "a literal value in the document cannot be read (out of range)"
        error.extensions = {"code": "VALIDATION_ERROR", "details": {"reason": "invalid"}}
        return error
    if original is None or isinstance(original, GraphQLError):
        # Syntax, validation and variable-coercion errors: the document or its input is wrong.
        error.extensions = {"code": "VALIDATION_ERROR", **(error.extensions or {})}
        return error
    logger.error("unexpected error in GraphQL resolver", exc_info=original)
    return GraphQLError(
        "Internal server error",
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions={"code": "INTERNAL_ERROR"},
    )
