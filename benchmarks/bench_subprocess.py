"""Subprocess adapter (cmd:) costs: tool-call round trip, process start-up, a full example investigation,
each in the sandbox (the default: bubblewrap) and without it (--sandbox none).

    /tmp/venv/bin/python benchmarks/bench_subprocess.py [--calls 20000] [--starts 30]

1. Round trip per tool call (goal <= 1 ms): one long-lived agent makes N calls; the agent itself times each
   call from writing its tool_call to reading the tool_result (so the figure includes evalkit's select/read,
   JSON decode, the Toolbox call, trajectory recording, JSON encode and write) and reports the median.
   Run for a tiny result (get_alert) and a realistic one (query_metric, 120 points), in Python and Node.js.
2. Process start-up per investigation (the price of one process per investigation): median wall time of
   ``investigate`` for an agent that answers at once, sandboxed and not, measured alternately; the
   difference of the medians is the sandbox's start-up overhead per trial (goal <= 20 ms).
3. A full investigation of the Node.js example agent on a small world.
Prints medians; no assertions.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from timing import timed

from evalkit.agents import load_agent
from evalkit.agents.sandbox import SandboxSettings, bwrap_path
from evalkit.vocab import SandboxMode
from evalkit.world.model import World
from evalkit.world.toolbox import Toolbox

REPO = Path(__file__).resolve().parents[1]

PY_PING = r'''
import json, sys, time
def send(m):
    sys.stdout.write(json.dumps(m) + "\n"); sys.stdout.flush()
start = json.loads(sys.stdin.readline())
tool, n = sys.argv[1], int(sys.argv[2])
args = {} if tool == "get_alert" else {"component": "db", "metric": "query_time_p99_ms"}
rtt = []
for i in range(n):
    t0 = time.perf_counter_ns()
    send({"type": "tool_call", "id": i, "tool": tool, "args": args})
    reply = json.loads(sys.stdin.readline())
    rtt.append(time.perf_counter_ns() - t0)
    assert reply["ok"], reply
rtt.sort()
send({"type": "final", "finding": {"hypotheses": [{"component": "db"}], "summary": "ping",
      "usage": {"median_rtt_us": rtt[len(rtt) // 2] / 1000, "p90_rtt_us": rtt[int(len(rtt) * 0.9)] / 1000}}})
'''

JS_PING = r'''
const readline = require('readline');
const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
const [tool, n] = [process.argv[2], Number(process.argv[3])];
const args = tool === 'get_alert' ? {} : { component: 'db', metric: 'query_time_p99_ms' };
let i = -1; let t0 = 0n; const rtt = [];
function send(m) { process.stdout.write(JSON.stringify(m) + '\n'); }
function ask() { i += 1; t0 = process.hrtime.bigint(); send({ type: 'tool_call', id: i, tool, args }); }
rl.on('line', (line) => {
  const msg = JSON.parse(line);
  if (msg.type === 'start') return ask();
  rtt.push(Number(process.hrtime.bigint() - t0) / 1000);
  if (!msg.ok) throw new Error(msg.error);
  if (i + 1 < n) return ask();
  rtt.sort((a, b) => a - b);
  const usage = { median_rtt_us: rtt[Math.floor(rtt.length / 2)], p90_rtt_us: rtt[Math.floor(rtt.length * 0.9)] };
  process.stdout.write(JSON.stringify({ type: 'final', finding: { hypotheses: [{ component: 'db' }],
    summary: 'ping', usage } }) + '\n', () => process.exit(0));
});
'''

PY_QUICK = r'''
import json, sys
json.loads(sys.stdin.readline())
print(json.dumps({"type": "final", "finding": {"hypotheses": [{"component": "db"}], "summary": "quick"}}))
'''

JS_QUICK = r'''
const rl = require('readline').createInterface({ input: process.stdin });
rl.once('line', () => process.stdout.write(JSON.stringify({ type: 'final',
  finding: { hypotheses: [{ component: 'db' }], summary: 'quick' } }) + '\n', () => process.exit(0)));
'''


def small_world() -> World:
    start, step, n = 1_700_000_000, 60, 120
    rng = np.random.default_rng(0)
    q = 20 + rng.normal(0, 1, n)
    q[90:] += 300
    return World(
        start, start + n * step, step,
        components=[{"name": "gw", "kind": "gateway", "tier": "edge"}, {"name": "api", "kind": "service"},
                    {"name": "db", "kind": "database"}],
        edges=[("gw", "api", "calls"), ("api", "db", "calls")],
        metrics={"gw": {"error_rate_pct": 0.5 + rng.normal(0, 0.1, n)},
                 "api": {"latency_p99_ms": 100 + rng.normal(0, 5, n)},
                 "db": {"query_time_p99_ms": q}},
        metric_units={"error_rate_pct": "%", "latency_p99_ms": "ms", "query_time_p99_ms": "ms"},
        alert={"monitor": "gw-errors", "component": "gw", "metric": "error_rate_pct", "fired_at": start + 95 * step,
               "title": "gw error rate high"},
    )


SANDBOXES = {"sandbox": SandboxSettings(), "none": SandboxSettings(mode=SandboxMode.NONE)}


def round_trip(runtime: str, script: Path, tool: str, calls: int, world: World,
               sandbox: SandboxSettings) -> tuple[float, float, float]:
    agent = load_agent(f"cmd:{runtime} {script} {tool} {calls}", timeout_s=600, sandbox=sandbox)
    wall, _, finding = timed(agent.investigate, world.alert, Toolbox(world, max_calls=calls + 1), 0)
    return finding.usage["median_rtt_us"], finding.usage["p90_rtt_us"], wall / calls * 1e6


def alternated_medians(agents: dict, starts: int, world: World) -> dict[str, float]:
    """Median ms of one investigation per agent, the agents run in turn so load drifts hit them all alike."""
    times: dict[str, list[float]] = {k: [] for k in agents}
    for _ in range(starts):
        for k, agent in agents.items():
            t0 = time.perf_counter()
            agent.investigate(world.alert, Toolbox(world), 0)
            times[k].append(time.perf_counter() - t0)
    return {k: statistics.median(t) * 1e3 for k, t in times.items()}


def full_investigation(agent, world: World, seeds: int) -> tuple[float, int]:
    """(median ms, tool calls) of ``agent`` investigating ``world`` once per seed."""
    times, calls = [], 0
    for seed in range(seeds):
        tb = Toolbox(world)
        times.append(timed(agent.investigate, world.alert, tb, seed)[0])
        calls = len(tb.trajectory)
    return statistics.median(times) * 1e3, calls


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=20_000)
    ap.add_argument("--starts", type=int, default=30)
    a = ap.parse_args()
    world = small_world()
    node = shutil.which("node")
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        for name, text in (("ping.py", PY_PING), ("ping.js", JS_PING), ("quick.py", PY_QUICK),
                           ("quick.js", JS_QUICK)):
            (d / name).write_text(text)
        runtimes = [("python", sys.executable, "py")] + ([("node", node, "js")] if node else [])
        modes = ["sandbox", "none"] if bwrap_path() else ["none"]
        print(f"1. tool-call round trip, one long-lived agent, {a.calls} calls (median / p90 as timed by the agent; "
              "wall/call incl. start-up)")
        for mode in modes:
            for label, exe, ext in runtimes:
                for tool in ("get_alert", "query_metric"):
                    med, p90, per_call = round_trip(exe, d / f"ping.{ext}", tool, a.calls, world, SANDBOXES[mode])
                    print(f"   {mode:<8}{label:<7}{tool:<13} median {med:7.1f} us   p90 {p90:7.1f} us   "
                          f"wall/call {per_call:7.1f} us")
        print(f"2. process start-up per investigation (median of {a.starts}, modes alternated)")
        for label, exe, ext in runtimes:
            # median start-up (ms) per sandbox mode, the modes measured alternately so load drifts hit both
            agents = {m: load_agent(f"cmd:{exe} {d}/quick.{ext}", sandbox=SANDBOXES[m]) for m in modes}
            cost = alternated_medians(agents, a.starts, world)
            line = "   ".join(f"{m} {v:6.1f} ms" for m, v in cost.items())
            extra = f"   sandbox overhead {cost['sandbox'] - cost['none']:+.1f} ms" if "sandbox" in cost else ""
            print(f"   {label:<7}{line}{extra}")
    if node:
        for mode in modes:
            agent = load_agent(f"cmd:node {REPO / 'examples/agents/node/agent.js'}", sandbox=SANDBOXES[mode])
            ms, calls = full_investigation(agent, world, a.starts)
            print(f"3. Node.js example agent, full investigation ({calls} tool calls), {mode}: median {ms:.1f} ms")


if __name__ == "__main__":
    main()
