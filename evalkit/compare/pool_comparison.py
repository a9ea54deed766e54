"""``compare_sequential``: the sequential design's verdicts for a candidate run on part of a pool.

The candidate ran a prefix of each category's draw order (:func:`evalkit.compare.sequential.draw_orders`);
the baseline covers the whole pool. Each cell gets anytime-valid bounds (:mod:`evalkit.compare.sequential`);
the result is a :class:`~evalkit.compare.comparison.Comparison` with the fixed design's columns plus
``pool`` (scenarios in the category's pool), ``delta``, ``bound_delta`` (the futility bound) and ``stop``.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Collection, Mapping, Sequence

import numpy as np
import pandas as pd

from evalkit.compare import flips as flips_mod
from evalkit.compare import paired as paired_mod
from evalkit.compare import sequential as seq
from evalkit.compare.comparison import FRAME_COLUMNS, Comparison, resolve_policy
from evalkit.compare.paired import OVERALL
from evalkit.compare.policy import Policy
from evalkit.compare.validity import as_table, check_runs
from evalkit.errors import UserError
from evalkit.score.catalogue import on_unit_scale
from evalkit.vocab import Design, Direction, Role, Status, Stop

SEQ_COLUMNS = FRAME_COLUMNS + ["pool", "delta", "bound_delta", "stop"]


def pool_orders(baseline: pd.DataFrame, seed: int, keep: Collection[str] | None = None) -> dict[str, list[str]]:
    """Draw orders over the pool the baseline covers (every scenario with a valid baseline trial); with
    ``keep`` (the scenarios a suite holds), the others are struck from the orders after drawing and
    categories left empty are dropped."""
    base = as_table(baseline, Role.BASELINE)
    ok = base[(base["status"] != Status.INFRA_ERROR).to_numpy(dtype=bool, na_value=True)]
    ids = ok.drop_duplicates("scenario_id")
    by_cat: dict[str, list[str]] = {}
    for sid, cat in zip(ids["scenario_id"].astype(str), ids["category"].astype(str)):
        by_cat.setdefault(cat, []).append(sid)
    orders = seq.draw_orders(by_cat, seed)
    if keep is None:
        return orders
    kept = {c: [s for s in o if s in keep] for c, o in orders.items()}
    return {c: o for c, o in kept.items() if o}


def sequential_orders(candidate: pd.DataFrame, baseline: pd.DataFrame) -> dict[str, list[str]] | None:
    """The draw orders of the sequential gate that produced ``candidate``, or None when it is not such a run.

    A sequential gate's candidate covers part of the baseline's pool, and in every category exactly a prefix
    of the draw order its run seed fixes; a full run, or any other subset, is judged by the fixed design."""
    seeds = pd.unique(candidate["run_seed"]) if "run_seed" in candidate.columns else []
    if len(seeds) != 1:
        return None
    orders = pool_orders(baseline, int(seeds[0]))
    ran = set(candidate["scenario_id"].astype(str))
    if ran >= {s for o in orders.values() for s in o}:
        return None
    for order in orders.values():
        k = sum(1 for s in order if s in ran)
        if set(order[:k]) != ran.intersection(order):
            return None
    return orders


def check_sequential_metrics(pol: Policy) -> None:
    """The betting bounds need differences in [−1, 1]: every gated metric must be on a 0–1 scale."""
    off = [m for m in pol.metrics if not on_unit_scale(m)]
    if off:
        raise UserError.at(pol.source, "gate.metrics", off[0],
                           "the sequential design gates 0-1 scores only; gate it with design = \"fixed\" "
                           "(or --fixed), or report it with gate.report")


def compare_sequential(candidate: Any, baseline: Any, policy: Policy | None, orders: Mapping[str, Sequence[str]],
                       *, stopped_by_budget: bool = False, allow_suite_mismatch: bool = False) -> Comparison:
    """Judge every cell of a pooled run (see the module docstring); categories missing from ``orders`` are
    not part of the pool. ``stopped_by_budget``: open categories stop as ``budget reached``;
    ``allow_suite_mismatch``: as in :func:`evalkit.compare.compare`."""
    pol = resolve_policy(policy, None)
    check_sequential_metrics(pol)
    runs = check_runs(candidate, baseline, pol, allow_suite_mismatch)
    cand, base = runs.cand, runs.base
    report_only = tuple(m for m in pol.report if m not in pol.metrics and on_unit_scale(m))
    skipped = [m for m in pol.report if m not in pol.metrics and not on_unit_scale(m)]
    metrics = pol.metrics + report_only
    p = paired_mod.paired_runs(cand, base, metrics, pol.primary)
    cats = sorted(orders)
    ran = set(p.cand.ids)
    used = {c: [sid for sid in orders[c] if sid in ran] for c in cats}
    pos = {c: p.cand.ids.get_indexer(used[c]) for c in cats}
    pools = {c: len(orders[c]) for c in cats}

    def bounds_for(metric: str, alpha_cell: float) -> dict[str, seq.CellBounds]:
        sign = -1.0 if pol.lower_is_better(metric) else 1.0
        d = sign * (p.cand.mean[metric] - p.base.mean[metric])
        out = {c: seq.cell_bounds(d[pos[c]][np.isfinite(d[pos[c]])], pools[c], pol.margin_for(c, metric),
                                  pol.delta_for(metric), alpha_cell, pol.futility_alpha) for c in cats}
        out[OVERALL] = seq.combine([out[c] for c in cats], [pools[c] for c in cats])
        return out

    gated_family = max(1, len(cats) * len(pol.metrics))
    report_family = max(1, len(cats) * len(report_only))
    cells = {(m, True): bounds_for(m, pol.alpha / gated_family) for m in pol.metrics}
    cells.update({(m, False): bounds_for(m, pol.alpha / report_family) for m in report_only})

    verdicts = {key: {c: b.verdict(pol.margin_for(c if c != OVERALL else "", key[0]), pol.delta_for(key[0]))
                      for c, b in by_cat.items()} for key, by_cat in cells.items()}
    stops = {}
    for c in cats:
        stop = seq.category_stop([verdicts[(m, True)][c] for m in pol.metrics], len(used[c]), pools[c])
        stops[c] = Stop.BUDGET if stop == Stop.OPEN and stopped_by_budget else stop
    overall_stop = Stop.OPEN if Stop.OPEN in stops.values() else ""  # open while any category is
    rows = []
    weights = np.array([pools[c] for c in cats], dtype=float)
    for (metric, gated), by_cat in cells.items():
        family = gated_family if gated else report_family
        sign = -1.0 if pol.lower_is_better(metric) else 1.0
        block = [_row(c, metric, gated, sign, by_cat[c], pos[c], p, pol, family, verdicts[(metric, gated)][c],
                      stops[c]) for c in cats]
        overall = _row(OVERALL, metric, gated, sign, by_cat[OVERALL], np.concatenate([pos[c] for c in cats]), p,
                       pol, family, verdicts[(metric, gated)][OVERALL], overall_stop)
        seen = np.array([r["n"] > 0 for r in block])
        if seen.any():
            w = weights[seen] / weights[seen].sum()
            overall["baseline_mean"] = float(np.dot(w, [r["baseline_mean"] for r, s in zip(block, seen) if s]))
            overall["candidate_mean"] = overall["baseline_mean"] + overall["diff"]
        rows += block + [overall]
    frame = pd.DataFrame(rows, columns=SEQ_COLUMNS)
    frame["gated"] = frame["gated"].astype(bool)
    notes = [f"sequential design: {sum(len(u) for u in used.values())} of {sum(pools.values())} pool scenarios "
             f"run; a category stops once it regressed, showed no drop of delta or more, or spent its pool"]
    if skipped:
        notes.append(f"report-only metrics not on a 0-1 scale are not bounded by the sequential design: "
                     f"{', '.join(skipped)}")
    meta = {
        "design": Design.SEQUENTIAL.value, "suite_hash_candidate": runs.hash_cand, "suite_hash_baseline": runs.hash_base,
        "paired_scenarios": int(sum(len(u) for u in used.values())), "pool_scenarios": int(sum(pools.values())),
        "infra_error_rate_candidate": runs.infra_cand, "infra_error_rate_baseline": runs.infra_base,
        "alpha": pol.alpha, "correction": "bonferroni (anytime-valid)", "policy": pol.source,
        "futility_alpha": pol.futility_alpha, "stops": stops,
        "scenarios_used": {c: len(used[c]) for c in cats}, "pool_sizes": pools,
    }
    return Comparison(cells=frame, policy=pol, notes=notes, meta=meta,
                      flips_source=lambda: flips_mod.flips_table(p, cand, base, pol.primary))


def with_resolvable(comparison: Comparison, plan: pd.DataFrame, metric: str) -> Comparison:
    """Fill the ``mde`` column of ``metric``'s category rows with the smallest drop the pool resolves at the
    design's power (``plan``: :func:`evalkit.compare.planning.plan_gate` of the baseline); returns it."""
    drops = dict(zip(plan["category"].astype(str), plan["resolvable_drop"].astype(float)))
    cells = comparison.cells
    rows = cells["metric"] == metric
    cells.loc[rows, "mde"] = cells.loc[rows, "category"].map(drops).astype(float)
    comparison.meta["resolvable_drop"] = {c: d for c, d in drops.items()}
    return comparison


