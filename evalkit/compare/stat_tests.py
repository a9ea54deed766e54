"""Paired tests as array functions: paired t, the MOVER tests for paired binary data (mid-p and Wilson limits),
McNemar (exact / mid-p), Tango's score test, sign-flip permutation.

Every function is vectorised over any array shape, so the DataFrame comparator and the calibration simulation
run the same code. Convention: d = candidate − baseline, oriented so that higher is better. ``side="lower"``
tests H0: δ ≥ δ0 against δ < δ0 (evidence that the candidate is worse than δ0: a regression beyond the
margin when δ0 = −m); ``side="upper"`` tests H0: δ ≤ δ0 against δ > δ0. Each p-value has a matching
confidence bound (the inversion of the same test), so ``p(δ0) ≤ level`` exactly when δ0 lies beyond the
bound at that level: verdicts read from bounds and from p-values never disagree.

Binary pairs with one trial each are summarised by b = #(baseline pass, candidate fail) and
c = #(baseline fail, candidate pass) among n pairs, so δ̂ = (c − b)/n. The comparator tests them with
:func:`midp_pvalue` / :func:`midp_bound`, which hold their level at a non-zero margin whatever the direction
of the flips (so do :func:`wilson_pvalue` / :func:`wilson_bound`, which over-cover more where few pairs flip);
the conditional McNemar functions are kept for δ0 = 0 references and for the calibration benchmark, which
shows why they are not used at a margin.
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy import special, stats

LOWER, UPPER = "lower", "upper"
_EDGE = 1.0 - 1e-12  # bisection range for a difference of proportions: (−1, 1)
_Q_EDGE = 37.0  # quantiles searched by the mid-p p-value: the normal tail there (6e-300) is still a float


def _check_side(side: str, *arrays) -> tuple[np.ndarray, ...]:
    """Refuse a ``side`` other than "lower" or "upper"; ``arrays`` come back as floats broadcast to one shape."""
    if side not in (LOWER, UPPER):
        raise ValueError(f"side must be 'lower' or 'upper', not {side!r}")
    return np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in arrays))


def _bisect(root_above, lo, hi, iterations: int) -> np.ndarray:
    """The midpoint of [lo, hi] after ``iterations`` halvings (vectorised), each keeping the upper half where
    ``root_above(mid)`` holds and the lower half elsewhere."""
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        up = root_above(mid)
        lo = np.where(up, mid, lo)
        hi = np.where(up, hi, mid)
    return 0.5 * (lo + hi)


# ----------------------------------------------------------------------------------------------- paired t
def t_pvalue(mean, var, n, delta0, side: str) -> np.ndarray:
    """One-sided paired t-test p-value of H0 at δ0 from the mean and variance (ddof=1) of the n differences."""
    mean, var, n, delta0 = _check_side(side, mean, var, n, delta0)
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.sqrt(var / n)
        tstat = (mean - delta0) / se
        df = n - 1
        p = stats.t.cdf(tstat, df) if side == LOWER else stats.t.sf(tstat, df)
    # Zero spread: the sign of (mean − δ0) is certain; a tie gives no evidence.
    beyond = (mean < delta0) if side == LOWER else (mean > delta0)
    p = np.where(se == 0, np.where(beyond, 0.0, 1.0), p)
    return np.where((n >= 2) & np.isfinite(mean), p, np.nan)


def t_bound(mean, var, n, level, side: str) -> np.ndarray:
    """One-sided (1 − level) confidence bound of the mean difference: the lower bound for ``side="upper"``
    (the test of H0: δ ≤ δ0 rejects exactly for δ0 below it), the upper bound for ``side="lower"``."""
    mean, var, n, level = _check_side(side, mean, var, n, level)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = stats.t.ppf(1.0 - level, n - 1)
        half = np.where(var == 0, 0.0, q * np.sqrt(var / n))
    out = mean + half if side == LOWER else mean - half
    return np.where(n >= 2, out, np.nan)


# ------------------------------------------------------------------------- Wilson MOVER (unconditional)
def _wilson_halfwidths(x, n, z):
    """Distances from x/n down to the Wilson score lower limit and up to its upper limit, at quantile z ≥ 0."""
    p = x / n
    den = 1.0 + z * z / n
    centre = (p + z * z / (2.0 * n)) / den
    half = z * np.sqrt(p * (1.0 - p) / n + z * z / (4.0 * n * n)) / den
    return np.maximum(p - (centre - half), 0.0), np.maximum(centre + half - p, 0.0)


def _mover_end(b, c, n, q, side: str, distances=None):
    """One end of the square-and-add (MOVER) interval of δ = p01 − p10 at the signed quantile q.

    p10 = b/n and p01 = c/n are the two discordant-pair rates of one multinomial; each gets a single-rate
    interval (``distances``: :func:`_wilson_distances`, the default, or :func:`_midp_distances`), and the
    two distances from the estimates are combined with their multinomial correlation
    ρ = −sqrt(p10·p01 / ((1 − p10)(1 − p01))) (Newcombe 1998; Zou & Donner 2008). ``side="lower"`` gives the
    upper end at q ≥ 0 and, for q < 0, the lower end at −q (``side="upper"`` the reverse), so each side's end
    is continuous and monotone in q over the whole line, which is what the p-value inverts."""
    upper = (np.asarray(q) >= 0) == (side == LOWER)  # which end each element is
    a1, a2 = (distances or _wilson_distances)(b, c, n, np.abs(q), upper)
    p10, p01 = b / n, c / n
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = -np.sqrt(p10 * p01 / ((1.0 - p10) * (1.0 - p01)))
    rho = np.where(np.isfinite(rho), rho, 0.0)
    width = np.sqrt(np.maximum(a1 * a1 + a2 * a2 - 2.0 * rho * a1 * a2, 0.0))
    return np.where(upper, p01 - p10 + width, p01 - p10 - width)


def _wilson_distances(b, c, n, z, upper):
    """The two MOVER distances from Wilson score intervals: to the upper end, (U01 − p01, p10 − L10); to the
    lower end, (p01 − L01, U10 − p10)."""
    dn10, up10 = _wilson_halfwidths(b, n, z)
    dn01, up01 = _wilson_halfwidths(c, n, z)
    return np.where(upper, up01, dn01), np.where(upper, dn10, up10)


def _wilson_df(n):
    return np.maximum(n - 1.0, 1.0)


def _mover_bound(b, c, n, level, side: str, distances) -> np.ndarray:
    """The bound of :func:`wilson_bound` and :func:`midp_bound`, from their single-rate ``distances``."""
    b, c, n, level = _check_side(side, b, c, n, level)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = stats.t.isf(level, _wilson_df(n))
        end = _mover_end(b, c, n, q, side, distances)
    return np.where(n >= 1, end, np.nan)


def wilson_bound(b, c, n, level, side: str) -> np.ndarray:
    """One-sided (1 − level) confidence bound of δ = (c − b)/n for paired binary data, one trial per side.

    The Wilson MOVER interval (see :func:`_mover_end`) with the normal quantile replaced by Student's t with
    n − 1 degrees of freedom, a small-sample guard that makes no difference beyond ~100 pairs. Unlike
    McNemar's interval it does not condition on the number of discordant pairs, so it keeps its coverage
    when every flip goes one way (benchmarks/calibration.py enumerates it). ``side="lower"``: the upper
    bound; ``side="upper"``: the lower bound."""
    return _mover_bound(b, c, n, level, side, _wilson_distances)


def wilson_pvalue(b, c, n, delta0, side: str) -> np.ndarray:
    """One-sided p-value of H0 at δ0 that inverts :func:`wilson_bound`: the level at which the bound equals δ0
    (bisection on the quantile; the bound is monotone in it). ``side="lower"`` tests H0: δ ≥ δ0."""
    b, c, n, d0 = _check_side(side, b, c, n, delta0)

    def root_above(q):  # LOWER: the upper end rises with q; the p-value is the level where it reaches δ0.
        end = _mover_end(b, c, n, q, side)
        return end < d0 if side == LOWER else end > d0

    with np.errstate(divide="ignore", invalid="ignore"):
        q = _bisect(root_above, np.full(b.shape, -60.0), np.full(b.shape, 60.0), 60)
        p = stats.t.sf(q, _wilson_df(n))
    return np.where(n >= 1, p, np.nan)


# ------------------------------------------------------------------------- mid-p MOVER (the gate's default)
def _illinois(f, lo, hi, f_lo, f_hi, iterations: int, ftol: float = 0.0, xtol: float = 0.0):
    """Roots of the increasing ``f`` (vectorised) bracketed by [lo, hi] with f(lo) ≤ 0 ≤ f(hi): the Illinois
    variant of regula falsi, which keeps the bracket and converges superlinearly (at most ``iterations``
    steps; fewer once every root is found to within ``ftol`` of f or ``xtol`` of x: at a jump of f, such as
    the mid-p ends' at the quantile 0, the bracket closes on the jump while f stays away from 0)."""
    side = np.zeros(np.shape(lo))
    for _ in range(iterations):
        # done: found, closed on a jump, or no root in the bracket (the nearer end is the answer); a root that
        # is done stays as it is, so each root is the same whichever others are solved alongside it
        found = (np.minimum(np.abs(f_lo), np.abs(f_hi)) <= ftol) | (hi - lo <= xtol)
        active = ~(found | (f_lo > 0) | (f_hi < 0))
        if not active.any():
            break
        with np.errstate(divide="ignore", invalid="ignore"):
            x = np.where(f_hi > f_lo, (lo * f_hi - hi * f_lo) / (f_hi - f_lo), 0.5 * (lo + hi))
        x = np.where((x > lo) & (x < hi), x, 0.5 * (lo + hi))
        fx = f(x)
        right = active & (fx > 0)  # the root lies left of x: x becomes the upper end
        left = active & ~right
        # the end kept twice in a row has its value halved (what makes regula falsi superlinear)
        f_lo = np.where(right & (side < 0), 0.5 * f_lo, np.where(left, fx, f_lo))
        f_hi = np.where(left & (side > 0), 0.5 * f_hi, np.where(right, fx, f_hi))
        lo, hi = np.where(left, x, lo), np.where(right, x, hi)
        side = np.where(right, -1.0, np.where(left, 1.0, side))
    return np.where(np.abs(f_lo) < np.abs(f_hi), lo, hi)


def _midp_lower(x, n, tail):
    """The mid-p lower limit of a binomial rate: L solves P(X > x) + ½·P(X = x) = tail, X ~ Bin(n, L) (0 at
    x = 0). It lies between the two limits where P(X ≥ x) and P(X > x) reach ``tail`` (inverse incomplete
    beta functions, exact); the root is polished there on the log scale, where the tail is smooth."""
    pos = x > 0
    k = np.where(pos, x, 1.0)
    lo = special.betaincinv(k, n - k + 1, tail)  # P(X ≥ x) = tail
    hi = np.where(k < n, special.betaincinv(k + 1, np.maximum(n - k, 1.0), tail), 1.0)  # P(X > x) = tail
    log_tail = np.log(tail)

    def f(p):
        above = np.where(k < n, special.betainc(k + 1, np.maximum(n - k, 1.0), p), 0.0)
        with np.errstate(divide="ignore"):
            return np.log(0.5 * (above + special.betainc(k, n - k + 1, p))) - log_tail

    root = _illinois(f, lo, hi, f(lo), f(hi), 14, ftol=1e-12)
    return np.where(pos, root, 0.0)


def _midp_distances(b, c, n, z, upper):
    """The two MOVER distances of :func:`_wilson_distances` from mid-p limits at the normal tail of z (so the
    t guard of :func:`midp_bound` carries over unchanged). Only the two limits an end needs are solved, each
    once per distinct (x, n, z): U(x) = 1 − L(n − x)."""
    b, c, n, z, upper = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (b, c, n, z)), upper)
    x = np.concatenate([np.where(upper, n - c, c).ravel(), np.where(upper, b, n - b).ravel()])
    rows, back = np.unique(np.stack([x, np.tile(n.ravel(), 2), np.tile(z.ravel(), 2)]), axis=1,
                           return_inverse=True)
    low = _midp_lower(rows[0], rows[1], stats.norm.sf(rows[2]))[back]
    l1, l2 = low[: b.size].reshape(b.shape), low[b.size:].reshape(b.shape)
    p10, p01 = b / n, c / n
    a1 = np.where(upper, 1.0 - l1 - p01, p01 - l1)
    a2 = np.where(upper, p10 - l2, 1.0 - l2 - p10)
    return np.maximum(a1, 0.0), np.maximum(a2, 0.0)


