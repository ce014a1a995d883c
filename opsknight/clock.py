"""The only place that reads the time or scales durations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_time_scale: float = 1.0


def configure(time_scale: float) -> None:
    """Set how many times faster than real time delays run (OPSKNIGHT_TIME_SCALE)."""
    global _time_scale
    if time_scale <= 0:
        raise ValueError("time_scale must be positive")
    _time_scale = time_scale


def now() -> datetime:
    """The current instant, timezone-aware UTC."""
    return datetime.now(UTC)


def scaled(duration: timedelta) -> timedelta:
    """A delay as it runs under the configured time scale."""
    return duration / _time_scale


def to_utc(value: datetime) -> datetime:
    """Normalise an aware datetime to UTC; naive input is a programming error."""
    if value.tzinfo is None:
        raise ValueError("naive datetime")
    try:
        return value.astimezone(UTC)
    except OverflowError:  # e.g. 9999-12-31T23:59:59-14:00 is past the last representable day
        raise ValueError(f"{value.isoformat()} is outside the years 1 to 9999 in UTC") from None


def isoformat_z(value: datetime) -> str:
    """ISO 8601 in UTC with a trailing Z, the wire format of every timestamp."""
    return to_utc(value).isoformat().replace("+00:00", "Z")
