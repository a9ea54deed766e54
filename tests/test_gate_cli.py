"""`evalkit gate` end to end on suites/smoke: exit 0 for an unchanged build, 1 for a regression, 2 when it
cannot evaluate — through click's CliRunner and through the real console script in a subprocess."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from evalkit.cli import cli
from gate_support import (DOWNSTREAM_CATEGORIES, OVERALL, SELF_CATEGORIES, SMOKE_CATEGORIES, cli_env,
                          dead_port, error_line, gate_args, run_evalkit, smoke_baseline, store_with_baseline)

GATED = ("rca_top1", "rca_score")  # baselines/smoke/policy.toml [gate] metrics
MONITOR_FOCUS = "fakes.gate_agents:monitor_focus"


@pytest.fixture(scope="module")
def baseline(tmp_path_factory, embedded_store_template):
    return smoke_baseline(tmp_path_factory, embedded_store_template)


@pytest.fixture(autouse=True)
def _no_inherited_tracking_uri(monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


def strict_json(text: str) -> dict:
    """Parse JSON the way a strict consumer (jq, JavaScript) does: NaN / Infinity are not JSON."""
    def reject(token):
        raise AssertionError(f"non-standard JSON constant {token}")
    return json.loads(text, parse_constant=reject)


def junit_counts(path: Path) -> tuple[int, int, list[ET.Element]]:
    """(testcases, failures, failing testcases) of a JUnit XML report, parsed with the standard library."""
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    cases = root.findall("./testsuite/testcase")
    failing = [c for c in cases if c.find("failure") is not None]
    suite = root.find("testsuite")
    assert int(suite.get("tests")) == len(cases) and int(suite.get("failures")) == len(failing)
    return len(cases), len(failing), failing


# ---- exit 0 ------------------------------------------------------------------------------------------------
def test_gate_passes_reference_v1_with_another_seed_against_the_committed_export(baseline, tmp_path, monkeypatch,
                                                                                   make_embedded_store):
    store = make_embedded_store(tmp_path)  # the embedded default store of a fresh clone, in the working dir
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(cli, gate_args(baseline.suite, "reference:v1", baselines_dir=baseline.baselines_dir,
                                            tracking_uri=None, out=tmp_path, seed=1))

    assert res.exit_code == 0, res.output
    assert res.stdout.splitlines()[0] == "evalkit gate — suite smoke"
    assert "PASS" in res.stdout and "REGRESSION" not in res.stdout
    assert "committed export" in res.stdout and "\x1b[" not in res.stdout  # not a terminal: no colour
    logged = store.find_runs("smoke", role="candidate")
    assert len(logged) == 1 and logged[0].build_id == baseline.build_id
    assert f"candidate run: {logged[0].run_id}" in res.stdout
    reports = tmp_path / "reports"
    assert sorted(p.name for p in reports.iterdir()) == ["cells.csv", "comparison.json", "junit.xml", "report.md",
                                                          "report.txt"]
    cases, failures, _ = junit_counts(reports / "junit.xml")
    assert (cases, failures) == ((SMOKE_CATEGORIES + 1) * len(GATED), 0)
    assert logged[0].run_id in (reports / "report.md").read_text()


# ---- exit 1 ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def regressed(baseline, tmp_path_factory):
    """One gate run of the monitor-focus build against the baseline promoted in the store, with --json."""
    root = tmp_path_factory.mktemp("regressed-gate")
    uri = store_with_baseline(baseline, root / "store")
    mp = pytest.MonkeyPatch()
    mp.chdir(root)
    mp.delenv("MLFLOW_TRACKING_URI", raising=False)
    try:
        res = CliRunner().invoke(cli, gate_args(baseline.suite, MONITOR_FOCUS, baselines_dir=root / "no-exports",
                                                tracking_uri=uri, out=root, extra=("--json", "--pr", "42")))
    finally:
        mp.undo()
    return root, uri, res


def test_gate_exits_1_when_a_monitor_focused_build_regresses(regressed, baseline):
    _, _, res = regressed
    assert res.exit_code == 1, res.output
    doc = strict_json(res.stdout)
    assert doc["verdict"] == "regressed" and doc["exit_code"] == 1
    assert doc["baseline_source"].startswith(f"MLflow run {baseline.run_id}")
    # smoke has 2 scenarios per category: only the overall cells are tested, and both gated ones fail.
    assert sorted(map(tuple, doc["regressed_cells"])) == [(OVERALL, "rca_score"), (OVERALL, "rca_top1")]
    assert "rca_top1 regressed overall" in doc["headline"]


def test_gate_json_shows_the_candidate_right_on_the_alerting_service_and_wrong_downstream(regressed):
    doc = strict_json(regressed[2].stdout)
    top1 = {c["category"]: c for c in doc["cells"] if c["metric"] == "rca_top1"}
    assert {c for c in top1 if c != OVERALL} == set(SELF_CATEGORIES) | set(DOWNSTREAM_CATEGORIES)
    for category in DOWNSTREAM_CATEGORIES:
        assert top1[category]["candidate_mean"] == 0.0, category
    for category in SELF_CATEGORIES:
        assert top1[category]["candidate_mean"] == 1.0, category
    assert top1[OVERALL]["diff"] < 0 and top1[OVERALL]["n"] == 2 * SMOKE_CATEGORIES


def test_gate_json_records_the_logged_run_and_its_pull_request(regressed, baseline):
    from evalkit.store import Store

    _, uri, res = regressed
    doc = strict_json(res.stdout)
    assert doc["queued_in_outbox"] is False
    info = Store(uri).run_info(doc["candidate_run_id"])
    assert info.role == "candidate" and info.suite == "smoke" and info.tags["evalkit.pr"] == "42"
    assert doc["run_meta"]["agent_spec"] == MONITOR_FOCUS and doc["run_meta"]["trials"] == 1
    assert doc["context"]["candidate_run"] == doc["candidate_run_id"]


def test_gate_junit_has_one_case_per_category_and_gated_metric_and_fails_the_regressed_ones(regressed):
    root, _, res = regressed
    doc = strict_json(res.stdout)
    cases, failures, failing = junit_counts(Path(doc["reports"]["junit"]))
    assert cases == (SMOKE_CATEGORIES + 1) * len(GATED)
    assert failures == len(doc["regressed_cells"]) == 2
    assert sorted((c.get("name"), c.get("classname").rsplit(".", 1)[1]) for c in failing) == [
        ("overall", "rca_score"), ("overall", "rca_top1")]


def test_compare_and_report_read_the_gate_run_back_from_the_store(regressed):
    root, uri, res = regressed
    run_id = strict_json(res.stdout)["candidate_run_id"]
    runner = CliRunner()
    cmp = runner.invoke(cli, ["compare", run_id, "--suite", "smoke", "--tracking-uri", uri, "--json"])
    assert cmp.exit_code == 1, cmp.output
    assert strict_json(cmp.stdout)["verdict"] == "regressed"

    out = root / "report-again"
    rep = runner.invoke(cli, ["report", run_id, "--tracking-uri", uri, "--output-dir", str(out),
                              "--format", "junit"])
    assert rep.exit_code == cmp.exit_code == 1, rep.output  # the same comparison exits alike everywhere
    printed = ET.fromstring(rep.stdout.encode())
    assert int(printed.get("failures")) == 2 and int(printed.get("tests")) == (SMOKE_CATEGORIES + 1) * 2
    assert (out / "junit.xml").read_text() == rep.stdout


# ---- the real console script -------------------------------------------------------------------------------
def test_console_script_gate_exits_0_and_prints_json_with_the_tracking_uri_from_the_environment(baseline,
                                                                                                  tmp_path):
    uri = store_with_baseline(baseline, tmp_path / "store")
    args = gate_args(baseline.suite, "reference:v1", baselines_dir=tmp_path / "no-exports", tracking_uri=None,
                     out=tmp_path, seed=2, extra=("--json",))
    proc = run_evalkit(args, cwd=tmp_path, env=cli_env(MLFLOW_TRACKING_URI=uri))

    assert proc.returncode == 0, proc.stderr
    doc = strict_json(proc.stdout)
    assert doc["exit_code"] == 0 and doc["verdict"] != "regressed"
    assert doc["baseline_source"].startswith(f"MLflow run {baseline.run_id}")
    assert doc["context"]["tracking_uri"] == uri and doc["candidate_run_id"]
    # --json: stdout is the document alone (parsed above); no progress or chatter on stderr either
    assert "progress:" not in proc.stderr and "logged run" not in proc.stderr and "error" not in proc.stderr


def test_console_script_gate_exits_1_with_a_plain_table_when_piped(baseline, tmp_path):
    args = gate_args(baseline.suite, MONITOR_FOCUS, baselines_dir=baseline.baselines_dir,
                     tracking_uri=store_with_baseline(baseline, tmp_path / "store"), out=tmp_path)
    proc = run_evalkit(args, cwd=tmp_path)

    assert proc.returncode == 1, proc.stderr
    assert "REGRESSION: rca_top1 regressed overall" in proc.stdout
    assert "\x1b[" not in proc.stdout + proc.stderr and "\r" not in proc.stderr  # no colour, no animation
    assert any(line.startswith("progress: ") for line in proc.stderr.splitlines())
    assert "Traceback" not in proc.stderr
    cases, failures, _ = junit_counts(tmp_path / "reports" / "junit.xml")
    assert (cases, failures) == ((SMOKE_CATEGORIES + 1) * len(GATED), 2)


def test_console_script_gate_exits_2_on_a_dead_tracking_server_without_outbox_before_running(baseline,
                                                                                             tmp_path):
    uri = f"http://127.0.0.1:{dead_port()}"
    args = gate_args(baseline.suite, "reference:v1", baselines_dir=baseline.baselines_dir, tracking_uri=uri,
                     out=tmp_path, extra=("--no-outbox",))
    proc = run_evalkit(args, cwd=tmp_path)

    assert proc.returncode == 2
    error_line(proc.stderr, "--tracking-uri", uri, "unreachable", "start the MLflow server")
    assert proc.stdout == ""
    assert not (tmp_path / "journal").exists() and not (tmp_path / "reports").exists()  # nothing was run
