"""Custom scalars: DateTime with a trailing Z out, an explicit offset in."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry

from opsknight import clock


def _parse_datetime(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError("expected an ISO 8601 date-time string")
    try:
        parsed = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError as exc:
        raise ValueError(f"{value!r} is not an ISO 8601 date-time") from exc
    if parsed.tzinfo is None:
        raise ValueError(f"{value!r} has no UTC offset; naive date-times are not accepted")
    return clock.to_utc(parsed)


DateTime = strawberry.scalar(
    name="DateTime",
    description="ISO 8601 date-time; output in UTC with Z, input with an explicit offset.",
    serialize=clock.isoformat_z,
    parse_value=_parse_datetime,
)
