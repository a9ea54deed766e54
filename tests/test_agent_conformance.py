"""Agent conformance: one parametrised specification every agent implementation passes.

Implementations: the reference builds, a Python agent class and a plain Python function, the anomaly-traversal
baseline, the Node.js example over cmd:, the MCP example over mcp: (stdio and streamable HTTP), and openai: against the scripted chat-completions server. Each must have a BuildId
with a stable str, return a Finding whose components exist in the world, cite well-formed evidence refs,
record its tool calls in the toolbox trajectory, and be deterministic for a seed when it claims to be.
The same agents then run every scenario of ``suites/smoke`` when that suite is installed.
"""

from __future__ import annotations

import importlib.util
import math
import pickle
import shlex
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from fakes.chat_server import ScriptedChatServer, investigator_policy
from fakes.worlds import slow_query_world

from evalkit.agents import Agent, BuildId, Finding, load_agent
from evalkit.world.toolbox import TOOL_SCHEMAS, Toolbox

REPO = Path(__file__).resolve().parents[1]
NODE_AGENT = REPO / "examples" / "agents" / "node" / "agent.js"
MCP_AGENT = f"{shlex.quote(sys.executable)} {REPO / 'examples' / 'agents' / 'mcp' / 'agent.py'}"
SMOKE = REPO / "suites" / "smoke"
REF_KINDS = ("metric:", "logs:", "traces:", "events:", "topology:", "monitor:")


@dataclass(frozen=True)
class Impl:
    id: str
    spec: str
    deterministic: bool
    needs: tuple[str, ...] = ()  # executables that must be installed (bwrap: the default agent sandbox)
    needs_module: str | None = None  # a Python package that must be installed
    options: tuple = ()       # load_agent options, e.g. the determinism claim of a cmd: build


IMPLS = [
    Impl("reference-v1", "reference:v1", True),
    Impl("reference-v2", "reference:v2", True),
    Impl("reference-v3", "reference:v3", True),
    Impl("reference-v4", "reference:v4", True),
    Impl("python-class", "fakes.py_agents:CountingAgent?depth=2", True),
    Impl("python-function", "fakes.py_agents:investigate", True),
    Impl("baseline-traversal", "evalkit.agents.baselines:AnomalyTraversal", True),
    Impl("cmd-node", f"cmd:node {NODE_AGENT}", True, needs=("node", "bwrap"), options=(("deterministic", True),)),
    Impl("mcp-stdio", f"mcp:{MCP_AGENT}", True, needs=("bwrap",), needs_module="mcp", options=(("deterministic", True),)),
    Impl("mcp-http", f"mcp:{MCP_AGENT}", True, needs=("bwrap",), needs_module="mcp",
         options=(("deterministic", True), ("transport", "http"))),
    Impl("openai-scripted", "openai:scripted-investigator", True),
]


@pytest.fixture(scope="module")
def chat_server():
    with ScriptedChatServer(policy=investigator_policy) as srv:
        yield srv


@pytest.fixture(params=IMPLS, ids=[i.id for i in IMPLS])
def impl(request, chat_server):
    impl: Impl = request.param
    missing = [exe for exe in impl.needs if shutil.which(exe) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} is not installed")
    if impl.needs_module and importlib.util.find_spec(impl.needs_module) is None:
        pytest.skip(f"the {impl.needs_module} package is not installed")
    options = {"timeout_s": 30, **dict(impl.options)}
    if impl.spec.startswith("openai:"):
        options.update(base_url=chat_server.base_url, deterministic=True)
    return impl, options


def check_finding_conforms(finding: Finding, world, tb: Toolbox) -> None:
    assert isinstance(finding, Finding)
    assert finding.hypotheses, "a conforming agent names at least one hypothesis on a real incident"
    names = set(world.component_names())
    for h in finding.hypotheses:
        assert h.component in names
        assert math.isfinite(float(h.confidence))
        assert all(isinstance(e, str) and e.startswith(REF_KINDS) for e in h.evidence), h.evidence
    assert isinstance(finding.summary, str)
    assert tb.trajectory, "tool calls are recorded in the toolbox trajectory"
    assert all(c.tool in TOOL_SCHEMAS for c in tb.trajectory)
    assert len(tb.trajectory) <= tb.max_calls


def test_agent_conforms(impl):
    impl, options = impl
    agent = load_agent(impl.spec, **options)
    assert isinstance(agent, Agent)
    assert isinstance(agent.build, BuildId) and agent.build.name and agent.build.version
    build = str(agent.build)
    assert str(load_agent(impl.spec, **options).build) == build, "build id is stable across loads"
    clone = pickle.loads(pickle.dumps(agent))
    assert str(clone.build) == build, "agents travel to workers and keep their build id"

    world = slow_query_world()
    runs = []
    for candidate in (agent, clone):
        tb = Toolbox(world)
        finding = candidate.investigate(dict(world.alert), tb, seed=1234)
        check_finding_conforms(finding, world, tb)
        runs.append((finding.to_dict()["hypotheses"], finding.summary, [(c.tool, c.args) for c in tb.trajectory]))
    if impl.deterministic:
        assert getattr(agent, "deterministic", False) is True
        assert runs[0] == runs[1], "same seed, same finding and trajectory"


@pytest.fixture(scope="module")
def smoke_worlds():
    """(scenario, world) of every smoke scenario, replayed once for all implementations."""
    if not (SMOKE / "suite.toml").exists():
        pytest.skip("suites/smoke is not installed yet")
    suite_mod = pytest.importorskip("evalkit.suite")
    suite = suite_mod.load_suite(SMOKE)
    assert suite.scenarios
    return [(scenario, suite_mod.load_world(scenario)) for scenario in suite.scenarios]


def test_every_adapter_completes_every_smoke_scenario(impl, smoke_worlds):
    impl, options = impl
    if impl.spec.startswith("mcp:"):  # one process per trial that imports the mcp SDK: ~2 s each, serially
        pytest.skip("every smoke scenario runs through the MCP example in test_agent_mcp_smoke.py (runner-driven)")
    agent = load_agent(impl.spec, **options)
    for i, (scenario, world) in enumerate(smoke_worlds):
        tb = Toolbox(world, max_calls=scenario.max_tool_calls)
        finding = agent.investigate(dict(world.alert), tb, seed=i)
        check_finding_conforms(finding, world, tb)
