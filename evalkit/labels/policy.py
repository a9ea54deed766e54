"""The label policy: per-part confidence thresholds, the spot-check share of above-threshold candidates and the
build that checks solvability. Read from a JSON file and checked with one-line errors (docs/labels.md)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from evalkit.errors import Problem, UserError
from evalkit.vocab import ConfidencePart

#: parts that gate admission (solvability only marks a label "hard", it never holds one back)
GATED = (ConfidencePart.SPECIFICITY, ConfidencePart.SUPPORT, ConfidencePart.CONSISTENCY, ConfidencePart.LEAKAGE,
         ConfidencePart.DUPLICATION)
DEFAULT_THRESHOLDS: dict[str, float] = {ConfidencePart.SPECIFICITY: 1.0, ConfidencePart.SUPPORT: 0.5, ConfidencePart.CONSISTENCY: 0.5,
                      ConfidencePart.LEAKAGE: 1.0, ConfidencePart.DUPLICATION: 1.0}
_KEYS = ("thresholds", "spot_check_share", "seed", "solvability_build", "solvability_budget")


@dataclass(frozen=True)
class LabelPolicy:
    """A candidate whose part falls below its threshold goes to review; the others are admitted, a
    ``spot_check_share`` of them (drawn with ``seed``) reviewed too. ``solvability_build`` (None: skip)
    investigates each snapshot within ``solvability_budget`` tool calls."""

    thresholds: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_THRESHOLDS))
    spot_check_share: float = 0.1
    seed: int = 0
    solvability_build: str | None = "reference:v4"
    solvability_budget: int = 60


def load_policy(path: str | Path | None) -> LabelPolicy:
    """The policy in ``path`` (None: the default); every problem is one line naming file, field and fix."""
    if path is None:
        return LabelPolicy()
    where = str(path)
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(Problem(where, "", "missing", "give an existing label policy JSON file")) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(Problem(where, "", f"malformed JSON ({exc})", "fix the JSON syntax")) from None
    if not isinstance(doc, dict):
        raise UserError(Problem(where, "", type(doc).__name__, "must be a JSON object"))
    problems = [Problem(where, k, "unknown field", f"remove it; allowed fields are {', '.join(_KEYS)}")
                for k in doc if k not in _KEYS]
    thresholds = dict(DEFAULT_THRESHOLDS)
    given = doc.get("thresholds", {})
    if not isinstance(given, dict):
        problems.append(Problem(where, "thresholds", given, "give an object part -> number in 0..1"))
        given = {}
    for part, v in given.items():
        if part not in GATED:
            problems.append(Problem(where, f"thresholds.{part}", "unknown part", f"use one of {', '.join(GATED)}"))
        elif not _number_in(v, 0, 1):
            problems.append(Problem(where, f"thresholds.{part}", v, "give a number from 0 to 1"))
        else:
            thresholds[part] = float(v)
    share = doc.get("spot_check_share", 0.1)
    if not _number_in(share, 0, 1):
        problems.append(Problem(where, "spot_check_share", share, "give a share from 0 to 1 (0.1 = one in ten)"))
    seed = doc.get("seed", 0)
    if not (isinstance(seed, int) and not isinstance(seed, bool) and seed >= 0):
        problems.append(Problem(where, "seed", seed, "give an integer >= 0"))
    build = doc.get("solvability_build", "reference:v4")
    if build is not None and not (isinstance(build, str) and build):
        problems.append(Problem(where, "solvability_build", build, "give an agent spec (reference:v4) or null"))
    budget = doc.get("solvability_budget", 60)
    if not (isinstance(budget, int) and not isinstance(budget, bool) and 1 <= budget <= 1000):
        problems.append(Problem(where, "solvability_budget", budget, "give a tool-call budget from 1 to 1000"))
    if problems:
        raise UserError(*problems)
    return LabelPolicy(thresholds, float(share), seed, build, budget)


def _number_in(v: object, lo: float, hi: float) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and lo <= v <= hi
