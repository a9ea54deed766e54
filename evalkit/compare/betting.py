"""Anytime-valid tests and confidence bounds for a mean difference in [−1, 1], by betting.

A category's pool is a sample of the generator's scenarios; the candidate runs them in a random order fixed
by the run seed, so the differences x_i = candidate − baseline (one per scenario, in draw order) are i.i.d.
draws whose mean μ is the category's true change: scenario-to-scenario variation and the candidate's trial
noise are both part of x_i. (Bounds on the finite pool's own mean, sampled without replacement, would be
tighter, but a claim about 100 particular scenarios is not the claim a gate makes.) For a null mean m, a
bettor who stakes λ_i on "x is below m" holds the wealth

    K_t(m) = Π_{i ≤ t} (1 + λ_i · (m − x_i)),   0 ≤ λ_i ≤ 1/(1 − m), λ_i chosen from x_1..x_{i−1} only,

a nonnegative supermartingale whenever μ ≥ m, so P(∃t: K_t(m) ≥ 1/α) ≤ α (Ville's inequality): looking after
every scenario and stopping whenever we like keeps the error at α (Waudby-Smith & Ramdas, "Estimating means
of bounded random variables by betting", JRSS-B 2024). Betting on "above" mirrors it.

Stakes follow aGRAPA (the paper's approximate growth-rate-optimal plug-in) for each null separately:
λ_i(m) = (m − μ̂)/(σ̂² + (μ̂ − m)²) from the running mean μ̂ and variance σ̂² of the x's seen so far, truncated
to MAX_BET/(1 − m) so that one surprising scenario costs at most that share of the wealth. The confidence
sequence is every m not yet rejected; a composite null "μ ≥ m0" is rejected once every m ≥ m0 is, i.e. once
the upper bound lies below m0: the printed bound and the decision are one and the same.
"""

from __future__ import annotations

import numpy as np

from evalkit.compare.stat_tests import LOWER, UPPER  # the sides: the bettor bets the pool mean is below / above m

#: resolution of the bound search: 0.1 point on the [−1, 1] scale of a 0–1 metric's difference.
GRID_STEP = 0.001
#: coarser grid of the composite-null check in simulations (planning, calibration)
SIM_STEP = 0.05
#: the bettor risks at most this share of its wealth on one scenario.
MAX_BET = 0.75
#: the running estimates start from one pseudo-observation at 0 with this variance.
PRIOR_VAR = 0.25

_CHUNK = 8   # nulls per block in first_crossing


def grid(step: float = GRID_STEP) -> np.ndarray:
    """Null means m on [−1, 1] at which bounds are searched."""
    return np.linspace(-1.0, 1.0, int(round(2.0 / step)) + 1)


def _sign(side: str) -> float:
    if side not in (LOWER, UPPER):
        raise ValueError(f"side must be {LOWER!r} or {UPPER!r}, not {side!r}")
    return 1.0 if side == LOWER else -1.0


def _prefix_sums(x: np.ndarray) -> np.ndarray:
    """Σ_{j<i} x_j for i = 1..t along the last axis."""
    c = np.cumsum(x, axis=-1)
    return np.concatenate([np.zeros(x.shape[:-1] + (1,)), c[..., :-1]], axis=-1)