def midp_bound(b, c, n, level, side: str) -> np.ndarray:
    """One-sided (1 − level) confidence bound of δ = (c − b)/n for paired binary data, one trial per side.

    The square-and-add (MOVER) combination of :func:`_mover_end` built from mid-p limits for each discordant
    rate (Lancaster 1961; Berry & Armitage 1995) instead of Wilson's, with the same Student-t guard (n − 1
    degrees of freedom) as :func:`wilson_bound`. Exact enumeration (benchmarks/calibration.py) keeps its size
    at the margin within 1.01·α like the Wilson version while it over-covers less in small cells, where
    Wilson's limits are skewed."""
    return _mover_bound(b, c, n, level, side, _midp_distances)


def midp_pvalue(b, c, n, delta0, side: str, iterations: int = 40) -> np.ndarray:
    """One-sided p-value of H0 at δ0 that inverts :func:`midp_bound`: the quantile at which the bound equals δ0
    (Illinois root finding on the quantile, once per distinct (b, c, n, δ0)). ``side="lower"`` tests
    H0: δ ≥ δ0."""
    b, c, n, d0 = _check_side(side, b, c, n, delta0)
    rows, back = np.unique(np.stack([a.ravel() for a in (b, c, n, d0)]), axis=1, return_inverse=True)
    ub, uc, un, ud = rows
    sign = 1.0 if side == LOWER else -1.0  # the end rises with the quantile (side "lower") or falls

    def excess(q):
        with np.errstate(divide="ignore", invalid="ignore"):
            return sign * (_mover_end(ub, uc, un, q, side, _midp_distances) - ud)

    # the ends jump at the quantile 0 (mid-p limits at tail ½ are not x/n): search the side of 0 the root is on,
    # and where δ0 falls into the jump the p-value is ½
    zero, below = np.zeros(ub.shape), np.full(ub.shape, -1e-12)
    f_zero, f_below = excess(zero), excess(below)
    right = f_zero < 0
    lo, hi = np.where(right, zero, -_Q_EDGE), np.where(right, _Q_EDGE, below)
    f_lo, f_hi = np.where(right, f_zero, excess(lo)), np.where(right, excess(hi), f_below)
    q = _illinois(excess, lo, hi, f_lo, f_hi, iterations, ftol=1e-13, xtol=1e-11)
    q = np.where((f_below <= 0) & (f_zero >= 0), 0.0, q)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = stats.t.sf(q, _wilson_df(un))
    return np.where(n >= 1, p[back].reshape(b.shape), np.nan)


