"""`evalkit world serve`: one scenario's world over MCP (stdio and HTTP) for any MCP client; the tools are a
run's, the session never ends on a mistake, and no tool result carries the scenario's truth."""

from __future__ import annotations

import asyncio
import json
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from evalkit.cli import cli
from evalkit.world.toolbox import TOOL_SCHEMAS

pytest.importorskip("mcp")

REPO = Path(__file__).resolve().parents[1]
SMOKE = REPO / "suites" / "smoke"
SCENARIO = "database-slow-query-001"
EVALKIT = Path(sys.executable).with_name("evalkit")
pytestmark = pytest.mark.skipif(not (SMOKE / "suite.toml").exists(), reason="suites/smoke is not installed")


async def explore(target, component: str) -> list:
    """Call every tool once (around ``component``), an unknown tool, and submit a finding; the results in order."""
    from mcp import Client

    async with Client(target) as client:
        listed = [t.name for t in (await client.list_tools()).tools]
        metrics = json.loads((await client.call_tool("list_metrics", {"component": component})).content[0].text)
        args = {"list_metrics": {"component": component}, "get_topology": {"component": component, "depth": 2},
                "query_metric": {"component": component, "metric": metrics[0]["metric"]}}
        out = [await client.call_tool(name, args.get(name, {})) for name in TOOL_SCHEMAS]
        out.append(await client.call_tool("read_truth", {}))
        out.append(await client.call_tool("submit_finding", {"hypotheses": [{"component": component}]}))
        out.append(await client.call_tool("get_alert", {}))  # still served after a finding
    return [listed, *out]


def truth() -> dict:
    return json.loads((SMOKE / "truth" / f"{SCENARIO}.json").read_text())


def check_session(results: list) -> None:
    listed, *calls = results
    assert listed == [*TOOL_SCHEMAS, "submit_finding"]
    *tools, unknown, submitted, after = calls
    assert not any(r.is_error for r in tools), [r.content[0].text for r in tools if r.is_error]
    assert unknown.is_error and "unknown tool" in unknown.content[0].text
    assert not submitted.is_error and "not scored" in submitted.content[0].text
    assert not after.is_error and json.loads(after.content[0].text)["component"]
    served = " ".join(c.text for r in calls for c in r.content)
    t = truth()
    assert t["fault_type"] not in served, "the truth's fault type is never served"
    for word in ("distractors", "fault_type", "scenario_id", "aliases"):
        assert word not in served
    assert json.dumps(t["evidence"]) not in served


def test_world_serve_over_stdio_serves_a_runs_tools_and_never_the_truth():
    from mcp import StdioServerParameters

    component = json.loads((SMOKE / "truth" / f"{SCENARIO}.json").read_text())["component"]
    target = StdioServerParameters(command=str(EVALKIT), args=["world", "serve", "--suite", str(SMOKE),
                                                               "--scenario", SCENARIO])
    check_session(asyncio.run(explore(target, component)))


def test_world_serve_over_http_announces_its_url_and_stops_when_asked():
    from evalkit.agents.mcp_serve import serve_world

    stop, lines, served = threading.Event(), [], {}
    thread = threading.Thread(target=lambda: served.update(w=serve_world(
        SMOKE, SCENARIO, http_port=0, max_calls=50, announce=lines.append, stop=stop)))
    thread.start()
    try:
        while not lines and thread.is_alive():
            thread.join(0.05)
        url = lines[0].split(" at ")[1].split()[0]
        assert url.startswith("http://127.0.0.1:") and url.endswith("/mcp")
        check_session(asyncio.run(explore(url, truth()["component"])))
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive()
    assert [c.tool for c in served["w"].toolbox.trajectory][1:1 + len(TOOL_SCHEMAS)] == list(TOOL_SCHEMAS), \
        "calls are recorded as in a run"


@pytest.mark.parametrize("args, needle", [
    (["--scenario", "no-such-scenario"], "not a scenario of suite smoke"),
    (["--scenario", SCENARIO, "--max-calls", "0"], "--max-calls"),
])
def test_world_serve_bad_input_is_one_error_line_and_exit_2(args, needle):
    res = CliRunner().invoke(cli, ["world", "serve", "--suite", str(SMOKE), *args])
    assert res.exit_code == 2
    assert needle in res.output and len(res.output.strip().splitlines()) == 1
