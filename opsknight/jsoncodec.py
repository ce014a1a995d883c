"""The one JSON decoder for every entry point, and the tolerant encoder for responses.

Python's ``json`` accepts more than JSON: ``NaN``, ``Infinity``, numbers that overflow to
``inf``, lone surrogates (``"\\ud800"``) that no UTF-8 store or response can hold. Each
of those, once stored, breaks every later read of the row. ``decode`` refuses them, and
nesting deeper than ``MAX_DEPTH``, NUL characters (PostgreSQL text cannot hold them) and
bodies that are not UTF-8, each with a ``ValidationFailed`` naming the field.

``encode`` writes any value, including rows stored before these rules: non-finite
numbers become ``null`` and lone surrogates U+FFFD, so a bad row never breaks a read.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import orjson

from opsknight.errors import ValidationFailed

MAX_DEPTH = 64
# CPython's own bound on converting integer literals (sys.get_int_max_str_digits()).
MAX_INT_DIGITS = 4300
# Characters no store or response can hold: NUL and lone surrogates.
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_BOM = "\ufeff"


def decode(raw: bytes | str, *, expect: type | None = dict, root: str = "") -> Any:
    """The JSON value of ``raw``, or ValidationFailed. ``expect`` is the required type of
    the top-level value (None for any); ``root`` prefixes the field names in errors."""
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValidationFailed(
                f"the body is not UTF-8 (invalid byte at offset {exc.start})",
                field=root or None,
                reason="invalid_encoding",
            ) from None
    else:
        text = raw
    text = text.removeprefix(_BOM)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationFailed(
            f"the body is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
            field=root or None,
            reason="invalid_json",
        ) from None
    except ValueError:  # an integer literal over MAX_INT_DIGITS digits
        raise ValidationFailed(
            f"a number in the body has more than {MAX_INT_DIGITS} digits",
            field=root or None,
            reason="number_too_long",
        ) from None
    except RecursionError:
        raise _too_deep(root) from None
    _check(value, root, 0)
    if expect is not None and not isinstance(value, expect):
        kind = "a JSON object" if expect is dict else f"a JSON {expect.__name__}"
        raise ValidationFailed(
            f"{root or 'the body'} must be {kind}", field=root or "body", reason="invalid_type"
        )
    return value


def _check(value: Any, root: str, depth: int, parts: tuple[str | int, ...] = ()) -> None:
    # The path of a value is kept as its keys and indexes and written out only for an
    # error: formatting it for every key cost more than the checks themselves.
    if isinstance(value, str):
        if UNSTORABLE.search(value):
            raise _unstorable(_path(root, parts), value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            path = _path(root, parts)
            raise ValidationFailed(
                f"{path or 'the body'} must be a finite number (NaN, Infinity and numbers "
                "beyond ±1.8e308 are not JSON)",
                field=path or None,
                reason="not_finite",
            )
    elif isinstance(value, dict):
        if depth >= MAX_DEPTH:
            raise _too_deep(_path(root, parts))
        for key, item in value.items():
            if UNSTORABLE.search(key):
                raise _unstorable(_path(root, (*parts, key)), key, what="key")
            _check(item, root, depth + 1, (*parts, key))
    elif isinstance(value, list):
        if depth >= MAX_DEPTH:
            raise _too_deep(_path(root, parts))
        for index, item in enumerate(value):
            _check(item, root, depth + 1, (*parts, index))


def _path(root: str, parts: tuple[str | int, ...]) -> str:
    """A value's path as errors name it: ``payload.custom_details.items[2]``."""
    path = root
    for part in parts:
        if isinstance(part, int):
            path = f"{path}[{part}]"
        else:
            path = f"{path}.{printable(part)}" if path else printable(part)
    return path


def _unstorable(path: str, text: str, what: str = "string") -> ValidationFailed:
    if "\x00" in text:
        message, reason = f"{path or 'the body'}: the {what} contains a NUL character", "nul"
    else:
        message = f"{path or 'the body'}: the {what} contains a lone surrogate (invalid Unicode)"
        reason = "invalid_unicode"
    return ValidationFailed(message, field=path or None, reason=reason)


def _too_deep(path: str) -> ValidationFailed:
    return ValidationFailed(
        f"{path or 'the body'} is nested deeper than {MAX_DEPTH} levels",
        field=path or None,
        reason="too_deep",
        max_depth=MAX_DEPTH,
    )


def printable(text: str, limit: int = 64) -> str:
    """``text`` safe to echo in a message: lone surrogates and NUL replaced, bounded."""
    cleaned = UNSTORABLE.sub("\ufffd", text)
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def encode(value: Any) -> bytes:
    """Compact UTF-8 JSON of any value a response may carry, stored bad rows included."""
    try:
        # orjson writes NaN/Infinity as null; it refuses lone surrogates and integers
        # beyond 64 bits, which the slower path handles.
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(
            _tolerant(value), ensure_ascii=False, allow_nan=False, separators=(",", ":"),
            default=str,
        ).encode()  # fmt: skip


def _tolerant(value: Any) -> Any:
    if isinstance(value, str):
        return UNSTORABLE.sub("\ufffd", value) if UNSTORABLE.search(value) else value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {_tolerant(str(k)): _tolerant(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_tolerant(item) for item in value]
    return value
