"""The terminal verdict table: per category and gated metric, baseline, candidate, difference with the bounds
that decided, verdict, and for inconclusive cells the drop they could detect, the scenarios that would resolve
δ and (below the table) what more data would decide them; the headline (cross-category call-out) above it."""

from __future__ import annotations

import pandas as pd

from evalkit.report.context import (ReportContext, bounds_header, design_columns, fixed_legend, fmt_diff, fmt_value,
                                    is_sequential, resolution_notes, sequential_legend)
from evalkit.report.headline import headline, verdict_label
from evalkit.score.schema import OVERALL_MICRO
from evalkit.vocab import Verdict

_COLOURS = {Verdict.REGRESSED: "\x1b[31;1m", Verdict.IMPROVED: "\x1b[32m", Verdict.NOT_WORSE: "",
            Verdict.WITHIN_DELTA: "", Verdict.INCONCLUSIVE: "\x1b[33m"}
_RESET = "\x1b[0m"


def verdict_rows(comparison) -> pd.DataFrame:
    """The gated rows every report shows, categories sorted with regressions first and the overall row last."""
    cells = comparison.gated
    order = {Verdict.REGRESSED: 0, Verdict.INCONCLUSIVE: 1, Verdict.IMPROVED: 2, Verdict.NOT_WORSE: 3,
             Verdict.WITHIN_DELTA: 4}
    metric_order = {m: i for i, m in enumerate(comparison.policy.all_metrics())}
    cells = cells.assign(_o=cells["verdict"].map(order).fillna(9), _ov=cells["category"] == OVERALL_MICRO,
                         _m=cells["metric"].map(metric_order).fillna(99))
    return cells.sort_values(["_m", "_ov", "_o", "category"]).drop(columns=["_o", "_ov", "_m"])


def render_terminal(comparison, context: ReportContext | None = None, color: bool = False) -> str:
    """Plain-text (optionally coloured) verdict table with the headline above it."""
    ctx = context or ReportContext()
    lines = [f"evalkit {ctx.command} — suite {ctx.suite}" if ctx.suite else "evalkit comparison"]
    if ctx.candidate_build or ctx.baseline_build:
        lines.append(f"candidate {ctx.candidate_build}  vs  baseline {ctx.baseline_build}")
        if ctx.baseline_source:
            lines.append(f"baseline from {ctx.baseline_source}")
    lines += ["", f"{verdict_label(comparison.verdict, comparison.cross_category)}: {headline(comparison)}", ""]
    rows = verdict_rows(comparison)
    sequential = is_sequential(rows)
    header = (["metric", "category", "n/pool", "baseline", "candidate", "diff", "anytime bound", "verdict",
               "stopped", "resolves"] if sequential else
              ["metric", "category", "n", "baseline", "candidate", "diff", bounds_header(comparison.policy),
               "verdict", "detectable drop", "scenarios for δ"])
    body = []
    for r in rows.itertuples(index=False):
        cat = "OVERALL" if r.category == OVERALL_MICRO else r.category
        n, interval, last, extra = design_columns(r, comparison, sequential)
        body.append([r.metric, cat, n, fmt_value(r.baseline_mean, r.metric),
                     fmt_value(r.candidate_mean, r.metric), fmt_diff(r.diff, r.metric), interval, r.verdict, last,
                     extra])
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(header)]
    right = {2, 3, 4, 5, 8, 9}

    def fmt_row(cols: list[str], verdict: str | None = None) -> str:
        out = []
        for i, c in enumerate(cols):
            cell = c.rjust(widths[i]) if i in right else c.ljust(widths[i])
            if color and verdict and i == 7 and _COLOURS.get(verdict):
                cell = _COLOURS[verdict] + cell + _RESET
            out.append(cell)
        return "  ".join(out).rstrip()

    lines += [fmt_row(header), "  ".join("-" * w for w in widths)]
    for i, cols in enumerate(body):
        if i and cols[0] != body[i - 1][0]:
            lines.append("")  # a blank line between metrics
        lines.append(fmt_row(cols, cols[7]))
    pol = comparison.policy
    lines.append("")
    if sequential:
        lines.append(sequential_legend(comparison) + f" Policy {pol.source or '(default)'}.")
    else:
        lines.append(fixed_legend(comparison))
        lines += [f"to decide {line}" for line in resolution_notes(rows, pol.min_scenarios)]
    lines += [f"note: {note}" for note in comparison.notes]
    if ctx.candidate_run:
        lines.append(f"candidate run: {ctx.candidate_run}" + (f"  ({ctx.tracking_uri})" if ctx.tracking_uri else ""))
    return "\n".join(lines) + "\n"
