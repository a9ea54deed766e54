"""The standard library's compact JSON text, written by orjson wherever the two are byte for byte the same.

evalkit defines a value's JSON text as ``json.dumps(value, separators=(",", ":"))`` (a world's digest, the size
of a tool answer). orjson writes that text 4-10x faster for plain data, and differs from it only where it
writes non-ASCII or DEL characters raw (json escapes them), NaN or infinity as null, a float below 1e-4 in
another form (``0.00001`` or ``1e-7`` for json's ``1e-05`` and ``1e-07``), or refuses the value's type. Each of
those is caught on orjson's text, and the caller writes the value with ``json`` instead. Plain data means what
a World holds: dicts with string keys, lists, tuples, strings, ints, floats, booleans and None (orjson writes
an Enum member or a UUID by value, where ``json`` would need a ``default``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson

_OPTIONS = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME  # refused, as json refuses them
#: from this many bytes on, the text is checked with numpy (a few passes over one array instead of a byte
#: search per pattern; a world's logs are ~100 kB and their checks were 3x the cost of writing them)
_VECTOR_FROM = 16_384
_BEFORE_NUMBER = b"[,:-"  # what precedes a number's first digit in compact JSON (a "0.0000" in text follows others)
_BEFORE_NUMBER_ARRAY = np.frombuffer(_BEFORE_NUMBER, dtype=np.uint8)


def orjson_text(value: Any, allowed_null: bytes | None = None) -> bytes | None:
    """``json.dumps(value, separators=(",", ":")).encode()`` written by orjson, or None where the two could
    differ. Every ``null`` in the text could be a NaN, so none is accepted unless each one is preceded by
    ``allowed_null`` (e.g. ``b'"parent":'``, a key whose values are known to be None or a string)."""
    try:
        text = orjson.dumps(value, option=_OPTIONS)
    except TypeError:  # orjson.JSONEncodeError: a type (or a depth, an int size) it refuses
        return None
    if not text.isascii() or b"\x7f" in text:
        return None
    check = _vector_check if len(text) >= _VECTOR_FROM else _byte_check
    return text if check(text, allowed_null or b"") else None


def _byte_check(text: bytes, allowed_null: bytes) -> bool:
    """No float below 1e-4 and no null but after ``allowed_null``, by byte searches (for short texts)."""
    at = text.find(b"0.0000")
    while at != -1:  # orjson's 0.0000… where json writes an exponent: a number, so after "[", ",", ":" or "-"
        if not at or text[at - 1] in _BEFORE_NUMBER:
            return False
        at = text.find(b"0.0000", at + 6)
    at = text.find(b"e-")
    while at != -1:  # an exponent follows a digit; "e-" in a name ("cache-miss") does not
        if at and 0x30 <= text[at - 1] <= 0x39:
            return False
        at = text.find(b"e-", at + 2)
    nulls = text.count(b"null")
    return not nulls or (bool(allowed_null) and nulls == text.count(allowed_null + b"null"))


def _vector_check(text: bytes, allowed_null: bytes) -> bool:
    """:func:`_byte_check`'s answer, from comparisons on the text as one uint8 array (for long texts)."""
    a = np.frombuffer(text, dtype=np.uint8)
    dot = np.flatnonzero(a[1:-4] == 0x2E) + 1  # every "." with a byte before it and four after
    tiny = dot[(a[dot - 1] == 0x30) & (a[dot + 1] == 0x30) & (a[dot + 2] == 0x30) & (a[dot + 3] == 0x30)
               & (a[dot + 4] == 0x30)]
    if tiny.size and (tiny[0] == 1 or np.isin(a[tiny - 2], _BEFORE_NUMBER_ARRAY).any()):
        return False
    dash = np.flatnonzero(a[2:] == 0x2D) + 2  # every "-" with two bytes before it
    if ((a[dash - 1] == 0x65) & (a[dash - 2] - 0x30 < 10)).any():  # uint8: 0-9 only
        return False
    u = np.flatnonzero(a[1:-2] == 0x75) + 1  # every "u" with a byte before it and two after
    null = u[(a[u - 1] == 0x6E) & (a[u + 1] == 0x6C) & (a[u + 2] == 0x6C)] - 1  # where each "null" starts
    if not null.size:
        return True
    if not allowed_null:
        return False
    key = np.frombuffer(allowed_null, dtype=np.uint8)
    start = null - key.size
    if (start < 0).any():
        return False
    return bool((a[start[:, None] + np.arange(key.size)] == key).all())
