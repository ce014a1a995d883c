"""API key format (SPEC §2): ``sk_live_``/``sk_test_`` + base62, stored as a SHA-256 digest."""

from __future__ import annotations

import hashlib
import re
import secrets
import string

_BASE62 = string.ascii_letters + string.digits
_KEY_SHAPE = re.compile(r"^sk_(live|test)_[A-Za-z0-9]{32,}$")
RANDOM_LENGTH = 40


def generate(environment: str) -> str:
    """A new secret key for ``live`` or ``test``."""
    body = "".join(secrets.choice(_BASE62) for _ in range(RANDOM_LENGTH))
    return f"sk_{environment}_{body}"


def digest(key: str) -> str:
    # The keys carry ~238 bits of entropy, so an unsalted SHA-256 is safe and indexable.
    return hashlib.sha256(key.encode()).hexdigest()


def environment_of(key: str) -> str | None:
    """``live`` or ``test`` for a well-formed key, None for anything else."""
    match = _KEY_SHAPE.match(key)
    return match.group(1) if match else None


def integration_key() -> str:
    """An integration key: 32 lowercase hex characters."""
    return secrets.token_hex(16)
