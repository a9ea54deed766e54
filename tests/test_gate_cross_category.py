"""The gate's reason to exist, with real runs: a monitor-focused build against reference:v1 on a generated suite
large enough per category (12 scenarios) to test categories — regressed where the cause lies downstream of
the alert, named as a cross-category regression, exit 1, and the flipped scenarios listed in report.md."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from click.testing import CliRunner

from evalkit.cli import cli
from gate_support import CORE_POLICY, copy_store_db, gate_args

pytestmark = pytest.mark.slow

DOWNSTREAM, SELF = "database/slow-query", "latency/timeout-chain"


@pytest.fixture(scope="module")
def pair_suite(tmp_path_factory, embedded_store_template):
    """A 2 × 12 generated suite and reference:v1's run on it, exported as the committed baseline."""
    from evalkit.run import NO_JOURNAL, RunConfig, run_suite
    from evalkit.store import Store, export_baseline
    from evalkit.suite import generate_suite

    root = tmp_path_factory.mktemp("pair-suite")
    suite = generate_suite(root / "suites" / "pair", "pair", 12, seed=3, categories=[SELF, DOWNSTREAM],
                           default_trials=1).path
    result = run_suite(suite, "reference:v1", RunConfig(trials=1, seed=0, jobs=2, journal=NO_JOURNAL))
    store = Store(f"sqlite:///{copy_store_db(embedded_store_template, root / 'store')}", root=root)
    logged = store.log_run(result, role="baseline", outbox=False)
    store.promote(logged.run_id, "pair", "main", suite_hash=result.meta["suite_hash"])
    export_baseline(store, "pair", "main", root / "baselines")
    return root, suite


@pytest.fixture(scope="module")
def gate_run(pair_suite, embedded_store_template):
    root, suite = pair_suite
    mp = pytest.MonkeyPatch()
    mp.chdir(root)
    mp.delenv("MLFLOW_TRACKING_URI", raising=False)
    try:
        uri = f"sqlite:///{copy_store_db(embedded_store_template, root / 'candidate-store')}"
        res = CliRunner().invoke(cli, gate_args(suite, "fakes.gate_agents:monitor_focus",
                                                baselines_dir=root / "baselines", tracking_uri=uri, out=root,
                                                extra=("--policy", str(CORE_POLICY), "--json")))
    finally:
        mp.undo()
    return root, res


def test_gate_fails_the_downstream_category_and_calls_it_cross_category(gate_run):
    _, res = gate_run
    assert res.exit_code == 1, res.output
    doc = json.loads(res.stdout)
    assert doc["verdict"] == "regressed" and doc["cross_category"] is True
    assert doc["headline"].startswith(f"rca_top1 regressed in {DOWNSTREAM}")
    regressed = {tuple(c) for c in doc["regressed_cells"]}
    assert {(DOWNSTREAM, "rca_top1"), (DOWNSTREAM, "rca_score")} <= regressed
    assert not any(c == SELF for c, _ in regressed)
    top1 = {c["category"]: c for c in doc["cells"] if c["metric"] == "rca_top1"}
    assert top1[DOWNSTREAM]["n"] == 12 and top1[DOWNSTREAM]["candidate_mean"] == 0.0
    assert top1[SELF]["candidate_mean"] == 1.0 and top1[SELF]["diff"] >= 0


def test_gate_report_lists_the_scenarios_that_flipped_with_what_each_build_blamed(gate_run):
    root, res = gate_run
    doc = json.loads(res.stdout)
    md = (root / "reports" / "report.md").read_text()
    assert md.startswith("## evalkit: REGRESSION (cross-category)")
    flips = [f for f in doc["flips"] if f["category"] == DOWNSTREAM and f["change"] == "pass->fail"]
    assert flips, "the baseline solved downstream scenarios the candidate missed"
    for f in flips[:5]:
        assert f["candidate_top"] != f["expected_component"]
        assert f"| `{f['scenario_id']}` | `{f['expected_component']}` |" in md
    junit = ET.parse(root / "reports" / "junit.xml").getroot()
    failing = {(c.get("name"), c.get("classname").rsplit(".", 1)[1]) for c in junit.iter("testcase")
               if c.find("failure") is not None}
    assert failing == {("overall" if c == "__overall_micro__" else c, m) for c, m in doc["regressed_cells"]}
