"""Conventions every evalkit command follows: `--help` with examples, `--version`, one vocabulary of options,
MLFLOW_TRACKING_URI, `--json` for machines, one-line errors with exit 2, the command's exit code on the
console script, and an instant `evalkit --help` that imports no heavy module."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from evalkit import __version__
from evalkit.cli import cli, main
from gate_support import EVALKIT, cli_env, error_line, run_evalkit, trade_off_tables

HEAVY = ("pandas", "mlflow", "matplotlib", "ray", "pyarrow", "scipy")


def walk(group: click.Group = cli, path: tuple[str, ...] = (), parent: click.Context | None = None):
    ctx = click.Context(group, info_name=path[-1] if path else "evalkit", parent=parent)
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        yield (*path, name), cmd
        if isinstance(cmd, click.Group):
            yield from walk(cmd, (*path, name), ctx)


COMMANDS = dict(walk())


def options(cmd: click.Command) -> dict[str, click.Parameter]:
    return {opt: p for p in cmd.params for opt in p.opts if opt.startswith("--")}


def ids(paths) -> list[str]:
    return [" ".join(p) for p in paths]


# ---- help, version -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", list(COMMANDS), ids=ids(COMMANDS))
def test_every_command_help_shows_usage_and_examples(path):
    res = CliRunner().invoke(cli, [*path, "--help"], prog_name="evalkit")
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith(f"Usage: evalkit {' '.join(path)} ")
    block = re.search(r"\n  Examples?:\n((?:    .*\n)+)", res.stdout)  # click's \b paragraph, kept verbatim
    assert block and f"evalkit {' '.join(path)}" in block.group(1), "no 'Examples:' block showing the command"


def test_root_help_lists_every_command_with_examples_and_exit_codes():
    res = CliRunner().invoke(cli, ["--help"], prog_name="evalkit")
    assert res.exit_code == 0
    for name in (p[0] for p in COMMANDS if len(p) == 1):
        assert f"\n  {name} " in res.stdout
    assert "Examples:" in res.stdout and "Exit codes: 0 no regression, 1 regression, 2 could not evaluate" in res.stdout


def test_version_from_the_console_script():
    proc = run_evalkit(["--version"], cwd=EVALKIT.parent)
    assert proc.returncode == 0 and proc.stdout.strip() == f"evalkit, version {__version__}"


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_root_help_in_a_fresh_process_imports_no_heavy_module(flag):
    proc = subprocess.run([sys.executable, "-X", "importtime", str(EVALKIT), flag], capture_output=True, text=True,
                          env=cli_env(), timeout=60)
    assert proc.returncode == 0 and "Commands:" in proc.stdout
    imported = {line.split("|")[-1].strip().split(".")[0] for line in proc.stderr.splitlines()
                if line.startswith("import time:")}
    assert "click" in imported and "evalkit" in imported
    assert imported.isdisjoint({*HEAVY, "numpy"}), sorted(imported & {*HEAVY, "numpy"})


def test_no_subcommand_help_imports_a_heavy_module():
    """Each subcommand's --help in turn, in one fresh interpreter, noting which heavy modules each one adds."""
    script = """
import io, json, sys, contextlib
from evalkit.cli import cli
heavy = %r
paths = %r
added = {}
for path in paths:
    before = {m for m in heavy if m in sys.modules}
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            cli.main(args=[*path, "--help"], prog_name="evalkit")
        except SystemExit:
            pass
    added[" ".join(path)] = sorted({m for m in heavy if m in sys.modules} - before)
print(json.dumps(added))
""" % (HEAVY, [list(p) for p in COMMANDS])
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=cli_env(), timeout=120)
    assert proc.returncode == 0, proc.stderr
    added = json.loads(proc.stdout)
    assert {k: v for k, v in added.items() if v} == {}


# ---- one vocabulary ------------------------------------------------------------------------------------------
def test_commands_that_run_a_suite_share_the_run_vocabulary():
    shared = {"--suite", "--agent", "--trials", "--seed", "--jobs", "--executor", "--ray-address", "--timeout",
              "--output-dir", "--json", "--quiet"}
    for path in [("run",), ("gate",)]:
        assert shared <= set(options(COMMANDS[path])), path
    run, gate = options(COMMANDS[("run",)]), options(COMMANDS[("gate",)])
    for opt in ("--seed", "--jobs", "--timeout", "--executor", "--trials", "--tracking-uri"):
        assert run[opt].default == gate[opt].default, opt