def _running_estimates(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Predictable mean and variance before each draw (from the earlier draws plus the prior pseudo-draw)."""
    t = x.shape[-1]
    k = np.arange(1, t + 1)
    mu_hat = _prefix_sums(x) / k
    mu_after = np.cumsum(x, axis=-1) / (k + 1)
    var_hat = (PRIOR_VAR + _prefix_sums((x - mu_after) ** 2)) / k
    return mu_hat, var_hat


def stakes(x, m, side: str) -> np.ndarray:
    """aGRAPA stakes λ_i(m) for each draw (axis −2) and null (last axis), before the per-null cap; predictable:
    λ_i uses x_1..x_{i−1} only."""
    x = np.asarray(x, dtype=float)
    m = np.atleast_1d(np.asarray(m, dtype=float))
    mu_hat, var_hat = _running_estimates(x)
    gap = _sign(side) * (m - mu_hat[..., None])
    return np.maximum(gap / (var_hat[..., None] + gap * gap), 0.0)


def log_wealth(x, m, side: str, max_bet: float = MAX_BET) -> np.ndarray:
    """log K_t(m) after each draw t (axis −2) for each null mean in ``m`` (last axis, within [−1, 1]); leading
    axes of ``x`` are independent repetitions."""
    x = np.asarray(x, dtype=float)
    m = np.atleast_1d(np.asarray(m, dtype=float))
    sign = _sign(side)
    room = 1.0 - sign * m                                           # worst case of sign·(m − x) is −room
    with np.errstate(divide="ignore"):
        cap = np.where(room > 0, max_bet / room, np.inf)
    lam = np.minimum(stakes(x, m, side), cap)                       # (..., t, G)
    factor = 1.0 + lam * sign * (m - x[..., None])
    with np.errstate(divide="ignore"):
        steps = np.log(np.maximum(factor, 1e-300))
    return np.cumsum(steps, axis=-2)


def null_side(m0: float, side: str, step: float = SIM_STEP) -> np.ndarray:
    """The null means of the composite null at ``m0``: m ≥ m0 (side LOWER) or m ≤ m0 (UPPER), on a grid."""
    if side == LOWER:
        return np.append(np.arange(m0, 1.0, step), 1.0)
    return np.append(np.arange(m0, -1.0, -step), -1.0)


def first_crossing(x, m0: float, side: str, alpha: float, max_bet: float = MAX_BET,
                   step: float = SIM_STEP) -> np.ndarray:
    """Per repetition (leading axes of ``x``): after how many draws the composite null "μ ≥ m0" (side LOWER)
    or "μ ≤ m0" (UPPER) is rejected at level α — every null on its side (on a grid of ``step``) rejected at
    some draw so far; t + 1 when not (yet)."""
    x = np.asarray(x, dtype=float)
    t = x.shape[-1]
    nulls = null_side(m0, side, step)
    first = np.zeros(x.shape[:-1], dtype=int)
    threshold = np.log(1.0 / alpha)
    for lo in range(0, nulls.size, _CHUNK):       # bounded memory: (repetitions, t, _CHUNK) at a time
        hit = log_wealth(x, nulls[lo:lo + _CHUNK], side, max_bet) >= threshold
        at = np.where(hit.any(axis=-2), np.argmax(hit, axis=-2) + 1, t + 1)
        first = np.maximum(first, at.max(axis=-1))
    return first


def anytime_p(x, m0: float, side: str, max_bet: float = MAX_BET, step: float = GRID_STEP) -> float:
    """Anytime-valid p-value of the composite null at ``m0`` after all draws: the largest, over the nulls on
    its side, of 1 / (the largest wealth reached against it); ≤ 1."""
    x = np.asarray(x, dtype=float)
    if x.size == 0:
        return 1.0
    best = np.max(log_wealth(x, null_side(m0, side, step), side, max_bet), axis=-2)
    return float(min(1.0, np.exp(-np.min(best))))


def bound(x, alpha: float, side: str, max_bet: float = MAX_BET, step: float = GRID_STEP) -> float:
    """Running-intersection confidence bound at level α after all draws.

    side LOWER → upper bound U (the pool mean is below U with probability ≥ 1 − α at any stopping time);
    side UPPER → lower bound L. Rounded outward to the grid; ±1 before any draw."""
    x = np.asarray(x, dtype=float)
    outer = 1.0 if side == LOWER else -1.0
    if x.size == 0:
        return outer
    g = grid(step)
    rejected = np.max(log_wealth(x, g, side, max_bet), axis=-2) >= np.log(1.0 / alpha)
    keep = np.flatnonzero(~rejected)
    if keep.size == 0:
        return -outer
    if side == LOWER:
        return float(min(1.0, g[keep[-1]] + step))
    return float(max(-1.0, g[keep[0]] - step))


__all__ = ["LOWER", "UPPER", "anytime_p", "bound", "first_crossing", "grid", "log_wealth", "null_side", "stakes"]
