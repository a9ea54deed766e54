"""MCP adapter (mcp:) costs: tool-call round trip over stdio and streamable HTTP, per-trial start-up against a
cmd: agent, and a full investigation of the MCP example agent, sandboxed (the default) and not.

    .venv/bin/python benchmarks/bench_mcp.py [--calls 2000] [--starts 10]

1. Round trip per tool call (goal <= 2 ms over stdio): one agent built on the official mcp client SDK makes
   N calls and times each ``await client.call_tool(...)`` itself (so the figure includes the client SDK,
   the stdio byte pump and unix socket or the HTTP request, evalkit's limits check, the server SDK, the
   Toolbox call and its recording) and reports the median and p90 in its finding's usage. Then evalkit's
   share alone: a standard-library JSON-RPC client speaking to the same stdio bridge (no client SDK).
2. Start-up per trial: median wall time of ``investigate`` for an agent that submits at once, mcp: (stdio,
   http) against cmd: (measured alternately); and what of it is the agent importing the mcp SDK (a Python
   process that imports ``mcp`` against one that does not) and what is evalkit's side (the per-trial server:
   event loop, listener, config files, shutdown; no agent).
3. The MCP example agent (examples/agents/mcp), full investigation of a small world.
Prints medians; no assertions.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_subprocess import PY_QUICK, SANDBOXES, alternated_medians, full_investigation, small_world

from evalkit.agents import load_agent
from evalkit.agents.mcp_agent import McpAgent
from evalkit.agents.mcp_tools import TrialOutcome, build_server
from evalkit.agents.mcp_transport import InboundGuard, ServerLoop
from evalkit.agents.sandbox import bwrap_path
from evalkit.world.model import World
from evalkit.world.toolbox import Toolbox

REPO = Path(__file__).resolve().parents[1]

CLIENT = r'''
import asyncio, json, os, sys, time
from mcp import Client, StdioServerParameters

def target():
    entry = json.load(open(os.environ["EVALKIT_MCP_CONFIG"]))["mcpServers"]["evalkit"]
    return entry["url"] if "url" in entry else StdioServerParameters(command=entry["command"], args=entry["args"])

async def main(tool, n):
    args = {} if tool == "get_alert" else {"component": "db", "metric": "query_time_p99_ms"}
    async with Client(target()) as client:
        rtt = []
        for _ in range(n):
            t0 = time.perf_counter_ns()
            r = await client.call_tool(tool, args)
            rtt.append(time.perf_counter_ns() - t0)
            assert not r.is_error, r
        rtt.sort()
        usage = {"median_rtt_us": rtt[len(rtt) // 2] / 1000, "p90_rtt_us": rtt[int(len(rtt) * 0.9)] / 1000} if rtt else {}
        await client.call_tool("submit_finding", {"hypotheses": [{"component": "db"}], "usage": usage})

asyncio.run(main(sys.argv[1], int(sys.argv[2])))
'''


RAW_CLIENT = r'''
import json, os, subprocess, sys, time
entry = json.load(open(os.environ["EVALKIT_MCP_CONFIG"]))["mcpServers"]["evalkit"]
proc = subprocess.Popen([entry["command"], *entry["args"]], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
def rpc(i, method, params):
    proc.stdin.write((json.dumps({"jsonrpc": "2.0", "id": i, "method": method, "params": params}) + "\n").encode())
    proc.stdin.flush()
    return json.loads(proc.stdout.readline())
rpc(0, "initialize", {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}})
proc.stdin.write(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n'); proc.stdin.flush()
tool, n = sys.argv[1], int(sys.argv[2])
args = {} if tool == "get_alert" else {"component": "db", "metric": "query_time_p99_ms"}
rtt = []
for i in range(1, n + 1):
    t0 = time.perf_counter_ns()
    reply = rpc(i, "tools/call", {"name": tool, "arguments": args})
    rtt.append(time.perf_counter_ns() - t0)
    assert not reply["result"].get("isError"), reply
rtt.sort()
usage = {"median_rtt_us": rtt[n // 2] / 1000, "p90_rtt_us": rtt[int(n * 0.9)] / 1000}
rpc(n + 1, "tools/call", {"name": "submit_finding", "arguments": {"hypotheses": [{"component": "db"}], "usage": usage}})
'''


def round_trip(script: Path, transport: str, tool: str, calls: int, world: World, mode: str) -> tuple[float, float]:
    agent = load_agent(f"mcp:{sys.executable} {script} {tool} {calls}", timeout_s=600, sandbox=SANDBOXES[mode],
                       transport=transport)
    finding = agent.investigate(world.alert, Toolbox(world, max_calls=calls + 1), 0)
    return finding.usage["median_rtt_us"], finding.usage["p90_rtt_us"]


def import_cost(starts: int) -> float:
    """Median ms a Python process takes longer when it imports the mcp SDK."""
    diffs = []
    for _ in range(starts):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import mcp"], check=True)
        t1 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        diffs.append((t1 - t0) - (time.perf_counter() - t1))
    return statistics.median(diffs) * 1e3


def server_cost(starts: int, world: World, d: Path) -> dict[str, float]:
    """Median ms of evalkit's per-trial server alone: loop, server, listener up and down (no agent)."""
    out = {}
    for transport in ("stdio", "http"):
        times = []
        for i in range(starts):
            t0 = time.perf_counter()
            with ServerLoop() as loop:
                outcome = TrialOutcome()
                server = build_server(Toolbox(world), outcome)
                if transport == "http":
                    loop.serve_http(server, InboundGuard(outcome=outcome))
                else:
                    loop.serve_unix(server, str(d / f"s{i}.sock"), InboundGuard(outcome=outcome))
            times.append(time.perf_counter() - t0)
        out[transport] = statistics.median(times) * 1e3
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--starts", type=int, default=10)
    a = ap.parse_args()
    world = small_world()
    modes = ["sandbox", "none"] if bwrap_path() else ["none"]
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        (d / "client.py").write_text(CLIENT)
        (d / "quick.py").write_text(PY_QUICK)
        (d / "raw.py").write_text(RAW_CLIENT)
        print(f"1. MCP tool-call round trip, one agent (mcp client SDK), {a.calls} calls, median / p90 as timed by "
              "the agent")
        for mode in modes:
            for transport in ("stdio", "http"):
                for tool in ("get_alert", "query_metric"):
                    med, p90 = round_trip(d / "client.py", transport, tool, a.calls, world, mode)
                    print(f"   {mode:<8}{transport:<6}{tool:<13} median {med / 1000:6.2f} ms   p90 {p90 / 1000:6.2f} ms")
            for tool in ("get_alert", "query_metric"):
                med, p90 = round_trip(d / "raw.py", "stdio", tool, a.calls, world, mode)
                print(f"   {mode:<8}stdio {tool:<13} median {med / 1000:6.2f} ms   p90 {p90 / 1000:6.2f} ms   "
                      "(evalkit's share: stdlib JSON-RPC client, no client SDK)")
        print(f"2. start-up per trial, agent answering at once (median of {a.starts}, alternated)")
        for mode in modes:  # median ms per trial of an agent that answers at once: cmd:, mcp: stdio, mcp: http
            agents = {"cmd": load_agent(f"cmd:{sys.executable} {d / 'quick.py'}", sandbox=SANDBOXES[mode]),
                      **{f"mcp-{t}": load_agent(f"mcp:{sys.executable} {d / 'client.py'} get_alert 0", transport=t,
                                                sandbox=SANDBOXES[mode]) for t in ("stdio", "http")}}
            cost = alternated_medians(agents, a.starts, world)
            print(f"   {mode:<8}" + "   ".join(f"{k} {v:7.1f} ms" for k, v in cost.items()) +
                  f"   mcp-stdio - cmd {cost['mcp-stdio'] - cost['cmd']:+.1f} ms")
        print(f"   of which the agent importing the mcp SDK: {import_cost(a.starts):.1f} ms; evalkit's per-trial "
              "server alone: " + ", ".join(f"{t} {v:.1f} ms" for t, v in server_cost(a.starts, world, d).items()))
    for mode in modes:
        for transport in ("stdio", "http"):
            agent = load_agent(f"mcp:{sys.executable} {REPO / 'examples/agents/mcp/agent.py'}", transport=transport,
                               sandbox=SANDBOXES[mode])
            assert isinstance(agent, McpAgent)
            ms, calls = full_investigation(agent, world, a.starts)
            print(f"3. MCP example agent, full investigation ({calls} tool calls), {mode} {transport}: median "
                  f"{ms:.1f} ms")

if __name__ == "__main__":
    main()
