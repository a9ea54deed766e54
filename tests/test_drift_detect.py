"""The drift detector: z on each build's own SE, EWMA, lower CUSUM alarms, verdicts (evalkit.drift.detect)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evalkit.drift.detect import DriftParams, detect, effective_se
from evalkit.drift.series import series_from_frame
from evalkit.errors import UserError

START = pd.Timestamp("2024-01-01", tz="UTC")


def series(values: dict[tuple[str, str], list[float]], se: dict[tuple[str, str], list[float]] | None = None,
           n: float = 30.0, promoted=()):
    """A series from per-cell lists of build means (NaN = cell not evaluated in that build)."""
    rows = []
    for (cat, metric), means in values.items():
        ses = (se or {}).get((cat, metric), [0.05] * len(means))
        for t, (m, s) in enumerate(zip(means, ses)):
            if np.isnan(m):
                continue
            rows.append({"order": t, "run_id": f"r{t}", "build_id": f"b{t}",
                         "start_time": START + pd.Timedelta(hours=t),
                         "category": cat, "metric": metric, "mean": m, "se": s, "ci_low": m - 2 * s,
                         "ci_high": m + 2 * s, "n_scenarios": n})
    return series_from_frame(pd.DataFrame(rows), promoted_orders=promoted)


def cell(drift, category, metric="rca_top1"):
    f = drift.to_frame()
    return f[(f["category"] == category) & (f["metric"] == metric)].sort_values("order").reset_index(drop=True)


def test_effective_se_shrinks_tiny_samples_toward_the_unit_bound_and_trusts_large_ones():
    mean = np.array([1.0, 1.0, 0.5, 0.5])
    se = np.array([0.0, 0.0, 0.02, 0.02])
    n = np.array([2.0, 200.0, 2.0, 200.0])
    out = effective_se(mean, se, n, np.ones(4, bool), prior_df=2.0)
    p2 = (2 * 1.0 + 0.5) / 3
    assert out[0] == pytest.approx(np.sqrt((2 * p2 * (1 - p2)) / 3 / 2))  # s = 0 from 2 scenarios: bound dominates
    assert 0 < out[1] < 0.01  # 200 perfect scenarios: tiny, but never exactly 0
    assert out[2] > 0.2  # 2 scenarios cannot claim SE 0.02
    s2, bound = 0.02**2 * 200, 0.25  # sample variance of the scenario means; p~ = 0.5
    assert out[3] == pytest.approx(np.sqrt((199 * s2 + 2 * bound) / 201 / 200))
    plain = effective_se(np.array([3.0]), np.array([0.4]), np.array([10.0]), np.zeros(1, bool), 2.0)
    assert plain[0] == pytest.approx(0.4)  # non-unit metrics keep their own SE


def test_z_is_the_distance_from_mu_ref_in_each_builds_own_standard_error():
    d = detect(series({("a", "rca_top1"): [0.8, 0.8, 0.7, 0.7]},
                      se={("a", "rca_top1"): [0.05, 0.05, 0.05, 0.10]}), DriftParams(ref_builds=2, prior_df=0))
    c = cell(d, "a")
    assert c["mu_ref"].iloc[0] == pytest.approx(0.8)
    # same drop of 10 points, judged on each build's own SE (with prior_df=0 the SE is the logged one)
    assert c["z"].iloc[2] == pytest.approx(-0.1 / 0.05)
    assert c["z"].iloc[3] == pytest.approx(-0.1 / 0.10)


def test_cusum_alarms_on_a_sustained_drop_restarts_and_stays_quiet_after_the_fix():
    means = [0.8] * 5 + [0.6] * 3 + [0.8] * 8  # z = -4 during the drop (SE 0.05)
    d = detect(series({("db", "rca_top1"): means}), DriftParams(ref_builds=5, prior_df=0, k=0.5, h=4.0))
    c = cell(d, "db")
    # S_5 = 3.5 (no alarm), S_6 = 7 > 4: alarm, restart at 0; S_7 = 3.5; after the fix S decays to 0
    assert c["cusum"].iloc[5] == pytest.approx(3.5)
    assert c.loc[c["alarm"], "order"].tolist() == [6]
    assert (c["cusum"].iloc[8:] < 4).all()
    assert c["cusum"].iloc[-1] == 0
    assert d.alarms[["order", "category", "metric"]].values.tolist() == [[6, "db", "rca_top1"]]


def test_lower_is_better_metric_alarms_when_it_rises():
    vals = [0.2] * 5 + [0.45] * 3
    d = detect(series({("x", "distractor_ratio"): vals, ("x", "rca_top1"): [0.8] * 8}),
               DriftParams(ref_builds=5, prior_df=0))
    c = cell(d, "x", "distractor_ratio")
    assert c["direction"].iloc[0] == "lower"
    assert c["z"].iloc[5] == pytest.approx(-0.25 / 0.05)  # oriented: worse is negative
    assert c["alarm"].any()
    assert not cell(d, "x", "rca_top1")["alarm"].any()


def test_ewma_follows_the_recursion_with_time_varying_limits():
    rng = np.random.default_rng(3)
    means = list(0.7 + rng.normal(0, 0.05, 12))
    p = DriftParams(lam=0.2, L=3.0, ref_builds=4, prior_df=0)
    c = cell(detect(series({("c", "rca_top1"): means}), p), "c")
    Z = 0.0
    for t, z in enumerate(c["z"], start=1):
        Z = p.lam * z + (1 - p.lam) * Z
        assert c["ewma"].iloc[t - 1] == pytest.approx(Z)
        limit = p.L * np.sqrt(p.lam / (2 - p.lam) * (1 - (1 - p.lam) ** (2 * t)))
        assert c["ewma_limit"].iloc[t - 1] == pytest.approx(limit)


def test_missing_builds_keep_the_detector_state_and_use_the_first_present_builds_as_reference():
    means = [np.nan, 0.8, 0.8, 0.6, np.nan, 0.6]
    d = detect(series({("c", "rca_top1"): means, ("d", "rca_top1"): [0.5] * 6}), DriftParams(ref_builds=2, prior_df=0))
    c = cell(d, "c")
    assert c["order"].tolist() == [1, 2, 3, 5]  # not evaluated in builds 0 and 4
    assert c["mu_ref"].iloc[0] == pytest.approx(0.8)
    assert c["cusum"].tolist() == pytest.approx([0, 0, 3.5, 7.0])  # S at the alarm, before the restart
    assert c["alarm"].tolist() == [False, False, False, True]


def test_verdicts_compare_each_build_with_mu_ref_against_the_margin():
    means = [0.8, 0.8, 0.8, 0.8, 0.5, 0.99, 0.8]
    d = detect(series({("c", "rca_top1"): means}, se={("c", "rca_top1"): [0.001] * 6 + [0.2]}, n=10000),
               DriftParams(ref_builds=4, prior_df=0), margin_for=lambda c, m: 0.02)
    v = cell(d, "c")["verdict"].tolist()
    assert v[:4] == ["unchanged"] * 4
    assert v[4] == "regressed" and v[5] == "improved" and v[6] == "inconclusive"


def test_false_alarms_of_an_unchanged_agent_stay_below_one_and_a_half_per_thousand_cell_builds():
    """Five histories of 200 builds x 12 categories; every build runs the same 30 scenarios (fixed difficulty),
    3 trials each, so only trial noise moves the means. Default parameters (reference window of 10 builds)."""
    alarms = 0
    for seed in range(5):
        rng = np.random.default_rng(100 + seed)
        values, ses = {}, {}
        for c in range(12):
            q = np.clip(rng.beta(1.5, 1.0, 30), 0, 1)
            xs = rng.binomial(3, q, size=(200, 30)) / 3
            values[(f"cat{c}", "rca_top1")] = list(xs.mean(axis=1))
            ses[(f"cat{c}", "rca_top1")] = list(xs.std(axis=1, ddof=1) / np.sqrt(30))
        alarms += len(detect(series(values, ses), DriftParams()).alarms)
    assert alarms / (5 * 200 * 12) <= 1.5e-3


def test_a_real_drop_in_one_category_is_caught_within_three_builds():
    rng = np.random.default_rng(5)
    values, ses = {}, {}
    for c in range(4):
        q = np.clip(rng.beta(3, 1.0, 30), 0, 1)
        xs = rng.binomial(3, q, size=(40, 30)) / 3
        if c == 0:
            xs[30:] = rng.binomial(3, np.clip(q - 0.25, 0, 1), size=(10, 30)) / 3  # -25 points from build 30
        values[(f"cat{c}", "rca_top1")] = list(xs.mean(axis=1))
        ses[(f"cat{c}", "rca_top1")] = list(xs.std(axis=1, ddof=1) / np.sqrt(30))
    d = detect(series(values, ses), DriftParams())
    first = d.alarms.groupby("category")["order"].min()
    assert set(first.index) == {"cat0"}
    assert 30 <= first["cat0"] <= 32


def test_bad_parameters_are_all_reported():
    with pytest.raises(UserError) as err:
        DriftParams(lam=0, h=-1, ref_builds=0).check()
    text = str(err.value)
    assert "lam" in text and "h" in text and "ref_builds" in text
