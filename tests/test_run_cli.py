"""`evalkit run`: output files, summary, --json, logging to the store (the run id to promote), one-line errors
with exit 2, lazy imports."""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from gate_support import dead_port, error_line

from evalkit.cli import main
from evalkit.run.outputs import read_outputs
from evalkit.store import Store

SMOKE = str(Path(__file__).resolve().parents[1] / "suites" / "smoke")


@pytest.fixture(scope="module")
def journal(tmp_path_factory):
    """One journal for the module: the first run does the work, later ones resume."""
    return str(tmp_path_factory.mktemp("journal"))


@pytest.fixture(scope="module")
def store_uri(embedded_store_template, tmp_path_factory):
    """The module's own tracking store (a copy of the empty template), so runs are not logged in the repo."""
    import shutil

    db = tmp_path_factory.mktemp("run-cli-store") / "mlflow.db"
    shutil.copyfile(embedded_store_template, db)
    return f"sqlite:///{db}"


@pytest.fixture(autouse=True)
def tracking_env(store_uri, monkeypatch, tmp_path):
    """Every run here logs to the module's store, named by MLFLOW_TRACKING_URI as in CI; outbox in tmp_path."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store_uri)
    monkeypatch.setenv("EVALKIT_PROBE_TIMEOUT", "2")
    monkeypatch.chdir(tmp_path)


def _main(args, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(args)
    out = capsys.readouterr()
    return exit_.value.code, out.out, out.err


def test_run_writes_results_trajectories_and_meta_and_prints_the_summary(tmp_path, capsys, journal):
    code, out, err = _main(["run", "--suite", SMOKE, "--agent", "reference:v1", "--trials", "1", "--jobs", "2",
                            "--output-dir", str(tmp_path / "out"), "--journal-dir", journal,
                            "--scorer", "evalkit.score.examples:calibration"], capsys)
    assert code == 0, err
    assert "overall (macro)" in out and "top-1" in out and "results:" in out
    run = read_outputs(tmp_path / "out")
    assert len(run.table) == run.meta["n_scenarios"] and "custom.calibration.brier" in run.table.columns
    assert run.meta["scorers"] == ["calibration=evalkit.score.examples:calibration"]
    assert len(run.trajectories) == len(run.table)
    assert "progress:" in err  # not a TTY: plain lines


def test_run_json_prints_meta_outputs_and_aggregates(tmp_path, capsys, journal):
    code, out, err = _main(["run", "--suite", SMOKE, "--agent", "reference:v1", "--trials", "1", "--quiet",
                            "--json", "--output-dir", str(tmp_path / "o"), "--journal-dir", journal],
                           capsys)
    assert code == 0 and err == ""
    doc = json.loads(out)
    assert doc["meta"]["agent_spec"] == "reference:v1"
    assert Path(doc["outputs"]["results"]).is_file()
    rows = pd.DataFrame(doc["aggregate"])
    assert {"__overall_macro__", "__overall_micro__"} <= set(rows["category"])


def test_run_logs_a_baseline_run_whose_id_from_json_can_be_promoted(tmp_path, capsys, journal, store_uri):
    """The merge-to-main flow of examples/ci: run --role baseline --json -> run_id -> baseline promote."""
    code, out, err = _main(["run", "--suite", SMOKE, "--agent", "reference:v1", "--trials", "1", "--quiet",
                            "--role", "baseline", "--pr", "42", "--json", "--output-dir", str(tmp_path / "o"),
                            "--journal-dir", journal], capsys)
    assert code == 0, err
    doc = json.loads(out)
    run_id = doc["run_id"]
    assert run_id and doc["queued_in_outbox"] is False
    store = Store(store_uri)
    info = store.run_info(run_id)
    assert info.role == "baseline" and info.build_id == doc["meta"]["build_id"] and info.suite == "smoke"
    assert len(store.load_table(run_id)) == len(pd.read_parquet(doc["outputs"]["results"]))

    code, out, err = _main(["baseline", "promote", run_id, "--suite", SMOKE, "--alias", "run-cli",
                            "--reason", "merge of abc123"], capsys)
    assert code == 0, err
    assert store.current_baseline("smoke", "run-cli").run_id == run_id


def test_logged_runs_take_git_provenance_from_the_ci_variables(tmp_path, capsys, journal, store_uri, monkeypatch):
    """The same rules as every logged run (evalkit.store.payload.detect_git): CI variables win over git."""
    import subprocess

    git = ["git", "-c", "user.email=ci@example.com", "-c", "user.name=ci"]
    subprocess.run([*git, "init", "-q"], cwd=tmp_path, check=True)  # a checkout whose own sha must not win
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "x"], cwd=tmp_path, check=True)
    for var in ("GITHUB_SHA", "CI_COMMIT_SHA", "GITHUB_HEAD_REF", "CI_COMMIT_REF_NAME", "GITHUB_REF_NAME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("GIT_COMMIT", "0123456789abcdef0123456789abcdef01234567")
    monkeypatch.setenv("GIT_BRANCH", "feature/faster-triage")
    code, out, err = _main(["run", "--suite", SMOKE, "--agent", "reference:v1", "--trials", "1", "--quiet", "--json",
                            "--output-dir", str(tmp_path / "o"), "--journal-dir", journal], capsys)
    assert code == 0, err
    tags = Store(store_uri).run_info(json.loads(out)["run_id"]).tags
    assert tags["evalkit.git_sha"] == "0123456789abcdef0123456789abcdef01234567"
    assert tags["evalkit.branch"] == "feature/faster-triage"


def test_no_log_keeps_the_run_out_of_the_store(tmp_path, capsys, journal, store_uri):
    before = len(Store(store_uri).find_runs("smoke"))
    code, out, err = _main(["run", "--suite", SMOKE, "--agent", "reference:v1", "--trials", "1", "--quiet",
                            "--no-log", "--json", "--output-dir", str(tmp_path / "o"), "--journal-dir", journal],
                           capsys)
    assert code == 0, err
    assert json.loads(out)["run_id"] is None and len(Store(store_uri).find_runs("smoke")) == before


def test_no_outbox_fails_before_running_when_the_tracking_server_is_down(tmp_path, capsys, monkeypatch):
    uri = f"http://127.0.0.1:{dead_port()}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    code, out, err = _main(["run", "--suite", SMOKE, "--agent", "reference:v1", "--trials", "1", "--no-outbox",
                            "--output-dir", str(tmp_path / "o"), "--journal-dir", str(tmp_path / "j")], capsys)
    assert code == 2 and out == ""
    error_line(err, f"MLFLOW_TRACKING_URI: server '{uri}'", "unreachable")
    assert not (tmp_path / "o").exists() and not any((tmp_path / "j").glob("*"))


def test_fresh_discards_the_journal(tmp_path, capsys, journal):
    args = ["run", "--suite", SMOKE, "--agent", "reference:v1", "--trials", "1", "--quiet", "--json",
            "--output-dir", str(tmp_path / "o"), "--journal-dir", journal]
    assert _main(args, capsys)[0] == 0
    code, out, _ = _main(args, capsys)
    assert json.loads(out)["meta"]["resumed_trials"] > 0
    code, out, _ = _main(args + ["--fresh"], capsys)
    assert code == 0 and json.loads(out)["meta"]["resumed_trials"] == 0


def test_a_baseline_run_keeps_its_own_journal_so_a_candidate_run_measures_anew(tmp_path, capsys):
    args = ["run", "--suite", SMOKE, "--agent", "reference:v1", "--trials", "1", "--quiet", "--json", "--limit", "2",
            "--output-dir", str(tmp_path / "o"), "--journal-dir", str(tmp_path / "j")]
    code, out, _ = _main(args + ["--role", "baseline"], capsys)
    assert code == 0 and json.loads(out)["meta"]["journal"].endswith("-0-baseline.jsonl")
    code, out, _ = _main(args, capsys)
    meta = json.loads(out)["meta"]
    assert code == 0 and meta["resumed_trials"] == 0 and meta["journal"].endswith("-0.jsonl")
    assert json.loads(_main(args, capsys)[1])["meta"]["resumed_trials"] == meta["n_trials"]


@pytest.mark.parametrize("args, needle", [
    (["--agent", "nonsense agent"], "error: agent: spec 'nonsense agent'"),
    (["--agent", "reference:v1", "--trials", "0"], "error: --trials: 0: give an integer >= 1"),
    (["--agent", "reference:v1", "--scorer", "no.such.module:fn"], "error: --scorer: 'no.such.module:fn'"),
])
def test_bad_input_is_one_error_line_and_exit_2(args, needle, tmp_path, capsys):
    code, out, err = _main(["run", "--suite", SMOKE, "--journal-dir", str(tmp_path), *args], capsys)
    assert code == 2 and err.startswith(needle) and len(err.strip().splitlines()) == 1


def test_importing_the_run_command_does_not_import_heavy_modules():
    code = ("import sys, evalkit.cli.run_cmd; "
            "print([m for m in ('pandas', 'numpy', 'ray', 'mlflow', 'matplotlib') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("uri, needle", [
    ("file:///tmp/evalkit-mlruns", "MLflow no longer accepts its file store"),
    ("https://[::1", "not a URI"),
    ("sqlite:///{tmp}/a-file/x.db", "a-file is not a folder"),
])
def test_a_tracking_uri_evalkit_cannot_write_fails_before_the_run(tmp_path, capsys, monkeypatch, uri, needle):
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE", raising=False)
    (tmp_path / "a-file").write_text("not a folder")
    code, _, err = _main(["run", "--suite", SMOKE, "--agent", "reference:v1", "--limit", "2", "--quiet",
                          "--tracking-uri", uri.format(tmp=tmp_path), "--output-dir", str(tmp_path / "o"),
                          "--journal-dir", str(tmp_path / "j")], capsys)
    assert code == 2
    error_line(err, "--tracking-uri", needle)
    assert not (tmp_path / "o").exists() and not (tmp_path / "j").exists()  # nothing ran


def test_an_unreadable_path_is_one_line_and_a_bug_is_exit_2_never_the_regression_code(tmp_path, capsys,
                                                                                       monkeypatch):
    import evalkit.run.runner as runner

    def unreadable(*_a, **_k):
        raise PermissionError(13, "Permission denied", str(tmp_path / "x"))

    args = ["run", "--suite", SMOKE, "--agent", "reference:v1", "--limit", "1", "--quiet", "--no-log",
            "--output-dir", str(tmp_path / "o"), "--journal-dir", str(tmp_path / "j")]
    monkeypatch.setattr(runner, "run_suite", unreadable)
    code, _, err = _main(args, capsys)
    assert code == 2
    error_line(err, f"{tmp_path / 'x'}: Permission denied (check that the path exists")

    def network(*_a, **_k):
        raise ConnectionResetError(104, "Connection reset by peer")  # an OSError that names no file

    monkeypatch.setattr(runner, "run_suite", network)
    code, _, err = _main(args, capsys)
    assert code == 2
    error_line(err, "ConnectionResetError: Connection reset by peer (check the tracking server")

    def bug(*_a, **_k):
        raise KeyError("oops")

    monkeypatch.setattr(runner, "run_suite", bug)
    code, _, err = _main(args, capsys)
    assert code == 2 and "Traceback" in err  # a bug keeps its traceback for the report...
    assert err.strip().splitlines()[-1].startswith("error: internal error (KeyError: 'oops'): a bug in evalkit")


def test_an_output_folder_evalkit_cannot_fill_fails_before_the_run_or_before_any_file(tmp_path, capsys):
    (tmp_path / "a-file").write_text("")
    args = ["run", "--suite", SMOKE, "--agent", "reference:v1", "--limit", "2", "--quiet", "--no-log",
            "--journal-dir", str(tmp_path / "j")]
    code, _, err = _main(args + ["--output-dir", str(tmp_path / "a-file" / "out")], capsys)
    assert code == 2 and not (tmp_path / "j").exists()  # refused before the run
    error_line(err, "--output-dir", "a-file is not a folder")
    (tmp_path / "out" / "meta.json").mkdir(parents=True)  # one output's name is taken by a folder
    code, _, err = _main(args + ["--output-dir", str(tmp_path / "out")], capsys)
    assert code == 2 and sorted(p.name for p in (tmp_path / "out").iterdir()) == ["meta.json"]  # none written
    error_line(err, "meta.json is a folder")


def test_an_output_folder_that_is_a_dangling_link_fails_before_the_run(tmp_path, capsys):
    (tmp_path / "out").symlink_to(tmp_path / "gone")
    code, _, err = _main(["run", "--suite", SMOKE, "--agent", "reference:v1", "--limit", "1", "--quiet", "--no-log",
                          "--journal-dir", str(tmp_path / "j"), "--output-dir", str(tmp_path / "out")], capsys)
    assert code == 2 and not (tmp_path / "j").exists()
    error_line(err, "out is a link to a missing path")
