"""One conformance test every Scorer passes: the built-in scorer and the example user scorer."""

import copy
import math

import pytest

from evalkit.agents.base import Finding, Hypothesis
from evalkit.score.custom import load_scorers
from evalkit.score.protocol import BuiltinScorer, Scorer
from evalkit.suite.model import GroundTruth
from evalkit.world.toolbox import ToolCall

TRUTH = GroundTruth("k8s-001", "checkout", "oom_kill_loop", evidence=("events:checkout", "metric:checkout:mem_pct"),
                    aliases=("checkout-7f9c-1",), distractors=("payments",))
TRAJ = [ToolCall("list_events", {"component": "checkout"}, 120, 0.001, ["events:checkout"]),
        ToolCall("query_metric", {"component": "payments", "metric": "cpu_pct"}, 80, 0.001, ["metric:payments:cpu_pct"])]
FINDINGS = [
    Finding([Hypothesis("checkout", "oom_kill_loop", 0.9, ["metric:checkout:mem_pct"])]),
    Finding([Hypothesis("payments", "cpu_throttling", 0.6), Hypothesis("checkout-7f9c-1", None, 0.2)]),
    Finding([]),  # what an agent failure looks like to a scorer
]
SCORERS = [BuiltinScorer(), *load_scorers(["evalkit.score.examples:calibration"])]


@pytest.mark.parametrize("scorer", SCORERS, ids=lambda s: s.name)
def test_scorer_conformance(scorer):
    assert isinstance(scorer, Scorer) and scorer.name
    for finding in FINDINGS:
        before = (copy.deepcopy(finding), copy.deepcopy(TRAJ))
        first = scorer(finding, TRAJ, TRUTH)
        again = scorer(finding, list(TRAJ), TRUTH)
        assert (finding, TRAJ) == before, "a scorer must not modify its inputs"
        assert first and all(isinstance(k, str) and k.isidentifier() for k in first)
        assert all(isinstance(v, float) and not math.isinf(v) for v in first.values())
        assert first.keys() == again.keys()
        assert all(first[k] == again[k] or (math.isnan(first[k]) and math.isnan(again[k])) for k in first)
    # Scores react to the answer: a right top hypothesis does not score like an empty finding.
    right, empty = scorer(FINDINGS[0], TRAJ, TRUTH), scorer(FINDINGS[2], TRAJ, TRUTH)
    assert right != empty
