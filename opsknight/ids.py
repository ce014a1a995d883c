"""Prefixed, time-ordered identifiers (ULID layout: 48-bit ms time, 80 random bits)."""

from __future__ import annotations

import secrets
import threading
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case
_lock = threading.Lock()
_last_ms = -1
_last_random = 0

PREFIXES = frozenset(
    {
        "usr", "team", "svc", "int", "pol", "stp", "sch", "lay", "ovr", "inc", "alr",
        "note", "evt", "key", "whk", "dlv", "cm", "chg", "ntf", "tok", "nrl", "hnd", "ses",
        "sif", "mnt", "hb", "rul", "sus", "aud",
    }
)  # fmt: skip


def _encode(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, rem = divmod(value, 32)
        chars.append(_ALPHABET[rem])
    return "".join(reversed(chars))


def new_id(prefix: str) -> str:
    """A new id such as ``inc_01j9…``; ids made later sort after ids made earlier."""
    global _last_ms, _last_random
    if prefix not in PREFIXES:
        raise ValueError(f"unknown id prefix {prefix!r}")
    with _lock:
        ms = time.time_ns() // 1_000_000
        if ms <= _last_ms:
            # Same (or earlier) millisecond: keep order by incrementing the random part.
            ms = _last_ms
            _last_random += 1
        else:
            _last_ms = ms
            _last_random = secrets.randbits(79)  # headroom so increments never overflow
        rand = _last_random
    return f"{prefix}_{_encode(ms, 10)}{_encode(rand, 16)}"
