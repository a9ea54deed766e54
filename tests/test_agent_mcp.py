"""The mcp: adapter: evalkit serves each trial's Toolbox over MCP (stdio bridge or streamable HTTP) to an agent
that is an MCP client; the agent learns where from a config file and environment variables, and every way
a trial can end maps to the error class a cmd: agent's would."""

from __future__ import annotations

import json
import pickle
import shlex
import sys
from pathlib import Path

import pytest
from fakes.worlds import slow_query_world

from evalkit.agents import load_agent
from evalkit.agents.base import (AgentExit, AgentTimeout, BudgetExceeded, Finding, MalformedOutput)
from evalkit.agents.mcp_agent import McpAgent
from evalkit.agents.mcp_tools import REFS_KEY, SUBMIT_TOOL
from evalkit.agents.sandbox import SandboxSettings
from evalkit.errors import UserError
from evalkit.vocab import SandboxMode
from evalkit.world.toolbox import TOOL_SCHEMAS, Toolbox
from system_support import needs_bwrap

pytest.importorskip("mcp")

REPO = Path(__file__).resolve().parents[1]
FAKE = Path(__file__).resolve().parent / "fakes" / "mcp_agents.py"
EXAMPLE = REPO / "examples" / "agents" / "mcp" / "agent.py"


def fake(mode: str, *args: str, **options) -> McpAgent:
    options.setdefault("timeout_s", 30)
    agent = load_agent("mcp:" + shlex.join([sys.executable, str(FAKE), mode, *args]), **options)
    assert isinstance(agent, McpAgent)
    return agent


def last_json(stderr: str):
    return json.loads(stderr.strip().splitlines()[-1])


@pytest.fixture
def world():
    return slow_query_world()


@needs_bwrap
@pytest.mark.parametrize("transport", ["stdio", "http"])
def test_an_mcp_agent_reads_its_trial_calls_tools_and_ends_with_its_submitted_finding(world, transport):
    tb = Toolbox(world, max_calls=17)
    finding = fake("good", transport=transport).investigate(dict(world.alert), tb, seed=41)
    assert isinstance(finding, Finding)
    assert [h.component for h in finding.hypotheses] == ["api-gateway"]
    assert finding.usage == {"tokens_in": 12.0, "tokens_out": 3.0}
    assert [c.tool for c in tb.trajectory] == ["get_alert"], "tool calls are recorded; submit_finding is not one"
    seen = last_json(finding.stderr)
    assert seen["trial"] == {"alert": world.alert, "seed": 41, "max_calls": 17, "timeout_s": 30}
    assert seen["alert_meta"][REFS_KEY] == ["monitor:api-gateway"]


@needs_bwrap
def test_the_server_offers_every_toolbox_tool_with_its_schema_and_submit_finding(world):
    finding = fake("tools").investigate(dict(world.alert), Toolbox(world), 0)
    tools = {t["name"]: t for t in json.loads(finding.stderr.strip().splitlines()[0])}
    assert list(tools) == [*TOOL_SCHEMAS, SUBMIT_TOOL]
    for name, schema in TOOL_SCHEMAS.items():
        assert tools[name]["inputSchema"] == schema["parameters"]
        assert tools[name]["description"] == schema["description"]


@needs_bwrap
def test_the_agent_environment_is_scrubbed_and_names_the_config_and_trial_files(world, monkeypatch):
    monkeypatch.setenv("EVALKIT_TEST_SECRET", "do-not-leak")
    finding = fake("env", env={"AGENT_MODE": "strict"}).investigate(dict(world.alert), Toolbox(world), 0)
    env = json.loads(finding.stderr.strip().splitlines()[0])
    assert "EVALKIT_TEST_SECRET" not in env and env["AGENT_MODE"] == "strict"
    assert set(env) <= {"PATH", "HOME", "LANG", "LC_CTYPE", "PWD", "AGENT_MODE", "EVALKIT_MCP_CONFIG",
                        "EVALKIT_MCP_TRANSPORT", "EVALKIT_TRIAL"}
    assert env["EVALKIT_MCP_TRANSPORT"] == "stdio"
    assert Path(env["EVALKIT_MCP_CONFIG"]).parent == Path(env["HOME"]), "files live in the agent's working folder"


@needs_bwrap
def test_tool_errors_are_results_the_agent_can_recover_from(world):
    tb = Toolbox(world)
    finding = fake("tool_error").investigate(dict(world.alert), tb, 0)
    reply = json.loads(finding.stderr.strip().splitlines()[0])
    assert reply["is_error"] is True and "unknown component" in reply["text"]
    assert [c.tool for c in tb.trajectory] == ["get_alert", "list_metrics"] and tb.trajectory[1].error


