"""`evalkit run`: output files, summary, --json, one-line errors with exit 2, lazy imports."""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from evalkit.cli import main
from evalkit.run.outputs import read_outputs

SMOKE = str(Path(__file__).resolve().parents[1] / "suites" / "smoke")


@pytest.fixture(scope="module")
def journal(tmp_path_factory):
    """One journal for the module: the first run does the work, later ones resume."""
    return str(tmp_path_factory.mktemp("journal"))


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


def test_fresh_discards_the_journal(tmp_path, capsys, journal):
    args = ["run", "--suite", SMOKE, "--agent", "reference:v1", "--trials", "1", "--quiet", "--json",
            "--output-dir", str(tmp_path / "o"), "--journal-dir", journal]
    assert _main(args, capsys)[0] == 0
    code, out, _ = _main(args, capsys)
    assert json.loads(out)["meta"]["resumed_trials"] > 0
    code, out, _ = _main(args + ["--fresh"], capsys)
    assert code == 0 and json.loads(out)["meta"]["resumed_trials"] == 0


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
