"""The MCP example agent on suites/smoke, against a cmd: agent running the same strategy over JSON lines:
both complete every scenario, record the same tool calls and get the same scores; and a gate of the MCP
agent against the cmd: twin's run as the baseline completes and finds nothing to flag."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pytest
from gate_support import promote_and_export, smoke_suite

pytest.importorskip("mcp")
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_DIR = REPO / "examples" / "agents" / "mcp"
MCP_SPEC = f"mcp:{shlex.quote(sys.executable)} {EXAMPLE_DIR / 'agent.py'}"
TWIN_SPEC = f"cmd:{shlex.quote(sys.executable)} {REPO / 'tests' / 'fakes' / 'twin_cmd_agent.py'}"
#: what a trial's scores are: every column but the build's name, timing and what the process printed.
NOT_SCORES = {"build_id", "latency_s", "duration_s", "agent_spec", "run_id", "started_at", "stderr"}


def config(root: Path):
    from evalkit.run import JournalConfig, RunConfig
    from evalkit.run.config import SandboxConfig

    # the twin reads the example's strategy module: show that folder to its sandbox
    return RunConfig(trials=1, seed=3, jobs=2, timeout_s=90, journal=JournalConfig(dir=root / "journal"),
                     sandbox=SandboxConfig(paths=(str(EXAMPLE_DIR),)))


@pytest.fixture(scope="module")
def runs(tmp_path_factory, embedded_store_template):
    from evalkit.gate import run_gate
    from evalkit.run import run_suite

    suite = smoke_suite(tmp_path_factory)
    root = tmp_path_factory.mktemp("mcp-gate")
    twin = run_suite(suite, TWIN_SPEC, config(root / "twin"))
    db, _ = promote_and_export(twin, root, embedded_store_template)
    gate = run_gate(suite, MCP_SPEC, config(root / "mcp"), tracking_uri=f"sqlite:///{db}",
                    output_dir=root / "reports", use_outbox=False)
    return twin, gate


def calls(trajectory: dict) -> list[tuple]:
    return [(c["tool"], c["args"], c["result_size"], c["refs"], c["error"]) for c in trajectory["calls"]]


def test_the_mcp_example_completes_every_smoke_scenario(runs):
    _, gate = runs
    table = gate.run.table
    bad = table[table["status"] != "ok"][["scenario_id", "error_class", "error_message"]]
    assert bad.empty, bad.to_string()
    assert (table["tool_calls"] > 0).all()
    assert table["rca_top1"].mean() > 0, "a genuine investigator finds some causes"
    assert gate.run.meta["sandbox"] == "on"


def test_mcp_and_cmd_runs_of_one_strategy_record_the_same_calls_and_findings(runs):
    twin, gate = runs
    by_key = {(t["scenario_id"], t["trial"]): t for t in twin.trajectories}
    assert len(gate.run.trajectories) == len(by_key) > 0
    for tr in gate.run.trajectories:
        other = by_key[(tr["scenario_id"], tr["trial"])]
        assert calls(tr) == calls(other), tr["scenario_id"]
        assert tr["finding"]["hypotheses"] == other["finding"]["hypotheses"], tr["scenario_id"]


def test_mcp_and_cmd_runs_of_one_strategy_get_the_same_scores(runs):
    twin, gate = runs
    cols = [c for c in twin.table.columns if c not in NOT_SCORES]
    key = ["scenario_id", "trial"]
    mcp = gate.run.table[cols].sort_values(key).reset_index(drop=True)
    cmd = twin.table[cols].sort_values(key).reset_index(drop=True)
    assert mcp.equals(cmd), mcp.compare(cmd).to_string()


def test_a_gate_of_the_mcp_agent_against_its_cmd_twin_completes_without_a_regression(runs):
    _, gate = runs
    assert gate.exit_code == 0, gate.messages
    assert gate.reports, "the gate wrote its reports"
