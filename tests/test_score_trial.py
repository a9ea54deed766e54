"""Per-trial scores against a ground truth: graded RCA, aliases, evidence recall, distractors, failures."""

import json
import math

import pytest

from evalkit.agents.base import Finding, Hypothesis, MalformedOutput
from evalkit.score.trial import normalize_fault, score_trial
from evalkit.suite.model import GroundTruth
from evalkit.world.toolbox import ToolCall

TRUTH = GroundTruth(
    scenario_id="db-001", component="orders-db", fault_type="slow_query",
    evidence=("metric:orders-db:query_latency_ms", "logs:orders-db", "events:orders-db"),
    aliases=("orders-db-primary",), distractors=("payments", "cache-1"),
)


def call(tool, refs=(), error=None, **args):
    return ToolCall(tool, args, 10, 0.001, list(refs), error)


def finding(*hyps):
    return Finding([Hypothesis(c, f, 0.5, list(ev)) for c, f, ev in hyps])


@pytest.mark.parametrize("hyps, grade, top1, top3, fault", [
    ([("orders-db", "slow_query", [])], 1.0, 1.0, 1.0, 1.0),
    ([("orders-db-primary", "Slow-Query", [])], 1.0, 1.0, 1.0, 1.0),   # alias + normalised fault type
    ([("orders-db", "db_pool_exhaustion", [])], 0.5, 1.0, 1.0, 0.0),
    ([("orders-db", None, [])], 0.5, 1.0, 1.0, 0.0),
    ([("checkout", "slow_query", []), ("payments", None, []), ("orders-db", "slow_query", [])], 0.25, 0.0, 1.0, 1.0),
    ([("checkout", None, []), ("payments", None, []), ("x", None, []), ("orders-db", None, [])], 0.0, 0.0, 0.0, 0.0),
    ([], 0.0, 0.0, 0.0, 0.0),
])
def test_graded_rca_score_top1_top3_and_fault_type(hyps, grade, top1, top3, fault):
    row = score_trial(finding(*hyps), [], TRUTH)
    assert (row["rca_score"], row["rca_top1"], row["rca_top3"], row["fault_type_correct"]) == (grade, top1, top3, fault)
    assert json.loads(row["predicted"]) == [h[0] for h in hyps]
    assert row["expected_component"] == "orders-db" and row["expected_fault"] == "slow_query"


def test_evidence_recall_counts_queried_and_cited_signals_but_not_failed_calls():
    traj = [
        call("query_metric", ["metric:orders-db:query_latency_ms"], component="orders-db", metric="query_latency_ms"),
        call("search_logs", ["logs:orders-db"], error="bad level", component="orders-db", level="FATAL"),
    ]
    row = score_trial(finding(("orders-db", "slow_query", ["events:orders-db"])), traj, TRUTH)
    assert row["evidence_recall"] == pytest.approx(2 / 3)
    assert row["tool_calls"] == 2


def test_distractor_ratio_counts_component_arguments_and_refs():
    traj = [
        call("query_metric", ["metric:payments:latency"], component="payments", metric="latency"),
        call("search_logs", ["logs:cache-1", "logs:orders-db"], query="timeout"),   # broad search hit a distractor
        call("list_metrics", [], component="orders-db"),
        call("get_alert", ["monitor:api-gateway"]),
    ]
    assert score_trial(finding(("orders-db", None, [])), traj, TRUTH)["distractor_ratio"] == pytest.approx(0.5)
    assert score_trial(finding(("orders-db", None, [])), [], TRUTH)["distractor_ratio"] == 0.0


def test_trajectory_dicts_score_like_toolcalls():
    traj = [call("query_metric", ["metric:payments:latency"], component="payments", metric="latency")]
    a = score_trial(finding(("orders-db", None, [])), traj, TRUTH)
    b = score_trial(finding(("orders-db", None, [])).to_dict(), [c.to_dict() for c in traj], TRUTH)
    assert a == b


def test_a_recorded_finding_is_read_by_the_adapters_model_with_null_as_absent():
    """The journal keeps findings as dicts; scoring reads them with Finding.from_dict, the adapters' parser, where
    an optional field given as null (confidence, evidence, summary) counts as left out."""
    recorded = {"hypotheses": [{"component": "orders-db", "fault_type": "slow_query", "confidence": None,
                                "evidence": None}], "summary": None, "usage": {"tokens_in": 10}}
    row = score_trial(recorded, [], TRUTH)
    assert (row["rca_score"], row["evidence_recall"], row["tokens_in"]) == (1.0, 0.0, 10.0)
    assert Finding.from_dict(recorded).hypotheses == [Hypothesis("orders-db", "slow_query", 0.0, [])]
    assert score_trial({"summary": "nothing found"}, [], TRUTH)["rca_score"] == 0.0  # no hypotheses recorded
    with pytest.raises(MalformedOutput, match=r"hypotheses\[0\] needs a non-empty string 'component'"):
        score_trial({"hypotheses": [{"fault_type": "slow_query"}]}, [], TRUTH)

def test_agent_failure_scores_zero_on_quality_and_keeps_the_process_measures():
    traj = [call("query_metric", ["metric:payments:latency"], component="payments", metric="latency")]
    row = score_trial(None, traj, TRUTH, status="agent_error")
    assert all(row[k] == 0.0 for k in ("rca_top1", "rca_top3", "fault_type_correct", "rca_score", "evidence_recall"))
    assert row["distractor_ratio"] == 1.0 and row["tool_calls"] == 1 and row["predicted"] == "[]"


def test_infrastructure_failure_scores_nan():
    row = score_trial(None, [], TRUTH, status="infra_error")
    assert all(math.isnan(row[k]) for k in ("rca_top1", "rca_score", "evidence_recall", "distractor_ratio"))


def test_usage_reported_by_the_adapter_becomes_tokens_and_cost():
    f = finding(("orders-db", "slow_query", []))
    f.usage = {"tokens_in": 1200, "tokens_out": 300, "cost_usd": 0.0042}
    row = score_trial(f, [], TRUTH)
    assert (row["tokens_in"], row["tokens_out"], row["cost_usd"]) == (1200.0, 300.0, 0.0042)
    assert math.isnan(score_trial(finding(), [], TRUTH)["tokens_in"])
    # a negative or infinite report is no report: the table stays one that compare and gate accept
    f.usage = {"tokens_in": -1, "tokens_out": float("inf"), "cost_usd": -0.01}
    row = score_trial(f, [], TRUTH)
    assert all(math.isnan(row[k]) for k in ("tokens_in", "tokens_out", "cost_usd"))


def test_truth_without_evidence_signals_has_undefined_recall():
    truth = GroundTruth("x", "orders-db", "slow_query")
    assert math.isnan(score_trial(finding(("orders-db", None, [])), [], truth)["evidence_recall"])


def test_fault_types_normalise_case_dashes_and_spaces():
    assert normalize_fault(" OOM-kill Loop ") == "oom_kill_loop" and normalize_fault(None) == ""
