"""One exception hierarchy for every expected failure; transports map ``code`` to a status."""

from __future__ import annotations

from typing import Any


class OpsKnightError(Exception):
    """A failure the caller can act on. ``code`` is one of the SPEC §1 error codes."""

    code = "INTERNAL_ERROR"

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details or {}


class Unauthorized(OpsKnightError):
    code = "UNAUTHORIZED"


class Forbidden(OpsKnightError):
    code = "FORBIDDEN"


class NotFound(OpsKnightError):
    code = "NOT_FOUND"

    @classmethod
    def of(cls, kind: str, ident: str) -> NotFound:
        return cls(f"{kind} {ident} not found", {"resource": kind.lower(), "id": ident})


class ValidationFailed(OpsKnightError):
    code = "VALIDATION_ERROR"

    def __init__(
        self, message: str, *, field: str | None = None, reason: str = "invalid", **extra: Any
    ) -> None:
        details: dict[str, Any] = {"reason": reason, **extra}
        if field is not None:
            details["field"] = field
        super().__init__(message, details)
        self.field = field
        self.reason = reason


class InvalidStatus(OpsKnightError):
    code = "INVALID_STATUS"


class Conflict(OpsKnightError):
    code = "CONFLICT"


class PayloadTooLarge(OpsKnightError):
    code = "PAYLOAD_TOO_LARGE"


class MethodNotAllowed(OpsKnightError):
    code = "METHOD_NOT_ALLOWED"


class RateLimited(OpsKnightError):
    code = "RATE_LIMITED"


# The single mapping from error code to HTTP status (SPEC §1).
HTTP_STATUS: dict[str, int] = {
    "UNAUTHORIZED": 401,
    "FORBIDDEN": 403,
    "NOT_FOUND": 404,
    "METHOD_NOT_ALLOWED": 405,
    "VALIDATION_ERROR": 400,
    "INVALID_STATUS": 400,
    "CONFLICT": 409,
    "PAYLOAD_TOO_LARGE": 413,
    "REQUEST_TIMEOUT": 408,
    "RATE_LIMITED": 429,
    "INTERNAL_ERROR": 500,
    "SERVICE_UNAVAILABLE": 503,
}
