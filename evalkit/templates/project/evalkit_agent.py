"""An example evalkit agent (written by `evalkit init`): replace its investigation with a call into your agent.

evalkit runs it once per investigation as a subprocess and talks JSON lines on stdin/stdout: it sends one
`start` message (the alert); the agent asks for telemetry with `tool_call` messages (each answered by one
reply line) and ends with one `final` message holding its ranked hypotheses. Anything on stderr is kept in the
trajectory. The protocol: docs/agent-protocol.md in the evalkit repository.

This one is deliberately naive: it blames the first dependency the alerting component calls.
"""

import json
import sys


def send(message: dict) -> None:
    print(json.dumps(message), flush=True)


def ask(call_id: int, tool: str, **args) -> dict:
    """One tool call and its reply ({"ok": true, "result": ..., "refs": [...]} or {"ok": false, "error": ...})."""
    send({"type": "tool_call", "id": call_id, "tool": tool, "args": args})
    return json.loads(sys.stdin.readline())


def investigate(alert: dict) -> dict:
    """The finding for one alert: ranked root-cause hypotheses with their evidence and a summary."""
    component = alert["component"]
    reply = ask(1, "get_topology", component=component, depth=1)
    if not reply.get("ok"):
        raise RuntimeError(f"get_topology failed: {reply.get('error')}")
    calls = sorted(e["target"] for e in reply["result"]["edges"]
                   if e["source"] == component and e["relation"] == "calls")
    suspect = calls[0] if calls else component
    refs = reply.get("refs", [])
    return {"hypotheses": [{"component": suspect, "confidence": 0.5, "evidence": refs},
                           {"component": component, "confidence": 0.2, "evidence": refs}],
            "summary": f"{suspect} is the first dependency of {component}, which alerted"}


def main() -> None:
    start = json.loads(sys.stdin.readline())
    print(f"alert on {start['alert']['component']}", file=sys.stderr)
    try:
        finding = investigate(start["alert"])
    except Exception as exc:  # report the failure to evalkit instead of dying silently
        send({"type": "error", "message": str(exc)})
        sys.exit(1)
    send({"type": "final", "finding": finding})


if __name__ == "__main__":
    main()
