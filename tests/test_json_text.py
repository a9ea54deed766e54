"""orjson_text: the standard library's compact JSON text, from orjson only where the two are the same."""

from __future__ import annotations

import dataclasses
import datetime
import json

import numpy as np
import pytest

from evalkit.json_text import orjson_text


def _standard(value) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


PLAIN = [
    {"ts": 1700000000, "component": "cache-miss-e-2", "level": "ERROR", "message": 'quote " and \\ and \n\t\x01',
     "ok": True, "n": 3, "f": [0.0, -0.0, 0.5, 1e-4, 123456.789, 1e16, 1.5e300, -2.25e-3]},
    [[], {}, "", 0, -1, 2**63 - 1, -(2**63)],
    {"spans": [{"component": "a", "parent": None, "duration_ms": 1.25}, {"component": "b", "parent": "a"}]},
]


@pytest.mark.parametrize("value", PLAIN)
def test_plain_data_gets_the_standard_text(value):
    text = orjson_text(value, allowed_null=b'"parent":')
    assert text == _standard(value)


@pytest.mark.parametrize("value", [
    "café", "snow \u2603", "DEL \x7f",                               # json escapes these, orjson writes them raw
    [float("nan")], [float("inf")], {"x": float("-inf")},          # orjson writes null
    [1e-05], [-3.5e-06], [1e-07], [5e-324],                       # json: 1e-05, orjson: 0.00001 or 1e-7
    [np.float64(0.5)], [np.int64(3)], {1: "int key"}, [2**64],   # types orjson refuses
    [{1, 2}], [b"bytes"],
    [dataclasses.make_dataclass("D", ["x"])(1)], [datetime.date(2026, 12, 6)],  # json refuses these
])
def test_where_orjson_could_differ_there_is_no_orjson_text(value):
    assert orjson_text(value) is None


def test_a_null_is_accepted_only_after_the_allowed_field():
    span = {"parent": None, "duration_ms": 2.0}
    assert orjson_text([span]) is None                                  # a null could have been a NaN
    assert orjson_text([span], allowed_null=b'"parent":') == _standard([span])
    assert orjson_text([span, {"other": None}], allowed_null=b'"parent":') is None
    quoted = {"message": '"parent":null', "parent": "a"}                # inside a string the quote is escaped
    assert orjson_text([quoted, {"x": float("nan")}], allowed_null=b'"parent":') is None


def test_a_dash_after_a_letter_is_no_exponent():
    value = {"component": "service-e-1", "message": "cache-e-miss"}
    assert orjson_text(value) == _standard(value)
    assert orjson_text({"message": "5e-3 looks like one"}) is None     # a digit before it: the standard text
