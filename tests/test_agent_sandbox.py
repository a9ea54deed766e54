"""The sandbox as a user meets it: on by default for cmd: agents, recorded with the run, refused in one line
where it cannot work, whitelists that would show the truth refused; a broken agent stops the run in
seconds (--fail-fast) and `evalkit agents check` shows why; `run --scenario/--limit` try an agent small."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pytest
from fakes.worlds import slow_query_world
from gate_support import error_line
from system_support import needs_bwrap

from evalkit.agents import load_agent
from evalkit.agents import sandbox as sb
from evalkit.agents.base import MalformedOutput
from evalkit.agents.sandbox import SandboxSettings
from evalkit.cli import main
from evalkit.errors import UserError
from evalkit.run import run_suite
from evalkit.run.config import NO_JOURNAL, RunConfig, SandboxConfig
from evalkit.run.outputs import read_outputs
from evalkit.vocab import SandboxMode
from evalkit.world.toolbox import Toolbox

REPO = Path(__file__).resolve().parents[1]
SMOKE = str(REPO / "suites" / "smoke")
BASH_AGENT = REPO / "examples" / "agents" / "bash" / "agent.sh"
FAKE = REPO / "tests" / "fakes" / "subprocess_agents.py"
BROKEN = """#!/usr/bin/env bash
# its tool_call goes into a variable, never to stdout; then it waits for the reply forever
read -r start
call=$(echo '{"type":"tool_call","id":1,"tool":"get_alert","args":{}}')
read -r reply
"""


def _main(args, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(args)
    out = capsys.readouterr()
    return exit_.value.code, out.out, out.err


@pytest.fixture
def broken_agent(tmp_path) -> str:
    script = tmp_path / "broken.sh"
    script.write_text(BROKEN)
    script.chmod(0o755)
    return f"cmd:{script}"


@needs_bwrap
def test_cmd_agents_are_sandboxed_by_default_and_the_run_records_it(tmp_path, capsys):
    code, out, err = _main(["run", "--suite", SMOKE, "--agent", f"cmd:bash {BASH_AGENT}", "--limit", "2",
                            "--trials", "1", "--no-log", "--fresh", "--journal-dir", str(tmp_path / "j"),
                            "--output-dir", str(tmp_path / "out")], capsys)
    assert code == 0, err
    assert "sandbox on" in out
    assert read_outputs(tmp_path / "out").meta["sandbox"] == "on"


def test_the_opt_out_is_recorded_and_warned_about(tmp_path, capsys):
    code, out, err = _main(["run", "--suite", SMOKE, "--agent", f"cmd:bash {BASH_AGENT}", "--limit", "1",
                            "--trials", "1", "--no-log", "--fresh", "--sandbox", "none",
                            "--journal-dir", str(tmp_path / "j"), "--output-dir", str(tmp_path / "out")], capsys)
    assert code == 0, err
    assert "sandbox none" in out and "warning: the agent ran unsandboxed" in out
    assert read_outputs(tmp_path / "out").meta["sandbox"] == "none"


def test_python_agents_are_recorded_as_trusted_in_process_code(tmp_path):
    result = run_suite(SMOKE, "reference:v1", RunConfig(trials=1, journal=NO_JOURNAL), limit=1)
    assert result.meta["sandbox"] == "in-process"


@pytest.mark.parametrize("spec", ["reference:v1", "fakes.py_agents:agent"])
def test_an_isolated_python_agent_is_recorded_with_its_sandbox_mode_as_it_runs_in_one(spec):
    # spec.py puts reference: and python: agents alike in the sandbox with --isolate; the record must agree
    assert sb.label(spec, SandboxSettings(isolate=True)) == "on"
    assert sb.label(spec, SandboxSettings(mode=SandboxMode.STRICT, isolate=True)) == "strict"
    assert sb.label(spec, SandboxSettings()) == "in-process"


def test_without_bubblewrap_a_cmd_agent_is_refused_in_one_line_with_the_install_hint(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(sb, "bwrap_path", lambda: None)
    code, _, err = _main(["run", "--suite", SMOKE, "--agent", f"cmd:bash {BASH_AGENT}", "--no-log",
                          "--journal-dir", str(tmp_path / "j")], capsys)
    assert code == 2
    error_line(err, "--sandbox", "apt-get install bubblewrap", "--sandbox none")


@needs_bwrap
@pytest.mark.parametrize("whitelist", ["suite", "checkout", "inside-suite"])
def test_a_whitelisted_path_that_would_show_the_truth_is_refused(whitelist, tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    path = {"suite": REPO / "suites", "checkout": REPO.parent, "inside-suite": REPO / "suites" / "smoke" / "truth"}
    settings = SandboxSettings(paths=(str(path[whitelist]),), protect=(SMOKE,))
    with pytest.raises(UserError, match="--agent-path"):
        load_agent(f"cmd:bash {BASH_AGENT}", sandbox=settings)


@needs_bwrap
def test_the_folder_the_gate_writes_reports_to_by_default_is_never_shown(tmp_path, monkeypatch):
    (tmp_path / "evalkit-reports").mkdir()  # an earlier gate's reports name the expected components
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UserError, match="--agent-path"):
        load_agent(f"cmd:bash {BASH_AGENT}", sandbox=SandboxSettings(paths=("evalkit-reports",)))


@needs_bwrap
@pytest.mark.parametrize("folder", ["reports", "baselines"])
def test_the_gate_hides_its_report_and_baseline_folders_wherever_they_are(folder, tmp_path, tmp_path_factory, capsys,
                                                                            embedded_store_template):
    from gate_support import gate_args, smoke_baseline

    baseline = smoke_baseline(tmp_path_factory, embedded_store_template)
    out = tmp_path / "gate"
    shown = {"reports": out / "reports", "baselines": Path(baseline.baselines_dir)}[folder]
    shown.mkdir(parents=True, exist_ok=True)
    args = gate_args(baseline.suite, f"cmd:bash {BASH_AGENT}", baselines_dir=baseline.baselines_dir,
                     tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}", out=out, extra=("--agent-path", str(shown)))
    code, _, err = _main(args, capsys)
    assert code == 2
    assert "--agent-path" in err and str(shown.resolve()) in err


@needs_bwrap
def test_strict_mode_takes_the_network_away():
    argv = sb.prefix(SandboxSettings(mode=SandboxMode.STRICT), [])
    assert "--unshare-net" in argv
    assert "--unshare-net" not in sb.prefix(SandboxSettings(), [])


@needs_bwrap
@pytest.mark.parametrize("passed", [True, False], ids=["lifeline passed", "lifeline missing"])
def test_the_watchdog_leaves_the_agent_alone_while_evalkit_lives_and_quietly_without_its_lifeline(passed, tmp_path):
    """The sandbox's watchdog kills only once evalkit's lifeline reads end-of-file; a bwrap that did not pass the
    descriptor on leaves the agent to run (and to --die-with-parent) as before."""
    import subprocess

    argv = sb.command(sb.prefix(SandboxSettings(), []), ["/bin/sh", "-c", "sleep 0.5; echo answered"], str(tmp_path))
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60,
                          pass_fds=(sb.lifeline(),) if passed else ())
    assert (proc.returncode, proc.stdout) == (0, "answered\n"), proc.stderr


def test_a_program_folder_that_holds_the_working_directory_is_never_mounted_whole(tmp_path):
    script = tmp_path / "agent.py"
    mounts = sb.program_mounts(None, script, cwd=tmp_path)
    assert mounts == [script]
    nested = tmp_path / "agents" / "agent.py"
    assert sb.program_mounts(None, nested, cwd=tmp_path) == [nested.parent]


@pytest.mark.parametrize("mode", [SandboxMode.ON, SandboxMode.NONE])
def test_an_agent_waiting_for_a_reply_it_never_asked_for_is_caught_at_once(broken_agent, mode):
    """Not after the timeout: its tool_call never reached stdout and both sides wait."""
    if mode is SandboxMode.ON and sb.bwrap_path() is None:
        pytest.skip("bubblewrap (bwrap) is not installed")
    world = slow_query_world()
    agent = load_agent(broken_agent, timeout_s=600, sandbox=SandboxSettings(mode=mode))
    with pytest.raises(MalformedOutput, match="waiting to read stdin.*first message"):
        agent.investigate(world.alert, Toolbox(world), 0)


def test_a_broken_agent_stops_the_run_after_the_first_trials_with_exit_2(broken_agent, tmp_path, capsys):
    code, _, err = _main(["run", "--suite", SMOKE, "--agent", broken_agent, "--no-log", "--sandbox", "none", "--quiet",
                          "--journal-dir", str(tmp_path / "j"), "--output-dir", str(tmp_path / "out")], capsys)
    assert code == 2
    error_line(err, "the first 5 trials all failed", "waiting to read stdin", "evalkit agents check")
    assert not (tmp_path / "out").exists()


def test_an_agent_that_hangs_on_every_trial_stops_after_n_trials_not_all():
    spec = "cmd:" + shlex.join([sys.executable, str(FAKE), "no_read"])
    config = RunConfig(trials=1, timeout_s=0.5, fail_fast=2, journal=NO_JOURNAL,
                       sandbox=SandboxConfig(mode=SandboxMode.NONE))
    with pytest.raises(UserError, match="first 2 trials all failed.*timeout"):
        run_suite(SMOKE, spec, config)


def test_fail_fast_zero_runs_every_trial(broken_agent):
    config = RunConfig(trials=1, fail_fast=0, journal=NO_JOURNAL, sandbox=SandboxConfig(mode=SandboxMode.NONE))
    result = run_suite(SMOKE, broken_agent, config, limit=3)
    assert list(result.table["error_class"]) == ["malformed_output"] * 3


def test_agents_check_prints_the_protocol_exchange_and_exits_0_on_a_finding(capsys):
    code, out, _ = _main(["agents", "check", f"cmd:bash {BASH_AGENT}", "--sandbox", "none"], capsys)
    assert code == 0
    assert "evalkit -> agent  {\"type\":\"start\"" in out and "agent -> evalkit  {\"type\":\"tool_call\"" in out
    assert "ok: finding with" in out


def test_agents_check_names_the_missing_message_and_exits_2(broken_agent, capsys):
    code, out, _ = _main(["agents", "check", broken_agent, "--sandbox", "none"], capsys)
    assert code == 2
    assert "failed: malformed_output" in out and "waiting to read stdin" in out


def test_run_limit_takes_one_scenario_per_category_in_turn(tmp_path, capsys):
    code, _, err = _main(["run", "--suite", SMOKE, "--agent", "reference:v1", "--limit", "3", "--trials", "1",
                          "--no-log", "--quiet", "--journal-dir", str(tmp_path / "j"),
                          "--output-dir", str(tmp_path / "out")], capsys)
    assert code == 0, err
    table = read_outputs(tmp_path / "out").table
    assert len(table) == 3 and table["category"].nunique() == 3


def test_run_scenario_runs_just_the_named_ones_and_refuses_unknown_ids(tmp_path, capsys):
    code, _, err = _main(["run", "--suite", SMOKE, "--agent", "reference:v1", "--scenario",
                          "database-slow-query-001", "--trials", "1", "--no-log", "--quiet",
                          "--journal-dir", str(tmp_path / "j"), "--output-dir", str(tmp_path / "out")], capsys)
    assert code == 0, err
    assert list(read_outputs(tmp_path / "out").table["scenario_id"]) == ["database-slow-query-001"]
    code, _, err = _main(["run", "--suite", SMOKE, "--agent", "reference:v1", "--scenario", "ghost-999",
                          "--no-log", "--journal-dir", str(tmp_path / "j")], capsys)
    assert code == 2
    error_line(err, "ghost-999")


@needs_bwrap
def test_an_isolated_python_agent_gives_the_same_build_findings_and_calls_as_in_process():
    runs = {iso: run_suite(SMOKE, "reference:v1", RunConfig(trials=1, journal=NO_JOURNAL, executor="threads",
                                                            sandbox=SandboxConfig(isolate=iso)), limit=2)
            for iso in (False, True)}
    plain, isolated = runs[False], runs[True]
    assert isolated.meta["build_id"] == plain.meta["build_id"]
    assert list(isolated.table["predicted"]) == list(plain.table["predicted"])
    assert [[c["tool"] for c in t["calls"]] for t in isolated.trajectories] == \
        [[c["tool"] for c in t["calls"]] for t in plain.trajectories]
