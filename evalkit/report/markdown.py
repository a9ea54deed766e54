"""The pull-request comment: headline verdict, the table, the cross-category call-out, the top flipped
scenarios per regressed category (the agent's answer vs the expected component), links to the runs."""

from __future__ import annotations

from evalkit.compare.flips import PASS_TO_FAIL
from evalkit.report.context import (ReportContext, bounds_header, design_columns, fixed_legend, fmt_diff, fmt_value,
                                    in_points, is_sequential, resolution_notes, sequential_legend)
from evalkit.report.headline import headline, verdict_label
from evalkit.report.terminal import verdict_rows
from evalkit.score.schema import OVERALL_MICRO, category_label
from evalkit.vocab import Verdict

_ICON = {Verdict.REGRESSED: "🔴", Verdict.IMPROVED: "🟢", Verdict.NOT_WORSE: "⚪", Verdict.INCONCLUSIVE: "🟡",
         Verdict.WITHIN_DELTA: "⚪"}


def _esc(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _category(category: str, overall: str = "{}") -> str:
    """A category in markdown: as code, the overall row by its label (placed in ``overall``)."""
    return overall.format(category_label(category)) if category == OVERALL_MICRO else f"`{_esc(category)}`"


def render_markdown(comparison, context: ReportContext | None = None, top_flips: int = 5) -> str:
    """Markdown fit for a pull-request comment: headline, the verdict table, the flipped scenarios of each
    regressed category, what would decide inconclusive cells, report-only drops, legend and run links."""
    ctx = context or ReportContext()
    rows = verdict_rows(comparison)
    sequential = is_sequential(rows)
    out = _header(comparison, ctx) + _table(comparison, rows, sequential) + _flips(comparison, top_flips)
    out += _details(comparison, rows, sequential) + _footer(comparison, ctx, sequential)
    return "\n".join(out) + "\n"


def _header(comparison, ctx: ReportContext) -> list[str]:
    said = f"**⚠️ {headline(comparison)}**" if comparison.cross_category else headline(comparison)
    out = [f"## evalkit: {verdict_label(comparison.verdict, comparison.cross_category)}", "", f"> {said}", ""]
    facts = []
    if ctx.suite:
        facts.append(f"suite `{ctx.suite}`")
    if ctx.candidate_build:
        facts.append(f"candidate `{ctx.candidate_build}`")
    if ctx.baseline_build:
        facts.append(f"baseline `{ctx.baseline_build}`" + (f" ({_esc(ctx.baseline_source)})" if ctx.baseline_source else ""))
    return out + ([" · ".join(facts), ""] if facts else [])


def _table(comparison, rows, sequential: bool) -> list[str]:
    out = (["| metric | category | n/pool | baseline | candidate | diff (pts) | anytime bound | verdict | stopped "
            "| resolves |", "|---|---|---:|---:|---:|---:|---|---|---|---:|"] if sequential else
           [f"| metric | category | n | baseline | candidate | diff (pts) | {bounds_header(comparison.policy)} "
            "| verdict | detectable drop | scenarios for δ |",
            "|---|---|---:|---:|---:|---:|---|---|---:|---:|"])
    for r in rows.itertuples(index=False):
        cat = _category(r.category, "**{}**")
        n, interval, last, extra = design_columns(r, comparison, sequential)
        diff = fmt_diff(r.diff, r.metric)
        if r.verdict == Verdict.REGRESSED:
            diff = f"**{diff}**"
        out.append(f"| {r.metric} | {cat} | {n} | {fmt_value(r.baseline_mean, r.metric)} | "
                   f"{fmt_value(r.candidate_mean, r.metric)} | {diff} | {interval} | "
                   f"{_ICON.get(r.verdict, '')} {r.verdict} | {last} | {extra} |")
    return out + [""]


def _flips(comparison, top_flips: int) -> list[str]:
    """The first scenarios that flipped pass → fail in each regressed category, with what each build blamed."""
    regressed_categories = list(dict.fromkeys(cat for cat, _metric in comparison.regressed_cells
                                              if cat != OVERALL_MICRO))
    if not regressed_categories:
        return []
    out = ["### Scenarios that flipped pass → fail", ""]
    for cat in regressed_categories:
        fl = comparison.flips(cat)
        fl = fl[fl["change"] == PASS_TO_FAIL].head(top_flips)
        if fl.empty:
            continue
        out += [f"**`{_esc(cat)}`**", "", "| scenario | expected | baseline said | candidate said | pass rate |",
                "|---|---|---|---|---|"]
        for f in fl.itertuples(index=False):
            out.append(f"| `{_esc(f.scenario_id)}` | `{_esc(f.expected_component)}` | "
                       f"`{_esc(f.baseline_top)}` | `{_esc(f.candidate_top)}` | "
                       f"{100 * f.baseline_rate:.0f}% → {100 * f.candidate_rate:.0f}% |")
        out.append("")
    return out


def _details(comparison, rows, sequential: bool) -> list[str]:
    """Collapsed sections: what would decide the inconclusive cells, report-only metrics that dropped."""
    out: list[str] = []
    to_resolve = [] if sequential else resolution_notes(rows, comparison.policy.min_scenarios)
    if to_resolve:
        out += _collapsed(f"What would decide the {len(to_resolve)} inconclusive cell(s), if their estimates hold",
                          [_esc(line) for line in to_resolve])
    report_only = comparison.to_frame()
    report_only = report_only[~report_only["gated"] & (report_only["verdict"] == Verdict.REGRESSED)]
    if len(report_only):
        out += _collapsed("Report-only metrics that dropped (not gating)",
                          [f"{r.metric} in {_category(r.category)}: {fmt_diff(r.diff, r.metric)}"
                           + (" pts" if in_points(r.metric) else "") for r in report_only.itertuples(index=False)])
    return out


def _collapsed(summary: str, items: list[str]) -> list[str]:
    """A collapsed section listing ``items``."""
    return [f"<details><summary>{summary}</summary>", "", *(f"- {item}" for item in items), "", "</details>", ""]


def _footer(comparison, ctx: ReportContext, sequential: bool) -> list[str]:
    pol = comparison.policy
    if sequential:
        out = [f"<sub>{_esc(sequential_legend(comparison))} Policy {_esc(pol.source)}.</sub>"]
    else:
        out = [f"<sub>Paired per scenario; {_esc(fixed_legend(comparison))}</sub>"]
    out += [f"<sub>note: {_esc(note)}</sub>" for note in comparison.notes]
    refs = [f"{role} run `{run}`" for role, run in (("candidate", ctx.candidate_run), ("baseline", ctx.baseline_run))
            if run]
    if refs:
        where = f" in MLflow at `{ctx.tracking_uri}`" if ctx.tracking_uri else ""
        link = f" ([open]({ctx.run_url}))" if ctx.run_url else ""
        out.append(f"<sub>{'; '.join(refs)}{where}{link}</sub>")
    return out
