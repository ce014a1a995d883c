"""The §1 envelopes as Starlette responses."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

from opsknight import jsoncodec
from opsknight.errors import HTTP_STATUS


class JsonResponse(JSONResponse):
    """A JSON response that any stored value can be written into (see ``jsoncodec``)."""

    def render(self, content: Any) -> bytes:
        return jsoncodec.encode(content)


def error_response(
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JsonResponse:
    body = {"error": {"code": code, "message": message, "details": details or {}}}
    return JsonResponse(body, status_code=HTTP_STATUS.get(code, 500), headers=headers)
