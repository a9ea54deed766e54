"""The label policy: per-part confidence thresholds, the spot-check share of above-threshold candidates and the
build that checks solvability. Read from a JSON file and checked with one-line errors (docs/labels.md)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, Field

from evalkit.errors import UserError
from evalkit.file_models import STRICT, Fix, read_model
from evalkit.vocab import ConfidencePart

#: gated part -> default threshold (solvability only marks a label "hard", it never holds one back)
DEFAULT_THRESHOLDS: dict[str, float] = {ConfidencePart.SPECIFICITY: 1.0, ConfidencePart.SUPPORT: 0.5,
                                        ConfidencePart.CONSISTENCY: 0.5, ConfidencePart.LEAKAGE: 1.0,
                                        ConfidencePart.DUPLICATION: 1.0}
GATED = tuple(DEFAULT_THRESHOLDS)


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
        raise UserError.at(where, "", "missing", "give an existing label policy JSON file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError.at(where, "", f"malformed JSON ({exc})", "fix the JSON syntax") from None
    if not isinstance(doc, dict):
        raise UserError.at(where, "", type(doc).__name__, "must be a JSON object")
    parsed, problems = read_model(LabelPolicyFile, doc, where, _unknown)
    if problems or parsed is None:
        raise UserError(*problems)
    return LabelPolicy({**DEFAULT_THRESHOLDS, **parsed.thresholds.model_dump()}, parsed.spot_check_share, parsed.seed,
                       parsed.solvability_build, parsed.solvability_budget)


_Share = Annotated[float, Field(ge=0, le=1)]
_Threshold = Annotated[_Share, Fix("give a number from 0 to 1")]


class _Thresholds(BaseModel):
    """Per-part confidence thresholds (a part left out keeps its default)."""

    model_config = STRICT
    specificity: _Threshold = DEFAULT_THRESHOLDS[ConfidencePart.SPECIFICITY]
    support: _Threshold = DEFAULT_THRESHOLDS[ConfidencePart.SUPPORT]
    consistency: _Threshold = DEFAULT_THRESHOLDS[ConfidencePart.CONSISTENCY]
    leakage: _Threshold = DEFAULT_THRESHOLDS[ConfidencePart.LEAKAGE]
    duplication: _Threshold = DEFAULT_THRESHOLDS[ConfidencePart.DUPLICATION]


class LabelPolicyFile(BaseModel):
    """A label policy JSON file (docs/labels.md)."""

    model_config = STRICT
    thresholds: Annotated[_Thresholds, Fix("give an object part -> number in 0..1",
                                           {"model_type": "give an object part -> number in 0..1"})] = _Thresholds()
    spot_check_share: Annotated[_Share, Fix("give a share from 0 to 1 (0.1 = one in ten)")] = 0.1
    seed: Annotated[int, Field(ge=0), Fix("give an integer >= 0")] = 0
    solvability_build: Annotated[str | None, Field(min_length=1),
                                 Fix("give an agent spec (reference:v4) or null")] = "reference:v4"
    solvability_budget: Annotated[int, Field(ge=1, le=1000), Fix("give a tool-call budget from 1 to 1000")] = 60


def _unknown(path: tuple[str, ...], key: str) -> tuple[object, str]:
    if path == ("thresholds",):
        return "unknown part", f"use one of {', '.join(GATED)}"
    return "unknown field", f"remove it; allowed fields are {', '.join(LabelPolicyFile.model_fields)}"
