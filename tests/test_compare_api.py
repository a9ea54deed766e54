"""compare(candidate, baseline): pairing, verdicts, refusals, cross-category naming, flips and JSON output."""

from __future__ import annotations

import dataclasses
import re
import json

import numpy as np
import pandas as pd
import pytest

from evalkit.compare import Comparison, InvalidRun, compare, default_policy
from evalkit.errors import UserError
from evalkit.score.schema import conform

CATS = ["deploy/bad-release", "database/slow-query", "kubernetes/oom", "network/connectivity"]


def _rows(p_top1, k, seed, suite_hash="h-core", build="v1", status=None, cats=CATS):
    """A results table: scenario i of category c passes top-1 with probability p_top1[c][i] in each trial."""
    rng = np.random.default_rng(seed)
    rows = []
    for ci, cat in enumerate(cats):
        for i, p in enumerate(p_top1[ci]):
            for t in range(k):
                hit = float(rng.random() < p)
                partial = 0.0 if hit else 0.5 * float(rng.random() < 0.5)
                expected = f"svc-{ci}-{i}"
                predicted = [expected, "other"] if hit else [f"wrong-{ci}", expected]
                rows.append({
                    "suite": "core", "suite_hash": suite_hash, "build_id": build, "agent_spec": f"reference:{build}",
                    "run_seed": seed, "scenario_id": f"{cat.split('/')[0]}-{ci:02d}-{i:03d}", "category": cat,
                    "trial": t, "seed": seed * 1000 + t, "status": "ok", "error_class": "", "error_message": "",
                    "predicted": json.dumps(predicted), "predicted_fault": "", "expected_component": expected,
                    "expected_fault": "", "rca_top1": hit, "rca_top3": max(hit, 2 * partial),
                    "fault_type_correct": hit, "rca_score": hit + partial, "evidence_recall": rng.random(),
                    "distractor_ratio": rng.random() * 0.5, "tool_calls": 7, "latency_s": 0.5, "tokens_in": 0.0,
                    "tokens_out": 0.0, "cost_usd": 0.0,
                })
    return conform(pd.DataFrame(rows))


def _difficulty(n, seed=0, cats=CATS):
    rng = np.random.default_rng(seed)
    return [np.clip(rng.beta(2, 1.5, n), 0.02, 0.98) for _ in cats]


def _shifted(p, shifts):
    return [np.clip(pc + shifts.get(ci, 0.0), 0.0, 1.0) for ci, pc in enumerate(p)]


@pytest.fixture(scope="module")
def tradeoff():
    """Candidate hurts two downstream categories by ~30 points and helps the self category by ~25."""
    p = _difficulty(60)
    base = _rows(p, 3, seed=1)
    cand = _rows(_shifted(p, {0: 0.25, 1: -0.3, 2: -0.3}), 3, seed=2, build="v2")
    return base, cand


def test_a_candidate_that_hurts_categories_is_flagged_and_named_cross_category(tradeoff):
    base, cand = tradeoff
    cmp = compare(cand, base)
    assert isinstance(cmp, Comparison)
    assert cmp.verdict == "regressed"
    regressed = {c for c, m in cmp.regressed_cells if m == "rca_top1"}
    assert regressed == {"database/slow-query", "kubernetes/oom", "__overall_micro__"}
    assert cmp.cross_category
    assert cmp.headline.startswith("rca_top1 regressed in database/slow-query, "
                                   "kubernetes/oom (")
    assert "deploy/bad-release improved (+" in cmp.headline
    assert "overall" in cmp.headline


def test_the_same_build_with_another_seed_passes():
    p = _difficulty(60, seed=3)
    cmp = compare(_rows(p, 3, seed=11), _rows(p, 3, seed=12))
    assert cmp.verdict in ("inconclusive", "not-worse")
    assert cmp.regressed_cells == []
    assert not cmp.cross_category
    assert re.match(r"\d+ gated cells: ", cmp.headline)


