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


def sleeper(token: str, new_session: bool = False, keep_stdout: bool = False) -> None:
    """Start a long-sleeping child whose command line carries ``token`` (so a test can find it in /proc)."""
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)", token], start_new_session=new_session,
                     stdout=None if keep_stdout else subprocess.DEVNULL, stdin=subprocess.DEVNULL)


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
    elif mode == "hang_with_child":  # spawns a sleeping child (its argv carries the token `arg`), hangs
        sleeper(arg)
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
        sleeper(arg)
        final(alert["component"])
        time.sleep(300)
    elif mode == "huge_summary":  # a final message with an `arg`-character summary
        final_msg = {"hypotheses": [{"component": alert["component"]}], "summary": "x" * int(arg)}
        send({"type": "final", "finding": final_msg})
    elif mode == "deep_nesting":  # a final message nested `arg` levels deep
        depth = int(arg)
        sys.stdout.write('{"type":"final","finding":' + "[" * depth + "]" * depth + "}\n")
        sys.stdout.flush()
    elif mode == "long_number":  # a confidence with `arg` digits
        sys.stdout.write('{"type":"final","finding":{"hypotheses":[{"component":"%s","confidence":%s}]}}\n'
                         % (alert["component"], "9" * int(arg)))
        sys.stdout.flush()
    elif mode == "many_hypotheses":
        send({"type": "final", "finding": {"hypotheses": [{"component": alert["component"]}] * int(arg)}})
    elif mode == "chatty":  # `arg` tool calls with 100 kB of padding each
        for i in range(int(arg)):
            call("get_alert", {"pad": "p" * 100_000}, call_id=i)
        final(alert["component"])
    elif mode == "hang_with_setsid_child":  # a grandchild in a session of its own, then hangs
        sleeper(arg, new_session=True)
        time.sleep(600)
    elif mode == "setsid_child":  # a grandchild in a session of its own, then a normal answer
        sleeper(arg, new_session=True)
        final(alert["component"])
    elif mode == "exit_leaving_child_on_stdout":  # exits at once; a setsid child keeps stdout open
        sleeper(arg, new_session=True, keep_stdout=True)
        os._exit(3)
    elif mode == "pingpong":  # benchmark: N get_alert round trips, then final
        n = int(arg or 1000)
        for i in range(n):
            call("get_alert", call_id=i)
        final(alert["component"])
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
