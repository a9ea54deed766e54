"""User scorers: loading by spec, every bad spec reported, failures contained and named."""

import math

import pytest

from evalkit.agents.base import Finding, Hypothesis
from evalkit.errors import UserError
from evalkit.score.custom import load_scorers, run_user_scorers, suite_scorer_specs
from evalkit.score.scorer import TrialScorer
from evalkit.suite.model import GroundTruth

TRUTH = GroundTruth("db-001", "orders-db", "slow_query", evidence=("logs:orders-db",))


def explodes(finding, trajectory, truth):
    raise ZeroDivisionError("division by zero in my metric")


def not_numbers(finding, trajectory, truth):
    return {"label": "good"}


def hypotheses(finding, trajectory, truth):
    return {"count": len(finding.hypotheses), "has_any": bool(finding.hypotheses)}


def test_spec_names_default_to_the_function_and_can_be_given():
    a, b = load_scorers(["evalkit.score.examples:calibration", "h=test_score_custom:hypotheses"])
    assert (a.name, b.name) == ("calibration", "h")


def test_every_bad_spec_is_reported_in_one_error():
    with pytest.raises(UserError) as err:
        load_scorers(["nocolon", "no_such_module_xyz:fn", "evalkit.score.examples:nope",
                      "evalkit.score.examples:__doc__", "evalkit.score.examples:calibration",
                      "calibration=test_score_custom:hypotheses"])
    text = str(err.value)
    assert len(err.value.problems) == 5
    assert "[name=]pkg.module:function" in text and "cannot import no_such_module_xyz" in text
    assert "has no attribute nope" in text and "not callable" in text and "share this name" in text
    assert all(line.startswith("--scorer") for line in text.splitlines())


def test_raising_scorer_is_reported_with_its_name_and_others_still_score():
    scorers = load_scorers(["test_score_custom:explodes", "test_score_custom:hypotheses"])
    cols, failures = run_user_scorers(scorers, Finding([Hypothesis("orders-db")]), [], TRUTH)
    assert cols == {"custom.hypotheses.count": 1.0, "custom.hypotheses.has_any": 1.0}
    assert failures[0][0] == "explodes"
    assert "scorer 'explodes'" in failures[0][1] and "ZeroDivisionError" in failures[0][1]


def test_non_numeric_results_count_as_a_scorer_failure():
    cols, failures = run_user_scorers(load_scorers(["test_score_custom:not_numbers"]), Finding([]), [], TRUTH)
    assert cols == {} and "values must be finite numbers" in failures[0][1]


def not_applicable(finding, trajectory, truth):
    return {"hit": float("nan")}


def infinite(finding, trajectory, truth):
    return {"hit": float("inf")}


def test_nan_means_not_applicable_and_an_infinite_value_is_a_failure():
    cols, failures = run_user_scorers(load_scorers(["test_score_custom:not_applicable"]), Finding([]), [], TRUTH)
    assert math.isnan(cols["custom.not_applicable.hit"]) and failures == []
    cols, failures = run_user_scorers(load_scorers(["test_score_custom:infinite"]), Finding([]), [], TRUTH)
    assert cols == {} and "hit=inf" in failures[0][1]


def test_trial_scorer_adds_custom_columns_and_counts_failures():
    scorer = TrialScorer(suite=None, user_scorers=load_scorers(["test_score_custom:explodes",
                                                                "test_score_custom:hypotheses"]))
    scorer._truths["db-001"] = TRUTH
    row, failures = scorer.score("db-001", {"hypotheses": [{"component": "orders-db"}]}, [], "ok")
    assert row["custom.hypotheses.count"] == 1.0 and row["rca_top1"] == 1.0
    row, _ = scorer.score("db-001", None, [], "agent_error")   # failures get an empty finding
    assert row["custom.hypotheses.count"] == 0.0
    row, _ = scorer.score("db-001", None, [], "infra_error")   # infra: not scored at all
    assert "custom.hypotheses.count" not in row and math.isnan(row["rca_top1"])
    assert scorer.failures["explodes"][0] == 2


def test_suite_toml_scorers_table(tmp_path):
    (tmp_path / "suite.toml").write_text('name = "x"\n[scorers]\ncalib = "evalkit.score.examples:calibration"\n')
    assert suite_scorer_specs(tmp_path) == [("calib", "evalkit.score.examples:calibration")]
    assert suite_scorer_specs(tmp_path / "missing") == []
    (tmp_path / "suite.toml").write_text('[scorers]\ncalib = 3\n')
    with pytest.raises(UserError, match="scorers.calib"):
        suite_scorer_specs(tmp_path)