def test_frame_has_one_row_per_category_and_metric_plus_overall(tradeoff):
    base, cand = tradeoff
    pol = default_policy()
    frame = compare(cand, base).to_frame()
    assert len(frame) == (len(CATS) + 1) * len(pol.all_metrics())
    for col in ("category", "metric", "n", "baseline_mean", "candidate_mean", "diff", "ci_low", "ci_high", "p",
                "p_adj", "verdict", "mde", "suggestion"):
        assert col in frame.columns
    gated = frame[frame["gated"]]
    assert set(gated["metric"]) == set(pol.metrics)
    top = frame[(frame["metric"] == "rca_top1") & (frame["category"] == "kubernetes/oom")].iloc[0]
    assert top["n"] == 60 and top["k_baseline"] == 3
    assert top["diff"] == pytest.approx(top["candidate_mean"] - top["baseline_mean"])
    assert top["ci_low"] < top["diff"] < top["ci_high"]
    assert top["test"] == "paired-t"


def test_every_inconclusive_cell_reports_an_mde_and_a_suggestion(tradeoff):
    base, cand = tradeoff
    frame = compare(cand, base).to_frame()
    inc = frame[frame["verdict"] == "inconclusive"]
    assert len(inc) > 0
    assert inc["mde"].gt(0).all()
    assert inc["suggestion"].str.len().gt(0).all()
    assert frame.loc[frame["verdict"] != "inconclusive", "suggestion"].eq("").all()


def test_trials_are_averaged_per_scenario_not_counted_as_independent():
    """Repeating every trial three times (identical outcomes) must not shrink the error bars."""
    p = _difficulty(40, seed=5)
    base1, cand1 = _rows(p, 1, seed=1), _rows(_shifted(p, {1: -0.2}), 1, seed=2)
    triple = lambda t: conform(pd.concat([t.assign(trial=j) for j in range(3)], ignore_index=True))  # noqa: E731
    pol = dataclasses.replace(default_policy(), test="t")
    f1 = compare(cand1, base1, pol).to_frame()
    f3 = compare(triple(cand1), triple(base1), pol).to_frame()
    cols = ["diff", "ci_low", "ci_high", "p", "p_adj"]
    np.testing.assert_allclose(f1[cols].to_numpy(float), f3[cols].to_numpy(float), atol=1e-12)
    assert (f3["k_baseline"] == 3).all()


def test_runs_may_have_different_numbers_of_trials():
    p = _difficulty(50, seed=6)
    cmp = compare(_rows(p, 2, seed=1), _rows(p, 5, seed=2))
    frame = cmp.to_frame()
    assert (frame["k_baseline"] == 5).all() and (frame["k_candidate"] == 2).all()
    assert cmp.regressed_cells == []


def test_infrastructure_errors_are_dropped_before_averaging():
    p = _difficulty(30, seed=7)
    base, cand = _rows(p, 3, seed=1), _rows(p, 3, seed=2)
    hurt = cand.copy()
    rows = hurt.index[(hurt["trial"] == 0) & hurt["scenario_id"].str.startswith("database")][:3]
    hurt.loc[rows, "status"] = "infra_error"
    hurt.loc[rows, "error_class"] = "EndpointUnreachable"
    hurt.loc[rows, ["rca_top1", "rca_score"]] = np.nan
    frame = compare(hurt, base).to_frame()
    cell = frame[(frame["category"] == "database/slow-query") & (frame["metric"] == "rca_top1")].iloc[0]
    assert cell["n"] == 30
    assert cell["k_candidate"] == pytest.approx((30 * 3 - 3) / 30)
    valid = hurt[(hurt["status"] == "ok") & (hurt["category"] == "database/slow-query")]
    assert cell["candidate_mean"] == pytest.approx(valid.groupby("scenario_id")["rca_top1"].mean().mean())


def test_a_run_with_too_many_infrastructure_errors_is_invalid_not_a_regression():
    p = _difficulty(20, seed=8)
    base, cand = _rows(p, 1, seed=1), _rows(p, 1, seed=2)
    cand.loc[cand.index[:10], "status"] = "infra_error"
    cand.loc[cand.index[:10], "error_class"] = "RateLimited"
    with pytest.raises(InvalidRun) as err:
        compare(cand, base)
    msg = str(err.value)
    assert isinstance(err.value, UserError) and "\n" not in msg
    assert msg.startswith("candidate run: infrastructure-error rate '12.5% (10 of 80 trials)'")
    assert "RateLimited x10" in msg and "max_infra_error_rate" in msg
    loose = dataclasses.replace(default_policy(), max_infra_error_rate=0.2)
    assert compare(cand, base, loose).meta["infra_error_rate_candidate"] == pytest.approx(0.125)


