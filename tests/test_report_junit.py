"""JUnit XML of a comparison, read back with the standard library's XML parser as a CI system would: one
test case per category × gated metric, a failure exactly for each regressed cell, nothing else failing."""

from __future__ import annotations

import xml.etree.ElementTree as ET


from evalkit.compare import compare
from evalkit.report import ReportContext, render_junit
from gate_support import DOWNSTREAM_CATEGORIES, OVERALL, synthetic_table, trade_off_tables

GATED = ("rca_top1", "rca_score")


def parse(comparison, **context) -> ET.Element:
    return ET.fromstring(render_junit(comparison, ReportContext(**context)).encode("utf-8"))


def test_junit_has_one_testcase_per_category_and_gated_metric(trade_off):
    root = parse(trade_off, suite="core")
    cases = root.findall("./testsuite/testcase")
    assert len(cases) == 13 * len(GATED) == int(root.get("tests")) == int(root.find("testsuite").get("tests"))
    assert {(c.get("classname"), c.get("name")) for c in cases} == {
        (f"evalkit.core.{m}", "overall" if c == OVERALL else c)
        for c in (*DOWNSTREAM_CATEGORIES, "deploy/bad-release", "config/feature-flag", "capacity/traffic-surge",
                  "latency/timeout-chain", OVERALL) for m in GATED}


def test_junit_fails_exactly_the_regressed_cells(trade_off):
    root = parse(trade_off, suite="core")
    failing = {(c.get("name"), c.get("classname").rsplit(".", 1)[1])
               for c in root.iter("testcase") if c.find("failure") is not None}
    regressed = {("overall" if c == OVERALL else c, m) for c, m in trade_off.regressed_cells}
    assert failing == regressed and len(failing) == 18
    assert int(root.get("failures")) == 18 and root.get("errors") == "0"


def test_junit_failure_carries_the_numbers_and_the_cross_category_headline(trade_off):
    root = parse(trade_off, suite="core")
    case = next(c for c in root.iter("testcase") if c.get("name") == "kubernetes/oom"
                and c.get("classname").endswith(".rca_top1"))
    failure = case.find("failure")
    assert failure.get("message") == "rca_top1 regressed in kubernetes/oom" and failure.get("type") == "regression"
    assert "baseline 100.0%, candidate 8.3%, diff -91.7" in failure.text and "verdict regressed" in failure.text
    assert "Holm-adjusted bounds [" in failure.text
    assert "rca_top1 regressed in " in failure.text.splitlines()[-1]


def test_junit_passing_cells_explain_themselves_in_system_out(trade_off):
    root = parse(trade_off, suite="core")
    improved = next(c for c in root.iter("testcase") if c.get("name") == "deploy/bad-release")
    assert improved.find("failure") is None and "verdict improved" in improved.find("system-out").text


def test_junit_properties_identify_the_runs_and_the_verdict(trade_off):
    root = parse(trade_off, suite="core", candidate_build="cand+1", baseline_build="base+0", candidate_run="r1")
    props = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert props == {"candidate": "cand+1", "baseline": "base+0", "candidate_run": "r1", "verdict": "regressed",
                     "cross_category": "true"}


def test_junit_of_an_unchanged_build_has_no_failures(core_policy):
    _, base = trade_off_tables()
    root = parse(compare(base.assign(build_id="again"), base, core_policy), suite="core")
    assert int(root.get("failures")) == 0 and not list(root.iter("failure"))
    assert len(root.findall("./testsuite/testcase")) == 13 * len(GATED)


def test_junit_escapes_category_names_and_inconclusive_cells_do_not_fail(core_policy):
    odd = 'db <primary> & "replica"'
    base = synthetic_table("b", {odd: [True] * 3, "kubernetes/oom": [True] * 12})
    cand = synthetic_table("c", {odd: [False] * 3, "kubernetes/oom": [True] * 12})
    root = parse(compare(cand, base, core_policy), suite="x&y")  # 3 scenarios < min_scenarios: inconclusive
    case = next(c for c in root.iter("testcase") if c.get("name") == odd)
    assert case.find("failure") is None and "verdict inconclusive" in case.find("system-out").text
    assert root.get("name") == "evalkit.x&y"
