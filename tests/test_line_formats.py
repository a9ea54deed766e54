"""Numbered formats write, for a whole column of values at once, what each named template writes line by line."""

from __future__ import annotations

import pytest

from evalkit.world.line_formats import has_fields, numbered_formats


def test_numbered_formats_format_like_the_named_templates():
    templates = ["{a} and {b!r:>6} {{literal}} {a}", "no fields {{x}}", "{dep}: {ms}ms", "id={id}"]
    values = {"a": 7, "b": "x", "dep": "db", "ms": 12, "id": 255}
    names, numbered = numbered_formats(templates)
    assert names == ["a", "b", "dep", "ms", "id"]
    for fmt, num in zip(templates, numbered):
        assert num.format(*[values[n] for n in names]) == fmt.format_map(values)
    _, hexed = numbered_formats(templates, specs={"id": "08x"})
    assert hexed[3].format(*[values[n] for n in names]) == "id=000000ff"
    with pytest.raises(ValueError):
        numbered_formats(["{id:>4}"], specs={"id": "08x"})


def test_a_template_has_fields_only_where_it_names_a_placeholder():
    assert has_fields("{a} ms") and has_fields("x={0}")
    assert not has_fields("no fields") and not has_fields("{{escaped}} braces")