# ------------------------------------------------------------------------------------- McNemar (conditional)
def _theta0(b, c, n, delta0):
    """Null probability that a discordant pair is a pass→fail pair, given δ0 and the observed discordance,
    before clipping to [0, 1] (outside means δ0 lies outside the conditionally possible range ±N/n).

    At δ0 = 0 this is ½ (McNemar); at δ0 ≠ 0 (a margin) the test conditions on the observed discordance
    N/n, so E[c − b | N] = n·δ0. benchmarks/calibration.py computes this test's exact size at the margin."""
    N = b + c
    with np.errstate(divide="ignore", invalid="ignore"):
        th = 0.5 * (1.0 - n * delta0 / N)
    return np.where(N > 0, th, np.where(delta0 > 0, -np.inf, np.where(delta0 < 0, np.inf, 0.5)))


def mcnemar_pvalue(b, c, n, delta0=0.0, side: str = LOWER, midp: bool = True) -> np.ndarray:
    """One-sided McNemar test on the discordant pairs (exact binomial or mid-p).

    ``side="lower"`` (regression): p = P(X ≥ b) with X ~ Binomial(b + c, θ0), θ0 = ½ at δ0 = 0; mid-p
    subtracts ½·P(X = b). ``side="upper"``: p = P(X ≤ b) (mid-p: minus ½·P(X = b)). Conditionally on the N
    discordant pairs δ lies in [−N/n, N/n]; a δ0 outside that range is decided with certainty (p = 0 or 1),
    the limit of θ0 → 0 or 1, which keeps p monotone in δ0 and consistent with :func:`mcnemar_bound`."""
    b, c, n, delta0 = _check_side(side, b, c, n, delta0)
    N = b + c
    raw = _theta0(b, c, n, delta0)
    th = np.clip(raw, 0.0, 1.0)
    pmf = stats.binom.pmf(b, N, th)
    p = stats.binom.sf(b - 1, N, th) if side == LOWER else stats.binom.cdf(b, N, th)  # P(X ≥ b) | P(X ≤ b)
    if midp:
        p = p - 0.5 * pmf
    below = raw > 1.0   # δ0 < −N/n: "δ ≥ δ0" is certain, "δ ≤ δ0" impossible
    above = raw < 0.0   # δ0 > +N/n
    certain, impossible = (below, above) if side == LOWER else (above, below)
    p = np.where(certain, 1.0, np.where(impossible, 0.0, p))
    return np.where(n >= 1, np.clip(p, 0.0, 1.0), np.nan)


