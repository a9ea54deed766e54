"""The cmd: adapter: JSON-lines protocol, isolation (process group, environment, working directory),
stderr capture, every failure class, and the shipped Node.js and bash example agents end to end."""

from __future__ import annotations

import json
import os
import pickle
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fakes.worlds import slow_query_world
from process_scan import left_running, new_token, running_with

from evalkit.agents import load_agent
from evalkit.agents.sandbox import SandboxSettings
from evalkit.agents.base import (AgentCrash, AgentExit, AgentTimeout, BudgetExceeded, Finding)
from evalkit.agents.subprocess_agent import STDERR_CAP
from evalkit.errors import UserError
from evalkit.vocab import SandboxMode
from evalkit.world.toolbox import TOOL_SCHEMAS, Toolbox
from system_support import needs_bwrap

REPO = Path(__file__).resolve().parents[1]
FAKE = Path(__file__).resolve().parent / "fakes" / "subprocess_agents.py"
NODE_AGENT = REPO / "examples" / "agents" / "node" / "agent.js"
BASH_AGENT = REPO / "examples" / "agents" / "bash" / "agent.sh"
needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")


def fake(mode: str, *args: str, **options):
    options.setdefault("timeout_s", 20)
    return load_agent("cmd:" + shlex.join([sys.executable, str(FAKE), mode, *args]), **options)


@pytest.fixture
def world():
    return slow_query_world()


def _gone(pid: int, within_s: float = 5.0) -> bool:
    """True once the process no longer runs (absent or a zombie awaiting its reaper)."""
    end = time.monotonic() + within_s
    while True:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                state = fh.read().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state in ("Z", "X"):
            return True
        if time.monotonic() > end:
            return False
        time.sleep(0.02)


# --- the protocol ---------------------------------------------------------------------------------
@needs_bwrap
def test_cmd_agent_gets_start_serves_tool_calls_and_returns_its_final_finding(world):
    tb = Toolbox(world, max_calls=17)
    finding = fake("good").investigate(world.alert, tb, seed=41)
    assert isinstance(finding, Finding)
    assert [h.component for h in finding.hypotheses] == ["api-gateway"]
    assert finding.usage == {"tokens_in": 12.0, "tokens_out": 3.0}
    assert [c.tool for c in tb.trajectory] == ["get_alert"]
    seen = json.loads(finding.stderr.strip().splitlines()[-1])
    assert seen["seed"] == 41 and seen["max_calls"] == 17
    assert seen["tools"] == list(TOOL_SCHEMAS)
    assert seen["refs"] == ["monitor:api-gateway"]


@needs_bwrap
def test_cmd_agent_without_a_timeout_still_completes(world):
    agent = fake("good", timeout_s=None)
    assert agent.timeout_s is None
    assert agent.investigate(world.alert, Toolbox(world), 0).hypotheses[0].component == "api-gateway"


@needs_bwrap
def test_cmd_agent_environment_is_scrubbed_to_path_home_lang_and_passed_variables(world, monkeypatch):
    monkeypatch.setenv("EVALKIT_TEST_SECRET", "do-not-leak")
    monkeypatch.setenv("EVALKIT_TEST_PASSED", "passed-value")
    agent = fake("env", pass_env=["EVALKIT_TEST_PASSED"], env={"AGENT_MODE": "strict"})
    env = json.loads(agent.investigate(world.alert, Toolbox(world), 0).stderr.strip().splitlines()[-1])
    assert env["EVALKIT_TEST_PASSED"] == "passed-value"
    assert env["AGENT_MODE"] == "strict"
    assert "EVALKIT_TEST_SECRET" not in env
    allowed = {"PATH", "HOME", "LANG", "EVALKIT_TEST_PASSED", "AGENT_MODE", "LC_CTYPE",  # LC_CTYPE: PEP 538
               "PWD"}  # PWD: set by the sandbox to the working folder
    assert set(env) <= allowed
    assert env["PATH"] == os.environ["PATH"]


@needs_bwrap
def test_cmd_agent_runs_in_a_fresh_temporary_directory_that_is_removed(world):
    finding = fake("write_cwd").investigate(world.alert, Toolbox(world), 0)
    workdir = Path(finding.stderr.strip())
    assert workdir != Path.cwd() and REPO not in workdir.parents
    assert not workdir.exists()


@needs_bwrap
def test_tool_errors_are_returned_to_the_agent_which_can_recover(world):
    tb = Toolbox(world)
    finding = fake("tool_error").investigate(world.alert, tb, 0)
    reply = json.loads(finding.stderr.strip())
    assert reply["type"] == "tool_result" and reply["id"] == "q1" and reply["ok"] is False
    assert "unknown component" in reply["error"]
    assert tb.trajectory[0].error is not None


