"""Verdicts follow the corrected p-values, the bounds agree with them, and the MDE means what it says."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from evalkit.compare import mde as mde_mod
from evalkit.compare import verdicts as vd


def _random_cells(rng, R, K, kind):
    n = rng.integers(10, 200, size=(R, K)).astype(float)
    if kind in (vd.MIDP, vd.WILSON, vd.MCNEMAR_MIDP, vd.MCNEMAR_EXACT, vd.SCORE):
        b = np.floor(rng.uniform(0, 0.3, (R, K)) * n)
        c = np.floor(rng.uniform(0, 0.3, (R, K)) * n)
        mean = (c - b) / n
        var = ((b + c) / n - mean ** 2) * n / (n - 1)
        return vd.CellStats(n=n, mean=mean, var=var, b=b, c=c)
    mean = rng.normal(0, 0.08, (R, K))
    var = rng.uniform(0.005, 0.2, (R, K))
    return vd.CellStats(n=n, mean=mean, var=var)


@pytest.mark.parametrize("kind", [vd.T, vd.MIDP, vd.WILSON, vd.MCNEMAR_MIDP, vd.MCNEMAR_EXACT, vd.SCORE])
@pytest.mark.parametrize("method", ["holm", "bh"])
def test_verdicts_and_corrected_bounds_never_disagree(kind, method):
    rng = np.random.default_rng(kind * 10 + len(method))
    s = _random_cells(rng, 300, 12, kind)
    m = 0.02
    dec = vd.decide(s, kind, m, True, alpha=0.05, method=method)
    far = lambda x, y: np.abs(x - y) > 1e-9  # noqa: E731  (exact ties are measure-zero)
    reg = dec.verdict == vd.REGRESSED
    ok = far(dec.bound_high, -m)
    assert np.array_equal(reg[ok], (dec.bound_high < -m)[ok])
    assert np.array_equal(reg, dec.p_adj <= 0.05)
    at_least_noninf = (dec.verdict == vd.NOT_WORSE) | (dec.verdict == vd.IMPROVED)
    ok = far(dec.bound_low, -m) & ~reg
    assert np.array_equal(at_least_noninf[ok], (dec.bound_low > -m)[ok])
    ok = far(dec.bound_low, m) & at_least_noninf
    assert np.array_equal((dec.verdict == vd.IMPROVED)[ok], (dec.bound_low > m)[ok])
    assert reg.any() and at_least_noninf.any() and (dec.verdict == vd.INCONCLUSIVE).any()


def test_plain_interval_is_95_percent_t_interval():
    s = vd.CellStats(n=np.array([30.0]), mean=np.array([-0.05]), var=np.array([0.04]))
    dec = vd.decide(s, vd.T, 0.02, True)
    half = stats.t.ppf(0.975, 29) * np.sqrt(0.04 / 30)
    assert dec.ci_low[0] == pytest.approx(-0.05 - half, abs=1e-12)
    assert dec.ci_high[0] == pytest.approx(-0.05 + half, abs=1e-12)


def test_cells_outside_the_family_are_inconclusive_and_uncorrected():
    s = vd.CellStats(n=np.array([5.0, 100.0]), mean=np.array([-0.5, -0.5]), var=np.array([0.01, 0.01]))
    dec = vd.decide(s, vd.T, 0.02, np.array([False, True]))
    assert dec.verdict.tolist() == [vd.INCONCLUSIVE, vd.REGRESSED]
    assert np.isnan(dec.p_adj[0]) and dec.p[0] < 1e-3
    assert dec.p_adj[1] == pytest.approx(dec.p[1])   # a family of one


def test_a_drop_smaller_than_the_margin_is_not_a_regression_however_precise():
    s = vd.CellStats(n=np.array([100000.0]), mean=np.array([-0.01]), var=np.array([0.01]))
    dec = vd.decide(s, vd.T, 0.02, True)
    assert dec.verdict[0] == vd.NOT_WORSE


def test_improved_needs_the_lower_bound_above_the_margin():
    s = vd.CellStats(n=np.array([400.0, 400.0]), mean=np.array([0.03, 0.15]), var=np.array([0.04, 0.04]))
    dec = vd.decide(s, vd.T, 0.02, True)
    assert dec.verdict.tolist() == [vd.NOT_WORSE, vd.IMPROVED]


def test_margin_zero_has_no_unchanged_verdict():
    s = vd.CellStats(n=np.full(3, 5000.0), mean=np.array([-0.05, 0.0, 0.05]), var=np.full(3, 0.04))
    dec = vd.decide(s, vd.T, 0.0, True)
    assert dec.verdict.tolist() == [vd.REGRESSED, vd.INCONCLUSIVE, vd.IMPROVED]


def test_choose_kinds_uses_the_wilson_test_only_for_binary_single_trial_cells():
    k1 = np.array([True, False])
    assert vd.choose_kinds(k1, "auto").tolist() == [vd.MIDP, vd.T]
    assert vd.choose_kinds(k1, "wilson").tolist() == [vd.WILSON, vd.T]
    assert vd.choose_kinds(k1, "score").tolist() == [vd.SCORE, vd.T]
    assert vd.choose_kinds(k1, "t").tolist() == [vd.T, vd.T]
    assert vd.choose_kinds(k1, "permutation").tolist() == [vd.PERMUTATION, vd.PERMUTATION]


@pytest.mark.parametrize("n,k,expected", [(50, 1, 27), (100, 3, 11), (200, 3, 8), (200, 5, 6), (500, 3, 5),
                                          (1000, 5, 3)])
def test_planned_mde_reproduces_the_statistics_reference_table(n, k, expected):
    # STATISTICS.md: 10 categories, family-wise 5%, 80% power, sigma^2 = 0.16
    assert round(100 * mde_mod.planned_mde(n, k, 0.16, 0.05, 10)) == pytest.approx(expected, abs=0.5)


def test_mde_includes_the_margin_and_shrinks_with_more_scenarios():
    m = mde_mod.mde(np.array([0.1, 0.1, 0.1]), np.array([50, 200, 800]), 0.02, 0.05 / 26)
    assert np.all(np.diff(m) < 0) and np.all(m > 0.02)


def test_binary_mde_floor_covers_deterministic_agents():
    # no discordant pairs observed: a drop of Δ still needs ≥ Δ·n flipped scenarios
    no_floor = mde_mod.mde(0.0, 30, 0.02, 0.05 / 24, use_t=False, floor=False)
    floored = mde_mod.mde(0.0, 30, 0.02, 0.05 / 24, use_t=False, floor=True)
    assert float(no_floor) == pytest.approx(0.02)
    z = stats.norm.isf(0.05 / 24) + stats.norm.ppf(0.8)
    assert float(floored) == pytest.approx(0.02 + z * np.sqrt(floored * (1 - floored) / 30), abs=1e-6)
    assert float(floored) > 0.3


@pytest.mark.parametrize("margin", [0.02, 0.0])
def test_binary_mde_falls_steadily_with_more_scenarios_when_nothing_flipped(margin):
    # t quantiles at small n are large enough that a fixed-point search oscillated (2 scenarios "saw" 2 points),
    # and with no margin it stayed at its start, 0: "this run could see a 0-point drop"
    n = np.arange(2, 400)
    m = mde_mod.mde(0.0, n, margin, 0.05 / 8, floor=True)
    assert np.all(np.diff(m) <= 0) and m[0] > 0.99 and np.all(m > margin) and m[-1] > 0.02
    q = stats.t.ppf(1 - 0.05 / 8, n - 1) + stats.t.ppf(0.8, n - 1)
    inner = m < 1
    assert np.allclose(m[inner], margin + q[inner] * np.sqrt(m[inner] * (1 - m[inner]) / n[inner]))


def test_scenarios_for_delta_is_the_first_size_whose_mde_reaches_delta():
    need = int(mde_mod.scenarios_for(0.10, 0.0, 0.02, 0.05 / 8, floor=True))
    assert mde_mod.mde(0.0, need, 0.02, 0.05 / 8, floor=True) <= 0.10 < mde_mod.mde(0.0, need - 1, 0.02, 0.05 / 8,
                                                                                 floor=True)
    assert need > 100


def test_suggestion_for_a_cell_where_no_scenario_flipped_counts_scenarios():
    # 10 scenarios, identical scores in both runs: the binary floor at the gap, not "on the margin"
    txt = mde_mod.suggestion(0.02, 0.0, 10, 0.05 / 8, floor=True)
    assert txt.startswith("~") and "scenarios" in txt and "margin" not in txt
    assert "on the margin" in mde_mod.suggestion(0.0, 0.0, 10, 0.05 / 8, floor=True)


def test_power_at_the_reported_mde_is_about_80_percent():
    """Simulate paired t cells whose true drop equals the MDE: ~80% of them must be flagged."""
    rng = np.random.default_rng(11)
    R, K, n, sd = 4000, 10, 60, 0.3
    alpha, m = 0.05, 0.02
    target = float(mde_mod.mde(sd ** 2, n, m, alpha / K))
    d = rng.normal(0, sd, size=(R, K, n))
    d[:, 0, :] -= target
    s = vd.CellStats(n=np.full((R, K), float(n)), mean=d.mean(-1), var=d.var(-1, ddof=1))
    dec = vd.decide(s, vd.T, m, True, alpha=alpha)
    power = np.mean(dec.verdict[:, 0] == vd.REGRESSED)
    assert 0.77 <= power <= 0.85


def test_suggestion_prefers_trials_only_when_they_can_help():
    # within-scenario noise dominates: more trials resolve it
    txt = mde_mod.suggestion(0.05, 0.08, 100, 0.05 / 20, k_base=3, k_cand=3, wvar_base=0.11, wvar_cand=0.11)
    assert "scenarios" in txt and "trials per scenario" in txt
    # scenario-to-scenario variation dominates: trials cannot
    txt = mde_mod.suggestion(0.05, 0.08, 100, 0.05 / 20, k_base=3, k_cand=3, wvar_base=0.01, wvar_cand=0.01)
    assert "more trials cannot" in txt
    assert "unresolvable" in mde_mod.suggestion(0.0005, 0.08, 100, 0.05 / 20)