def test_runs_of_different_suite_versions_are_refused_unless_allowed():
    p = _difficulty(20, seed=9)
    base = _rows(p, 1, seed=1, suite_hash="aaa")
    cand = _rows(p, 1, seed=2, suite_hash="bbb")
    cand = cand[~cand["scenario_id"].isin(["deploy-00-000", "deploy-00-001"])]
    with pytest.raises(UserError) as err:
        compare(cand, base)
    assert "suite_hash 'bbb'" in str(err.value) and "allow_suite_mismatch" in str(err.value)
    cmp = compare(cand, base, allow_suite_mismatch=True)
    assert cmp.meta["paired_scenarios"] == 78
    assert any("dropped 0 only in the candidate and 2 only in the baseline" in n for n in cmp.notes)


def test_a_lower_is_better_metric_regresses_when_it_rises():
    p = _difficulty(80, seed=10)
    base, cand = _rows(p, 3, seed=1), _rows(p, 3, seed=2)
    cand = cand.assign(distractor_ratio=cand["distractor_ratio"] + 0.2)
    pol = dataclasses.replace(default_policy(), metrics=("distractor_ratio",), report=())
    cmp = compare(cand, base, pol)
    frame = cmp.to_frame()
    assert (frame["direction"] == "lower").all()
    assert set(frame["verdict"]) == {"regressed"}
    assert (frame["diff"] > 0).all() and (frame["bound_low"] > 0.02).all()
    better = compare(base, cand, pol).to_frame()
    assert set(better["verdict"]) == {"improved"}


def test_binary_single_trial_cells_use_the_midp_mover_test_and_others_the_paired_t():
    p = _difficulty(40, seed=11)
    frame = compare(_rows(p, 1, seed=1), _rows(p, 1, seed=2)).to_frame()
    tests = frame.set_index(["category", "metric"])["test"]
    assert tests[("kubernetes/oom", "rca_top1")] == "midp-mover"
    assert tests[("kubernetes/oom", "rca_score")] == "paired-t"
    frame3 = compare(_rows(p, 3, seed=1), _rows(p, 3, seed=2)).to_frame()
    assert set(frame3["test"]) == {"paired-t"}


def test_permutation_test_is_available_and_agrees_with_the_t_test_on_a_clear_case(tradeoff):
    base, cand = tradeoff
    pol = dataclasses.replace(default_policy(), test="permutation", permutations=1999, report=())
    cmp = compare(cand, base, pol)
    assert set(cmp.to_frame()["test"]) == {"sign-flip"}
    assert {c for c, m in cmp.regressed_cells if m == "rca_top1"} == {"database/slow-query", "kubernetes/oom",
                                                                      "__overall_micro__"}


def test_categories_below_the_minimum_are_inconclusive_and_left_out_of_the_family():
    p = _difficulty(8, seed=12)
    base, cand = _rows(p, 3, seed=1), _rows(_shifted(p, {1: -0.9}), 3, seed=2)
    frame = compare(cand, base).to_frame()
    cats = frame[frame["category"] != "__overall_micro__"]
    assert set(cats["verdict"]) == {"inconclusive"}
    assert cats["p_adj"].isna().all()
    assert cats["suggestion"].str.contains("needs >= 10 paired scenarios").all()
    overall = frame[(frame["category"] == "__overall_micro__") & frame["gated"]]
    assert overall["p_adj"].notna().all()


def test_correction_method_can_be_switched_to_bh(tradeoff):
    base, cand = tradeoff
    holm = compare(cand, base).to_frame()
    bh = compare(cand, base, method="bh").to_frame()
    assert (bh["p_adj"].fillna(0) <= holm["p_adj"].fillna(0) + 1e-12).all()
    with pytest.raises(UserError, match="method 'fdr'"):
        compare(cand, base, method="fdr")