@needs_bwrap
def test_a_failed_trial_carries_the_agents_stderr(world):
    with pytest.raises(AgentExit, match="code 3") as info:
        fake("exit").investigate(dict(world.alert), Toolbox(world), 0)
    assert "fatal: cannot continue" in info.value.stderr


@needs_bwrap
def test_call_budget_exhaustion_is_budget_exceeded(world):
    tb = Toolbox(world, max_calls=5)
    with pytest.raises(BudgetExceeded) as info:
        fake("budget").investigate(dict(world.alert), tb, 0)
    assert info.value.error_class == "budget_exceeded"
    assert len(tb.trajectory) == 5


@needs_bwrap
@pytest.mark.parametrize("mode", ["hang", "hang_connected"])
def test_an_agent_that_never_submits_times_out(world, mode):
    with pytest.raises(AgentTimeout, match="timeout") as info:
        fake(mode, timeout_s=2.0).investigate(dict(world.alert), Toolbox(world), 0)
    assert info.value.error_class == "timeout"


@needs_bwrap
def test_an_agent_still_running_after_its_finding_is_ended(world):
    finding = fake("linger").investigate(dict(world.alert), Toolbox(world), 0)
    assert finding.hypotheses[0].component == "api-gateway"


@needs_bwrap
def test_the_sandboxed_agent_sees_neither_the_suite_nor_its_truth(world):
    truth_file = next((REPO / "suites" / "smoke" / "truth").glob("*.json"), None)
    if truth_file is None:
        pytest.skip("suites/smoke is not installed")
    assert truth_file.exists()
    finding = fake("peek", str(truth_file)).investigate(dict(world.alert), Toolbox(world), 0)
    assert json.loads(finding.stderr.strip().splitlines()[0]) == {"visible": False}


@needs_bwrap
def test_stdio_works_in_the_strict_sandbox_without_a_network(world):
    agent = fake("good", sandbox=SandboxSettings(mode=SandboxMode.STRICT))
    assert agent.investigate(dict(world.alert), Toolbox(world), 0).hypotheses[0].component == "api-gateway"


@pytest.mark.parametrize("options, fix", [
    ({"transport": "carrier-pigeon"}, "give one of stdio, http"),
    ({"transport": "http", "sandbox": SandboxSettings(mode=SandboxMode.STRICT)}, "use transport=stdio"),
    ({"temperature": 0.2}, "mcp: agents accept"),
])
def test_bad_mcp_options_are_one_line_user_errors(options, fix):
    with pytest.raises(UserError, match=fix) as info:
        fake("good", **options)
    assert "\n" not in str(info.value)


@needs_bwrap
def test_an_mcp_agent_pickles_as_its_spec_and_keeps_its_build_and_transport():
    agent = fake("good", transport="http")
    clone = pickle.loads(pickle.dumps(agent))
    assert str(clone.build) == str(agent.build) and clone.transport == "http"
    assert str(load_agent(agent.spec, transport="stdio", timeout_s=30).build) == str(agent.build), \
        "the transport is how the agent is reached, not what it is"


@needs_bwrap
@pytest.mark.parametrize("transport", ["stdio", "http"])
def test_the_mcp_example_agent_finds_the_slow_query(world, transport):
    agent = load_agent(f"mcp:{shlex.quote(sys.executable)} {EXAMPLE}", transport=transport, timeout_s=60)
    tb = Toolbox(world)
    finding = agent.investigate(dict(world.alert), tb, seed=3)
    top = finding.hypotheses[0]
    assert (top.component, top.fault_type) == ("orders-db", "slow_query")
    assert any(e.startswith("metric:orders-db:") for e in top.evidence), "it cites the series it read"
    assert tb.trajectory[0].tool == "get_topology"


@needs_bwrap
def test_mcp_plus_http_names_the_http_transport_on_the_command_line():
    from evalkit.run.executors import local_mode_for

    spec = "mcp+http:" + shlex.join([sys.executable, str(FAKE), "good"])
    agent = load_agent(spec, timeout_s=30)
    assert isinstance(agent, McpAgent) and agent.transport == "http"
    assert str(agent.build) == str(fake("good").build)
    assert local_mode_for(spec) == local_mode_for("mcp:x") == "threads"


@needs_bwrap
def test_a_message_over_the_limit_ends_an_http_trial_too(world):
    with pytest.raises(MalformedOutput, match="limit") as info:
        fake("huge_call", transport="http").investigate(dict(world.alert), Toolbox(world), 0)
    assert info.value.error_class == "malformed_output"
