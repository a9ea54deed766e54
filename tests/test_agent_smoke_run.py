"""The non-Python example agent and the scripted OpenAI-compatible endpoint complete a runner-driven
`suites/smoke` run: every trial ends ok with a scored, well-formed finding."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from fakes.chat_server import ScriptedChatServer, investigator_policy
from system_support import needs_bwrap

REPO = Path(__file__).resolve().parents[1]
SMOKE = REPO / "suites" / "smoke"
NODE_AGENT = REPO / "examples" / "agents" / "node" / "agent.js"

pytestmark = pytest.mark.skipif(not (SMOKE / "suite.toml").exists(), reason="suites/smoke is not installed yet")


def _run(spec: str, **agent_options):
    runner = pytest.importorskip("evalkit.run.runner")
    from evalkit.run.config import NO_JOURNAL, RunConfig

    return runner.run_suite(str(SMOKE), spec, RunConfig(trials=1, seed=3, jobs=2, timeout_s=60, journal=NO_JOURNAL,
                                                        agent_options=agent_options))


def _assert_complete(result, n_scenarios: int) -> None:
    table = result.table
    assert len(table) == n_scenarios
    bad = table[table["status"] != "ok"][["scenario_id", "error_class", "error_message"]]
    assert bad.empty, bad.to_string()
    assert all(json.loads(p) for p in table["predicted"])
    assert (table["tool_calls"] > 0).all()
    assert table["rca_top1"].notna().all()


@needs_bwrap
@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_node_example_agent_completes_a_smoke_run():
    from evalkit.suite import load_suite

    n = len(load_suite(SMOKE).scenarios)
    result = _run(f"cmd:node {NODE_AGENT}")
    _assert_complete(result, n)
    assert result.meta["build_id"].startswith("agent.js:")
    assert result.table["rca_top1"].mean() > 0  # a genuine investigator finds some causes


def test_scripted_openai_endpoint_completes_a_smoke_run():
    from evalkit.suite import load_suite

    n = len(load_suite(SMOKE).scenarios)
    with ScriptedChatServer(policy=investigator_policy) as srv:
        result = _run("openai:scripted-investigator", base_url=srv.base_url)
    _assert_complete(result, n)
    assert (result.table["tokens_in"] == 300).all() and (result.table["tokens_out"] == 60).all()
