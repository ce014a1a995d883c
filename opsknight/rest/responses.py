"""The §1 envelopes as Starlette responses."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

from opsknight.errors import HTTP_STATUS


def error_response(
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "details": details or {}}}
    return JSONResponse(body, status_code=HTTP_STATUS.get(code, 500), headers=headers)
