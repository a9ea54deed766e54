"""The terminal verdict table and the report files: readable when piped (no colour unless asked), every
report written atomically into the output folder, the JSON strict enough for any consumer."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from evalkit.compare import compare
from evalkit.report import ReportContext, render_terminal, write_reports
from gate_support import synthetic_table, trade_off_tables


def test_terminal_table_is_plain_text_without_colour(trade_off):
    text = render_terminal(trade_off, ReportContext(suite="core"), color=False)
    assert "\x1b[" not in text
    lines = text.splitlines()
    assert lines[0] == "evalkit gate — suite core"
    assert lines[2].startswith("REGRESSION (cross-category): rca_top1 regressed in ")
    assert "regression" not in lines[2].lower().replace("regression (cross-category)", "", 1)
    header = next(line for line in lines if line.startswith("metric "))
    assert header.split() == ["metric", "category", "n", "baseline", "candidate", "diff", "Holm-adjusted",
                              "bounds", "verdict", "detectable", "drop", "scenarios", "for", "δ"]
    body = [line for line in lines if line.startswith(("rca_top1 ", "rca_score "))]
    assert len(body) == 26
    assert body[12].split()[1] == "OVERALL" and body[-1].split()[1] == "OVERALL"


def test_terminal_colours_only_the_verdict_column_when_asked(trade_off):
    text = render_terminal(trade_off, color=True)
    assert "\x1b[31;1mregressed" in text and "\x1b[32mimproved" in text
    stripped = re.sub(r"\x1b\[[0-9;]*m", "", text)
    plain = render_terminal(trade_off, color=False)
    assert [line.rstrip() for line in stripped.splitlines()] == plain.splitlines()


def rows_of(text: str, metric: str) -> dict[str, list[str]]:
    return {line.split()[1]: line.split() for line in text.splitlines() if line.startswith(f"{metric} ")}


def test_terminal_shows_the_minimum_detectable_effect_of_inconclusive_cells(core_policy):
    """A tested but inconclusive cell shows the smallest drop it could have detected (in points)."""
    flips = [i % 3 == 0 for i in range(12)]
    base = synthetic_table("b", {"kubernetes/oom": [not f for f in flips]})
    cand = synthetic_table("c", {"kubernetes/oom": [i % 4 != 1 for i in range(12)]})
    text = render_terminal(compare(cand, base, core_policy))
    row = rows_of(text, "rca_top1")["kubernetes/oom"]
    assert row[2] == "12" and row[-3] == "inconclusive"
    assert row[-2] == ">100" or 0 < float(row[-2]) <= 100
    assert "detectable drop: the smallest drop this run flags with 80% power" in text


def test_terminal_says_too_few_scenarios_instead_of_an_mde_below_min_scenarios(core_policy):
    """A category with fewer scenarios than the policy's min_scenarios is never tested: no interval, no MDE."""
    base = synthetic_table("b", {"kubernetes/oom": [True, True], "storage/disk-full": [True] * 12})
    cand = synthetic_table("c", {"kubernetes/oom": [True, True], "storage/disk-full": [True] * 12})
    text = render_terminal(compare(cand, base, core_policy))
    row = rows_of(text, "rca_top1")["kubernetes/oom"]
    assert row[2] == "2" and row[-7:] == ["too", "few", "scenarios", "(n<10)", "inconclusive", "—", "—"]


def test_write_reports_writes_every_report_and_leaves_no_temporary_files(trade_off, tmp_path):
    out = tmp_path / "nested" / "reports"
    paths = write_reports(trade_off, out, ReportContext(suite="core"))
    assert sorted(p.name for p in out.iterdir()) == ["cells.csv", "comparison.json", "junit.xml", "report.md",
                                                     "report.txt"]
    assert set(paths) == {"markdown", "junit", "text", "json", "csv"}
    assert paths["text"].read_text() == render_terminal(trade_off, ReportContext(suite="core"), color=False)
    cells = pd.read_csv(paths["csv"])
    assert len(cells) == len(trade_off.to_frame()) and set(cells["verdict"]) >= {"regressed", "improved"}


def test_comparison_json_is_strict_and_matches_the_comparison(trade_off, tmp_path):
    paths = write_reports(trade_off, tmp_path, ReportContext(suite="core", candidate_run="r1"))
    doc = json.loads(paths["json"].read_text(), parse_constant=lambda t: pytest.fail(f"non-JSON constant {t}"))
    assert doc["verdict"] == "regressed" and doc["cross_category"] is True
    assert doc["context"]["candidate_run"] == "r1"
    assert len(doc["cells"]) == len(trade_off.to_frame()) and len(doc["flips"]) == len(trade_off.flips())


def test_write_reports_replaces_earlier_reports_whole(trade_off, core_policy, tmp_path):
    _, base = trade_off_tables()
    write_reports(trade_off, tmp_path)
    passing = compare(base.assign(build_id="again"), base, core_policy)
    write_reports(passing, tmp_path)
    assert "REGRESSION" not in (tmp_path / "report.txt").read_text()
    assert json.loads((tmp_path / "comparison.json").read_text())["verdict"] != "regressed"