def mcnemar_two_sided(b, c, midp: bool = False) -> np.ndarray:
    """Two-sided McNemar p-value, min(1, 2·min(P(X ≤ b), P(X ≥ b))) (mid-p: minus P(X = b)).

    The exact form is what ``statsmodels.stats.contingency_tables.mcnemar(exact=True)`` returns."""
    b, c = np.broadcast_arrays(np.asarray(b, dtype=float), np.asarray(c, dtype=float))
    N = b + c
    lo = np.minimum(b, c)
    p = 2.0 * stats.binom.cdf(lo, N, 0.5)
    if midp:
        p = p - stats.binom.pmf(lo, N, 0.5)
    return np.clip(p, 0.0, 1.0)


def mcnemar_bound(b, c, n, level, side: str, midp: bool = True) -> np.ndarray:
    """Confidence bound of δ that inverts :func:`mcnemar_pvalue` (conditional on the discordant count).

    The bound for θ is Clopper–Pearson (exact) or its mid-p analogue, mapped to δ = (N/n)(1 − 2θ)."""
    b, c, n, level = _check_side(side, b, c, n, level)
    N = b + c
    # side LOWER (upper bound of δ): the θ with P(X ≥ b; θ) = level (lower confidence limit of θ).
    # side UPPER (lower bound of δ): the θ with P(X ≤ b; θ) = level (upper confidence limit of θ).
    if not midp:
        with np.errstate(invalid="ignore"):
            if side == LOWER:
                th = np.where(b > 0, special.betaincinv(b, N - b + 1, level), 0.0)
            else:
                th = np.where(b < N, special.betaincinv(b + 1, N - b, 1.0 - level), 1.0)
    else:
        def root_above(theta):
            pmf = stats.binom.pmf(b, N, theta)
            if side == LOWER:
                return stats.binom.sf(b - 1, N, theta) - 0.5 * pmf < level   # increasing in θ
            return stats.binom.cdf(b, N, theta) - 0.5 * pmf > level          # decreasing in θ

        th = _bisect(root_above, np.zeros_like(b), np.ones_like(b), 46)
    with np.errstate(divide="ignore", invalid="ignore"):
        delta = np.where(N > 0, (N / n) * (1.0 - 2.0 * th), 0.0)
    return np.where(n >= 1, delta, np.nan)


