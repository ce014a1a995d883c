"""Identifiers: the ULID layout in Crockford base32, in the order they were made."""

from __future__ import annotations

import time

from hypothesis import given
from hypothesis import strategies as st

from opsknight import ids

CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"


def digits(value: int, length: int) -> str:
    """``value`` in ``length`` base32 digits, most significant first, a digit at a time."""
    out = []
    for _ in range(length):
        value, rem = divmod(value, 32)
        out.append(CROCKFORD[rem])
    return "".join(reversed(out))


@given(st.integers(0, 2**48 - 1), st.integers(0, 2**80 - 1))
def test_an_id_is_its_time_then_its_random_part_in_crockford_base32(ms: int, rand: int) -> None:
    assert ids.encode(ms, rand) == digits(ms, 10) + digits(rand, 16)


def test_the_extremes_encode_as_digit_by_digit() -> None:
    for ms, rand in ((0, 0), (2**48 - 1, 2**80 - 1), (1, 1), (2**47, 2**79)):
        assert ids.encode(ms, rand) == digits(ms, 10) + digits(rand, 16)


def test_ids_made_later_sort_after_and_carry_their_millisecond() -> None:
    before = time.time_ns() // 1_000_000
    made = [ids.new_id("inc") for _ in range(2_000)]
    after = time.time_ns() // 1_000_000
    assert made == sorted(made)
    assert len(set(made)) == len(made)
    first = made[0].removeprefix("inc_")
    assert len(first) == 26
    assert set(first) <= set(CROCKFORD)
    assert digits(before, 10) <= first[:10] <= digits(after, 10)
