"""One signed POST to a receiver: cut at 10 s, no redirects, the guard checked first."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime

import httpx

from opsknight import clock
from opsknight.webhooks.guard import PrivateAddress, resolve_checked

TIMEOUT_SECONDS = 10.0
_client: httpx.AsyncClient | None = None


@dataclass(frozen=True)
class Attempt:
    status_code: int | None
    error: str | None
    retry_after: float | None = None  # seconds the receiver asked us to wait

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def problem(self) -> str | None:
        """What went wrong, as recorded in `last_error`; None on success."""
        if self.error or self.ok or self.status_code is None:
            return self.error
        return f"the receiver answered HTTP {self.status_code}"


def _client_for_loop() -> httpx.AsyncClient:
    global _client
    if _client is None or _client.is_closed:
        _client = httpx.AsyncClient(
            timeout=httpx.Timeout(TIMEOUT_SECONDS),
            follow_redirects=False,
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
        )
    return _client


async def close() -> None:
    global _client
    if _client is not None:
        await _client.aclose()
        _client = None


def _retry_after(value: str | None, now: datetime) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, (parsedate_to_datetime(value) - now).total_seconds())
    except (TypeError, ValueError):
        return None


async def post(url: str, headers: dict[str, str], body: bytes, allow_private: bool) -> Attempt:
    """POST ``body``; every outcome (refused, timeout, any status) comes back as an Attempt."""
    extensions: dict[str, str] = {}
    if not allow_private:
        try:
            target = await resolve_checked(url)
        except PrivateAddress as exc:
            return Attempt(None, str(exc))
        url, headers = target.url, {**headers, "Host": target.host_header}
        extensions["sni_hostname"] = target.host
    try:
        # The whole exchange, including a receiver that trickles its answer, is cut at 10 s.
        async with asyncio.timeout(TIMEOUT_SECONDS):
            response = await _client_for_loop().post(
                url, content=body, headers=headers, extensions=extensions
            )
    except TimeoutError:
        return Attempt(None, f"timed out after {TIMEOUT_SECONDS:.0f} s")
    except httpx.HTTPError as exc:
        return Attempt(None, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
    retry_after = None
    if response.status_code in (429, 503):
        retry_after = _retry_after(response.headers.get("retry-after"), clock.now())
    return Attempt(response.status_code, None, retry_after)
