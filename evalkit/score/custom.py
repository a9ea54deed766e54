"""User-defined scorers: any ``pkg.module:function(finding, trajectory, truth) -> {name: number}``.

Registered with ``--scorer [name=]pkg.module:function`` or a ``[scorers]`` table in ``suite.toml``
(``name = "pkg.module:function"``); results land in ``custom.<name>.<key>`` columns. A scorer that raises
or returns something other than named numbers never loses the run: its columns are NaN for that trial
and the failure is reported with the scorer's name.
"""

from __future__ import annotations

import importlib
import math
import numbers
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from evalkit.errors import Problem, UserError
from evalkit.score.catalogue import CUSTOM_PREFIX

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")
_TARGET = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


class ScorerFailed(Exception):
    """A user scorer raised or returned something that is not ``{name: number}``."""

    def __init__(self, scorer: str, message: str):
        self.scorer = scorer
        super().__init__(message)


@dataclass(frozen=True)
class UserScorer:
    """A named user scorer; ``spec`` is ``pkg.module:function``."""

    name: str
    spec: str
    fn: Callable[..., Mapping[str, Any]]

    def __call__(self, finding, trajectory, truth) -> dict[str, float]:
        try:
            result = self.fn(finding, trajectory, truth)
        except Exception as exc:  # noqa: BLE001 - reported with the scorer's name
            raise ScorerFailed(self.name, f"scorer '{self.name}' ({self.spec}) raised {type(exc).__name__}: {exc}") from exc
        if not isinstance(result, Mapping):
            raise ScorerFailed(self.name, f"scorer '{self.name}' ({self.spec}) returned {type(result).__name__}, "
                               "expected a dict of named numbers")
        out: dict[str, float] = {}
        for key, value in result.items():
            if not isinstance(key, str) or not _NAME.match(key):
                raise ScorerFailed(self.name, f"scorer '{self.name}' returned key {key!r}; keys must be identifiers")
            if not isinstance(value, numbers.Real) or math.isinf(float(value)):
                raise ScorerFailed(self.name, f"scorer '{self.name}' returned {key}={value!r}; values must be finite numbers")
            out[key] = float(value)
        return out

    def columns(self, result: Mapping[str, float]) -> dict[str, float]:
        return {f"{CUSTOM_PREFIX}{self.name}.{k}": v for k, v in result.items()}


def parse_scorer_spec(text: str) -> tuple[str | None, str]:
    """``[name=]pkg.module:function`` -> (name or None, target)."""
    name, sep, target = text.partition("=")
    return (name.strip(), target.strip()) if sep else (None, text.strip())


def load_scorers(specs: Iterable[str | tuple[str, str]], where: str = "--scorer") -> list[UserScorer]:
    """Import the scorers named by ``specs``; raises one UserError listing every bad spec."""
    problems: list[Problem] = []
    scorers: list[UserScorer] = []
    seen: set[str] = set()
    for spec in specs:
        name, target = spec if isinstance(spec, tuple) else parse_scorer_spec(spec)
        if not _TARGET.match(target or ""):
            problems.append(Problem(where, "", target, "give a scorer as [name=]pkg.module:function"))
            continue
        module_name, attr = target.split(":", 1)
        name = name or attr.rsplit(".", 1)[-1]
        if not _NAME.match(name):
            problems.append(Problem(where, "name", name, "scorer names are identifiers (letters, digits, _ and -)"))
            continue
        if name in seen:
            problems.append(Problem(where, "name", name, "two scorers share this name; give one as other=pkg.mod:fn"))
            continue
        try:
            obj: Any = importlib.import_module(module_name)
        except ImportError as exc:
            problems.append(Problem(where, "", target, f"cannot import {module_name} ({exc}); is it installed / on PYTHONPATH?"))
            continue
        try:
            for part in attr.split("."):
                obj = getattr(obj, part)
        except AttributeError:
            problems.append(Problem(where, "", target, f"{module_name} has no attribute {attr}"))
            continue
        if not callable(obj):
            problems.append(Problem(where, "", target, "not callable; point at a function (finding, trajectory, truth)"))
            continue
        seen.add(name)
        scorers.append(UserScorer(name, target, obj))
    if problems:
        raise UserError(*problems)
    return scorers


def suite_scorer_specs(suite_path: str | Path) -> list[tuple[str, str]]:
    """The ``[scorers]`` table of ``<suite>/suite.toml`` as (name, target) pairs (empty when absent)."""
    path = Path(suite_path)
    path = path / "suite.toml" if path.is_dir() else path
    if not path.is_file():
        return []
    try:
        doc = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError):
        return []  # load_suite reports a broken suite.toml
    table = doc.get("scorers", {})
    if not isinstance(table, dict):
        raise UserError.at(str(path), "scorers", table, 'make [scorers] a table of name = "pkg.module:function"')
    problems = [Problem(str(path), f"scorers.{name}", target, 'give "pkg.module:function"')
                for name, target in table.items() if not isinstance(target, str)]
    if problems:
        raise UserError(*problems)
    return list(table.items())


def run_user_scorers(scorers: Iterable[UserScorer], finding, trajectory,
                     truth) -> tuple[dict[str, float], list[tuple[str, str]]]:
    """Run every user scorer; returns (custom columns, [(scorer name, message)]). Never raises for a scorer's fault."""
    columns: dict[str, float] = {}
    failures: list[tuple[str, str]] = []
    for scorer in scorers:
        try:
            columns.update(scorer.columns(scorer(finding, trajectory, truth)))
        except ScorerFailed as exc:
            failures.append((exc.scorer, str(exc)))
    return columns, failures
