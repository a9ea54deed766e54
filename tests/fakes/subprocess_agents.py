"""Scripted subprocess agents for the cmd: adapter tests: ``python subprocess_agents.py MODE [ARG]``.

Each mode is one behaviour (well-behaved, crash, exit, hang with a child, malformed output...).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time


def send(msg: dict) -> None:
    sys.stdout.write(json.dumps(msg) + "\n")
    sys.stdout.flush()


def recv() -> dict:
    line = sys.stdin.readline()
    if not line:
        sys.exit(0)
    return json.loads(line)


def call(tool: str, args: dict | None = None, call_id: int = 1) -> dict:
    send({"type": "tool_call", "id": call_id, "tool": tool, "args": args or {}})
    return recv()


def final(component: str, **extra) -> None:
    send({"type": "final", "finding": {"hypotheses": [{"component": component, "fault_type": "slow_query",
                                                       "confidence": 0.9, "evidence": ["monitor:x"]}],
                                       "summary": "scripted", **extra}})


def main() -> None:
    mode = sys.argv[1]
    arg = sys.argv[2] if len(sys.argv) > 2 else None
    if mode == "deaf":  # never reads stdin at all
        time.sleep(300)
    start = recv()
    alert = start["alert"]
    if mode == "good":
        reply = call("get_alert")
        assert reply["ok"] and reply["id"] == 1, reply
        sys.stderr.write(json.dumps({"cwd": os.getcwd(), "env": sorted(os.environ), "seed": start["seed"],
                                     "max_calls": start["max_calls"], "tools": [t["name"] for t in start["tools"]],
                                     "refs": reply["refs"]}) + "\n")
        final(alert["component"], usage={"tokens_in": 12, "tokens_out": 3})
    elif mode == "write_cwd":  # leaves a file in its working directory
        with open("scratch.txt", "w") as fh:
            fh.write("x")
        sys.stderr.write(os.getcwd() + "\n")
        final(alert["component"])
    elif mode == "env":
        sys.stderr.write(json.dumps(dict(os.environ)) + "\n")
        final(alert["component"])
    elif mode == "tool_error":
        reply = call("query_metric", {"component": "no-such-component", "metric": "cpu_pct"}, call_id="q1")
        sys.stderr.write(json.dumps(reply) + "\n")
        final(alert["component"]) if not reply["ok"] else send({"type": "error", "message": "expected an error"})
    elif mode == "signal":
        os.kill(os.getpid(), signal.SIGKILL)
    elif mode == "exit":
        sys.stderr.write("fatal: cannot continue\n")
        sys.stdout.flush()
        os._exit(3)
    elif mode == "exit0":
        sys.exit(0)
    elif mode == "hang_with_child":  # spawns a sleeping child in its group, records both pids, hangs
        child = subprocess.Popen(["sleep", "300"])
        with open(arg, "w") as fh:
            fh.write(f"{os.getpid()} {child.pid}\n")
        time.sleep(300)
    elif mode == "close_stdout_and_hang":
        os.close(1)
        time.sleep(300)
    elif mode == "no_read":  # never reads anything after start, just sleeps
        time.sleep(300)
    elif mode == "garbage":
        print("hello, I am a chatty agent")
        sys.stdout.flush()
        time.sleep(300)
    elif mode == "unknown_type":
        send({"type": "banana"})
        time.sleep(300)
    elif mode == "bad_final":
        send({"type": "final", "finding": {"hypotheses": "orders-db"}})
    elif mode == "nan_final":
        sys.stdout.write('{"type":"final","finding":{"hypotheses":[{"component":"orders-db","confidence":NaN}]}}\n')
        sys.stdout.flush()
    elif mode == "unknown_tool":
        call("delete_database", {"name": "prod"})
        time.sleep(300)
    elif mode == "unknown_component":
        final("definitely-not-a-component")
    elif mode == "budget":
        for i in range(10_000):
            call("get_alert", call_id=i)
        final(alert["component"])
    elif mode == "error":
        send({"type": "error", "message": "model refused to answer"})
    elif mode == "stderr_flood":
        sys.stderr.write("x" * 200_000 + "\nTAIL-MARKER\n")
        sys.stderr.flush()
        final(alert["component"])
    elif mode == "linger_after_final":  # answers, then keeps a child alive and ignores stdin EOF
        child = subprocess.Popen(["sleep", "300"])
        with open(arg, "w") as fh:
            fh.write(f"{os.getpid()} {child.pid}\n")
        final(alert["component"])
        time.sleep(300)
    elif mode == "pingpong":  # benchmark: N get_alert round trips, then final
        n = int(arg or 1000)
        for i in range(n):
            call("get_alert", call_id=i)
        final(alert["component"])
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
