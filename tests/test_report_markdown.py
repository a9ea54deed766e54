"""The pull-request comment: verdict and cross-category call-out first, the verdict table, the scenarios that
flipped in each regressed category (what the agent said vs what was expected), links to the runs."""

from __future__ import annotations

import pytest

from evalkit.compare import compare
from evalkit.report import ReportContext, render_markdown
from gate_support import DOWNSTREAM_CATEGORIES, SELF_CATEGORIES, synthetic_table, trade_off_tables


@pytest.fixture(scope="module")
def trade_off_md(trade_off):
    ctx = ReportContext(suite="core", candidate_build="cand+1", baseline_build="base+0",
                        baseline_source="committed export baselines/core/main.manifest.json",
                        candidate_run="run-123", tracking_uri="http://mlflow:5000",
                        run_url="http://mlflow:5000/#/runs/run-123")
    return render_markdown(trade_off, ctx)


def table_rows(md: str) -> list[list[str]]:
    """Cells of the verdict table (the first Markdown table)."""
    lines = md.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| metric |"))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip("|").split(" | ")])
    return rows


def test_markdown_leads_with_the_verdict_and_the_cross_category_call_out(trade_off_md):
    lines = trade_off_md.splitlines()
    assert lines[0] == "## evalkit: REGRESSION (cross-category)"
    assert lines[2].startswith("> **⚠️ rca_top1 regressed in ")
    assert "while capacity/traffic-surge, config/feature-flag, deploy/bad-release, latency/timeout-chain improved" \
        in lines[2]
    assert "suite `core` · candidate `cand+1` · baseline `base+0` (committed export" in trade_off_md


def test_markdown_table_has_every_gated_cell_with_regressions_marked(trade_off_md):
    rows = table_rows(trade_off_md)
    assert len(rows) == 13 * 2
    regressed = [r for r in rows if r[7] == "🔴 regressed"]
    assert len(regressed) == 18 and all(r[5].startswith("**-") for r in regressed)
    assert {r[1].strip("`") for r in rows if r[7] == "🟢 improved"} == set(SELF_CATEGORIES)
    assert [r[1] for r in rows if r[0] == "rca_top1"][-1] == "**overall**"


def test_markdown_lists_flipped_scenarios_of_each_regressed_category(trade_off_md):
    flips = trade_off_md.split("### Scenarios that flipped pass → fail", 1)[1]
    for category in DOWNSTREAM_CATEGORIES:
        assert f"**`{category}`**" in flips
    slug = "kubernetes-oom"
    assert (f"| `{slug}-001` | `{slug}-cause-1` | `{slug}-cause-1` | `{slug}-alerting-1` | 100% → 0% |"
            in flips)
    for category in SELF_CATEGORIES:  # improved categories are not listed as flips
        assert f"**`{category}`**" not in flips


def test_markdown_links_the_runs(trade_off_md):
    last = trade_off_md.strip().splitlines()[-1]
    assert "candidate run `run-123` in MLflow at `http://mlflow:5000`" in last
    assert "([open](http://mlflow:5000/#/runs/run-123))" in last


def test_markdown_of_a_passing_build_has_no_flip_section(core_policy):
    _, base = trade_off_tables()
    md = render_markdown(compare(base.assign(build_id="again"), base, core_policy))
    assert md.startswith("## evalkit: PASS") and "flipped" not in md and "⚠️" not in md


def test_markdown_escapes_pipes_in_category_names(core_policy):
    odd = "net|dns"
    base = synthetic_table("b", {odd: [True] * 12})
    cand = synthetic_table("c", {odd: [False] * 12})
    md = render_markdown(compare(cand, base, core_policy))
    rows = table_rows(md)
    assert all(len(r) == 10 for r in rows)
    assert "`net\\|dns`" in md


def test_markdown_marks_untestable_small_categories_instead_of_showing_an_mde(core_policy):
    base = synthetic_table("b", {"kubernetes/oom": [True, False, True], "storage/disk-full": [True] * 12})
    cand = synthetic_table("c", {"kubernetes/oom": [False, False, True], "storage/disk-full": [True] * 12})
    rows = {r[1].strip("`"): r for r in table_rows(render_markdown(compare(cand, base, core_policy))) if r[0] == "rca_top1"}
    assert rows["kubernetes/oom"][6:] == ["too few scenarios (n<10)", "🟡 inconclusive", "—", "—"]


def test_report_only_drops_name_overall_plainly_and_give_points_only_for_scores(core_policy):
    import dataclasses

    cand, base = trade_off_tables()
    md = render_markdown(compare(cand.assign(tool_calls=30), base,
                                 dataclasses.replace(core_policy, report=core_policy.report + ("tool_calls",))))
    details = md.split("<summary>Report-only metrics that dropped (not gating)</summary>", 1)[1]
    assert "- rca_top3 in overall: -25.3 pts" in details
    assert "- tool_calls in overall: +18\n" in details and "- tool_calls in `kubernetes/oom`: +18\n" in details
    assert "__overall" not in details
