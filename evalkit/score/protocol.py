"""The Scorer protocol: ``(finding, trajectory, truth) -> {name: number}``.

Built-in and user scorers both implement it; ``tests/test_scorer_conformance.py`` holds every
implementation to the same contract (numbers only, deterministic, inputs untouched, empty findings ok).
"""

from __future__ import annotations

from typing import Mapping, Protocol, Sequence, runtime_checkable

from evalkit.agents.base import Finding
from evalkit.suite.model import GroundTruth
from evalkit.world.toolbox import ToolCall


@runtime_checkable
class Scorer(Protocol):
    """Scores one trial. ``trajectory`` holds ToolCall objects; an agent failure arrives as an empty Finding."""

    name: str

    def __call__(self, finding: Finding, trajectory: Sequence[ToolCall], truth: GroundTruth) -> Mapping[str, float]:
        ...


class BuiltinScorer:
    """The built-in scores of :func:`evalkit.score.trial.score_trial` as a Scorer (numbers only)."""

    name = "builtin"

    def __call__(self, finding: Finding, trajectory: Sequence[ToolCall], truth: GroundTruth) -> dict[str, float]:
        from evalkit.score.catalogue import SCORES
        from evalkit.score.trial import USAGE_COLUMNS, score_trial

        row = score_trial(finding, trajectory, truth)
        return {k: float(row[k]) for k in (*SCORES, "tool_calls", *USAGE_COLUMNS)}
