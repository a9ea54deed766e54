"""Inconclusive cells tell the reviewer what would decide them (issue 17): the drop this run could detect, the
paired scenarios that would resolve a drop of δ, and — below the table — the suggestion of how much more data
would move the cell's bound off the margin."""

from __future__ import annotations

import numpy as np
import pytest

from evalkit.compare import compare, load_policy
from evalkit.compare.mde import MAX_SCENARIOS, mde, scenarios_for
from evalkit.report import render_markdown, render_terminal
from evalkit.report.context import fmt_scenarios
from gate_support import CORE_POLICY, synthetic_table

ALPHA = 0.05 / 26  # Holm's first step over 13 categories × 2 gated metrics


# ---- the number: scenarios for δ ------------------------------------------------------------------------
def test_scenarios_for_delta_is_the_smallest_n_whose_mde_reaches_delta():
    n = float(scenarios_for(0.10, 0.16, 0.02, ALPHA, use_t=True, floor=True))
    assert mde(0.16, n, 0.02, ALPHA, use_t=True, floor=True) <= 0.10 < mde(0.16, n - 1, 0.02, ALPHA, use_t=True,
                                                                            floor=True)
    assert 300 < n < 400  # the planning rule's ballpark: (z_{α'} + z_0.8)² · 0.16 / 0.08² ≈ 340


def test_a_noisier_cell_or_a_smaller_delta_needs_more_scenarios():
    quiet, noisy = scenarios_for(0.10, [0.05, 0.20], 0.02, ALPHA)
    assert quiet < noisy
    assert scenarios_for(0.10, 0.16, 0.02, ALPHA) < scenarios_for(0.05, 0.16, 0.02, ALPHA)


def test_no_number_when_delta_is_not_above_the_margin_or_the_variance_is_unknown():
    at_margin, unknown = scenarios_for([0.02, 0.10], [0.16, np.nan], 0.02, ALPHA)
    assert np.isnan(at_margin) and np.isnan(unknown)
    assert np.isinf(scenarios_for(0.0201, 0.25, 0.02, ALPHA))  # a hair above the margin: out of reach
    assert (fmt_scenarios(np.nan), fmt_scenarios(np.inf), fmt_scenarios(274.0)) == ("—", f">{MAX_SCENARIOS:,}",
                                                                                    "~274")


# ---- in the comparison and the reports ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def mixed():
    """kubernetes/oom (12 scenarios) and storage/disk-full (30) are tested but inconclusive; db/slow-query
    (2 scenarios) is below min_scenarios; network/connectivity (40, unchanged) is not-worse."""
    base = synthetic_table("b", {"kubernetes/oom": [i % 3 != 0 for i in range(12)],
                                 "storage/disk-full": [True] * 30, "database/slow-query": [True, True],
                                 "network/connectivity": [True] * 40})
    cand = synthetic_table("c", {"kubernetes/oom": [i % 4 != 1 for i in range(12)],
                                 "storage/disk-full": [i % 5 != 0 for i in range(30)],
                                 "database/slow-query": [True, True], "network/connectivity": [True] * 40})
    return compare(cand, base, load_policy(CORE_POLICY))


def cell(comparison, category: str, metric: str = "rca_top1"):
    f = comparison.to_frame()
    return f[(f["category"] == category) & (f["metric"] == metric)].iloc[0]


def test_only_tested_inconclusive_cells_get_a_number_of_scenarios_for_delta(mixed):
    small, large = cell(mixed, "kubernetes/oom"), cell(mixed, "storage/disk-full")
    assert small["verdict"] == large["verdict"] == "inconclusive"
    assert small["n_for_delta"] > small["n"] and large["n_for_delta"] > large["n"]
    assert small["n_for_delta"] > large["n_for_delta"]  # fewer scenarios, wider MDE: further from δ
    assert np.isnan(cell(mixed, "database/slow-query")["n_for_delta"])  # below min_scenarios: never tested
    assert cell(mixed, "network/connectivity")["verdict"] == "not-worse"
    assert np.isnan(cell(mixed, "network/connectivity")["n_for_delta"])


def terminal_row(text: str, category: str, metric: str = "rca_top1") -> list[str]:
    return next(line.split() for line in text.splitlines() if line.startswith(f"{metric} ")
                and line.split()[1] == category)


def test_the_terminal_row_of_an_inconclusive_cell_shows_its_detectable_drop_and_scenarios_for_delta(mixed):
    text = render_terminal(mixed)
    row, c = terminal_row(text, "storage/disk-full"), cell(mixed, "storage/disk-full")
    assert row[-3:] == ["inconclusive", f"{100 * c['mde']:.1f}", f"~{int(c['n_for_delta'])}"]
    assert terminal_row(text, "network/connectivity")[-1] == "not-worse"  # decided: nothing to add
    assert "scenarios for δ: how many paired scenarios" in text and "rca_top1 10 pts" in text


def test_below_the_table_the_terminal_says_what_would_decide_each_tested_inconclusive_cell(mixed):
    lines = [line for line in render_terminal(mixed).splitlines() if line.startswith("to decide ")]
    assert f"to decide rca_top1 in storage/disk-full, if its estimate holds: " \
           f"{cell(mixed, 'storage/disk-full')['suggestion']}" in lines
    assert any(line.startswith("to decide rca_top1 in kubernetes/oom, if its estimate holds: ~") for line in lines)
    assert not any("database/slow-query" in line or "network/connectivity" in line for line in lines)


def test_the_markdown_table_and_its_details_say_the_same(mixed):
    md = render_markdown(mixed)
    assert "| verdict | detectable drop | scenarios for δ |" in md
    c = cell(mixed, "storage/disk-full")
    assert f"🟡 inconclusive | {100 * c['mde']:.1f} | ~{int(c['n_for_delta'])} |" in md
    assert "<summary>What would decide the " in md
    assert f"- rca_top1 in storage/disk-full, if its estimate holds: {c['suggestion']}" in md


def test_junit_says_what_would_decide_an_inconclusive_cell_and_nothing_for_a_decided_one(mixed):
    import xml.etree.ElementTree as ET

    from evalkit.report import render_junit

    root = ET.fromstring(render_junit(mixed).encode("utf-8"))
    out = {(c.get("classname").rsplit(".", 1)[-1], c.get("name")): c.find("system-out").text
           for c in root.iter("testcase") if c.find("system-out") is not None}
    c = cell(mixed, "storage/disk-full")
    assert out[("rca_top1", "storage/disk-full")].endswith(
        f"verdict inconclusive, detectable drop {100 * c['mde']:.1f}, scenarios for δ ~{int(c['n_for_delta'])}")
    assert out[("rca_top1", "network/connectivity")].endswith("verdict not-worse")
    assert out[("rca_top1", "database/slow-query")].endswith("verdict inconclusive")  # never tested: no number


def test_comparison_json_and_csv_carry_the_number(mixed, tmp_path):
    import json

    from evalkit.report import write_reports

    paths = write_reports(mixed, tmp_path)
    doc = json.loads(paths["json"].read_text())
    by_cell = {(c["category"], c["metric"]): c for c in doc["cells"]}
    assert by_cell[("storage/disk-full", "rca_top1")]["n_for_delta"] == cell(mixed, "storage/disk-full")["n_for_delta"]
    assert by_cell[("network/connectivity", "rca_top1")]["n_for_delta"] is None  # strict JSON: null, not NaN
    assert "n_for_delta" in paths["csv"].read_text().splitlines()[0].split(",")
