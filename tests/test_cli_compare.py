"""`evalkit compare` on results tables written to Parquet: a cross-category regression in every downstream
category exits 1 with machine-readable JSON and a JUnit report CI can parse; identical builds exit 0."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from click.testing import CliRunner

from evalkit.cli import cli
from gate_support import (CORE_POLICY, DOWNSTREAM_CATEGORIES, OVERALL, SELF_CATEGORIES, error_line,
                          run_evalkit, synthetic_table, trade_off_tables)

GATED = ("rca_top1", "rca_score")  # baselines/core/policy.toml


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    root = tmp_path_factory.mktemp("compare-tables")
    cand, base = trade_off_tables()
    paths = {"candidate": root / "candidate.parquet", "baseline": root / "baseline.parquet",
             "same": root / "same-build-again.parquet"}
    cand.to_parquet(paths["candidate"])
    base.to_parquet(paths["baseline"])
    base.assign(build_id="baseline:v1-rebuilt").to_parquet(paths["same"])
    return paths


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)


def compare(*args: str):
    return CliRunner().invoke(cli, ["compare", *map(str, args)], prog_name="evalkit")


def test_compare_exits_1_and_names_every_downstream_category_in_json(tables, tmp_path):
    res = compare(tables["candidate"], tables["baseline"], "--policy", CORE_POLICY, "--json",
                  "--output-dir", tmp_path / "reports")
    assert res.exit_code == 1, res.output
    doc = json.loads(res.stdout)
    assert doc["verdict"] == "regressed" and doc["cross_category"] is True
    assert doc["headline"].startswith("rca_top1 regressed in ")
    expected = {(c, m) for c in (*DOWNSTREAM_CATEGORIES, OVERALL) for m in GATED}
    assert {tuple(c) for c in doc["regressed_cells"]} == expected
    improved = {(c["category"], c["metric"]) for c in doc["cells"] if c["gated"] and c["verdict"] == "improved"}
    assert improved == {(c, m) for c in SELF_CATEGORIES for m in GATED}


def test_compare_junit_counts_category_by_metric_cells_and_fails_the_regressed_ones(tables, tmp_path):
    out = tmp_path / "reports"
    res = compare(tables["candidate"], tables["baseline"], "--policy", CORE_POLICY, "--json", "--output-dir", out)
    doc = json.loads(res.stdout)
    root = ET.parse(out / "junit.xml").getroot()
    cases = root.findall("./testsuite/testcase")
    categories = {c["category"] for c in doc["cells"]}  # 12 categories + the overall
    assert len(categories) == 13
    assert len(cases) == len(categories) * len(GATED) == int(root.get("tests"))
    failing = {(c.get("name"), c.get("classname").rsplit(".", 1)[1]) for c in cases if c.find("failure") is not None}
    as_junit = {("overall" if c == OVERALL else c, m) for c, m in map(tuple, doc["regressed_cells"])}
    assert failing == as_junit and int(root.get("failures")) == len(doc["regressed_cells"]) == 18
    first = next(c for c in cases if c.find("failure") is not None).find("failure")
    assert first.get("type") == "regression" and "rca_top1 regressed in " in first.text


def test_compare_exits_0_for_a_rebuild_of_the_same_results(tables):
    res = compare(tables["same"], tables["baseline"], "--policy", CORE_POLICY)
    assert res.exit_code == 0, res.output
    rows = [line for line in res.stdout.splitlines() if line.startswith("rca_")]
    assert "PASS" in res.stdout and "REGRESSION" not in res.stdout
    assert rows and not any(" regressed " in line for line in rows)


def test_compare_says_it_compared_two_stored_runs_not_that_a_gate_ran(tables, tmp_path):
    out = tmp_path / "reports"
    res = compare(tables["candidate"], tables["baseline"], "--policy", CORE_POLICY, "--output-dir", out)
    title = res.stdout.splitlines()[0]
    assert title.startswith("evalkit compare — suite ") and "gate" not in title
    assert (out / "report.txt").read_text().splitlines()[0] == title
    assert json.loads((out / "comparison.json").read_text())["context"]["command"] == "compare"


def test_compare_json_is_strict_json_even_with_undefined_statistics(tables, tmp_path):
    """Cells with no variance have undefined p-values: they must be null, never NaN, in the JSON."""
    res = compare(tables["same"], tables["baseline"], "--policy", CORE_POLICY, "--json")
    assert "NaN" not in res.stdout and "Infinity" not in res.stdout
    json.loads(res.stdout, parse_constant=lambda t: pytest.fail(f"non-JSON constant {t}"))


def test_compare_method_option_switches_the_correction(tables):
    res = compare(tables["candidate"], tables["baseline"], "--policy", CORE_POLICY, "--method", "bh", "--json")
    assert res.exit_code == 1
    assert json.loads(res.stdout)["policy"]["correction"] == "bh"


def test_compare_refuses_runs_of_different_suite_versions_unless_allowed(tables, tmp_path):
    other = synthetic_table("candidate:x", {"kubernetes/oom": [True] * 12}, suite_hash="1" * 64)
    path = tmp_path / "other-version.parquet"
    other.to_parquet(path)
    res = compare(path, tables["baseline"], "--policy", CORE_POLICY)
    assert res.exit_code == 2
    error_line(res.stderr, "suite_hash", "--allow-suite-mismatch")
    common = ["--policy", CORE_POLICY, "--allow-suite-mismatch"]
    allowed = compare(path, tables["baseline"], *common, "--output-dir", tmp_path / "c")
    reported = CliRunner().invoke(cli, ["report", str(path), "--baseline", str(tables["baseline"]), *common,
                                        "--output-dir", str(tmp_path / "r")])
    assert allowed.exit_code in (0, 1) and reported.exit_code == allowed.exit_code, reported.output  # both have it


@pytest.mark.parametrize("make, needles", [
    (lambda d: d / "missing.parquet", ("missing.parquet", "not found")),
    (lambda d: (d / "junk.parquet").write_bytes(b"not parquet") and d / "junk.parquet",
     ("junk.parquet", "not a readable Parquet file")),
    (lambda d: (d / "empty-run").mkdir() or d / "empty-run", ("results.parquet", "missing")),
])
def test_compare_reports_an_unreadable_run_in_one_line(tables, tmp_path, make, needles):
    res = compare(make(tmp_path), tables["baseline"])
    assert res.exit_code == 2
    error_line(res.stderr, *needles)


def test_compare_without_baseline_or_suite_says_what_to_pass(tables, tmp_path):
    table = synthetic_table("x", {"kubernetes/oom": [True] * 3}, suite="")
    path = tmp_path / "nosuite.parquet"
    table.to_parquet(path)
    res = compare(path)
    assert res.exit_code == 2
    error_line(res.stderr, "BASELINE", "pass a BASELINE run or --suite")


def test_console_script_compare_exit_codes_0_and_1(tables, tmp_path):
    regressed = run_evalkit(["compare", str(tables["candidate"]), str(tables["baseline"]), "--policy",
                             str(CORE_POLICY)], cwd=tmp_path)
    same = run_evalkit(["compare", str(tables["same"]), str(tables["baseline"]), "--policy", str(CORE_POLICY),
                        "--json"], cwd=tmp_path)
    assert regressed.returncode == 1, regressed.stderr
    assert "REGRESSION (cross-category)" in regressed.stdout and "\x1b[" not in regressed.stdout
    assert same.returncode == 0, same.stderr
    assert json.loads(same.stdout)["verdict"] in ("not-worse", "inconclusive")


@pytest.mark.parametrize("which, code", [("candidate", 1), ("same", 0)])
def test_a_reader_that_stops_early_does_not_change_the_exit_code(tables, tmp_path, which, code):
    """``evalkit compare ... | head -1``: the verdict's exit code, not click's 1 for a broken pipe (a regression)."""
    import subprocess

    from gate_support import EVALKIT, cli_env

    proc = subprocess.Popen([str(EVALKIT), "compare", str(tables[which]), str(tables["baseline"]), "--policy",
                             str(CORE_POLICY)], cwd=tmp_path, env=cli_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader is gone before evalkit writes a line
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == code, err
    assert b"Traceback" not in err and b"BrokenPipe" not in err


def test_compare_with_a_misspelled_suite_names_the_suites_there_are(tables, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = compare(tables["candidate"], "--suite", "smok", "--output-dir", tmp_path / "r")
    assert res.exit_code == 2
    error_line(res.stderr, "--suite: 'smok': no baseline of it was found", "did you mean one of", "smoke")


def test_reports_are_all_written_or_none(tables, tmp_path):
    out = tmp_path / "reports"
    (out / "cells.csv").mkdir(parents=True)  # the last report's name is taken by a folder
    (out / "report.md").write_text("the earlier report\n")
    res = compare(tables["candidate"], tables["baseline"], "--policy", CORE_POLICY, "--output-dir", out)
    assert res.exit_code == 2
    error_line(res.stderr, "cells.csv is a folder")
    assert (out / "report.md").read_text() == "the earlier report\n" and not (out / "junit.xml").exists()


def test_compare_with_a_suite_name_keeps_the_real_reason_a_baseline_was_not_read(tables, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = compare(tables["candidate"], "--suite", "mysuite", "--tracking-uri", "http://127.0.0.1:9",
                  "--output-dir", tmp_path / "r")
    assert res.exit_code == 2 and "unreachable" in res.stderr and "did you mean" not in res.stderr, res.stderr


def test_compare_refuses_a_policy_margin_for_a_category_neither_run_has(tables, tmp_path):
    policy = tmp_path / "policy.toml"
    policy.write_text(open(CORE_POLICY).read() + '\n[margins.category]\n"kubernetes/oomm" = 0.05\n')
    res = compare(tables["candidate"], tables["baseline"], "--policy", policy, "--output-dir", tmp_path / "r")
    assert res.exit_code == 2
    error_line(res.stderr, "margins.category 'kubernetes/oomm'", "not a category")
