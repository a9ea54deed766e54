"""The suite's own files as declarative models: ``suite.toml`` and the truth files (what each field holds and
the one-line fix when it does not). Checks that need the scenario's world stay in :mod:`evalkit.suite.validate`."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field

from evalkit.file_models import STRICT, Fix

#: a suite or scenario id: letters, digits, '.', '_' or '-', at most 128 characters
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
#: a fault type: snake_case
FAULT_PATTERN = r"^[a-z0-9][a-z0-9_]*$"
_STRINGS = Fix("must be a list of strings")
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


class TruthFile(BaseModel):
    """A scenario's truth file: the root cause (component and fault type), the evidence that shows it, other
    names for the component, the components that only look guilty, and where a harvested label came from."""

    model_config = STRICT
    scenario_id: Any
    component: Annotated[str, Field(min_length=1), Fix("must be the root-cause component name")]
    fault_type: Annotated[str, Field(pattern=FAULT_PATTERN), Fix("use a snake_case fault type, e.g. 'slow_query'")]
    evidence: Annotated[list[str], _STRINGS] = []
    aliases: Annotated[list[str], _STRINGS] = []
    distractors: Annotated[list[str], _STRINGS] = []
    provenance: Annotated[dict[str, Any], Fix("must be an object (where a harvested label came from)",
                                              {"dict_type": "must be an object (where a harvested label came from)"})] = {}


def unknown_field(model: type[BaseModel]):
    """The problem of a key ``model``'s file does not have (its value is not shown: the key is what is wrong)."""
    allowed = ", ".join(sorted(model.model_fields))

    def problem(path: tuple[str, ...], key: str) -> tuple[object, str]:
        return "unknown field", f"remove it; allowed fields are {allowed}"
    return problem