@pytest.mark.parametrize("path", list(COMMANDS), ids=ids(COMMANDS))
def test_tracking_option_is_spelled_tracking_uri_and_names_the_environment_variable(path):
    opts = options(COMMANDS[path])
    spelled = [o for o in opts if "tracking" in o or o in ("--uri", "--mlflow", "--mlflow-uri")]
    assert spelled in ([], ["--tracking-uri"])
    if spelled:
        assert "MLFLOW_TRACKING_URI" in (opts["--tracking-uri"].help or "")
        # the Store reads the variable itself, so its errors can say where a bad URI came from
        assert opts["--tracking-uri"].envvar is None


STORE_COMMANDS = {
    "baseline history": ["baseline", "history", "--suite", "core"],
    "baseline current": ["baseline", "current", "--suite", "core"],
    "sync": ["sync", "--list"],
    "drift": ["drift", "--suite", "core", "--output-dir", "report"],
    "run": ["run", "--suite", "smoke", "--agent", "reference:v1", "--trials", "1"],
    "gate": ["gate", "--suite", "smoke", "--agent", "reference:v1", "--trials", "1"],
}


@pytest.mark.parametrize("args", list(STORE_COMMANDS.values()), ids=list(STORE_COMMANDS))
def test_a_bad_tracking_uri_from_the_environment_is_blamed_on_the_variable(args, capsys, monkeypatch, tmp_path):
    """Before any run: the one error line names MLFLOW_TRACKING_URI, not an option the user never passed."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "ftp://mlflow.example/x")
    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == 2
    error_line(capsys.readouterr().err, "MLFLOW_TRACKING_URI: uri 'ftp://mlflow.example/x'", "use http(s)://")


@pytest.mark.parametrize("path", list(COMMANDS), ids=ids(COMMANDS))
def test_output_folders_are_called_output_dir(path):
    opts = set(options(COMMANDS[path]))
    assert opts.isdisjoint({"--out", "--output", "--outdir", "--out-dir", "--dir", "--reports"})


@pytest.mark.parametrize("path", [("run",), ("gate",), ("compare",), ("agents",), ("baseline", "history")],
                         ids=ids([("run",), ("gate",), ("compare",), ("agents",), ("baseline", "history")]))
def test_commands_with_results_offer_json(path):
    assert "--json" in options(COMMANDS[path])


# ---- errors and exit codes -----------------------------------------------------------------------------------
@pytest.mark.parametrize("args, needles", [
    (["--bogus"], ("No such option '--bogus'", "evalkit --help")),
    (["bogus"], ("No such command 'bogus'", "evalkit --help")),
    (["gate", "--suite", "smoke", "--agent", "reference:v1", "--jobs", "two"],
     ("Invalid value for '--jobs'", "evalkit gate --help")),
    (["suite", "show", "no-such-suite", "x-001"], ("no-such-suite",)),
    (["report", "no-such-run.parquet"], ("no-such-run.parquet", "not found")),
])
def test_console_entry_point_prints_user_errors_in_one_line_and_exits_2(args, needles, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == 2
    out, err = capsys.readouterr()
    error_line(err, *needles)


def test_console_entry_point_exits_with_the_code_the_command_chose(tmp_path, monkeypatch, capsys):
    """`compare` raises click's Exit(1) on a regression; the entry point must not turn it into 0."""
    monkeypatch.chdir(tmp_path)
    cand, base = trade_off_tables()
    cand.to_parquet(tmp_path / "c.parquet")
    base.to_parquet(tmp_path / "b.parquet")
    with pytest.raises(SystemExit) as exc:
        main(["compare", "c.parquet", "b.parquet", "--suite", "core"])
    assert exc.value.code == 1
    with pytest.raises(SystemExit) as exc:
        main(["compare", "b.parquet", "b.parquet", "--suite", "core"])
    assert exc.value.code == 0
    assert "REGRESSION" in capsys.readouterr().out


def test_bare_group_prints_its_help(capsys):
    with pytest.raises(SystemExit):
        main(["baseline"])
    out, err = capsys.readouterr()
    assert "Usage: evalkit baseline" in out + err and "promote" in out + err
