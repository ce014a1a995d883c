"""Browser sessions of the console: sign-in with email and password, sign-out, expiry.

A session is a row; the browser's cookie holds a random secret whose SHA-256 is the
row's ``digest``. It ends after 12 hours without use or 7 days after sign-in, when the
person signs out (here or everywhere), and on the next request after they are disabled,
get another role or a new password. Failed sign-ins are counted per account and per
client address; past the third, each doubles the wait before another try is checked.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from dataclasses import dataclass, replace
from datetime import timedelta

from argon2 import PasswordHasher

from opsknight import clock
from opsknight.audit import service as audit
from opsknight.auth.models import SignInFailures, WebSession
from opsknight.auth.principal import Principal
from opsknight.auth.scopes import ALL_SCOPES
from opsknight.directory.models import User
from opsknight.directory.users import password_matches
from opsknight.errors import RateLimited, Unauthorized
from opsknight.transaction import atomic

IDLE = timedelta(hours=12)  # a night shift without a click
LIFETIME = timedelta(days=7)
FREE_FAILURES = 3
LONGEST_WAIT = timedelta(minutes=15)
# last_seen_at is written at most this often, so pages do not each cost a write.
_SEEN_RESOLUTION = timedelta(seconds=60)

# Checked when the account does not exist, so both answers take as long.
_DUMMY_HASH = PasswordHasher().hash(secrets.token_hex(16))


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def password_mark(password_hash: str | None) -> str:
    """A short fingerprint of the stored hash: it changes with the password."""
    return hashlib.sha256((password_hash or "").encode()).hexdigest()[:16]


def principal_of(user: User, session_id: str | None = None) -> Principal:
    """A signed-in person: every scope, so their role alone decides (and its refusal
    names the role), in the live environment."""
    return Principal(
        user_id=user.id,
        user_name=user.name,
        role=user.role,
        scopes=frozenset(ALL_SCOPES),
        environment="live",
        session_id=session_id,
    )


@dataclass(frozen=True)
class SignedIn:
    secret: str  # for the cookie; shown nowhere else
    session: WebSession
    user: User


async def sign_in(email: str, password: str, ip: str, user_agent: str) -> SignedIn:
    """A new session, or UNAUTHORIZED (wrong email or password, disabled) or
    RATE_LIMITED (``details.retry_after`` seconds) after repeated failures."""
    account = f"account:{email.strip().lower()[:250]}"
    counters = [account, f"ip:{ip[:64]}"]
    wait = await _wait(counters)
    if wait > 0:
        raise RateLimited(f"too many failed sign-ins: try again in {wait} s", {"retry_after": wait})
    user = await User.get_or_none(email_key=email.strip().lower())
    stored = user.password_hash if user is not None and user.password_hash else _DUMMY_HASH
    matches = await asyncio.to_thread(password_matches, stored, password)
    if user is None or not user.password_hash or not matches or user.status != "ACTIVE":
        await _failed(counters)
        raise Unauthorized("the email or the password is wrong")
    # Only the account's count: a success of one account must not clear an address that
    # is guessing at others.
    await SignInFailures.filter(key=account).delete()
    now = clock.now()
    secret = secrets.token_urlsafe(32)
    async with atomic():
        session = await WebSession.create(
            digest=digest(secret),
            user_id=user.id,
            role=user.role,
            password_mark=password_mark(user.password_hash),
            csrf_token=secrets.token_urlsafe(32),
            user_agent=user_agent[:200],
            ip=ip[:64],
            created_at=now,
            last_seen_at=now,
            expires_at=now + LIFETIME,
        )
        who = replace(principal_of(user, session.id), ip=ip[:64])
        await audit.record(who, "session.signed_in", "user", user.id)
    return SignedIn(secret, session, user)


async def _wait(counters: list[str]) -> int:
    now = clock.now()
    rows = await SignInFailures.filter(key__in=counters, blocked_until__gt=now)
    return max((int((r.blocked_until - now).total_seconds()) + 1 for r in rows), default=0)  # type: ignore[operator]


async def _failed(counters: list[str]) -> None:
    now = clock.now()
    for key in counters:
        row, _ = await SignInFailures.get_or_create(
            key=key, defaults={"failures": 0, "last_failure_at": now}
        )
        failures = row.failures + 1
        blocked = None
        if failures > FREE_FAILURES:
            wait = min(timedelta(seconds=2 ** (failures - FREE_FAILURES)), LONGEST_WAIT)
            blocked = now + wait
        await SignInFailures.filter(id=row.id).update(
            failures=failures, last_failure_at=now, blocked_until=blocked
        )


@dataclass(frozen=True)
class Current:
    session: WebSession
    user: User

    @property
    def principal(self) -> Principal:
        return principal_of(self.user, self.session.id)


async def current(secret: str | None) -> Current | None:
    """The live session a cookie names, or None; a session that should have ended (idle,
    too old, its person disabled, demoted or with a new password) ends now."""
    if not secret or len(secret) > 100:
        return None
    session = await WebSession.get_or_none(digest=digest(secret), ended_at=None)
    if session is None:
        return None
    user = await User.get_or_none(id=session.user_id)  # type: ignore[attr-defined]
    now = clock.now()
    if (
        user is None
        or user.status != "ACTIVE"
        or user.role != session.role
        or password_mark(user.password_hash) != session.password_mark
        or now >= session.expires_at
        or now - session.last_seen_at >= IDLE
    ):
        await WebSession.filter(id=session.id).update(ended_at=now)
        return None
    if now - session.last_seen_at >= _SEEN_RESOLUTION:
        session.last_seen_at = now
        await WebSession.filter(id=session.id).update(last_seen_at=now)
    return Current(session, user)


def csrf_matches(session: WebSession, presented: str | None) -> bool:
    return bool(presented) and hmac.compare_digest(session.csrf_token, presented or "")


async def sign_out(session_id: str) -> None:
    await WebSession.filter(id=session_id, ended_at=None).update(ended_at=clock.now())


async def sign_out_everywhere(user_id: str) -> int:
    """End every session of the person; how many were open."""
    return await WebSession.filter(user_id=user_id, ended_at=None).update(ended_at=clock.now())


async def open_sessions(user_id: str) -> list[WebSession]:
    now = clock.now()
    return list(
        await WebSession.filter(
            user_id=user_id, ended_at=None, expires_at__gt=now, last_seen_at__gt=now - IDLE
        ).order_by("-last_seen_at")
    )


async def live_session_ids(session_ids: list[str]) -> set[str]:
    """Which of the sessions still hold (open, not expired, their person unchanged)."""
    now = clock.now()
    rows = await WebSession.filter(
        id__in=session_ids, ended_at=None, expires_at__gt=now, last_seen_at__gt=now - IDLE
    ).values("id", "role", "password_mark", "user__status", "user__role", "user__password_hash")
    return {
        row["id"]
        for row in rows
        if row["user__status"] == "ACTIVE"
        and row["user__role"] == row["role"]
        and password_mark(row["user__password_hash"]) == row["password_mark"]
    }


async def keep_after_password_change(session_id: str, user: User) -> None:
    """The session in which the person changed their password stays; the others end."""
    await WebSession.filter(id=session_id).update(password_mark=password_mark(user.password_hash))


async def current_user(user_id: str) -> User:
    return await User.get(id=user_id)
