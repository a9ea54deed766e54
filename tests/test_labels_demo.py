"""The acceptance demo of docs/labels.md, end to end: a traced reference build investigates a generated suite,
simulated feedback with planted bad candidates is logged as MLflow assessments, then harvest -> validate ->
scripted review -> admit -> suite validate -> gate, all through the command line."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from evalkit.cli import cli

pytestmark = pytest.mark.slow


def test_production_feedback_becomes_a_gated_suite(tmp_path, monkeypatch):
    from evalkit.labels.demo import produce

    monkeypatch.chdir(tmp_path)  # journals, runs and reports stay in the test's folder
    stream = produce(tmp_path / "demo", per_category=1, seed=0)
    env = {"EVALKIT_TRACKING_URI": stream.tracking_uri}
    runner = CliRunner()

    def ok(*args: str, stdin: str | None = None) -> str:
        res = runner.invoke(cli, list(args), input=stdin, env=env)
        assert res.exit_code == 0, (args, res.output, res.exception)
        return res.output

    ok("label", "harvest", "--experiment", stream.experiment, "--output-dir", "labels")
    ok("label", "validate", "labels", "--jobs", "1")
    scores = json.loads((tmp_path / "labels" / "scores.json").read_text())
    cands = {p.stem: json.loads(p.read_text()) for p in (tmp_path / "labels" / "candidates").glob("*.json")}
    planted = {cid: stream.key[c["trace_id"]] for cid, c in cands.items()}
    bad = [cid for cid, kind in planted.items() if kind != "good"]
    good = [cid for cid, kind in planted.items() if kind == "good"]
    assert len(bad) >= 0.2 * len(planted)
    assert sum(scores[c]["flagged"] for c in bad) >= 0.9 * len(bad)
    assert sum(scores[c]["flagged"] for c in good) <= 0.1 * len(good)

    out = ok("label", "review", "labels", "--reviewer", "alice", "--html", "review.html",
             stdin="r not admitted in the demo\n" * 100)
    assert "still open" in out and (tmp_path / "review.html").is_file()
    admitted = ok("label", "admit", "labels", "--suite", "suites/harvested")
    assert "version 1.0.0" in admitted
    ok("suite", "validate", "suites/harvested")
    run = json.loads(ok("run", "--suite", "suites/harvested", "--agent", "reference:v3", "--role", "baseline",
                        "--json", "--quiet", "--jobs", "1"))
    ok("baseline", "promote", run["run_id"], "--suite", "suites/harvested", "--alias", "main", "--reason", "demo")
    (tmp_path / "policy.toml").write_text("[gate]\nmin_scenarios = 2\n")
    res = runner.invoke(cli, ["gate", "--suite", "suites/harvested", "--agent", "reference:v4", "--policy",
                              "policy.toml", "--output-dir", "reports", "--jobs", "1"], env=env)
    assert res.exit_code in (0, 1), res.output
    assert json.loads((tmp_path / "reports" / "comparison.json").read_text())["verdict"]