# ------------------------------------------------------------------------------------- Tango's score test
def score_z(b, c, n, delta0) -> np.ndarray:
    """Tango's (1998) score statistic for H0: δ = δ0 on paired binary data (δ = (c − b)/n expected).

    Uses the restricted maximum-likelihood estimate of the pass→fail probability under H0; at δ0 = 0 it is
    McNemar's z = (c − b)/sqrt(b + c)."""
    b, c, n, d0 = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (b, c, n, delta0)))
    A = 2.0 * n
    B = -(b + c) + d0 * (2.0 * n - c + b)
    C = -b * d0 * (1.0 - d0)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = (-B + np.sqrt(np.maximum(B * B - 4.0 * A * C, 0.0))) / (2.0 * A)
        var = n * (2.0 * q + d0 - d0 * d0)
        num = c - b - n * d0
        z = num / np.sqrt(var)
    return np.where(var > 0, z, np.where(num > 0, np.inf, np.where(num < 0, -np.inf, 0.0)))


def score_pvalue(b, c, n, delta0, side: str) -> np.ndarray:
    """One-sided p-value of Tango's score test (normal reference)."""
    _check_side(side)
    z = score_z(b, c, n, delta0)
    p = stats.norm.cdf(z) if side == LOWER else stats.norm.sf(z)
    return np.where(np.asarray(n, dtype=float) >= 1, p, np.nan)