def test_a_metric_missing_from_the_table_is_a_user_error(tradeoff):
    base, cand = tradeoff
    pol = dataclasses.replace(default_policy(), report=("custom.judge.score",))
    with pytest.raises(UserError, match="custom.judge.score"):
        compare(cand, base, pol)


def test_runs_without_shared_scenarios_are_refused():
    p = _difficulty(10, seed=13)
    base = _rows(p, 1, seed=1)
    cand = _rows(p, 1, seed=2).assign(scenario_id=lambda t: "x-" + t["scenario_id"])
    with pytest.raises(UserError, match="none of them is in the baseline"):
        compare(cand, base)


def test_flips_are_listed_most_consistent_first_with_predictions(tradeoff):
    base, cand = tradeoff
    cmp = compare(cand, base)
    flips = cmp.flips("kubernetes/oom")
    assert len(flips) > 0
    assert set(flips["change"]) <= {"pass->fail", "fail->pass"}
    assert (flips["change"] == "pass->fail").sum() > (flips["change"] == "fail->pass").sum()
    assert flips["diff"].abs().is_monotonic_decreasing
    first = flips.iloc[0]
    assert first["expected_component"].startswith("svc-2-")
    if first["change"] == "pass->fail":
        assert first["baseline_top"] == first["expected_component"]
        assert first["candidate_top"] == "wrong-2"
    assert set(cmp.flips()["category"]) <= set(CATS)


def test_flips_of_a_category_without_changes_are_empty():
    p = [np.ones(15)] * len(CATS)
    cmp = compare(_rows(p, 2, seed=1), _rows(p, 2, seed=2))
    assert cmp.flips("kubernetes/oom").empty
    assert cmp.verdict == "not-worse"


def test_to_dict_is_json_ready(tradeoff):
    base, cand = tradeoff
    d = compare(cand, base).to_dict()
    text = json.dumps(d, allow_nan=False)
    back = json.loads(text)
    assert back["verdict"] == "regressed" and back["cross_category"] is True
    assert len(back["cells"]) == len(compare(cand, base).to_frame())
    assert back["policy"]["correction"] == "holm"


def test_accepts_run_results_with_a_table_attribute(tradeoff):
    base, cand = tradeoff

    @dataclasses.dataclass
    class Run:
        table: pd.DataFrame

    assert compare(Run(cand), Run(base)).verdict == "regressed"
    with pytest.raises(UserError, match="pass a results DataFrame"):
        compare("not a run", base)


def test_an_improvement_without_regressions_is_reported_as_improved():
    p = _difficulty(80, seed=14)
    base = _rows(_shifted(p, {3: -0.5}), 3, seed=1)
    cand = _rows(p, 3, seed=2)
    cmp = compare(cand, base)
    assert cmp.verdict == "improved" and not cmp.cross_category
    assert cmp.headline.startswith("rca_top1 improved in network/connectivity")


def test_a_suite_wide_drop_seen_only_overall_is_still_a_regression():
    cats = [f"cat/{i}" for i in range(12)]
    p = _difficulty(8, seed=15, cats=cats)   # 8 per category: below min_scenarios, only the overall is tested
    base = _rows(p, 3, seed=1, cats=cats)
    cand = _rows(_shifted(p, {i: -0.35 for i in range(12)}), 3, seed=2, cats=cats)
    cmp = compare(cand, base)
    assert cmp.regressed_cells and {c for c, _ in cmp.regressed_cells} == {"__overall_micro__"}
    assert cmp.headline.startswith("rca_top1 regressed overall (")
    assert "though no single category did" in cmp.headline


def test_a_baseline_without_any_value_of_a_gated_metric_is_refused_not_passed():
    p = [[0.8] * 20 for _ in CATS]
    cand, base = _rows(p, 2, 1), _rows(p, 2, 2)
    base["rca_top1"] = np.nan
    with pytest.raises(UserError) as err:
        compare(cand, base)
    assert "baseline run" in str(err.value) and "rca_top1" in str(err.value) and "no values" in str(err.value)
