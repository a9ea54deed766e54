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

import orjson

_OPTIONS = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME  # refused, as json refuses them


def orjson_text(value: Any, allowed_null: bytes | None = None) -> bytes | None:
    """``json.dumps(value, separators=(",", ":")).encode()`` written by orjson, or None where the two could
    differ. Every ``null`` in the text could be a NaN, so none is accepted unless each one is preceded by
    ``allowed_null`` (e.g. ``b'"parent":'``, a key whose values are known to be None or a string)."""
    try:
        text = orjson.dumps(value, option=_OPTIONS)
    except TypeError:  # orjson.JSONEncodeError: a type (or a depth, an int size) it refuses
        return None
    if not text.isascii() or b"\x7f" in text or b"0.0000" in text:
        return None
    nulls = text.count(b"null")
    if nulls and (allowed_null is None or nulls != text.count(allowed_null + b"null")):
        return None
    at = text.find(b"e-")
    while at > 0:  # an exponent follows a digit; "e-" in a name ("cache-miss") does not
        if 0x30 <= text[at - 1] <= 0x39:
            return None
        at = text.find(b"e-", at + 2)
    return text
