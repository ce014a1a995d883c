"""Field checks shared by the domain packages; each failure names the field (snake_case)."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from opsknight.errors import ValidationFailed

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_ZONES: frozenset[str] | None = None
T = TypeVar("T")


def text(value: Any, field: str, *, max_length: int, min_length: int = 1) -> str:
    """A string of bounded length, stripped of surrounding whitespace."""
    if not isinstance(value, str):
        raise ValidationFailed(f"{field} must be a string", field=field, reason="invalid_type")
    stripped = value.strip()
    if len(stripped) < min_length:
        raise ValidationFailed(f"{field} is required", field=field, reason="required")
    if len(stripped) > max_length:
        raise ValidationFailed(
            f"{field} must be at most {max_length} characters",
            field=field,
            reason="too_long",
            max_length=max_length,
        )
    return stripped


def optional_text(value: Any, field: str, *, max_length: int) -> str | None:
    """Like ``text`` but None and the empty string mean no value."""
    if value is None:
        return None
    if isinstance(value, str) and not value.strip():
        return None
    return text(value, field, max_length=max_length)


def number(value: Any, field: str, *, minimum: int, maximum: int) -> int:
    """An integer inside [minimum, maximum]."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed(f"{field} must be an integer", field=field, reason="invalid_type")
    if not minimum <= value <= maximum:
        raise ValidationFailed(
            f"{field} must be between {minimum} and {maximum}",
            field=field,
            reason="out_of_range",
            minimum=minimum,
            maximum=maximum,
        )
    return value


def choice(value: Any, field: str, allowed: Iterable[str]) -> str:
    """One of a fixed set of values (case-sensitive)."""
    options = list(allowed)
    if value not in options:
        raise ValidationFailed(
            f"{field} must be one of {', '.join(options)}",
            field=field,
            reason="invalid_enum",
            allowed=options,
        )
    return str(value)


def email(value: Any, field: str = "email") -> str:
    address = text(value, field, max_length=320)
    if not _EMAIL.match(address):
        raise ValidationFailed(f"{field} is not a valid email address", field=field)
    return address


def time_zone(value: Any, field: str = "time_zone") -> str:
    """An IANA zone name such as ``Europe/Berlin``."""
    global _ZONES
    name = text(value, field, max_length=64)
    if _ZONES is None:
        _ZONES = frozenset(available_timezones())
    if name not in _ZONES:
        raise ValidationFailed(f"{field} is not an IANA time zone", field=field)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationFailed(f"{field} is not an IANA time zone", field=field) from exc
    return name


def http_url(value: Any, field: str) -> str:
    url = text(value, field, max_length=2048)
    try:
        parsed = urlparse(url)
        parsed.port  # noqa: B018 - raises ValueError for a port out of range or not a number
    except ValueError as exc:
        raise ValidationFailed(f"{field} is not a valid URL: {exc}", field=field) from None
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ValidationFailed(f"{field} must be an http(s) URL", field=field)
    return url


def aware(value: datetime, field: str) -> datetime:
    if value.tzinfo is None:
        raise ValidationFailed(f"{field} must include a UTC offset", field=field, reason="naive")
    return value


MAX_SEARCH = 255


def search(value: str | None, field: str = "q") -> str | None:
    """A substring to search for: no longer than the longest text it can match, and
    within what the databases accept as a LIKE pattern."""
    if value is not None and len(value) > MAX_SEARCH:
        raise ValidationFailed(
            f"{field} must be at most {MAX_SEARCH} characters",
            field=field,
            reason="too_long",
            max_length=MAX_SEARCH,
        )
    return value or None


def json_object(value: Any, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValidationFailed(f"{field} must be an object", field=field, reason="invalid_type")
    return value


def links(value: Any, field: str = "links") -> list[dict[str, Any]]:
    """A list of ``{href, text}`` objects."""
    if not isinstance(value, list):
        raise ValidationFailed(f"{field} must be a list", field=field, reason="invalid_type")
    result = []
    for index, item in enumerate(value):
        if not isinstance(item, dict) or not isinstance(item.get("href"), str):
            raise ValidationFailed(
                f"{field}[{index}] must be an object with an href", field=f"{field}[{index}].href"
            )
        link = {"href": text(item["href"], f"{field}[{index}].href", max_length=2048)}
        if item.get("text") is not None:
            link["text"] = text(item["text"], f"{field}[{index}].text", max_length=1024)
        result.append(link)
    return result


def referenced(found: T | None, value: str, field: str, kind: str) -> T:
    """A referenced object that must exist: a missing one is a 400 naming the field."""
    if found is None:
        raise ValidationFailed(f"{kind} {value} does not exist", field=field, reason="not_found")
    return found


# Names people bring from other tools, for fields this API calls something else.
_SYNONYMS = {
    "severity": "urgency",
    "state": "status",
    "service": "service_id",
    "assignee": "assignee_id",
    "team": "team_id",
    "summary": "title",
    "body": "description",
    "details": "custom_details",
    "incident_key": "dedup_key",
    "search": "q",
    "query": "q",
    "page_size": "limit",
    "per_page": "limit",
    "sort_by": "sort",
}


def unknown_name(name: str, known: Iterable[str], *, field: str, what: str) -> ValidationFailed:
    """The error for a field or parameter the request may not carry, with the closest
    known name as a suggestion (by spelling, or by what other tools call it)."""
    options = sorted(set(known))
    close = difflib.get_close_matches(name.lower(), options, n=1, cutoff=0.6)
    suggestion = close[0] if close else _SYNONYMS.get(name.lower())
    if suggestion not in options:
        suggestion = None
    shown = field if len(field) <= 80 else field[:79] + "…"
    message = f"unknown {what} {shown!r}"
    message += f"; did you mean {suggestion}?" if suggestion else f" (known: {', '.join(options)})"
    extra: dict[str, Any] = {"allowed": options}
    if suggestion:
        extra["suggestion"] = suggestion
    return ValidationFailed(message, field=field, reason="unknown_field", **extra)
