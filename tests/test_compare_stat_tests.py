"""The comparator's paired tests agree with scipy/statsmodels to 1e-9, and each bound inverts its own test."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize, special, stats
from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar

from evalkit.compare import stat_tests as st

TOL = 1e-9


def _random_pairs(rng, n):
    xb = rng.random(n)
    xc = np.clip(xb + rng.normal(rng.uniform(-0.1, 0.1), rng.uniform(0.05, 0.3), n), 0, 1)
    return xb, xc


@pytest.mark.parametrize("seed", range(25))
def test_paired_t_pvalue_matches_scipy_ttest_rel(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 300))
    xb, xc = _random_pairs(rng, n)
    d = xc - xb
    for margin in (0.0, 0.02, 0.1):
        ours_lower = st.t_pvalue(d.mean(), d.var(ddof=1), n, -margin, st.LOWER)
        ours_upper = st.t_pvalue(d.mean(), d.var(ddof=1), n, -margin, st.UPPER)
        ref_lower = stats.ttest_rel(xc + margin, xb, alternative="less").pvalue
        ref_upper = stats.ttest_rel(xc + margin, xb, alternative="greater").pvalue
        assert abs(ours_lower - ref_lower) < TOL
        assert abs(ours_upper - ref_upper) < TOL


@pytest.mark.parametrize("seed", range(10))
def test_paired_t_bounds_match_scipy_confidence_interval(seed):
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(3, 200))
    xb, xc = _random_pairs(rng, n)
    d = xc - xb
    for level in (0.05, 0.01, 0.05 / 26):
        upper = stats.ttest_rel(xc, xb, alternative="less").confidence_interval(1 - level).high
        lower = stats.ttest_rel(xc, xb, alternative="greater").confidence_interval(1 - level).low
        assert abs(st.t_bound(d.mean(), d.var(ddof=1), n, level, st.LOWER) - upper) < TOL
        assert abs(st.t_bound(d.mean(), d.var(ddof=1), n, level, st.UPPER) - lower) < TOL


def test_paired_t_is_vectorised_over_cells():
    rng = np.random.default_rng(7)
    d = rng.normal(-0.03, 0.2, size=(4, 6, 40))
    p = st.t_pvalue(d.mean(-1), d.var(-1, ddof=1), 40, -0.02, st.LOWER)
    ref = stats.ttest_1samp(d, -0.02, axis=-1, alternative="less").pvalue
    assert p.shape == (4, 6)
    np.testing.assert_allclose(p, ref, rtol=0, atol=TOL)


def test_paired_t_with_zero_spread_is_decided_by_the_sign():
    assert st.t_pvalue(-0.1, 0.0, 30, -0.02, st.LOWER) == 0.0
    assert st.t_pvalue(0.0, 0.0, 30, -0.02, st.LOWER) == 1.0
    assert st.t_pvalue(0.0, 0.0, 30, -0.02, st.UPPER) == 0.0
    assert np.isnan(st.t_pvalue(0.1, 0.0, 1, 0.0, st.LOWER))


def _discordant(rng, size):
    b = rng.integers(0, 40, size)
    c = rng.integers(0, 40, size)
    return b, c


def test_mcnemar_exact_one_sided_matches_binomtest():
    rng = np.random.default_rng(1)
    b, c = _discordant(rng, 200)
    n = b + c + rng.integers(0, 100, 200)
    ours = st.mcnemar_pvalue(b, c, n, 0.0, st.LOWER, midp=False)
    ours_up = st.mcnemar_pvalue(b, c, n, 0.0, st.UPPER, midp=False)
    for i in range(200):
        if b[i] + c[i] == 0:
            assert ours[i] == 1.0
            continue
        ref = stats.binomtest(int(b[i]), int(b[i] + c[i]), 0.5, alternative="greater").pvalue
        ref_up = stats.binomtest(int(b[i]), int(b[i] + c[i]), 0.5, alternative="less").pvalue
        assert abs(ours[i] - ref) < TOL
        assert abs(ours_up[i] - ref_up) < TOL


def test_mcnemar_midp_is_exact_minus_half_the_point_probability():
    rng = np.random.default_rng(2)
    b, c = _discordant(rng, 200)
    n = b + c + 10
    ours = st.mcnemar_pvalue(b, c, n, 0.0, st.LOWER, midp=True)
    for i in range(200):
        N = int(b[i] + c[i])
        if N == 0:
            continue
        ref = (stats.binomtest(int(b[i]), N, 0.5, alternative="greater").pvalue
               - 0.5 * stats.binom.pmf(int(b[i]), N, 0.5))
        assert abs(ours[i] - ref) < TOL


def test_mcnemar_two_sided_exact_matches_statsmodels():
    rng = np.random.default_rng(3)
    b, c = _discordant(rng, 150)
    ours = st.mcnemar_two_sided(b, c, midp=False)
    for i in range(150):
        if b[i] + c[i] == 0:
            continue
        table = [[17, int(b[i])], [int(c[i]), 23]]
        assert abs(ours[i] - sm_mcnemar(table, exact=True).pvalue) < TOL


def test_mcnemar_two_sided_midp_matches_binomtest_definition():
    rng = np.random.default_rng(4)
    b, c = _discordant(rng, 100)
    ours = st.mcnemar_two_sided(b, c, midp=True)
    for i in range(100):
        N = int(b[i] + c[i])
        if N == 0:
            continue
        lo = int(min(b[i], c[i]))
        one_sided_midp = stats.binomtest(lo, N, 0.5, alternative="less").pvalue - 0.5 * stats.binom.pmf(lo, N, 0.5)
        ref = min(1.0, 2 * one_sided_midp)
        assert abs(ours[i] - ref) < TOL


@pytest.mark.parametrize("midp", [True, False])
def test_mcnemar_bounds_invert_the_pvalue(midp):
    rng = np.random.default_rng(5)
    b, c = _discordant(rng, 60)
    b, c = b + 1, c + 1
    n = b + c + rng.integers(0, 80, 60)
    for level in (0.025, 0.002):
        U = st.mcnemar_bound(b, c, n, level, st.LOWER, midp=midp)
        L = st.mcnemar_bound(b, c, n, level, st.UPPER, midp=midp)
        assert np.all(L <= U)
        np.testing.assert_allclose(st.mcnemar_pvalue(b, c, n, U, st.LOWER, midp=midp), level, atol=1e-9)
        np.testing.assert_allclose(st.mcnemar_pvalue(b, c, n, L, st.UPPER, midp=midp), level, atol=1e-9)


def test_tango_score_at_zero_is_mcnemars_asymptotic_test():
    rng = np.random.default_rng(6)
    b, c = _discordant(rng, 100)
    b, c = b + 1, c
    z = st.score_z(b, c, b + c + 50, 0.0)
    for i in range(100):
        ref = sm_mcnemar([[30, int(b[i])], [int(c[i]), 20]], exact=False, correction=False).pvalue
        two_sided = 2 * min(stats.norm.cdf(z[i]), stats.norm.sf(z[i]))
        assert abs(two_sided - ref) < TOL


def test_tango_score_uses_the_restricted_maximum_likelihood():
    """Check the closed-form restricted MLE against a numeric maximisation of the constrained likelihood."""
    rng = np.random.default_rng(8)
    for _ in range(20):
        n = int(rng.integers(20, 300))
        b, c = int(rng.integers(0, n // 4)), int(rng.integers(0, n // 4))
        d0 = float(rng.uniform(-0.1, 0.1))

        def negloglik(q):
            q01 = q + d0
            return -(b * np.log(q) + c * np.log(q01) + (n - b - c) * np.log(1 - 2 * q - d0))

        lo, hi = max(1e-12, -d0 + 1e-12), (1 - d0) / 2 - 1e-12
        q = optimize.minimize_scalar(negloglik, bounds=(lo, hi), method="bounded",
                                     options={"xatol": 1e-13}).x
        ref_z = (c - b - n * d0) / np.sqrt(n * (2 * q + d0 - d0 ** 2))
        assert abs(st.score_z(b, c, n, d0) - ref_z) < 1e-5


def test_tango_bounds_invert_the_score_test():
    b, c, n = np.array([3, 10, 0, 25]), np.array([9, 4, 0, 30]), np.array([60, 80, 40, 200])
    for level in (0.025, 0.001):
        U = st.score_bound(b, c, n, level, st.LOWER)
        np.testing.assert_allclose(st.score_pvalue(b, c, n, U, st.LOWER), level, atol=1e-9)
        L = st.score_bound(b, c, n, level, st.UPPER)
        np.testing.assert_allclose(st.score_pvalue(b, c, n, L, st.UPPER), level, atol=1e-9)


@pytest.mark.parametrize("seed", range(8))
def test_signflip_matches_scipy_permutation_test_exactly(seed):
    rng = np.random.default_rng(200 + seed)
    n = int(rng.integers(4, 13))
    xb, xc = _random_pairs(rng, n)
    for margin in (0.0, 0.02):
        for side, alt in ((st.LOWER, "less"), (st.UPPER, "greater")):
            ref = stats.permutation_test((xc + margin, xb), lambda x, y, axis: np.mean(x - y, axis=axis),
                                         permutation_type="samples", alternative=alt, n_resamples=9999).pvalue
            ours = st.signflip_pvalue(xc - xb, -margin, side, n_resamples=9999)
            assert abs(ours - ref) < TOL


def test_signflip_bound_inverts_its_pvalue():
    rng = np.random.default_rng(9)
    d = rng.normal(-0.05, 0.2, 40)
    for level in (0.05, 0.01):
        U = st.signflip_bound(d, level, st.LOWER, n_resamples=4999, seed=3)
        assert st.signflip_pvalue(d, U + 1e-9, st.LOWER, 4999, seed=3) <= level
        assert st.signflip_pvalue(d, U - 1e-9, st.LOWER, 4999, seed=3) > level
        L = st.signflip_bound(d, level, st.UPPER, n_resamples=4999, seed=3)
        assert st.signflip_pvalue(d, L - 1e-9, st.UPPER, 4999, seed=3) <= level
        assert st.signflip_pvalue(d, L + 1e-9, st.UPPER, 4999, seed=3) > level


# ------------------------------------------------------- paired binary data at a margin (the MOVER intervals)
#: the square-and-add interval from mid-p limits (the gate's test = "auto") and from Wilson limits ("wilson")
MOVER = {"midp": (st.midp_bound, st.midp_pvalue), "wilson": (st.wilson_bound, st.wilson_pvalue)}


def _trinomial(n, p10, p01):
    """Every (b, c) outcome of n pairs with pass→fail rate p10 and fail→pass rate p01, with its probability."""
    b, c = np.meshgrid(np.arange(n + 1.0), np.arange(n + 1.0), indexing="ij")
    keep = b + c <= n
    b, c = b[keep], c[keep]
    logw = (special.gammaln(n + 1) - special.gammaln(b + 1) - special.gammaln(c + 1) - special.gammaln(n - b - c + 1)
            + special.xlogy(b, p10) + special.xlogy(c, p01) + special.xlog1py(n - b - c, -(p10 + p01)))
    return b, c, np.exp(logw)


def _coverage(bound, n, p10, p01, level=0.95):
    b, c, w = _trinomial(n, p10, p01)
    tail = (1 - level) / 2
    lo, hi = bound(b, c, n, tail, st.UPPER), bound(b, c, n, tail, st.LOWER)
    truth = p01 - p10
    return float(np.sum(w * ((lo <= truth + 1e-12) & (truth - 1e-12 <= hi))))


@pytest.mark.parametrize("method", list(MOVER))
def test_mover_bounds_invert_the_mover_test(method):
    bound, pvalue = MOVER[method]
    rng = np.random.default_rng(9)
    n = rng.integers(10, 400, 80).astype(float)
    b = np.floor(rng.random(80) * 0.4 * n)
    c = np.floor(rng.random(80) * 0.5 * (n - b))
    for level in (0.3, 0.025, 0.001):
        U, L = bound(b, c, n, level, st.LOWER), bound(b, c, n, level, st.UPPER)
        assert np.all(L <= (c - b) / n) and np.all((c - b) / n <= U)
        np.testing.assert_allclose(pvalue(b, c, n, U, st.LOWER), level, rtol=1e-9)
        np.testing.assert_allclose(pvalue(b, c, n, L, st.UPPER), level, rtol=1e-9)


def test_the_midp_limits_solve_their_defining_equations():
    """L: P(X > x) + ½P(X = x) = tail; U: P(X < x) + ½P(X = x) = tail (X ~ Bin(n, limit))."""
    x, n, tail = np.array([0.0, 1, 5, 29, 30, 3, 400]), np.array([30.0, 30, 30, 30, 30, 1000, 1000]), 0.025
    low, high = st._midp_lower(x, n, tail), 1 - st._midp_lower(n - x, n, tail)
    inside = (x > 0) & (x < n)
    np.testing.assert_allclose((stats.binom.sf(x, n, low) + 0.5 * stats.binom.pmf(x, n, low))[x > 0], tail, rtol=1e-9)
    np.testing.assert_allclose((stats.binom.cdf(x - 1, n, high) + 0.5 * stats.binom.pmf(x, n, high))[x < n], tail,
                               rtol=1e-9)
    assert low[0] == 0 and high[4] == 1 and np.all(low[inside] < x[inside] / n[inside])


@pytest.mark.parametrize("method", list(MOVER))
def test_when_every_flip_goes_one_way_neither_end_of_the_interval_is_the_estimate(method):
    """The defect the conditional interval had: with b = 5 pass→fail, c = 0, one end sat on −5/30."""
    bound, _ = MOVER[method]
    b, c, n = 5, 0, 30
    lo, hi = bound(b, c, n, 0.025, st.UPPER), bound(b, c, n, 0.025, st.LOWER)
    assert lo < -5 / 30 - 0.05 and hi > -5 / 30 + 0.05
    assert bound(0, 0, n, 0.025, st.UPPER) < 0 < bound(0, 0, n, 0.025, st.LOWER)


@pytest.mark.parametrize("method", list(MOVER))
@pytest.mark.parametrize("p10,p01", [(0.05, 0.0), (0.1, 0.0), (0.3, 0.0), (0.6, 0.0), (0.2, 0.1), (0.3, 0.3)])
def test_the_95_interval_covers_at_30_pairs_whether_flips_go_one_way_or_both(method, p10, p01):
    """Exact coverage by enumerating every outcome of 30 pairs (the conditional interval covered 45-59%)."""
    assert _coverage(MOVER[method][0], 30, p10, p01) >= 0.945


@pytest.mark.parametrize("method", list(MOVER))
@pytest.mark.parametrize("n", [30, 100, 500, 1000])
@pytest.mark.parametrize("alpha", [0.05, 0.05 / 42])
def test_the_regression_test_holds_its_level_at_the_margin_when_flips_go_one_way(method, n, alpha):
    """True drop = margin = 2 points, every discordant pair pass→fail: b ~ Binomial(n, 0.02), c = 0. The exact
    rejection probability stays at or below α (the conditional mid-p McNemar rejected 3–10× α at n = 1000)."""
    m = 0.02
    b = np.arange(n + 1.0)
    w = stats.binom.pmf(b, n, m)
    size = float(np.sum(w * (MOVER[method][1](b, 0.0, n, -m, st.LOWER) <= alpha)))
    assert size <= alpha * 1.02
    if n == 1000:
        conditional = float(np.sum(w * (st.mcnemar_pvalue(b, 0.0, n, -m, st.LOWER, midp=True) <= alpha)))
        assert conditional > 2 * alpha


@pytest.mark.parametrize("method", list(MOVER))
@pytest.mark.parametrize("psi", [0.03, 0.1, 0.3, 0.6])
def test_the_regression_test_holds_its_level_at_the_margin_when_flips_go_both_ways(method, psi):
    m, n, alpha = 0.02, 100, 0.05
    b, c, w = _trinomial(n, (psi + m) / 2, (psi - m) / 2)
    size = float(np.sum(w * (MOVER[method][1](b, c, n, -m, st.LOWER) <= alpha)))
    assert size <= alpha * 1.02


def test_the_midp_interval_over_covers_less_than_wilsons_where_few_pairs_flip():
    """n = 30, p10 = 10%, p01 = 5% (4.5 expected flips): Wilson's limits are skewed and its 95% interval
    covers 97.9%; the mid-p limits bring it to 96.8% (benchmarks/calibration.py prints the whole grid)."""
    assert _coverage(st.midp_bound, 30, 0.10, 0.05) <= 0.97 < _coverage(st.wilson_bound, 30, 0.10, 0.05)


def test_a_cells_mid_p_bound_and_p_value_do_not_depend_on_the_cells_computed_with_it():
    """Root finding is vectorised over cells; a cell whose root is found stops moving, so its numbers are
    the same alone or in any batch (a report does not change in the 13th digit when a category is added)."""
    rng = np.random.default_rng(4)
    n = rng.integers(5, 200, 40).astype(float)
    b = np.floor(rng.random(40) * 0.3 * n)
    c = np.floor(rng.random(40) * 0.3 * n)
    for side in (st.LOWER, st.UPPER):
        batch_p = st.midp_pvalue(b, c, n, -0.02, side)
        batch_bound = st.midp_bound(b, c, n, 0.05 / 24, side)
        for i in range(40):
            assert st.midp_pvalue(b[i:i + 1], c[i:i + 1], n[i:i + 1], -0.02, side)[0] == batch_p[i]
            assert st.midp_bound(b[i:i + 1], c[i:i + 1], n[i:i + 1], 0.05 / 24, side)[0] == batch_bound[i]
