"""Checking what a schedule is given: layers, local date-times, clock times and
restrictions, as the rotation math takes them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from opsknight import validation
from opsknight.directory.models import User
from opsknight.errors import ValidationFailed
from opsknight.schedules import rotation

ROTATION_TYPES = ("daily", "weekly", "custom")
_LOCAL = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$")
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def local_datetime(value: Any, field: str) -> datetime:
    """A wall-clock date-time without an offset, as the schedule's zone reads it."""
    if not isinstance(value, str) or not _LOCAL.match(value):
        raise ValidationFailed(
            f"{field} must be a local date-time such as 2024-01-01T09:00:00, without an offset",
            field=field,
        )
    try:
        return datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValidationFailed(f"{field} is not a valid date-time", field=field) from exc


def clock_time(value: Any, field: str) -> time:
    match = _CLOCK.match(value) if isinstance(value, str) else None
    if match is None:
        raise ValidationFailed(f"{field} must be HH:MM", field=field)
    return time(int(match.group(1)), int(match.group(2)))


@dataclass
class LayerDraft:
    id: str | None
    name: str
    rotation_type: str
    length_hours: int | None
    handoff_start: str
    end: str | None
    users: list[str]
    restrictions: list[dict[str, Any]]


async def checked_layers(raw: Any) -> list[LayerDraft]:
    if not isinstance(raw, list):
        raise ValidationFailed("layers must be a list", field="layers", reason="invalid_type")
    drafts = []
    for i, item in enumerate(raw):
        at = f"layers[{i}]"
        validation.json_object(item, at)
        kind = validation.choice(item.get("rotation_type"), f"{at}.rotation_type", ROTATION_TYPES)
        length = None
        if kind == "custom":
            length = validation.number(
                item.get("rotation_length_hours"),
                f"{at}.rotation_length_hours",
                minimum=1,
                maximum=8760,
            )
        start = local_datetime(item.get("handoff_start"), f"{at}.handoff_start")
        end = None
        if item.get("end") is not None:
            end = local_datetime(item["end"], f"{at}.end")
            if end <= start:
                raise ValidationFailed(f"{at}.end must be after handoff_start", field=f"{at}.end")
        users = item.get("users")
        if not isinstance(users, list) or not users:
            raise ValidationFailed(
                f"{at}.users must list at least one user", field=f"{at}.users", reason="required"
            )
        known = {u.id for u in await User.filter(id__in=[u for u in users if isinstance(u, str)])}
        for j, user_id in enumerate(users):
            if user_id not in known:
                raise ValidationFailed(
                    f"user {user_id} does not exist", field=f"{at}.users[{j}]", reason="not_found"
                )
        restrictions = []
        for k, restriction in enumerate(item.get("restrictions") or []):
            where = f"{at}.restrictions[{k}]"
            if not isinstance(restriction, dict):
                raise ValidationFailed(f"{where} must be an object", field=where)
            days = restriction.get("days") or list(rotation.DAYS)
            for day in days:
                validation.choice(day, f"{where}.days", rotation.DAYS)
            begin = clock_time(restriction.get("start_time"), f"{where}.start_time")
            finish = clock_time(restriction.get("end_time"), f"{where}.end_time")
            if begin == finish:
                raise ValidationFailed(
                    f"{where}.end_time must differ from start_time", field=f"{where}.end_time"
                )
            restrictions.append(
                {"days": sorted(set(days), key=rotation.DAYS.index),
                 "start_time": begin.strftime("%H:%M"), "end_time": finish.strftime("%H:%M")}
            )  # fmt: skip
        name = validation.text(item.get("name") or f"Layer {i + 1}", f"{at}.name", max_length=100)
        drafts.append(
            LayerDraft(
                id=item.get("id"),
                name=name,
                rotation_type=kind,
                length_hours=length,
                handoff_start=start.isoformat(),
                end=None if end is None else end.isoformat(),
                users=list(users),
                restrictions=restrictions,
            )
        )
    return drafts


def restriction(raw: dict[str, Any]) -> rotation.Restriction:
    """A stored restriction as the rotation math takes it."""
    return rotation.Restriction(
        days=frozenset(rotation.DAYS.index(d) for d in raw["days"]),
        start=time.fromisoformat(raw["start_time"]),
        end=time.fromisoformat(raw["end_time"]),
    )
