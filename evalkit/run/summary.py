"""The one-screen summary printed at the end of ``evalkit run``: per-category top-1 with CI, errors, time."""

from __future__ import annotations

import math

import pandas as pd

from evalkit.score.aggregate import MACRO, MICRO, aggregate, error_counts
from evalkit.vocab import Status


#: fewer scenarios than this print no interval: it would span most of [0, 1] (the gate's default min_scenarios)
MIN_SCENARIOS_FOR_CI = 10


def _fmt(mean: float, lo: float, hi: float, scenarios: int) -> str:
    """Mean and its 95% interval (clipped to [0, 1], so written as its two ends, not ± a half-width)."""
    if mean != mean:
        return "   n/a"
    if scenarios < MIN_SCENARIOS_FOR_CI:
        return f"{mean:6.3f} too few scenarios"
    if lo != lo or hi != hi:
        return f"{mean:6.3f}"
    return f"{mean:6.3f} [{lo:.3f}, {hi:.3f}]"


def summary_frame(table: pd.DataFrame, agg: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per category (+ macro, micro): scenarios, trials, top-1 mean/CI, graded score, agent/infra errors."""
    agg = aggregate(table) if agg is None else agg
    wide = agg.pivot(index="category", columns="metric", values="mean")
    pick = agg.set_index(["category", "metric"])
    rows = []
    counts = error_counts(table)
    no_top1 = pd.Series({"n_scenarios": 0, "mean": math.nan, "ci_low": math.nan, "ci_high": math.nan})
    for cat in pd.unique(agg["category"]):
        top = pick.loc[(cat, "rca_top1")] if (cat, "rca_top1") in pick.index else no_top1
        counted = MICRO if cat == MACRO else cat  # the macro row counts every trial, as the micro row does
        errs = counts.loc[counted] if counted in counts.index else pd.Series(dtype=int)  # no trials: no counts
        infra = int(sum(v for k, v in errs.items() if k.startswith("infra_")))
        rows.append({"category": cat, "scenarios": int(top["n_scenarios"]), "trials": int(errs.sum()),
                     "top1": top["mean"], "top1_lo": top["ci_low"], "top1_hi": top["ci_high"],
                     "rca_score": wide.loc[cat].get("rca_score", math.nan),
                     "agent_errors": int(errs.sum() - errs.get(Status.OK, 0) - infra), "infra_errors": infra})
    return pd.DataFrame(rows)


def format_summary(result, agg: pd.DataFrame | None = None) -> str:
    """Render a RunResult as a one-screen text summary (``agg``: its aggregate, when already computed)."""
    meta, table = result.meta, result.table
    lines = [
        f"suite {meta['suite']} ({meta['suite_hash'][:12]}) · build {meta['build_id']} · seed {meta['seed']}",
        f"{_count(meta['n_trials'], 'trial')} ({_count(meta['n_scenarios'], 'scenario')} × {meta['trials']}) in "
        f"{meta['duration_s']:.1f} s · executor {meta['executor']} × {meta['jobs']}"
        + (f" · sandbox {meta['sandbox']}" if meta.get("sandbox") else "")
        + (f" · {meta['resumed_trials']} resumed from journal" if meta.get("resumed_trials") else ""),
        "",
    ]
    if len(table) == 0:
        return "\n".join(lines + ["no trials"])
    frame = summary_frame(table, agg)
    width = max(24, *(len(c) for c in frame["category"]))
    lines.append(f"{'category':<{width}}  {'scen':>4}  {'top-1 [95% CI]':<21}  {'score':>5}  {'errors':>6}  {'infra':>5}")
    for r in frame.itertuples():
        name = {MACRO: "overall (macro)", MICRO: "overall (micro)"}.get(r.category, r.category)
        if r.category == MACRO:
            lines.append("-" * (width + 52))
        lines.append(f"{name:<{width}}  {r.scenarios:>4}  {_fmt(r.top1, r.top1_lo, r.top1_hi, r.scenarios):<21}  "
                     f"{r.rca_score:5.3f}  {r.agent_errors:>6}  {r.infra_errors:>5}")
    classes = table.loc[table["error_class"] != "", "error_class"].value_counts()
    if len(classes):
        lines += ["", "errors by class: " + ", ".join(f"{k} {v}" for k, v in classes.items())]
    lines += [f"warning: {w}" for w in result.warnings]
    return "\n".join(lines)


def _count(n: int, noun: str) -> str:
    """``1 trial``, ``2 trials``."""
    return f"{n} {noun}{'' if n == 1 else 's'}"