def test_pass_env_naming_an_unset_variable_is_a_user_error(monkeypatch):
    monkeypatch.delenv("EVALKIT_TEST_UNSET", raising=False)
    with pytest.raises(UserError, match="EVALKIT_TEST_UNSET"):
        fake("good", pass_env=["EVALKIT_TEST_UNSET"])


def test_unknown_cmd_option_is_a_user_error():
    with pytest.raises(UserError, match="cmd: agents accept"):
        fake("good", temperature=0.3)


# --- failure classes ------------------------------------------------------------------------------
@needs_bwrap
def test_non_zero_exit_carries_the_agents_stderr(world):
    with pytest.raises(AgentExit, match="code 3") as info:
        fake("exit").investigate(world.alert, Toolbox(world), 0)
    assert "fatal: cannot continue" in info.value.stderr


@needs_bwrap
def test_call_budget_exhaustion_is_budget_exceeded(world):
    tb = Toolbox(world, max_calls=5)
    with pytest.raises(BudgetExceeded):
        fake("budget").investigate(world.alert, tb, 0)
    assert len(tb.trajectory) == 5


@needs_bwrap
@pytest.mark.parametrize("mode", ["no_read", "close_stdout_and_hang", "deaf"])
def test_an_agent_that_never_answers_times_out(world, mode):
    alert = dict(world.alert)
    if mode == "deaf":  # a start message far larger than a pipe buffer: the write itself must be bounded
        alert["runbook"] = "x" * 2_000_000
    # These agents sleep 300 s and then exit 0: an adapter that waited for them would report their exit, not a timeout.
    with pytest.raises(AgentTimeout, match="timeout"):
        fake(mode, timeout_s=1.0).investigate(alert, Toolbox(world), 0)


SANDBOXES = [pytest.param(SandboxSettings(), id="sandboxed", marks=needs_bwrap),
             pytest.param(SandboxSettings(mode=SandboxMode.NONE), id="unsandboxed")]


@pytest.mark.parametrize("sandbox", SANDBOXES)
def test_timeout_kills_the_agent_and_the_children_it_spawned(world, sandbox):
    token = new_token()
    with pytest.raises(AgentTimeout):
        fake("hang_with_child", token, timeout_s=2.0, sandbox=sandbox).investigate(world.alert, Toolbox(world), 0)
    assert left_running(token) == []


@pytest.mark.parametrize("sandbox", SANDBOXES)
def test_processes_left_running_after_final_are_killed(world, sandbox):
    token = new_token()
    finding = fake("linger_after_final", token, sandbox=sandbox).investigate(world.alert, Toolbox(world), 0)
    assert finding.hypotheses[0].component == "api-gateway"
    assert left_running(token) == []


@needs_bwrap
def test_a_sandboxed_grandchild_in_its_own_session_ends_with_the_investigation(world):
    token = new_token()
    finding = fake("setsid_child", token).investigate(world.alert, Toolbox(world), 0)
    assert finding.hypotheses[0].component == "api-gateway"
    assert left_running(token) == []


@pytest.mark.parametrize("sandbox", SANDBOXES)
def test_an_agent_that_exits_while_a_descendant_holds_its_stdout_is_recorded_at_once(world, sandbox):
    """Not after the 60 s timeout: the adapter watches the agent process itself, not only its pipes."""
    token = new_token()
    with pytest.raises(AgentExit, match="code 3"):
        fake("exit_leaving_child_on_stdout", token, timeout_s=60, sandbox=sandbox).investigate(
            world.alert, Toolbox(world), 0)
    if sandbox.enabled:  # unsandboxed, a setsid descendant can leave the process group: only the sandbox ends it
        assert left_running(token) == []
    for pid in running_with(token):
        os.kill(pid, signal.SIGKILL)


@needs_bwrap
def test_stderr_is_captured_up_to_a_cap_keeping_the_tail(world):
    finding = fake("stderr_flood").investigate(world.alert, Toolbox(world), 0)
    assert finding.stderr.rstrip().endswith("TAIL-MARKER")
    assert len(finding.stderr.encode()) <= STDERR_CAP + 100


@needs_bwrap
def test_a_command_that_cannot_be_executed_is_an_agent_crash(world, tmp_path):
    script = tmp_path / "not-executable.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(0o644)
    with pytest.raises(AgentCrash, match="cannot start"):
        load_agent(f"cmd:{script}").investigate(world.alert, Toolbox(world), 0)


