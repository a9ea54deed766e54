"""User files are read by declarative models: every problem at once as one line (file, field, value, fix), and
the valid rest still parsed so checks across fields can run on it."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from evalkit.file_models import STRICT, Fix, read_model


class Inner(BaseModel):
    model_config = STRICT
    share: Annotated[float, Field(ge=0, le=1), Fix("give a share from 0 to 1")] = 0.5
    names: Annotated[list[str], Fix("give a list of names")] = []
    limits: Annotated[dict[str, Annotated[int, Field(ge=1)]], Fix("give whole numbers >= 1",
                                                                   {"greater_than_equal": "at least 1"})] = {}


class Outer(BaseModel):
    model_config = STRICT
    inner: Inner = Inner()
    seed: Annotated[int, Fix("give an integer")] = 0


def unknown(path: tuple[str, ...], key: str) -> tuple[object, str]:
    return key, f"unknown key in [{'.'.join(path) or 'top'}]"


def read(data: dict) -> tuple[Outer, list[str]]:
    model, problems = read_model(Outer, data, "f.toml", unknown)
    return model, [str(p) for p in problems]


def test_a_valid_file_has_no_problems_and_keeps_its_values():
    model, problems = read({"inner": {"share": 1, "names": ["a"], "limits": {"x": 3}}, "seed": 7})
    assert problems == [] and (model.inner.share, model.inner.names, model.inner.limits, model.seed) == \
        (1.0, ["a"], {"x": 3}, 7)


def test_every_problem_is_one_line_with_its_field_path_value_and_fix_and_the_rest_is_kept():
    model, problems = read({"inner": {"share": 2, "names": ["a", 3], "limits": {"x": 0, "y": "z", "ok": 4}},
                            "seed": 1.5, "colour": "red"})
    assert sorted(problems) == sorted([
        "f.toml: inner.share 2: give a share from 0 to 1",
        "f.toml: inner.names ['a', 3]: give a list of names",
        "f.toml: inner.limits.x 0: at least 1",
        "f.toml: inner.limits.y 'z': give whole numbers >= 1",
        "f.toml: seed 1.5: give an integer",
        "f.toml: colour 'colour': unknown key in [top]",
    ])
    assert (model.inner.share, model.inner.names, model.inner.limits, model.seed) == (0.5, [], {"ok": 4}, 0)


def test_a_section_that_is_not_a_table_says_so_and_strings_are_not_numbers():
    _, problems = read({"inner": 5, "seed": "3"})
    assert sorted(problems) == ["f.toml: inner 5: must be a table: [inner]", "f.toml: seed '3': give an integer"]


class WithRequired(BaseModel):
    model_config = STRICT
    name: Annotated[str, Field(pattern=r"^[a-z]+$"), Fix("use lower-case letters")]
    tags: Annotated[dict[str, Annotated[str, Field(min_length=1)]], Field(min_length=1), Fix("give a tag text")]


def test_a_missing_required_field_is_one_problem_and_a_bad_one_is_not_also_called_missing():
    model, problems = read_model(WithRequired, {"name": "Bad Name", "tags": {"a": ""}}, "f.toml", unknown)
    assert model is None
    assert [str(p) for p in problems] == ["f.toml: name 'Bad Name': use lower-case letters",
                                          "f.toml: tags.a '': give a tag text"]
    model, problems = read_model(WithRequired, {"tags": {"a": "x"}}, "f.toml", unknown)
    assert model is None and [str(p) for p in problems] == ["f.toml: name 'missing': add the required field 'name'"]
    model, problems = read_model(WithRequired, {"name": "ok", "tags": {"a": "x"}}, "f.toml", unknown)
    assert problems == [] and model.name == "ok"
