"""Paired tests as array functions: paired t, the Wilson MOVER test for paired binary data, McNemar (exact /
mid-p), Tango's score test, sign-flip permutation.

Every function is vectorised over any array shape, so the DataFrame comparator and the calibration simulation
run the same code. Convention: d = candidate − baseline, oriented so that higher is better. ``side="lower"``
tests H0: δ ≥ δ0 against δ < δ0 (evidence that the candidate is worse than δ0: a regression beyond the
margin when δ0 = −m); ``side="upper"`` tests H0: δ ≤ δ0 against δ > δ0. Each p-value has a matching
confidence bound (the inversion of the same test), so ``p(δ0) ≤ level`` exactly when δ0 lies beyond the
bound at that level: verdicts read from bounds and from p-values never disagree.

Binary pairs with one trial each are summarised by b = #(baseline pass, candidate fail) and
c = #(baseline fail, candidate pass) among n pairs, so δ̂ = (c − b)/n. The comparator tests them with
:func:`wilson_pvalue` / :func:`wilson_bound`, which hold their level at a non-zero margin whatever the direction
of the flips; the conditional McNemar functions are kept for δ0 = 0 references and for the calibration
benchmark, which shows why they are not used at a margin.
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy import special, stats

LOWER, UPPER = "lower", "upper"
_EDGE = 1.0 - 1e-12  # bisection range for a difference of proportions: (−1, 1)


def _check_side(side: str) -> None:
    if side not in (LOWER, UPPER):
        raise ValueError(f"side must be 'lower' or 'upper', not {side!r}")


# ----------------------------------------------------------------------------------------------- paired t
def t_pvalue(mean, var, n, delta0, side: str) -> np.ndarray:
    """One-sided paired t-test p-value of H0 at δ0 from the mean and variance (ddof=1) of the n differences."""
    _check_side(side)
    mean, var, n, delta0 = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (mean, var, n, delta0)))
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
    _check_side(side)
    mean, var, n, level = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (mean, var, n, level)))
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


def _mover_end(b, c, n, q, side: str):
    """One end of the square-and-add (MOVER) interval of δ = p01 − p10 at the signed quantile q.

    p10 = b/n and p01 = c/n are the two discordant-pair rates of one multinomial; each gets its Wilson score
    interval, and the two distances are combined with their multinomial correlation
    ρ = −sqrt(p10·p01 / ((1 − p10)(1 − p01))) (Newcombe 1998; Zou & Donner 2008). ``side="lower"`` gives the
    upper end at q ≥ 0 and, for q < 0, the lower end at −q (``side="upper"`` the reverse), so each side's end
    is continuous and monotone in q over the whole line, which is what the p-value inverts."""
    z = np.abs(q)
    p10, p01 = b / n, c / n
    dn10, up10 = _wilson_halfwidths(b, n, z)
    dn01, up01 = _wilson_halfwidths(c, n, z)
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = -np.sqrt(p10 * p01 / ((1.0 - p10) * (1.0 - p01)))
    rho = np.where(np.isfinite(rho), rho, 0.0)

    def width(a1, a2):
        return np.sqrt(np.maximum(a1 * a1 + a2 * a2 - 2.0 * rho * a1 * a2, 0.0))

    d = p01 - p10
    upper, lower = d + width(up01, dn10), d - width(dn01, up10)
    if side == LOWER:
        return np.where(q >= 0, upper, lower)
    return np.where(q >= 0, lower, upper)


def _wilson_df(n):
    return np.maximum(n - 1.0, 1.0)


def wilson_bound(b, c, n, level, side: str) -> np.ndarray:
    """One-sided (1 − level) confidence bound of δ = (c − b)/n for paired binary data, one trial per side.

    The Wilson MOVER interval (see :func:`_mover_end`) with the normal quantile replaced by Student's t with
    n − 1 degrees of freedom, a small-sample guard that makes no difference beyond ~100 pairs. Unlike
    McNemar's interval it does not condition on the number of discordant pairs, so it keeps its coverage
    when every flip goes one way (benchmarks/calibration.py enumerates it). ``side="lower"``: the upper
    bound; ``side="upper"``: the lower bound."""
    _check_side(side)
    b, c, n, level = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (b, c, n, level)))
    with np.errstate(divide="ignore", invalid="ignore"):
        q = stats.t.isf(level, _wilson_df(n))
        end = _mover_end(b, c, n, q, side)
    return np.where(n >= 1, end, np.nan)


def wilson_pvalue(b, c, n, delta0, side: str) -> np.ndarray:
    """One-sided p-value of H0 at δ0 that inverts :func:`wilson_bound`: the level at which the bound equals δ0
    (bisection on the quantile; the bound is monotone in it). ``side="lower"`` tests H0: δ ≥ δ0."""
    _check_side(side)
    b, c, n, d0 = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (b, c, n, delta0)))
    lo, hi = np.full(b.shape, -60.0), np.full(b.shape, 60.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            end = _mover_end(b, c, n, mid, side)
            # LOWER: the upper end rises with q; the p-value is the level where it reaches δ0.
            go_up = end < d0 if side == LOWER else end > d0
            lo = np.where(go_up, mid, lo)
            hi = np.where(go_up, hi, mid)
        p = stats.t.sf(0.5 * (lo + hi), _wilson_df(n))
    return np.where(n >= 1, p, np.nan)


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
    _check_side(side)
    b, c, n, delta0 = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (b, c, n, delta0)))
    N = b + c
    raw = _theta0(b, c, n, delta0)
    th = np.clip(raw, 0.0, 1.0)
    pmf = stats.binom.pmf(b, N, th)
    if side == LOWER:
        p = stats.binom.sf(b - 1, N, th)        # P(X ≥ b)
    else:
        p = stats.binom.cdf(b, N, th)           # P(X ≤ b)
    if midp:
        p = p - 0.5 * pmf
    below = raw > 1.0   # δ0 < −N/n: "δ ≥ δ0" is certain, "δ ≤ δ0" impossible
    above = raw < 0.0   # δ0 > +N/n
    if side == LOWER:
        p = np.where(below, 1.0, np.where(above, 0.0, p))
    else:
        p = np.where(below, 0.0, np.where(above, 1.0, p))
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
    _check_side(side)
    b, c, n, level = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (b, c, n, level)))
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
        lo, hi = np.zeros_like(b), np.ones_like(b)
        for _ in range(46):
            mid = 0.5 * (lo + hi)
            pmf = stats.binom.pmf(b, N, mid)
            if side == LOWER:
                f = stats.binom.sf(b - 1, N, mid) - 0.5 * pmf   # increasing in θ
                go_up = f < level
            else:
                f = stats.binom.cdf(b, N, mid) - 0.5 * pmf      # decreasing in θ
                go_up = f > level
            lo = np.where(go_up, mid, lo)
            hi = np.where(go_up, hi, mid)
        th = 0.5 * (lo + hi)
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
    z = np.where(var > 0, z, np.where(num > 0, np.inf, np.where(num < 0, -np.inf, 0.0)))
    return z


def score_pvalue(b, c, n, delta0, side: str) -> np.ndarray:
    """One-sided p-value of Tango's score test (normal reference)."""
    _check_side(side)
    z = score_z(b, c, n, delta0)
    p = stats.norm.cdf(z) if side == LOWER else stats.norm.sf(z)
    return np.where(np.asarray(n, dtype=float) >= 1, p, np.nan)


def score_bound(b, c, n, level, side: str) -> np.ndarray:
    """Confidence bound of δ inverting Tango's score test (bisection; z is decreasing in δ0)."""
    _check_side(side)
    b, c, n, level = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (b, c, n, level)))
    q = stats.norm.isf(level)
    # side LOWER: upper bound U with z(U) = −q; side UPPER: lower bound L with z(L) = +q.
    target = -q if side == LOWER else q
    lo, hi = np.full(b.shape, -_EDGE), np.full(b.shape, _EDGE)
    for _ in range(64):
        mid = 0.5 * (lo + hi)
        above = score_z(b, c, n, mid) > target   # still left of the root
        lo = np.where(above, mid, lo)
        hi = np.where(above, hi, mid)
    return np.where(n >= 1, 0.5 * (lo + hi), np.nan)


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
