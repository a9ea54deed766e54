"""Aggregates: scenario-clustered means, SE and t CIs, pass@k/pass^k, macro/micro rows, error rates."""

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from evalkit.score.aggregate import MACRO, MICRO, aggregate, error_counts
from evalkit.score.schema import RESULT_COLUMNS, conform


def make_table(cells):
    """cells: list of (category, scenario, [top1 per trial]); other scores derived; statuses via None."""
    rows = []
    for cat, sc, values in cells:
        for t, v in enumerate(values):
            infra = v is None
            row = {c: ("" if ty == "string" else 0) for c, ty in RESULT_COLUMNS.items()}
            row.update(suite="s", scenario_id=sc, category=cat, trial=t, status="infra_error" if infra else "ok",
                       error_class="infra_unreachable" if infra else "", latency_s=1.0 + t, tool_calls=10)
            for m in ("rca_top1", "rca_top3", "fault_type_correct", "rca_score", "evidence_recall",
                      "distractor_ratio"):
                row[m] = np.nan if infra else float(v)
            rows.append(row)
    return conform(pd.DataFrame(rows))


def _get(agg, cat, metric):
    r = agg[(agg["category"] == cat) & (agg["metric"] == metric)]
    assert len(r) == 1, (cat, metric)
    return r.iloc[0]


def test_clustered_se_averages_trials_per_scenario_first_hand_worked():
    # scenario means: a1 = 1, a2 = 0.5, a3 = 0 -> mean 0.5, sd = 0.5, SE = 0.5/sqrt(3)
    table = make_table([("db", "a1", [1, 1]), ("db", "a2", [1, 0]), ("db", "a3", [0, 0])])
    r = _get(aggregate(table), "db", "rca_top1")
    assert r["mean"] == pytest.approx(0.5)
    assert r["se"] == pytest.approx(0.5 / np.sqrt(3))
    half = stats.t.ppf(0.975, 2) * 0.5 / np.sqrt(3)
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((max(0.5 - half, 0), min(0.5 + half, 1)))
    assert (r["n_scenarios"], r["n_trials"]) == (3, 6)
    naive = np.std([1, 1, 1, 0, 0, 0], ddof=1) / np.sqrt(6)
    assert r["se"] > naive  # trials of one scenario are not independent


def test_clustered_se_equals_statsmodels_cluster_robust_se_of_the_mean():
    sm = pytest.importorskip("statsmodels.api")
    rng = np.random.default_rng(4)
    n, k = 12, 4
    difficulty = rng.uniform(0.1, 0.9, n)
    values = (rng.uniform(size=(n, k)) < difficulty[:, None]).astype(int)
    table = make_table([("net", f"s{i}", list(values[i])) for i in range(n)])
    r = _get(aggregate(table), "net", "rca_top1")
    y = values.ravel().astype(float)
    groups = np.repeat(np.arange(n), k)
    fit = sm.OLS(y, np.ones_like(y)).fit(cov_type="cluster", cov_kwds={"groups": groups})
    assert r["mean"] == pytest.approx(fit.params[0])
    assert r["se"] == pytest.approx(fit.bse[0], rel=1e-10)


def test_pass_at_k_and_pass_hat_k_are_means_of_per_scenario_enumerations():
    trials = {"a": [1, 0, 0], "b": [1, 1, 0], "c": [0, 0, 0], "d": [1, 1, 1]}
    table = make_table([("k8s", s, v) for s, v in trials.items()])
    agg = aggregate(table)
    for k in (1, 2, 3):
        at, hat = [], []
        for v in trials.values():
            subsets = list(itertools.combinations(v, k))
            at.append(np.mean([any(s) for s in subsets]))
            hat.append(np.mean([all(s) for s in subsets]))
        r_at = _get(agg, "k8s", f"rca_top1.pass_at_{k}")
        r_hat = _get(agg, "k8s", f"rca_top1.pass_hat_{k}")
        assert r_at["mean"] == pytest.approx(np.mean(at))
        assert r_hat["mean"] == pytest.approx(np.mean(hat))
        assert r_at["se"] == pytest.approx(np.std(at, ddof=1) / 2)
    assert _get(agg, "k8s", "rca_top1.pass_at_1")["mean"] == pytest.approx(_get(agg, "k8s", "rca_top1")["mean"])
    assert not ((agg["metric"] == "rca_top1.pass_at_4").any())


