"""Planning a gate: per category, what the pool can resolve and what a given power costs.

The sequential design's power has no closed form, so it is simulated on the baseline's own per-scenario
results: the candidate is the baseline build (each scenario solved with its baseline pass rate, one trial),
and a drop of Δ points is planted as a wrong answer in Δ·N of the scenarios the baseline solves — the same
sabotage ``benchmarks/sensitivity.py`` runs end to end. The fixed design's needs follow the normal formula
n = ((z_{1−α/F} + z_power)·σ / (Δ − m))² with σ² the variance of the per-scenario difference under that drop.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from evalkit.compare import sequential as seq
from evalkit.vocab import Role

#: the drops (fractions) the resolvable-drop search tries, smallest first
DROPS = (0.03, 0.05, 0.075, 0.10, 0.125, 0.15, 0.20, 0.25, 0.30, 0.40, 0.50)


@dataclass(frozen=True)
class CategoryPlan:
    """One category's plan (fractions on the metric's 0–1 scale)."""

    category: str
    pool: int
    baseline_mean: float
    power_at_delta: float        # simulated, sequential design, the whole pool available
    scenarios_at_delta: float    # mean scenarios used when the drop is δ
    scenarios_unchanged: float   # mean scenarios used when nothing changed
    resolvable_drop: float       # smallest drop in DROPS flagged with the target power (NaN: none)
    fixed_needed: int            # scenarios a one-shot design needs for the target power at δ


def planted_draws(base: np.ndarray, drop: float, reps: int, rng: np.random.Generator) -> np.ndarray:
    """(reps, N) simulated differences in random draw order: one candidate trial per scenario at the baseline's
    pass rate, with a wrong answer planted in round(drop·N) scenarios the baseline solves most often."""
    base = np.asarray(base, dtype=float)
    N = base.size
    k = min(int(round(drop * N)), N)
    prob = np.broadcast_to(base, (reps, N)).copy()
    if k:
        # the k most-solved scenarios, ties broken at random per repetition
        keys = base[None, :] + rng.random((reps, N)) * 1e-6
        sabotaged = np.argsort(-keys, axis=1)[:, :k]
        np.put_along_axis(prob, sabotaged, 0.0, axis=1)
    cand = (rng.random((reps, N)) < prob).astype(float)
    x = cand - base[None, :]
    order = np.argsort(rng.random((reps, N)), axis=1)
    return np.take_along_axis(x, order, axis=1)


def fixed_needed(delta: float, margin: float, alpha_cell: float, power: float, trial_var: float) -> int:
    """Scenarios a one-shot paired test (one candidate trial each) needs for ``power`` against a planted drop
    of δ: Var(x) = δ(1 − δ) from the planted wrong answers + ``trial_var``, the candidate's own trial noise
    (mean of b(1 − b) over the baseline's per-scenario pass rates b)."""
    var = delta * (1.0 - delta) + trial_var
    z = stats.norm.isf(alpha_cell) + stats.norm.ppf(power)
    return int(math.ceil((z * math.sqrt(var) / max(delta - margin, 1e-9)) ** 2))


def plan_category(category: str, base: np.ndarray, *, margin: float, delta: float, alpha_cell: float,
                  futility_alpha: float, round_size: int, power: float = 0.8, reps: int = 400,
                  seed: int = 0) -> CategoryPlan:
    """Simulate the sequential design on one category's baseline per-scenario results ``base``."""
    rng = np.random.default_rng(seed)
    base = np.asarray(base, dtype=float)
    run = lambda d: seq.simulate(planted_draws(base, d, reps, rng), margin, delta, alpha_cell,  # noqa: E731
                                 futility_alpha, round_size)
    out_d, used_d = run(delta)
    _, used_0 = run(0.0)
    resolvable = math.nan
    for d in DROPS:
        if d <= margin:
            continue
        o = out_d if d == delta else run(d)[0]
        if np.mean(o == seq.SIM_REGRESSED) >= power:
            resolvable = d
            break
    return CategoryPlan(category=category, pool=int(base.size), baseline_mean=float(base.mean()),
                        power_at_delta=float(np.mean(out_d == seq.SIM_REGRESSED)),
                        scenarios_at_delta=float(used_d.mean()), scenarios_unchanged=float(used_0.mean()),
                        resolvable_drop=resolvable,
                        fixed_needed=fixed_needed(delta, margin, alpha_cell, power,
                                                  float(np.mean(base * (1.0 - base)))))


def plan_gate(baseline: pd.DataFrame, policy, *, reps: int = 400, seed: int = 0) -> pd.DataFrame:
    """Per category of the baseline, the plan for the policy's primary gated metric (see the module docstring).

    Columns: category, pool, baseline_mean, power_at_delta, scenarios_at_delta, scenarios_unchanged,
    resolvable_drop, fixed_needed (fractions of the metric's scale; counts in scenarios, one trial each)."""
    from evalkit.compare.paired import scenario_means

    metric = policy.metrics[0]
    means = scenario_means(baseline, (metric,), Role.BASELINE)
    cats = sorted(set(means.category.astype(str)))
    family = max(1, len(cats) * len(policy.metrics))
    rows = []
    for i, c in enumerate(cats):
        vals = means.mean[metric][means.category.astype(str) == c]
        vals = vals[np.isfinite(vals)]
        if policy.lower_is_better(metric):
            vals = 1.0 - vals
        p = plan_category(c, vals, margin=policy.margin_for(c, metric), delta=policy.delta_for(metric),
                          alpha_cell=policy.alpha / family, futility_alpha=policy.futility_alpha,
                          round_size=policy.round_size, power=policy.power, reps=reps, seed=seed + i)
        rows.append(p.__dict__)
    return pd.DataFrame(rows)


#: bump when the plan's method changes, so cached plans are recomputed
PLAN_VERSION = 1


def cached_plan(baseline: pd.DataFrame, policy, *, reps: int = 100, seed: int = 0) -> pd.DataFrame:
    """:func:`plan_gate`, cached in the user cache folder by the baseline's per-scenario results, the policy and
    the method version: a baseline is planned once, not on every gate (derived data; safe to delete)."""
    import hashlib
    import io
    import json

    from evalkit.atomic import atomic_write
    from evalkit.cache import cache_dir

    key_src = io.BytesIO()
    cols = [c for c in ("scenario_id", "category", "status", *policy.metrics) if c in baseline.columns]
    baseline[cols].astype(str).to_csv(key_src, index=False)
    key_src.write(json.dumps([PLAN_VERSION, reps, seed, policy.to_dict()], sort_keys=True, default=str).encode())
    path = cache_dir() / "plans" / f"{hashlib.sha256(key_src.getvalue()).hexdigest()[:32]}.json"
    with contextlib.suppress(OSError, ValueError):
        return pd.read_json(io.StringIO(path.read_text(encoding="utf-8")), orient="records")
    table = plan_gate(baseline, policy, reps=reps, seed=seed)
    with contextlib.suppress(OSError):  # a read-only cache only costs the next gate the same simulation
        atomic_write(path, table.to_json(orient="records").encode())
    return table


__all__ = ["CategoryPlan", "DROPS", "PLAN_VERSION", "cached_plan", "fixed_needed", "plan_category", "plan_gate",
           "planted_draws"]
