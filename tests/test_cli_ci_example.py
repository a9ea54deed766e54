"""examples/ci/github-actions.yml: valid YAML wiring the gate into pull requests and the promotion into merges,
and every `evalkit` command line in it accepted by the real CLI parser (dry parse: nothing runs)."""

from __future__ import annotations

import re

import pytest
from cli_examples import GITHUB_EXPRESSION, dry_parse, evalkit_lines
from gate_support import REPO

WORKFLOW = REPO / "examples" / "ci" / "github-actions.yml"


@pytest.fixture(scope="module")
def workflow() -> dict:
    yaml = pytest.importorskip("yaml")
    return yaml.safe_load(WORKFLOW.read_text())


def steps(workflow: dict, job: str) -> list[dict]:
    return workflow["jobs"][job]["steps"]


def all_evalkit_commands(workflow: dict) -> list[tuple[str, list[str]]]:
    commands = []
    for job, spec in workflow["jobs"].items():
        env = {k: re.sub(GITHUB_EXPRESSION, "123", str(v))
               for k, v in {**workflow.get("env", {}), **spec.get("env", {})}.items()}
        for step in spec["steps"]:
            commands += [(job, args) for args in evalkit_lines(step.get("run", ""), env)]
    return commands


def test_workflow_runs_on_pull_requests_and_on_pushes_to_main(workflow):
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` key as true
    assert set(triggers) == {"pull_request", "push"} and triggers["push"]["branches"] == ["main"]
    assert workflow["jobs"]["gate"]["if"] == "github.event_name == 'pull_request'"
    assert "refs/heads/main" in workflow["jobs"]["promote"]["if"]
    assert workflow["permissions"]["pull-requests"] == "write"


def test_every_evalkit_command_line_is_accepted_by_the_cli_parser(workflow):
    commands = all_evalkit_commands(workflow)
    assert len(commands) == 4
    for job, args in commands:
        path, params = dry_parse(args)
        assert path in ("gate", "run", "baseline promote", "baseline export"), (job, path)


def test_pull_request_gate_records_the_pr_and_writes_reports_where_the_next_steps_read_them(workflow):
    (job, args), = [c for c in all_evalkit_commands(workflow) if c[0] == "gate"]
    _, params = dry_parse(args)
    assert params["pr"] == "123" and params["output_dir"] == "evalkit-reports"
    assert params["baseline_alias"] == "main" and not params["no_outbox"]
    uses = {s.get("uses", "").split("@")[0]: s for s in steps(workflow, "gate")}
    assert "evalkit-reports/" in uses["actions/upload-artifact"]["with"]["path"]
    assert uses["marocchino/sticky-pull-request-comment"]["with"]["path"] == "evalkit-reports/report.md"
    assert uses["mikepenz/action-junit-report"]["with"]["report_paths"] == "evalkit-reports/junit.xml"
    for step in ("actions/upload-artifact", "marocchino/sticky-pull-request-comment",
                 "mikepenz/action-junit-report"):
        assert uses[step]["if"].startswith("always()"), step  # reports are published on exit 1 too


def test_pull_request_job_fails_on_regression_and_on_could_not_evaluate(workflow):
    verdict = steps(workflow, "gate")[-1]["run"]
    assert "1)" in verdict and "exit 1" in verdict and "exit 2" in verdict
    gate_step = next(s for s in steps(workflow, "gate") if s.get("id") == "gate")
    assert "set +e" in gate_step["run"] and 'echo "exit_code=$?"' in gate_step["run"]


def test_merge_to_main_runs_logs_and_promotes_the_merged_build(workflow):
    """run (logged as a baseline-role run; --no-outbox: an unstorable run cannot be promoted) -> its run id
    from --json -> baseline promote -> baseline export, in that order, on the team server."""
    job = workflow["jobs"]["promote"]
    assert job["env"]["MLFLOW_TRACKING_URI"] == "${{ secrets.MLFLOW_TRACKING_URI }}"
    parsed = [dry_parse(args) for name, args in all_evalkit_commands(workflow) if name == "promote"]
    assert [path for path, _ in parsed] == ["run", "baseline promote", "baseline export"]
    by_path = dict(parsed)
    run = by_path["run"]
    assert run["suite"] == "core" and run["agent"] == "reference:v1" and run["trials"] == 3
    assert run["role"] == "baseline" and run["as_json"] and run["no_outbox"] and not run["no_log"]
    assert run["tracking_uri"] is None  # MLFLOW_TRACKING_URI from the job's env, read by the store
    assert by_path["baseline promote"]["alias"] == "main" and by_path["baseline promote"]["run_id"] == "123"
    assert by_path["baseline promote"]["suite"] == "core"
    assert by_path["baseline export"]["baselines_dir"] == "baselines"
    run_step = next(s for s in job["steps"] if s.get("id") == "run")
    assert "> run.json" in run_step["run"] and "jq -er .run_id run.json" in run_step["run"]
    promote_step = next(s for s in job["steps"] if "baseline promote" in s.get("run", ""))
    assert "steps.run.outputs.run_id" in promote_step["run"]