def test_micro_pools_scenarios_and_macro_averages_categories():
    table = make_table([("a", "a1", [1]), ("a", "a2", [1]), ("a", "a3", [0]), ("b", "b1", [0]), ("b", "b2", [0])])
    agg = aggregate(table)
    micro, macro = _get(agg, MICRO, "rca_top1"), _get(agg, MACRO, "rca_top1")
    assert micro["mean"] == pytest.approx(2 / 5)
    assert micro["se"] == pytest.approx(np.std([1, 1, 0, 0, 0], ddof=1) / np.sqrt(5))
    assert macro["mean"] == pytest.approx((2 / 3 + 0) / 2)
    se_a = np.std([1, 1, 0], ddof=1) / np.sqrt(3)
    assert macro["se"] == pytest.approx(np.sqrt(se_a**2 + 0.0) / 2)
    half = stats.t.ppf(0.975, (3 - 1) + (2 - 1)) * macro["se"]
    assert macro["ci_high"] == pytest.approx(macro["mean"] + half)
    assert list(agg["category"].unique()) == ["a", "b", MACRO, MICRO]


def test_infra_failures_are_left_out_of_scores_and_counted_as_error_rate():
    table = make_table([("a", "a1", [1, None]), ("a", "a2", [0, 0]), ("a", "a3", [None, None])])
    agg = aggregate(table)
    top1 = _get(agg, "a", "rca_top1")
    assert top1["mean"] == pytest.approx(0.5) and top1["n_scenarios"] == 2 and top1["n_trials"] == 3
    infra = _get(agg, "a", "error_rate.infra")
    assert infra["mean"] == pytest.approx((0.5 + 0 + 1) / 3)
    assert _get(agg, "a", "error_rate.infra_unreachable")["mean"] == pytest.approx(infra["mean"])
    assert _get(agg, "a", "latency_s")["mean"] == pytest.approx((1.0 + 1.5) / 2)  # infra latencies left out
    counts = error_counts(table)
    assert counts.loc["a", "infra_unreachable"] == 3 and counts.loc["a", "ok"] == 3


def test_single_scenario_category_has_a_mean_but_no_standard_error():
    r = _get(aggregate(make_table([("solo", "s1", [1, 0, 1])])), "solo", "rca_top1")
    assert r["mean"] == pytest.approx(2 / 3) and np.isnan(r["se"]) and np.isnan(r["ci_low"])


def test_custom_columns_are_aggregated_like_scores():
    table = make_table([("a", "a1", [1, 1]), ("a", "a2", [0, 0])])
    table["custom.calib.brier"] = [0.1, 0.3, 0.5, np.nan]
    r = _get(aggregate(conform(table)), "a", "custom.calib.brier")
    assert r["mean"] == pytest.approx((0.2 + 0.5) / 2) and r["n_trials"] == 3


def test_empty_table_gives_an_empty_frame_with_the_columns():
    from evalkit.score.schema import empty_results

    agg = aggregate(empty_results())
    assert len(agg) == 0 and list(agg.columns)[:2] == ["category", "metric"]


def test_intervals_of_a_0_1_metric_stay_inside_0_1_at_two_scenarios():
    """Two scenarios (t quantile 12.7) used to give 0.500 ± 6.353; the interval is now clipped to the range,
    and a cost metric, which has no upper limit, is not."""
    table = make_table([("db", "a1", [1]), ("db", "a2", [0])])
    agg = aggregate(table)
    r = _get(agg, "db", "rca_top1")
    assert (r["ci_low"], r["ci_high"]) == (0.0, 1.0)
    assert _get(agg, "db", "rca_top1.pass_at_1")["ci_high"] == 1.0
    lat = _get(aggregate(make_table([("db", "a1", [1, 1]), ("db", "a2", [0])])), "db", "latency_s")
    assert lat["ci_low"] < 0
