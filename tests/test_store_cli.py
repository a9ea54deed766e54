"""`evalkit baseline ...` and `evalkit sync` on the embedded store of the working directory."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from store_support import free_port, synthetic_run_result, unique_suite

from evalkit.cli import main
from evalkit.store import Store


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


@pytest.fixture
def repo(tmp_path, monkeypatch, make_embedded_store):
    """A working directory with an (empty) embedded store in ./.evalkit/mlflow."""
    monkeypatch.chdir(tmp_path)
    return make_embedded_store(tmp_path)


def test_promote_history_current_export_import(repo, capsys, tmp_path, make_embedded_store, monkeypatch):
    suite = unique_suite()
    r1 = repo.log_run(synthetic_run_result(suite, build_id="b1"))
    r2 = repo.log_run(synthetic_run_result(suite, build_id="b2"))
    code, out, _ = run_cli(capsys, "baseline", "promote", r1, "--suite", suite, "--suite-hash", "hash-1",
                           "--reason", "initial", "--who", "alice")
    assert code == 0 and f"promoted run {r1} (build b1) as {suite}@main" in out
    assert run_cli(capsys, "baseline", "promote", r2, "--suite", suite, "--suite-hash", "hash-1")[0] == 0

    code, out, _ = run_cli(capsys, "baseline", "history", "--suite", suite)
    lines = out.strip().splitlines()
    assert code == 0 and len(lines) == 3 and "reason" in lines[0]
    assert r1 in lines[1] and "initial" in lines[1] and not lines[1].startswith("*")
    assert r2 in lines[2] and lines[2].startswith("*")
    code, out, _ = run_cli(capsys, "baseline", "history", "--suite", suite, "--json")
    assert [json.loads(line)["run_id"] for line in out.splitlines()] == [r1, r2]
    code, out, _ = run_cli(capsys, "baseline", "current", "--suite", suite)
    assert code == 0 and json.loads(out)["run_id"] == r2

    code, out, _ = run_cli(capsys, "baseline", "export", "--suite", suite)
    assert code == 0 and f"baselines/{suite}/main.manifest.json" in out
    assert (tmp_path / "baselines" / suite / "main.results.parquet").is_file()

    clone = tmp_path / "clone"
    clone.mkdir()
    (clone / "baselines").symlink_to(tmp_path / "baselines")
    make_embedded_store(clone)
    monkeypatch.chdir(clone)
    code, out, _ = run_cli(capsys, "baseline", "import", "--suite", suite)
    assert code == 0 and f"{suite}@main is run" in out and "(build b2)" in out
    assert Store(None).current_baseline(suite).build_id == "b2"


def test_promote_of_another_suite_version_exits_2_with_one_line(repo, capsys):
    suite = unique_suite()
    run_id = repo.log_run(synthetic_run_result(suite, suite_hash="old"))
    code, out, err = run_cli(capsys, "baseline", "promote", run_id, "--suite", suite, "--suite-hash", "new")
    assert code == 2 and out == ""
    assert err.startswith(f"error: run {run_id}: suite_hash 'old': was run on another version")
    assert len(err.strip().splitlines()) == 1


def test_promote_needs_a_suite_hash_when_the_suite_is_not_here(repo, capsys):
    suite = unique_suite()
    run_id = repo.log_run(synthetic_run_result(suite))
    code, _, err = run_cli(capsys, "baseline", "promote", run_id, "--suite", suite)
    assert code == 2 and "pass --suite-hash" in err


def test_current_without_promotion_exits_2(repo, capsys):
    code, _, err = run_cli(capsys, "baseline", "current", "--suite", unique_suite())
    assert code == 2 and "evalkit baseline promote" in err


def test_sync_lists_and_keeps_runs_while_the_server_is_down(repo, capsys, tmp_path):
    logged = Store(f"http://127.0.0.1:{free_port()}", root=tmp_path).log_run(synthetic_run_result(unique_suite()))
    assert logged.queued
    code, out, _ = run_cli(capsys, "sync", "--list")
    assert code == 0 and logged.key in out and "1 run(s) queued" in out
    code, out, err = run_cli(capsys, "sync")
    assert code == 2 and "unreachable" in out and "runs still waiting" in err
    assert (tmp_path / ".evalkit" / "outbox" / logged.key).is_dir()


def test_baseline_help_imports_neither_mlflow_nor_pandas():
    code = ("import sys\nfrom evalkit.cli import cli\n"
            "try:\n    cli.main(['baseline', '--help'], prog_name='evalkit')\nexcept SystemExit:\n    pass\n"
            "print('HEAVY', sorted(m for m in ('mlflow', 'pandas') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True).stdout
    assert "promote" in out and "HEAVY []" in out


def test_history_of_a_misspelled_suite_is_an_error_not_an_empty_history(repo, capsys):
    code, out, err = run_cli(capsys, "baseline", "history", "--suite", "smok")
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert err.startswith("error: --suite: 'smok': no promotions") and "did you mean one of" in err and "smoke" in err
    code, out, _ = run_cli(capsys, "baseline", "history", "--suite", "smoke")  # a real suite, no promotion yet
    assert code == 0 and out.startswith("no promotions of smoke")
