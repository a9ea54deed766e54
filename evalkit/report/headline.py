"""The one sentence at the top of every report, in the verdict words the table uses.

It names cells only by their verdicts (``regressed``, ``improved``; the overall cell by whatever its verdict
is) and their differences, so the headline can never call a cell something its row does not: a gain whose
verdict is ``inconclusive`` or ``not-worse`` is not "improved" here either. It carries no verdict label of its
own — the renderers put :func:`verdict_label` in front of it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from evalkit.score.catalogue import on_unit_scale
from evalkit.score.schema import OVERALL_MICRO, category_label
from evalkit.vocab import Verdict


def verdict_label(verdict: str, cross: bool) -> str:
    """The outcome in capitals, then the comparison's verdict word: what the exit code says (1: REGRESSION)."""
    if verdict == Verdict.REGRESSED:
        return "REGRESSION" + (" (cross-category)" if cross else "")
    return {Verdict.IMPROVED: "PASS (improved)", Verdict.NOT_WORSE: "PASS (not-worse)",
            Verdict.WITHIN_DELTA: "PASS (within-delta: no drop of delta or more anywhere)",
            Verdict.INCONCLUSIVE: "PASS (inconclusive: no regression shown, none ruled out)",
            }.get(verdict, str(verdict).upper())


def _fmt(diff: float, metric: str) -> str:
    if not np.isfinite(diff):
        return "n/a"
    if on_unit_scale(metric):
        pts = round(100 * diff)
        return f"{pts:+d} pts" if pts else "0 pts"
    return f"{diff:+.3g}"


def _names(rows: pd.DataFrame) -> str:
    return ", ".join(category_label(c) for c in rows["category"])


def _diffs(rows: pd.DataFrame, metric: str) -> str:
    return ", ".join(_fmt(d, metric) for d in rows["diff"])


def _overall(rows: pd.DataFrame, metric: str) -> str:
    ov = rows[rows["category"] == OVERALL_MICRO]
    if ov.empty:
        return ""
    r = ov.iloc[0]
    return f"; overall {_fmt(r['diff'], metric)} ({r['verdict']})"


def headline(comparison) -> str:
    """One sentence: per gated metric, the regressed categories, the improved ones beside them and the overall
    cell with its verdict; without a regression, what improved and how many gated cells got each verdict."""
    gated = comparison.gated
    parts = []
    first_regressed = None
    for metric, rows in gated.groupby("metric", sort=False):
        cats = rows[rows["category"] != OVERALL_MICRO]
        reg = cats[cats["verdict"] == Verdict.REGRESSED]
        if reg.empty:
            continue
        names = _names(reg)
        if names == first_regressed:
            parts.append(f"{metric} regressed in the same categories ({_diffs(reg, metric)}){_overall(rows, metric)}")
            continue
        first_regressed = first_regressed or names
        text = f"{metric} regressed in {names} ({_diffs(reg, metric)})"
        imp = cats[cats["verdict"] == Verdict.IMPROVED]
        if len(imp):
            text += f" while {_names(imp)} improved ({_diffs(imp, metric)})"
        parts.append(text + _overall(rows, metric))
    if parts:
        return "; ".join(parts) + "."
    overall_reg = gated[(gated["verdict"] == Verdict.REGRESSED) & (gated["category"] == OVERALL_MICRO)]
    if len(overall_reg):
        return "; ".join(f"{r.metric} regressed overall ({_fmt(r.diff, r.metric)}) though no single category did"
                         for r in overall_reg.itertuples()) + "."
    primary = comparison.policy.metrics[0]
    tail = _overall(gated[gated["metric"] == primary], primary).replace("; overall", f"; overall {primary}")
    counts = gated["verdict"].value_counts()
    summary = ", ".join(f"{counts[v]} {v}" for v in (Verdict.IMPROVED, Verdict.NOT_WORSE, Verdict.WITHIN_DELTA,
                                                      Verdict.INCONCLUSIVE) if v in counts)
    imp = gated[gated["verdict"] == Verdict.IMPROVED]
    lead = "".join(f"{m} improved in {_names(g)} ({_diffs(g, m)}); " for m, g in imp.groupby("metric", sort=False))
    return f"{lead}{len(gated)} gated cells: {summary}{tail}."
