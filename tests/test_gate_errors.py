"""Every way a user can make `evalkit gate` unable to evaluate ends in ONE line naming the problem and its
fix, no traceback, exit code 2 — and, where the problem is known before the run, before anything runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from evalkit.cli import cli
from gate_support import (cli_env, dead_port, empty_store, error_line, gate_args, run_evalkit, smoke_baseline,
                          store_with_baseline)


@pytest.fixture(scope="module")
def baseline(tmp_path_factory, embedded_store_template):
    return smoke_baseline(tmp_path_factory, embedded_store_template)


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)


def gate(args: list[str], env: dict | None = None):
    return CliRunner().invoke(cli, args, env=env, prog_name="evalkit")


def args_for(baseline, tmp_path: Path, agent: str = "reference:v1", **kw) -> list[str]:
    """A gate call that would pass, against the committed export, logging into a private store."""
    kw.setdefault("tracking_uri", store_with_baseline(baseline, tmp_path / "store"))
    kw.setdefault("baselines_dir", baseline.baselines_dir)
    return gate_args(kw.pop("suite", baseline.suite), agent, out=tmp_path, **kw)


def replace_opt(args: list[str], option: str, value: str) -> list[str]:
    i = args.index(option)
    return args[:i + 1] + [value] + args[i + 2:]


def nothing_ran(tmp_path: Path) -> bool:
    return not (tmp_path / "journal").exists() and not (tmp_path / "reports").exists()


# ---- inputs resolved before the run ------------------------------------------------------------------------
def test_unknown_suite(baseline, tmp_path):
    res = gate(args_for(baseline, tmp_path, suite="no-such-suite"))
    assert res.exit_code == 2
    error_line(res.stderr, "no-such-suite", "no such suite folder", "give a path or one of")
    assert nothing_ran(tmp_path)


@pytest.mark.parametrize("spec, needles", [
    ("nonsense agent", ("spec 'nonsense agent'",)),
    ("reference:v9", ("reference:v9",)),
    ("fakes.no_such_module:factory", ("fakes.no_such_module",)),
])
def test_unknown_agent_spec(baseline, tmp_path, spec, needles):
    res = gate(args_for(baseline, tmp_path, agent=spec))
    assert res.exit_code == 2
    error_line(res.stderr, *needles)
    assert not (tmp_path / "reports").exists()


def test_missing_baseline_names_both_places_it_looked_and_how_to_create_one(baseline, tmp_path,
                                                                           embedded_store_template):
    uri = empty_store(embedded_store_template, tmp_path / "empty-store")
    res = gate(args_for(baseline, tmp_path, tracking_uri=uri, baselines_dir=tmp_path / "no-exports"))
    assert res.exit_code == 2
    error_line(res.stderr, "baseline smoke@main", f"no promotion in {uri}", "no committed export",
               "evalkit run --suite smoke --agent BUILD --role baseline",
               "evalkit baseline promote RUN_ID --suite smoke --alias main")
    assert "baseline import" not in res.stderr  # there is nothing committed to import: never a fix that fails
    assert nothing_ran(tmp_path)


def test_missing_baseline_alias(baseline, tmp_path):
    res = gate(args_for(baseline, tmp_path, extra=("--baseline", "release-9")))
    assert res.exit_code == 2
    error_line(res.stderr, "baseline smoke@release-9", "--alias release-9")


def test_committed_export_of_another_suite_version_is_not_used(baseline, tmp_path, embedded_store_template):
    import shutil

    exports = tmp_path / "exports"
    shutil.copytree(baseline.baselines_dir, exports)
    manifest = exports / "smoke" / "main.manifest.json"
    doc = json.loads(manifest.read_text())
    doc["suite_hash"] = "f" * 64
    manifest.write_text(json.dumps(doc))
    res = gate(args_for(baseline, tmp_path, baselines_dir=exports,
                        tracking_uri=empty_store(embedded_store_template, tmp_path / "empty-store")))
    assert res.exit_code == 2
    error_line(res.stderr, "is for suite hash ffffffffffff", "record a baseline run of the current suite and promote it")


def test_tampered_committed_export_fails_its_checksum(baseline, tmp_path, embedded_store_template):
    import shutil

    exports = tmp_path / "exports"
    shutil.copytree(baseline.baselines_dir, exports)
    with open(exports / "smoke" / "main.results.parquet", "ab") as fh:
        fh.write(b"\0")
    res = gate(args_for(baseline, tmp_path, baselines_dir=exports,
                        tracking_uri=empty_store(embedded_store_template, tmp_path / "empty-store")))
    assert res.exit_code == 2
    error_line(res.stderr, "main.results.parquet", "sha256", "restore it from git or re-export")


@pytest.mark.parametrize("text, needles", [
    ("[gate]\nalpha = 2\n", ("alpha",)),
    ("[gate]\nmetrics = [\"rca_top1\"\n", ("fix the TOML syntax",)),
    ("[gates]\nalpha = 0.05\n", ("gates", "unknown section")),
    ("[margins.category]\n\"database/slow-qery\" = 0.05\n",   # a misspelled category was silently ignored
     ("margins.category 'database/slow-qery'", "not a category of suite smoke")),
])
def test_bad_policy_file(baseline, tmp_path, text, needles):
    policy = tmp_path / "policy.toml"
    policy.write_text(text)
    res = gate(args_for(baseline, tmp_path, extra=("--policy", str(policy))))
    assert res.exit_code == 2
    line = error_line(res.stderr, *needles)
    assert str(policy) in line
    assert nothing_ran(tmp_path)


def test_missing_policy_file(baseline, tmp_path):
    res = gate(args_for(baseline, tmp_path, extra=("--policy", str(tmp_path / "nope.toml"))))
    assert res.exit_code == 2
    error_line(res.stderr, "nope.toml", "no such policy file")


def test_bad_policy_beside_the_committed_export_is_reported_not_ignored(baseline, tmp_path):
    import shutil

    exports = tmp_path / "exports"
    shutil.copytree(baseline.baselines_dir, exports)
    (exports / "smoke" / "policy.toml").write_text("[gate]\nmin_scenarios = -1\n")
    res = gate(args_for(baseline, tmp_path, baselines_dir=exports))
    assert res.exit_code == 2
    error_line(res.stderr, str(exports / "smoke" / "policy.toml"), "min_scenarios")


@pytest.mark.parametrize("option, value, needles", [
    ("--trials", "0", ("--trials", "give an integer >= 1")),
    ("--trials", "abc", ("Invalid value for '--trials'", "'abc' is not a valid integer", "evalkit gate --help")),
    ("--seed", "-3", ("--seed", "give an integer >= 0")),
    ("--executor", "kubernetes", ("Invalid value for '--executor'", "evalkit gate --help")),
])
def test_bad_run_options(baseline, tmp_path, option, value, needles):
    args = args_for(baseline, tmp_path)
    res = gate(replace_opt(args, option, value) if option in args else [*args, option, value])
    assert res.exit_code == 2
    error_line(res.stderr, *needles)
    assert not (tmp_path / "reports").exists()


def test_missing_agent_without_a_project_default(tmp_path):
    res = gate(["gate", "--suite", "smoke"])
    assert res.exit_code == 2
    error_line(res.stderr, "--agent", "pass --agent", "evalkit.toml")


def test_unsupported_tracking_uri_scheme(baseline, tmp_path):
    res = gate(args_for(baseline, tmp_path, tracking_uri="ftp://mlflow.example.com/x"))
    assert res.exit_code == 2
    error_line(res.stderr, "--tracking-uri", "ftp://mlflow.example.com/x", "use http(s)://host:port")


# ---- an unreachable tracking server ------------------------------------------------------------------------
def test_dead_tracking_server_with_no_outbox_fails_before_running(baseline, tmp_path):
    uri = f"http://127.0.0.1:{dead_port()}"
    res = gate(args_for(baseline, tmp_path, tracking_uri=uri, extra=("--no-outbox",)))
    assert res.exit_code == 2
    error_line(res.stderr, f"--tracking-uri: server '{uri}'", "unreachable", "start the MLflow server")
    assert nothing_ran(tmp_path)


def test_dead_tracking_server_from_the_environment_is_named_as_such(baseline, tmp_path):
    uri = f"http://127.0.0.1:{dead_port()}"
    res = gate(args_for(baseline, tmp_path, tracking_uri=None, extra=("--no-outbox",)),
               env={"MLFLOW_TRACKING_URI": uri})
    assert res.exit_code == 2
    error_line(res.stderr, f"MLFLOW_TRACKING_URI: server '{uri}'", "unreachable")


def test_dead_tracking_server_queues_the_run_and_decides_from_the_committed_export(baseline, tmp_path):
    from evalkit.store import Store

    uri = f"http://127.0.0.1:{dead_port()}"
    res = gate(args_for(baseline, tmp_path, tracking_uri=uri, extra=("--json",)))
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["queued_in_outbox"] is True and doc["candidate_run_id"] is None
    assert doc["baseline_source"].startswith("committed export")
    assert doc["verdict"] != "regressed"
    assert any("queued in outbox" in m and "evalkit sync" in m for m in doc["messages"])
    pending = Store(uri).pending()  # the outbox of the working directory
    assert len(pending) == 1 and pending[0].tracking_uri == uri and pending[0].suite == "smoke"


# ---- inputs found wrong by the run itself ------------------------------------------------------------------
def test_journal_of_another_trial_count_is_refused_with_the_way_out(baseline, tmp_path):
    args = args_for(baseline, tmp_path, agent="fakes.gate_agents:monitor_focus", trials=1)
    first = gate([*args, "--quiet"])
    assert first.exit_code == 1, first.output
    again = gate(replace_opt(args, "--trials", "2"))
    assert again.exit_code == 2
    error_line(again.stderr, "trials 1", "the journal was written with another --trials", "--journal-dir")


def test_run_that_lost_too_many_trials_to_infrastructure_is_invalid_not_a_regression(baseline, tmp_path):
    res = gate(args_for(baseline, tmp_path, agent="fakes.gate_agents:flaky_endpoint", extra=("--quiet",)))
    assert res.exit_code == 2
    error_line(res.stderr, "candidate run: infrastructure-error rate", "infra_unreachable",
               "fix the infrastructure and rerun", "max_infra_error_rate")
    assert not (tmp_path / "reports").exists()  # no verdict was written


# ---- the real console script: no traceback ---------------------------------------------------------------
@pytest.mark.parametrize("change", ["agent", "suite"])
def test_console_script_prints_one_line_for_unknown_inputs(baseline, tmp_path, change):
    # a store that does not exist yet: the gate reads the committed export without starting MLflow
    args = args_for(baseline, tmp_path, tracking_uri=f"sqlite:///{tmp_path / 'fresh' / 'mlflow.db'}")
    args = replace_opt(args, "--agent", "openai-but-misspelled:gpt") if change == "agent" else \
        replace_opt(args, "--suite", str(tmp_path / "missing-suite"))
    proc = run_evalkit(args, cwd=tmp_path, env=cli_env())
    assert proc.returncode == 2 and proc.stdout == ""
    error_line(proc.stderr, "openai-but-misspelled:gpt" if change == "agent" else "missing-suite")