def score_bound(b, c, n, level, side: str) -> np.ndarray:
    """Confidence bound of δ inverting Tango's score test (bisection; z is decreasing in δ0)."""
    b, c, n, level = _check_side(side, b, c, n, level)
    q = stats.norm.isf(level)
    # side LOWER: upper bound U with z(U) = −q; side UPPER: lower bound L with z(L) = +q.
    target = -q if side == LOWER else q
    root = _bisect(lambda d0: score_z(b, c, n, d0) > target, np.full(b.shape, -_EDGE), np.full(b.shape, _EDGE), 64)
    return np.where(n >= 1, root, np.nan)


# ------------------------------------------------------------------------------ sign-flip permutation test
def sign_matrix(n: int, n_resamples: int, seed: int = 0) -> tuple[np.ndarray, bool]:
    """Sign flips for a paired permutation test: all 2^n when that is ≤ n_resamples (exact), else random."""
    if n <= 20 and 2 ** n <= n_resamples:
        return np.array(list(itertools.product((1.0, -1.0), repeat=n))), True
    rng = np.random.default_rng(seed)
    return rng.choice(np.array([1.0, -1.0]), size=(n_resamples, n)), False


def signflip_pvalue(d, delta0: float, side: str, n_resamples: int = 9999, seed: int = 0,
                    signs: tuple[np.ndarray, bool] | None = None) -> float:
    """Sign-flip permutation p-value of the mean of d − δ0 (as scipy.stats.permutation_test, 'samples').

    ``signs``: the :func:`sign_matrix` for ``d.size``, when the caller already holds it."""
    _check_side(side)
    d = np.asarray(d, dtype=float) - delta0
    if d.size < 1:
        return float("nan")
    S, exact = signs if signs is not None else sign_matrix(d.size, n_resamples, seed)
    null = S @ d / d.size
    obs = d.mean()
    gamma = abs(np.finfo(float).eps * 100 * obs)
    hits = np.count_nonzero(null <= obs + gamma) if side == LOWER else np.count_nonzero(null >= obs - gamma)
    adj = 0 if exact else 1
    return (hits + adj) / (S.shape[0] + adj)


def signflip_bound(d, level: float, side: str, n_resamples: int = 9999, seed: int = 0,
                   signs: tuple[np.ndarray, bool] | None = None) -> float:
    """Confidence bound of the mean inverting :func:`signflip_pvalue` with the same sign flips.

    For flip j, the permuted statistic is A_j − δ0·ā_j and the observed one d̄ − δ0, so flip j counts toward
    the lower-side p-value exactly when δ0 ≤ τ_j = (A_j − d̄)/(ā_j − 1); the bound is an order statistic of τ."""
    _check_side(side)
    d = np.asarray(d, dtype=float)
    if d.size < 1:
        return float("nan")
    S, exact = signs if signs is not None else sign_matrix(d.size, n_resamples, seed)
    A = S @ d / d.size
    abar = S.mean(axis=1)
    ident = abar == 1.0
    tau = np.sort((A[~ident] - d.mean()) / (abar[~ident] - 1.0))
    adj = 0 if exact else 1
    r = level * (S.shape[0] + adj) - adj - np.count_nonzero(ident)
    if r < 0:
        return float("inf") if side == LOWER else float("-inf")
    j = int(np.floor(r + 1e-12))
    if j >= tau.size:
        return float("-inf") if side == LOWER else float("inf")
    return float(tau[::-1][j]) if side == LOWER else float(tau[j])
