"""``suite.toml`` as a declarative model: what each field holds and the one-line fix when it does not."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field

from evalkit.file_models import STRICT, Fix

#: a suite or scenario id: letters, digits, '.', '_' or '-', at most 128 characters
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
_CATEGORIES = Fix("give a one-line description string", {
    "dict_type": "give a table 'category = \"one-line description\"'",
    "too_short": "give a table 'category = \"one-line description\"'"})


class SuiteFile(BaseModel):
    """A suite's ``suite.toml``: name, version, description, categories (name → one-line description),
    default trials, and optionally the generator's provenance and whether the suite is a pool."""

    model_config = STRICT
    name: Annotated[str, Field(pattern=ID_PATTERN), Fix("use letters, digits, '.', '_' or '-'")]
    version: Annotated[str, Fix("must be a string")]
    description: Annotated[str, Fix("must be a string")]
    categories: Annotated[dict[str, Annotated[str, Field(pattern=r"\S")]], Field(min_length=1), _CATEGORIES]
    default_trials: Annotated[int, Field(ge=1, le=100), Fix("must be an integer from 1 to 100")]
    generated: Any = None
    pool: Annotated[bool, Fix("must be true or false (true: a pool the gate samples in rounds)")] = False


def unknown_field(path: tuple[str, ...], key: str) -> tuple[object, str]:
    """The problem of a key suite.toml does not have (its value is not shown: the key is what is wrong)."""
    return "unknown field", f"remove it; allowed fields are {', '.join(sorted(SuiteFile.model_fields))}"
