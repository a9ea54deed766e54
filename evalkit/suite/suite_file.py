"""The suite's own files as declarative models: ``suite.toml``, scenario and truth files (what each field holds and
the one-line fix when it does not). Checks across fields or needing the world stay in :mod:`evalkit.suite.validate`."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from evalkit.file_models import STRICT, Fix

#: a suite or scenario id: letters, digits, '.', '_' or '-', at most 128 characters
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
ID_RE = re.compile(ID_PATTERN)
#: a fault type: snake_case
FAULT_PATTERN = r"^[a-z0-9][a-z0-9_]*$"
_STRINGS = Fix("must be a list of strings")
_CATEGORIES = Fix("give a one-line description string", {
    "dict_type": "give a table 'category = \"one-line description\"'",
    "too_short": "give a table 'category = \"one-line description\"'"})
_EPOCH = Annotated[int, Field(ge=0), Fix("must be integer epoch seconds (UTC)")]
_TEXT = Annotated[str, Field(min_length=1), Fix("must be a non-empty string")]


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


class Window(BaseModel):
    """A scenario's time window: epoch seconds (UTC) and the step of its series."""

    model_config = STRICT
    start: _EPOCH
    end: _EPOCH
    step: Annotated[int, Field(ge=1, le=3600), Fix("must be an integer number of seconds from 1 to 3600")] = 60


class Alert(BaseModel):
    """The alert that opens the investigation: where, when and what fired (the last four are kept as given)."""

    model_config = STRICT
    component: _TEXT
    metric: _TEXT
    fired_at: Annotated[int, Fix("must be integer epoch seconds")]
    title: _TEXT
    monitor: Any = None
    value: Any = None
    threshold: Any = None
    severity: Any = None


class ScenarioFile(BaseModel):
    """A scenario file: id, category, alert, window, world (checked in validate: it needs its generator or folder)."""

    model_config = ConfigDict(**STRICT, regex_engine="python-re")  # the id read as ID_RE reads it (``re``)
    id: Annotated[str, Field(pattern=ID_PATTERN), Fix("use 1-128 letters, digits, '.', '_' or '-' "
                                                      "(it names the truth file)")]
    category: Annotated[str, Fix("must be a category name string")]
    alert: Annotated[Alert, Fix("give the triggering alert as an object (component, metric, fired_at, title)")]
    window: Annotated[Window, Fix('give {"start": <epoch s>, "end": <epoch s>, "step": 60}')]
    world: Any
    tags: Annotated[list[str], _STRINGS] = []
    noise_level: Annotated[float, Field(ge=0, le=1), Fix("must be a number from 0 to 1")] = 0.5
    max_tool_calls: Annotated[int, Field(ge=1, le=1000), Fix("must be an integer from 1 to 1000")] = 60
    description: Any = None


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
    """The problem of a key the table at ``path`` in ``model`` lacks (the key is what is wrong, not its value)."""
    def problem(path: tuple[str, ...], key: str) -> tuple[object, str]:
        table: Any = model
        for name in path:
            table = table.model_fields[name].annotation
        return "unknown field", f"remove it; allowed fields are {', '.join(sorted(table.model_fields))}"
    return problem
