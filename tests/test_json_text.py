"""orjson_text: the standard library's compact JSON text, from orjson only where the two are the same."""

from __future__ import annotations

import dataclasses
import datetime
import json

import numpy as np
import pytest

from evalkit.json_text import orjson_text

#: a value is checked as it is (a short text) and inside a long list (a text long enough to be checked by numpy)
PADDED = pytest.mark.parametrize("pad", [0, 4000], ids=["short", "long"])


def _standard(value) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _padded(value, pad: int):
    return [value, *(["filler-e-text 1.5"] * pad)] if pad else value


PLAIN = [
    {"ts": 1700000000, "component": "cache-miss-e-2", "level": "ERROR", "message": 'quote " and \\ and \n\t\x01',
     "ok": True, "n": 3, "f": [0.0, -0.0, 0.5, 1e-4, 123456.789, 1e16, 1.5e300, -2.25e-3, 10.00001],
     "slow": "# Query_time: 0.0016  Lock_time: 0.000010"},
    [[], {}, "", 0, -1, 2**63 - 1, -(2**63)],
    {"spans": [{"component": "a", "parent": None, "duration_ms": 1.25}, {"component": "b", "parent": "a"}]},
]


@PADDED
@pytest.mark.parametrize("value", PLAIN)
def test_plain_data_gets_the_standard_text(value, pad):
    value = _padded(value, pad)
    assert orjson_text(value, allowed_null=b'"parent":') == _standard(value)


@PADDED
@pytest.mark.parametrize("value", [
    "café", "snow \u2603", "DEL \x7f",                               # json escapes these, orjson writes them raw
    [float("nan")], [float("inf")], {"x": float("-inf")},          # orjson writes null
    [1e-05], [-3.5e-06], [1e-07], [5e-324], [2e-9], {"x": 1e-05},  # json: 1e-05, orjson: 0.00001 or 1e-7
    1e-05, -5e-06,
    [np.float64(0.5)], [np.int64(3)], {1: "int key"}, [2**64],   # types orjson refuses
    [{1, 2}], [b"bytes"],
    [dataclasses.make_dataclass("D", ["x"])(1)], [datetime.date(2026, 12, 6)],  # json refuses these
])
def test_where_orjson_could_differ_there_is_no_orjson_text(value, pad):
    assert orjson_text(_padded(value, pad)) is None


@PADDED
def test_a_null_is_accepted_only_after_the_allowed_field(pad):
    span = {"parent": None, "duration_ms": 2.0}
    assert orjson_text(_padded([span], pad)) is None                                # a null could have been a NaN
    assert orjson_text(_padded([span], pad), allowed_null=b'"parent":') == _standard(_padded([span], pad))
    assert orjson_text(_padded([span, {"other": None}], pad), allowed_null=b'"parent":') is None
    quoted = {"message": '"parent":null', "parent": "a"}                            # inside a string: escaped
    assert orjson_text(_padded([quoted], pad), allowed_null=b'"parent":') is None
    assert orjson_text(_padded([None], pad), allowed_null=b'"parent":') is None     # no room for the field


@PADDED
def test_a_dash_after_a_letter_is_no_exponent(pad):
    value = _padded({"component": "service-e-1", "message": "cache-e-miss"}, pad)
    assert orjson_text(value) == _standard(value)
    assert orjson_text(_padded({"message": "5e-3 looks like one"}, pad)) is None   # a digit before: json's text


def test_long_texts_are_checked_like_short_ones():
    """The numpy check of long texts answers as the byte search of short ones, on random values."""
    import evalkit.json_text as jt

    rng = np.random.default_rng(3)
    atoms = ["e-", "1e-", "0.0000", "null", '"parent":', "x", "-", "e", "0", ".", "9", "u", "ll", "n", "[", ",",
             ":", " "]
    for _ in range(3000):
        text = "".join(rng.choice(atoms, size=int(rng.integers(1, 30)))).encode()
        for key in (b"", b'"parent":'):
            assert jt._vector_check(text, key) == jt._byte_check(text, key), (text, key)
