"""A cmd: agent (JSON lines on stdin/stdout) running the very strategy of the MCP example agent
(examples/agents/mcp/strategy.py): its twin, to show that an MCP run records what a cmd: run records."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples" / "agents" / "mcp"))
from strategy import investigate  # noqa: E402


def send(msg):
    sys.stdout.write(json.dumps(msg) + "\n")
    sys.stdout.flush()


def main():
    start = json.loads(sys.stdin.readline())
    ids = iter(range(1, 10**6))

    def call(tool, args):
        send({"type": "tool_call", "id": next(ids), "tool": tool, "args": args})
        reply = json.loads(sys.stdin.readline())
        return (reply["result"], reply.get("refs", [])) if reply["ok"] else (None, [])

    send({"type": "final", "finding": investigate(call, start)})


if __name__ == "__main__":
    main()
