"""The gate runs end to end on an imported real-incident suite (issue 9): a baseline promoted from one build in
an MLflow store, a candidate from another build, compared under the default policy, reports written."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PETSHOP = REPO / "suites" / "real-petshop"

pytestmark = pytest.mark.slow


@pytest.mark.skipif(not (PETSHOP / "suite.toml").is_file(), reason="suites/real-petshop is not shipped")
def test_gate_on_real_petshop_against_a_promoted_baseline(tmp_path, monkeypatch):
    from evalkit.gate import run_gate
    from evalkit.run.config import JournalConfig, RunConfig
    from evalkit.run.runner import run_suite
    from evalkit.store import Store
    from evalkit.suite import load_suite

    monkeypatch.chdir(tmp_path)  # journals and the embedded store stay in the test's folder
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    suite = load_suite(PETSHOP)
    store = Store(uri)
    config = RunConfig(trials=1, jobs=2, journal=JournalConfig(dir=tmp_path / "journal"))
    baseline = run_suite(suite, "reference:v1", config)
    logged = store.log_run(baseline, aggregates=baseline.aggregate(), role="baseline")
    store.promote(logged.run_id, suite.name, "main", reason="test baseline", suite_hash=suite.hash)

    result = run_gate(PETSHOP, "reference:v3", config, tracking_uri=uri, output_dir=tmp_path / "reports",
                      baselines_dir=tmp_path / "no-exports")

    assert result.exit_code in (0, 1)
    assert logged.run_id in result.baseline_source  # resolved from the store, not a committed export
    frame = result.comparison.to_frame()
    categories = set(frame["category"]) - {"__overall_micro__"}
    assert categories == set(suite.categories)
    assert set(frame.loc[frame["gated"], "metric"]) == {"rca_top1", "rca_score"}
    assert (frame["n"] > 0).all()
    doc = json.loads((tmp_path / "reports" / "comparison.json").read_text())
    assert doc["verdict"] == result.comparison.verdict
    junit = ET.parse(tmp_path / "reports" / "junit.xml").getroot()
    assert int(junit.get("tests")) == int(frame["gated"].sum())
    assert store.find_runs(suite.name, role="candidate")  # the candidate run was logged too