def _row(category: str, metric: str, gated: bool, sign: float, b: seq.CellBounds, idx: np.ndarray,
         p: paired_mod.Paired, pol: Policy, family: int, verdict: str, stop: str) -> dict:
    """One frame row, in the metric's own orientation (bounds flip for lower-is-better metrics)."""
    margin = pol.margin_for(category if category != OVERALL else "", metric)
    low, high = (b.lower, b.upper) if sign > 0 else (-b.upper, -b.lower)
    avg = lambda per_scenario: float(np.nanmean(per_scenario[metric][idx])) if idx.size else math.nan  # noqa: E731
    adjusted = lambda p_cell: min(1.0, p_cell * family) if math.isfinite(p_cell) else math.nan  # noqa: E731
    with warnings.catch_warnings():  # a cell whose scenarios all lack the metric: NaN, without "Mean of empty slice"
        warnings.simplefilter("ignore", RuntimeWarning)
        mean_base, mean_cand = avg(p.base.mean), avg(p.cand.mean)
    return {
        "category": category, "metric": metric, "gated": gated, "direction": Direction.of(sign).value,
        "test": seq.TEST_NAME, "n": b.n, "k_baseline": avg(p.base.count), "k_candidate": avg(p.cand.count),
        "baseline_mean": mean_base, "candidate_mean": mean_cand, "diff": sign * b.mean,
        "ci_low": low, "ci_high": high, "margin": margin, "p": b.p, "p_adj": adjusted(b.p),
        "p_noninf": b.p_noninf, "p_noninf_adj": adjusted(b.p_noninf),
        "level": pol.alpha / family, "bound_low": low, "bound_high": high, "verdict": verdict, "mde": math.nan,
        "n_for_delta": math.nan, "suggestion": "", "pool": b.pool, "delta": pol.delta_for(metric),
        "bound_delta": sign * b.lower_delta, "stop": stop,
    }


__all__ = ["SEQ_COLUMNS", "check_sequential_metrics", "compare_sequential", "pool_orders", "sequential_orders",
           "with_resolvable"]
