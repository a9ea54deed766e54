"""The gate's outcome in MLflow (issue 17): its candidate run carries the verdict, the baseline it was compared
with and the policy that judged it as tags, and the comparison table as artifacts — so a failed gate is one
``mlflow.search_runs`` away, on the embedded SQLite store and on a PostgreSQL-backed tracking server alike.

Each backend gates two smoke builds (24 scenarios, one trial): the monitor-focused build, which regresses,
and the reference build with another seed, which does not.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from evalkit.compare.policy_hash import policy_hash
from evalkit.gate import GateResult, run_gate
from evalkit.run import JournalConfig, RunConfig
from gate_support import OVERALL, smoke_baseline, store_with_baseline

FAILED_GATES = "tags.`evalkit.gate.verdict` = 'regressed'"  # the filter docs/mlflow.md shows
MONITOR_FOCUS = "fakes.gate_agents:monitor_focus"


@dataclass
class Gated:
    """Two gates logged to one tracking store: a regressed one and a passing one."""

    uri: str
    backend: str
    expected_baseline_run: str
    regressed: GateResult
    passed: GateResult


def gate(baseline, agent: str, uri: str, baselines_dir: Path, out: Path, seed: int) -> GateResult:
    config = RunConfig(trials=1, seed=seed, jobs=2, journal=JournalConfig(dir=out / "journal"))
    return run_gate(baseline.suite, agent, config, tracking_uri=uri, output_dir=out / "reports",
                    baselines_dir=baselines_dir, use_outbox=False)


_GATED: dict[str, Gated] = {}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.slow])])
def gated(request, tmp_path_factory, embedded_store_template) -> Gated:
    """SQLite: a private copy of the store where the baseline run is promoted, so the gate compares with that
    run. PostgreSQL: the session's tracking server, which has no promotion, so the gate falls back to the
    committed export. Gated once per backend and worker: a parametrised session fixture would be torn down and
    gated again each time the test order switches backend."""
    if request.param not in _GATED:
        _GATED[request.param] = _gate_both(request, tmp_path_factory, embedded_store_template)
    return _GATED[request.param]


def _gate_both(request, tmp_path_factory, embedded_store_template) -> Gated:
    baseline = smoke_baseline(tmp_path_factory, embedded_store_template)
    root = tmp_path_factory.mktemp(f"gate-mlflow-{request.param}")
    if request.param == "sqlite":
        uri, baselines_dir = store_with_baseline(baseline, root / "store"), root / "no-exports"
        expected = baseline.run_id
    else:
        uri, baselines_dir = request.getfixturevalue("mlflow_pg_server").uri, baseline.baselines_dir
        expected = f"export:{baselines_dir / 'smoke' / 'main.manifest.json'}"
    regressed = gate(baseline, MONITOR_FOCUS, uri, baselines_dir, root / "regressed", seed=1)
    passed = gate(baseline, "reference:v1", uri, baselines_dir, root / "passed", seed=2)
    return Gated(uri, request.param, expected, regressed, passed)


def run_tags(gated: Gated, result: GateResult) -> dict[str, str]:
    import mlflow

    return mlflow.MlflowClient(gated.uri).get_run(result.logged.run_id).data.tags


def test_searching_the_verdict_tag_finds_the_regressed_gate_and_not_the_passing_one(gated, monkeypatch):
    import mlflow

    assert gated.regressed.exit_code == 1 and gated.passed.exit_code == 0
    monkeypatch.setenv("MLFLOW_TRACKING_URI", gated.uri)  # as in CI: the search reads the environment
    found = mlflow.search_runs(filter_string=FAILED_GATES, search_all_experiments=True)

    ids = set(found["run_id"])
    assert gated.regressed.logged.run_id in ids
    assert gated.passed.logged.run_id not in ids
    row = found[found["run_id"] == gated.regressed.logged.run_id].iloc[0]
    assert row["tags.evalkit.gate.exit_code"] == "1"
    assert f"{OVERALL}:rca_top1" in row["tags.evalkit.gate.regressed"].split(",")


def test_every_gate_run_carries_its_verdict_whatever_it_is(gated):
    tags = run_tags(gated, gated.passed)
    assert tags["evalkit.gate.verdict"] == str(gated.passed.comparison.verdict) != "regressed"
    assert tags["evalkit.gate.exit_code"] == "0" and tags["evalkit.gate.regressed"] == ""


def test_the_candidate_run_names_the_baseline_run_it_was_compared_with(gated):
    tags = run_tags(gated, gated.regressed)
    assert tags["evalkit.gate.baseline_run"] == gated.expected_baseline_run
    assert tags["evalkit.gate.baseline_run"] == gated.regressed.baseline_source.ref
    assert tags["evalkit.gate.baseline_build"].startswith("reference:v1+")
    if gated.backend == "sqlite":  # the promoted run is also linked from the reports
        assert gated.regressed.context.baseline_run == gated.expected_baseline_run
        assert f"baseline run `{gated.expected_baseline_run}`" in gated.regressed.reports["markdown"].read_text()


def test_the_candidate_run_names_the_policy_that_judged_it_by_hash_and_source(gated):
    tags = run_tags(gated, gated.regressed)
    policy = gated.regressed.comparison.policy
    assert re.fullmatch(r"[0-9a-f]{12}", tags["evalkit.gate.policy_hash"])
    assert tags["evalkit.gate.policy_hash"] == policy_hash(policy)
    assert tags["evalkit.gate.policy"] == policy.source
    assert tags["evalkit.gate.policy_hash"] == run_tags(gated, gated.passed)["evalkit.gate.policy_hash"]


def test_the_comparison_table_is_an_artifact_of_the_candidate_run(gated, tmp_path):
    import mlflow

    client = mlflow.MlflowClient(gated.uri)
    run_id = gated.regressed.logged.run_id
    listed = {a.path for a in client.list_artifacts(run_id, "reports")}
    assert {"reports/cells.csv", "reports/comparison.json"} <= listed

    doc = json.loads(Path(client.download_artifacts(run_id, "reports/comparison.json", str(tmp_path))).read_text())
    tags = run_tags(gated, gated.regressed)
    assert doc["verdict"] == tags["evalkit.gate.verdict"] == "regressed"
    assert doc["policy_hash"] == tags["evalkit.gate.policy_hash"]
    cells = pd.read_csv(client.download_artifacts(run_id, "reports/cells.csv", str(tmp_path)))
    assert len(cells) == len(gated.regressed.comparison.to_frame())
    assert set(cells.loc[cells["verdict"] == "regressed", "category"]) == {OVERALL}


def test_the_other_searches_the_docs_show_find_the_runs_they_describe(gated):
    import mlflow

    regressed, passed = gated.regressed.logged.run_id, gated.passed.logged.run_id
    tags = run_tags(gated, gated.regressed)
    client = mlflow.MlflowClient(gated.uri)
    experiment = client.get_experiment_by_name("evalkit/smoke").experiment_id

    def found(filter_string: str) -> set[str]:
        return {r.info.run_id for r in client.search_runs([experiment], filter_string)} & {regressed, passed}

    assert found("tags.`evalkit.gate.verdict` LIKE '%'") == {regressed, passed}
    assert found(f"tags.`evalkit.gate.regressed` LIKE '%{OVERALL}:rca_top1%'") == {regressed}
    assert found(f"tags.`evalkit.gate.policy_hash` = '{tags['evalkit.gate.policy_hash']}'") == {regressed, passed}
    from_export = found("tags.`evalkit.gate.baseline_run` LIKE 'export:%'")
    assert from_export == (set() if gated.backend == "sqlite" else {regressed, passed})
    assert found(f"attributes.run_id = '{regressed}'") == {regressed}