# --- build ids and specs --------------------------------------------------------------------------
@needs_bwrap
def test_cmd_build_id_is_stable_and_follows_the_script_content(tmp_path):
    script = tmp_path / "agent.py"
    script.write_text("print('v1')\n")
    spec = f"cmd:{sys.executable} {script}"
    first, again = load_agent(spec), load_agent(spec)
    assert str(first.build) == str(again.build)
    assert first.build.name == "agent.py" and first.build.git_sha is None
    script.write_text("print('v2')\n")
    assert str(load_agent(spec).build) != str(first.build)
    assert str(load_agent(f"cmd:{sys.executable}  {script} --flag").build) != str(load_agent(spec).build)


@needs_bwrap
def test_cmd_build_id_carries_the_git_sha_of_the_scripts_repository():
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True)
    if head.returncode != 0:
        pytest.skip("not a git checkout")
    agent = load_agent(f"cmd:bash {BASH_AGENT}")
    assert agent.build.git_sha == head.stdout.strip()
    assert str(agent.build).endswith("@" + head.stdout.strip()[:12])


@needs_bwrap
def test_relative_script_paths_are_resolved_against_the_launch_directory(world, monkeypatch):
    monkeypatch.chdir(FAKE.parent)
    agent = load_agent(f"cmd:{sys.executable} {FAKE.name} good")
    assert agent.argv[1] == str(FAKE)
    assert agent.investigate(world.alert, Toolbox(world), 0).hypotheses[0].component == "api-gateway"


@needs_bwrap
def test_cmd_agent_pickles_as_its_spec(world):
    agent = fake("good")
    clone = pickle.loads(pickle.dumps(agent))
    assert str(clone.build) == str(agent.build) and clone.timeout_s == agent.timeout_s
    assert clone.investigate(world.alert, Toolbox(world), 0).hypotheses[0].component == "api-gateway"


# --- the shipped example agents -------------------------------------------------------------------
@needs_bwrap
@needs_node
def test_node_example_agent_investigates_and_finds_the_slow_query(world):
    tb = Toolbox(world)
    finding = load_agent(f"cmd:node {NODE_AGENT}").investigate(world.alert, tb, seed=3)
    top = finding.hypotheses[0]
    assert (top.component, top.fault_type) == ("orders-db", "slow_query")
    assert "metric:orders-db:query_time_p99_ms" in top.evidence
    tools = [c.tool for c in tb.trajectory]
    assert tools[:2] == ["list_components", "get_topology"] and "query_metric" in tools
    assert len(tb.trajectory) <= 60
    assert "alert:" in finding.stderr  # its log lines went to stderr and were captured
    assert sum(h.confidence for h in finding.hypotheses) == pytest.approx(1.0, abs=0.01)


@needs_bwrap
@needs_node
def test_node_example_agent_is_deterministic_for_a_seed_and_respects_the_call_budget(world):
    agent = load_agent(f"cmd:node {NODE_AGENT}")
    runs = []
    for _ in range(2):
        tb = Toolbox(world, max_calls=12)
        runs.append((agent.investigate(world.alert, tb, seed=11).to_dict()["hypotheses"],
                     [(c.tool, c.args) for c in tb.trajectory]))
    assert runs[0] == runs[1]
    assert len(runs[0][1]) <= 12


@needs_bwrap
@pytest.mark.skipif(shutil.which("jq") is None, reason="jq is not installed")
def test_bash_example_agent_answers_with_the_alerting_components_dependency(world):
    finding = load_agent(f"cmd:bash {BASH_AGENT}").investigate(world.alert, Toolbox(world), 0)
    assert [h.component for h in finding.hypotheses] == ["checkout", "api-gateway"]
    assert "suspect: checkout" in finding.stderr


def test_a_project_agent_names_files_relative_to_the_project_also_from_a_subfolder(tmp_path):
    from evalkit.agents.subprocess_agent import resolve_argv

    (tmp_path / "evalkit.toml").write_text("[evalkit]\nagent = \"cmd:python3 my_agent.py\"\n")
    (tmp_path / "my_agent.py").write_text("print('hi')\n")
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    argv, script, _ = resolve_argv(["python3", "my_agent.py"], tmp_path / "sub" / "deeper", "cmd:python3 my_agent.py",
                                   None)
    assert argv[1] == str((tmp_path / "my_agent.py").resolve()) and script == (tmp_path / "my_agent.py").resolve()
    (tmp_path / "sub" / "deeper" / "my_agent.py").write_text("print('here')\n")  # the working folder comes first
    argv, _, _ = resolve_argv(["python3", "my_agent.py"], tmp_path / "sub" / "deeper", "cmd:x", None)
    assert argv[1] == str((tmp_path / "sub" / "deeper" / "my_agent.py").resolve())
