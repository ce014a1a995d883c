"""Users: create, read, update, delete, and the CLI's create-or-update."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from tortoise.expressions import Q

from opsknight import clock, inputs, validation
from opsknight.audit import service as audit
from opsknight.auth.principal import Principal
from opsknight.auth.scopes import ROLES
from opsknight.batch import rows_by_ids
from opsknight.directory.models import User
from opsknight.errors import Conflict, NotFound, ValidationFailed
from opsknight.inputs import UNSET, Unset, or_none
from opsknight.paging import Page, page_of
from opsknight.records import get_or_404
from opsknight.transaction import atomic
from opsknight.unique import unique_field


class UserStatus(Enum):
    ACTIVE = "ACTIVE"
    DISABLED = "DISABLED"


STATUSES = tuple(s.value for s in UserStatus)
_hasher = PasswordHasher()


def _password_hash(password: Any) -> str:
    if not isinstance(password, str) or not 8 <= len(password) <= 256:
        raise ValidationFailed(
            "password must be 8 to 256 characters", field="password", reason="invalid"
        )
    return _hasher.hash(password)


@dataclass(frozen=True)
class UserFields:
    """What creating or changing a user takes (UNSET: not sent; a None is not sent
    either, except that it clears nothing: every user field has a value)."""

    name: str | Unset | None = UNSET
    email: str | Unset | None = UNSET
    role: str | Unset | None = UNSET
    status: str | Unset | None = UNSET
    time_zone: str | Unset | None = UNSET
    handoff_notices: bool | Unset | None = UNSET
    shift_end_notices: bool | Unset | None = UNSET
    password: str | Unset | None = UNSET


def _apply(user: User, fields: UserFields) -> list[str]:
    """Validate and set the given fields; returns the names of columns changed."""
    changed: list[str] = []
    if fields.name is not UNSET:
        user.name = validation.text(fields.name, "name", max_length=255)
        changed.append("name")
    if fields.email is not UNSET:
        user.email = validation.email(fields.email)
        user.email_key = user.email.lower()
        changed += ["email", "email_key"]
    if fields.role is not UNSET:
        user.role = validation.choice(fields.role, "role", ROLES)
        changed.append("role")
    if fields.status is not UNSET:
        user.status = validation.choice(fields.status, "status", STATUSES)
        changed.append("status")
    if fields.time_zone is not UNSET:
        user.time_zone = validation.time_zone(fields.time_zone)
        changed.append("time_zone")
    if fields.handoff_notices is not UNSET and fields.handoff_notices is not None:
        user.handoff_notices = bool(fields.handoff_notices)
        changed.append("handoff_notices")
    if fields.shift_end_notices is not UNSET and fields.shift_end_notices is not None:
        user.shift_end_notices = bool(fields.shift_end_notices)
        changed.append("shift_end_notices")
    if fields.password is not UNSET and fields.password is not None:
        user.password_hash = _password_hash(fields.password)
        changed.append("password_hash")
    return changed


def _without_nulls(fields: UserFields) -> UserFields:
    """``fields`` with its None values taken as not sent (creating, and the CLI)."""
    return replace(fields, **{k: UNSET for k, v in inputs.sent(fields).items() if v is None})


async def new_user(fields: UserFields) -> User:
    """Create a user from checked fields; a taken email is CONFLICT."""
    fields = _without_nulls(fields)
    for required in ("name", "email"):
        if getattr(fields, required) is UNSET:
            raise ValidationFailed(f"{required} is required", field=required, reason="required")
    now = clock.now()
    user = User(role="USER", status="ACTIVE", time_zone="UTC", created_at=now, updated_at=now)
    _apply(user, fields)
    async with unique_field("email", user.email):
        await user.save()
    return user


AUDITED = (
    "name", "email", "role", "status", "time_zone", "handoff_notices", "shift_end_notices",
    "password_hash",
)  # fmt: skip


async def create_user(principal: Principal, fields: UserFields) -> User:
    principal.require("users:write")
    async with atomic():
        user = await new_user(fields)
        await audit.record(principal, "user.created", "user", user.id, None,
                           audit.snapshot(user, AUDITED))  # fmt: skip
    return user


async def get_user(principal: Principal, user_id: str) -> User:
    principal.require("users:read")
    return await _get(user_id)


async def _get(user_id: str) -> User:
    return await get_or_404(User, user_id, "user")


async def viewer(principal: Principal) -> User:
    """The owner of the calling key."""
    return await _get(principal.user_id)


async def list_users(
    principal: Principal,
    *,
    q: str | None = None,
    role: str | None = None,
    status: str | None = None,
    email: str | None = None,
    limit: int | None = None,
    offset: int | None = None,
) -> Page[User]:
    principal.require("users:read")
    query = User.all()
    q = validation.search(q)
    if q:
        query = query.filter(Q(name__icontains=q) | Q(email_key__icontains=q.lower()))
    if role is not None:
        query = query.filter(role=validation.choice(role, "role", ROLES))
    if status is not None:
        query = query.filter(status=validation.choice(status, "status", STATUSES))
    if email is not None:
        query = query.filter(email_key=email.strip().lower())
    return await page_of(query, limit, offset, "name", "id")


async def update_user(principal: Principal, user_id: str, fields: UserFields) -> User:
    principal.require("users:write")
    user = await _get(user_id)
    before = audit.snapshot(user, AUDITED)
    changed = _apply(user, fields)
    if changed:
        user.updated_at = clock.now()
        async with atomic(), unique_field("email", user.email):
            await user.save(update_fields=[*changed, "updated_at"])
            await audit.record(principal, "user.updated", "user", user.id, before,
                               audit.snapshot(user, AUDITED))  # fmt: skip
    return user


# What a person may change about themselves, whatever their role.
OWN_FIELDS = ("name", "time_zone", "handoff_notices", "shift_end_notices")


async def update_own_profile(principal: Principal, fields: UserFields) -> User:
    """The caller's own name, time zone and handoff notices (no scope needed: it is
    theirs). Other fields are VALIDATION_ERROR naming them."""
    others = [name for name in inputs.sent(fields) if name not in OWN_FIELDS]
    if others:
        raise ValidationFailed(
            f"{others[0]} cannot be changed on your own profile", field=others[0]
        )
    user = await _get(principal.user_id)
    changed = _apply(user, fields)
    if changed:
        user.updated_at = clock.now()
        await user.save(update_fields=[*changed, "updated_at"])
    return user


def password_matches(stored_hash: str | None, password: str) -> bool:
    """Whether ``password`` is the one ``stored_hash`` was made from (False without one).
    Argon2 takes tens of milliseconds: callers on the event loop run it in a thread."""
    if not stored_hash:
        return False
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def change_own_password(principal: Principal, current: str, new: str) -> User:
    """A new password for the caller, who must give the current one. Their other
    console sessions end (their next request sees a different password)."""
    user = await _get(principal.user_id)
    if not await asyncio.to_thread(password_matches, user.password_hash, current):
        raise ValidationFailed(
            "the current password is wrong", field="current_password", reason="invalid"
        )
    user.password_hash = await asyncio.to_thread(_password_hash, new)
    user.updated_at = clock.now()
    await user.save(update_fields=["password_hash", "updated_at"])
    return user


async def delete_user(principal: Principal, user_id: str) -> str:
    """Delete a user; one who is in a rotation or an escalation step is CONFLICT naming where."""
    from opsknight.escalation.models import EscalationStep
    from opsknight.schedules import service as schedules
    from opsknight.schedules.models import ScheduleLayerMember

    principal.require("users:write")
    user = await _get(user_id)
    slots = await ScheduleLayerMember.filter(user_id=user.id).select_related("layer__schedule")
    steps = await EscalationStep.filter(target_type="USER", target_id=user.id).select_related(
        "policy"
    )
    if slots or steps:
        places = [
            {
                "schedule_id": s.layer.schedule.id,
                "schedule": s.layer.schedule.name,
                "layer_id": s.layer.id,
            }
            for s in slots
        ] + [
            {
                "escalation_policy_id": s.policy.id,
                "escalation_policy": s.policy.name,
                "step": s.position,
            }
            for s in steps
        ]
        names = sorted({p.get("schedule") or p["escalation_policy"] for p in places})
        raise Conflict(f"user {user.id} is still used by {', '.join(names)}", {"used_by": places})
    async with atomic():
        # Their overrides go with them (cascade): the schedules' kept renders are stale.
        await schedules.revised(await schedules.schedules_with_overrides_of(user.id))
        await user.delete()
        await audit.record(principal, "user.deleted", "user", user.id,
                           audit.snapshot(user, AUDITED), None)  # fmt: skip
    return user_id


async def upsert_user(fields: UserFields, *, update: bool) -> tuple[User, bool]:
    """The CLI's create (or, with ``update``, change) by email; returns (user, created).
    A None is not sent: the CLI's options left out."""
    address = validation.email(or_none(fields.email))
    existing = await User.get_or_none(email_key=address.lower())
    if existing is None:
        if update:
            raise NotFound(f"no user with email {address}")
        return await new_user(fields), True
    if not update:
        raise Conflict(f"a user with email {address} already exists (use --update)")
    changed = _apply(existing, _without_nulls(fields))
    existing.updated_at = clock.now()
    await existing.save(update_fields=[*changed, "updated_at"])
    return existing, False


async def users_by_ids(user_ids: list[str]) -> list[User | None]:
    """Batch load for DataLoaders, in key order."""
    return await rows_by_ids(User, user_ids)
