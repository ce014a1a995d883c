"""Every GraphQL error gets ``extensions.code``; unexpected ones are logged and masked."""

from __future__ import annotations

import logging

from graphql.error import GraphQLError

from opsknight.errors import OpsKnightError

logger = logging.getLogger("opsknight.graphql")


def classify(error: GraphQLError) -> GraphQLError:
    """The error as clients see it: with a §1 code, and no internals when unexpected."""
    original = error.original_error
    if isinstance(original, OpsKnightError):
        error.extensions = {"code": original.code, "details": original.details}
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
