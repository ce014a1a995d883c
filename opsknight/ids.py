"""Prefixed, time-ordered identifiers (ULID layout: 48-bit ms time, 80 random bits)."""

from __future__ import annotations

import secrets
import threading
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case
# Every pair of digits, by the 10 bits it encodes; an id's 130 bits are 13 such pairs.
_PAIRS = [high + low for high in _ALPHABET for low in _ALPHABET]
_SHIFTS = tuple(range(120, -10, -10))
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


def encode(ms: int, rand: int) -> str:
    """The 26 characters of an id: ``ms`` in 10 base32 digits, then ``rand`` in 16.

    Two digits at a time: a digit at a time costs three times as much, and each event
    makes several ids (its alert, its timeline entry, its change)."""
    value = (ms << 80) | rand
    return "".join([_PAIRS[(value >> shift) & 1023] for shift in _SHIFTS])


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
    return f"{prefix}_{encode(ms, rand)}"
