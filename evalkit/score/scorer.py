"""TrialScorer: turns a raw trial outcome into result columns, given only a scenario id.

The runner never sees a ground truth: it hands the scorer a scenario id, and the scorer loads (and
caches) the truth through :func:`evalkit.suite.load_truth`. Built-in scores come from
:func:`~evalkit.score.trial.score_trial`; user scorers add ``custom.<name>.<key>`` columns.
"""

from __future__ import annotations

from typing import Any, Iterable

from evalkit.agents.base import Finding
from evalkit.score.custom import UserScorer, run_user_scorers
from evalkit.score.trial import as_finding, score_trial
from evalkit.vocab import Status
from evalkit.world.toolbox import ToolCall


class TrialScorer:
    """Scores trials of one suite; ``failures`` maps a failing user scorer's name to (count, first message)."""

    def __init__(self, suite, user_scorers: Iterable[UserScorer] = ()):
        self.suite = suite
        self.user_scorers = list(user_scorers)
        self._truths: dict[str, Any] = {}
        self.failures: dict[str, tuple[int, str]] = {}

    def truth(self, scenario_id: str):
        truth = self._truths.get(scenario_id)
        if truth is None:
            from evalkit.suite import load_truth

            truth = self._truths[scenario_id] = load_truth(self.suite, scenario_id)
        return truth

    def score(self, scenario_id: str, finding: dict | None, calls: list[dict],
              status: str) -> tuple[dict, list[tuple[str, str]]]:
        """Result columns of one trial and the user-scorer failures as (name, message) (empty when all went well)."""
        truth = self.truth(scenario_id)
        row = score_trial(finding, calls, truth, status=status)
        failures: list[tuple[str, str]] = []
        if self.user_scorers and status != Status.INFRA_ERROR:
            obj = as_finding(finding) if finding is not None else Finding(hypotheses=[])
            trajectory = [ToolCall(**c) for c in calls]
            custom, failures = run_user_scorers(self.user_scorers, obj, trajectory, truth)
            row.update(custom)
            for name, msg in failures:
                count, first = self.failures.get(name, (0, msg))
                self.failures[name] = (count + 1, first)
        return row, failures
