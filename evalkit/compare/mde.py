"""Minimum detectable effect (MDE) and how many scenarios or trials would resolve an inconclusive cell.

The MDE is the smallest true drop the gate flags with the given power: the margin plus
(q_{1−α'} + q_{power})·SE, with α' = α / (number of tests), the level the first step of Holm uses. For binary
scores the variance under the alternative can be larger than the one observed (a drop of Δ needs at least a
fraction Δ of scenarios to flip), so their variance is floored at Δ(1 − Δ) where that structure holds.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats


def mde(var, n, margin, alpha_cell, power: float = 0.8, use_t=True, floor=False) -> np.ndarray:
    """MDE of a paired comparison at n scenarios with per-scenario difference variance ``var``.

    ``use_t``: t quantiles with n − 1 degrees of freedom (else normal); ``floor``: apply the binary flip
    floor Δ(1 − Δ) to the variance (the answer is capped at 1 for such scores)."""
    var, n, margin, alpha_cell, use_t, floor = np.broadcast_arrays(
        *(np.asarray(a, dtype=float) for a in (var, n, margin, alpha_cell, use_t, floor)))
    with np.errstate(divide="ignore", invalid="ignore"):
        df = np.maximum(n - 1, 1)
        q = np.where(use_t > 0,
                     stats.t.ppf(1 - alpha_cell, df) + stats.t.ppf(power, df),
                     stats.norm.isf(alpha_cell) + stats.norm.ppf(power))
        delta = margin + q * np.sqrt(var / n)
        # floor: the smallest Δ with Δ ≥ m + q·sqrt(Δ(1 − Δ)/n) is the larger root of
        # (1 + a)Δ² − (2m + a)Δ + m² = 0 with a = q²/n (a closed form: it falls steadily as n grows)
        a = q * q / n
        root = (2 * margin + a + np.sqrt(a * a + 4 * a * margin * (1 - margin))) / (2 * (1 + a))
        delta = np.where(floor > 0, np.minimum(np.maximum(delta, root), 1.0), delta)
    return np.where(n >= 2, delta, np.nan)


#: the largest number of scenarios :func:`scenarios_for` looks at; beyond it a cell is reported as out of reach.
MAX_SCENARIOS = 1_000_000


def scenarios_for(delta, var, margin, alpha_cell, power: float = 0.8, use_t=True, floor=False,
                  max_n: int = MAX_SCENARIOS) -> np.ndarray:
    """How many paired scenarios a cell needs for its MDE to reach ``delta``: the smallest n at which
    :func:`mde` (same per-scenario variance, trials, level and power) is at most δ — so a run of that size
    flags a drop of δ with that power. NaN where δ ≤ margin (no n gets the MDE below the margin) or the variance
    is unknown; inf where even ``max_n`` scenarios are not enough. Broadcasts like :func:`mde`."""
    delta, var, margin, alpha_cell, use_t, floor = np.broadcast_arrays(
        *(np.asarray(a, dtype=float) for a in (delta, var, margin, alpha_cell, use_t, floor)))

    def resolves(n: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return mde(var, n, margin, alpha_cell, power, use_t, floor) <= delta

    lo, hi = np.full(delta.shape, 2.0), np.full(delta.shape, float(max_n))
    already, reachable = resolves(lo), resolves(hi)
    for _ in range(math.ceil(math.log2(max_n)) + 1):  # bisection: the MDE only falls as n grows
        mid = np.floor((lo + hi) / 2)
        ok = resolves(mid)
        hi, lo = np.where(ok, mid, hi), np.where(ok, lo, mid)
    n = np.where(already, 2.0, np.where(reachable, hi, np.inf))
    return np.where(np.isfinite(var) & np.isfinite(alpha_cell) & (delta > margin), n, np.nan)


def planned_mde(n: int, k: int, sigma2: float = 0.16, alpha: float = 0.05, tests: int = 10,
                power: float = 0.8, margin: float = 0.0) -> float:
    """Planning formula for near-identical builds: margin + (z_{1−α/tests} + z_power)·sqrt(2σ²/(n·k)).

    σ² is the average per-trial variance (≈ 0.16 for binary scores around 0.2–0.8)."""
    z = stats.norm.isf(alpha / tests) + stats.norm.ppf(power)
    return float(margin + z * math.sqrt(2.0 * sigma2 / (n * k)))


def suggestion(gap: float, var: float, n: int, alpha_cell: float, power: float = 0.8,
               k_base: float = 1.0, k_cand: float = 1.0, wvar_base: float = float("nan"),
               wvar_cand: float = float("nan"), max_factor: float = 100.0, floor: bool = False) -> str:
    """How much more data would resolve an inconclusive cell, assuming the current estimate is the truth.

    ``gap`` = |d̄ + m|, the distance between the estimate and the margin. The needed standard error is
    gap / (z_{1−α'} + z_power); scenarios scale the variance by 1/n, trials only its within-scenario part
    (estimated from repeated trials: Var(d) = τ² + σ²_b/k_b + σ²_c/k_c). ``floor``: the binary flip floor of
    :func:`mde` at the gap — a run with no flipped scenario still cannot rule out a few flips."""
    if not (n >= 2 and np.isfinite(var)):
        return "needs at least 2 paired scenarios"
    z = stats.norm.isf(alpha_cell) + stats.norm.ppf(power)
    if gap <= 0:
        return "unresolvable: the estimate sits on the margin"
    if floor and gap < 1:
        var = max(var, gap * (1 - gap))
    if var <= 0:
        return "unresolvable: every paired scenario differs by the same amount"
    se2_needed = (gap / z) ** 2
    n_need = math.ceil(var / se2_needed)
    if n_need > max_factor * n:
        return (f"unresolvable in practice: the estimate is {gap:.3g} from the margin "
                f"(would need >{max_factor:g}x the scenarios)")
    text = f"~{n_need} scenarios (x{n_need / n:.1f}) at the same trials"
    if np.isfinite(wvar_base) and np.isfinite(wvar_cand):
        tau2 = max(0.0, var - wvar_base / k_base - wvar_cand / k_cand)
        room = n * se2_needed - tau2
        if room > 0 and wvar_base + wvar_cand > 0:
            k_need = math.ceil((wvar_base + wvar_cand) / room)
            if k_need <= 1000:
                text += f", or ~{k_need} trials per scenario in both runs at the same scenarios"
        else:
            text += "; more trials cannot resolve it (scenario-to-scenario variation dominates)"
    else:
        text += "; rerun with k>=2 trials to learn whether more trials would help"
    return text
