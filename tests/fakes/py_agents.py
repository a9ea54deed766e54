"""In-process test agents for the pkg.module:factory adapter (importable as ``fakes.py_agents``)."""

from __future__ import annotations

import sys
import time

from evalkit.agents.base import BuildId, Finding, Hypothesis

__version__ = "9.9"
NOT_CALLABLE = 3


def investigate(alert, toolbox, seed):
    """A plain function: blames the alerting component's first callee, as a dict."""
    edges = toolbox.get_topology(alert["component"])["edges"]
    callees = sorted(e["target"] for e in edges if e["source"] == alert["component"] and e["relation"] == "calls")
    top = callees[0] if callees else alert["component"]
    return {"hypotheses": [{"component": top, "fault_type": "slow_query", "confidence": 0.7,
                            "evidence": [f"topology:{alert['component']}"]}], "summary": f"blaming {top}"}


investigate.deterministic = True  # a plain function claims determinism with an attribute


class CountingAgent:
    """An agent class with an option and its own build id; walks `depth` hops and blames the deepest callee."""

    deterministic = True

    def __init__(self, depth: int = 1):
        self.depth = depth
        self.build = BuildId("counting", "1.0", {"depth": depth})

    def investigate(self, alert, toolbox, seed):
        current = alert["component"]
        for _ in range(self.depth):
            edges = toolbox.get_topology(current)["edges"]
            callees = sorted(e["target"] for e in edges if e["source"] == current and e["relation"] == "calls")
            if not callees:
                break
            current = callees[seed % len(callees)]
        return Finding([Hypothesis(current, "slow_query", 0.5, [f"topology:{alert['component']}"])], "counted")


def make_agent(depth: int = 1) -> CountingAgent:
    """A factory taking options."""
    return CountingAgent(depth)


AGENT = CountingAgent(2)


def factory_returning_junk():
    return 5


def factory_that_raises():
    raise RuntimeError("no model weights here")


# --- failure modes ----------------------------------------------------------------------------------
def crash(alert, toolbox, seed):
    toolbox.get_alert()
    raise ZeroDivisionError("agent bug")


def exits(alert, toolbox, seed):
    sys.exit(4)


def slow(alert, toolbox, seed):
    time.sleep(0.3)  # a slow agent, finishing after its 0.1 s timeout
    return investigate(alert, toolbox, seed)


def returns_garbage(alert, toolbox, seed):
    return 42


def returns_bad_dict(alert, toolbox, seed):
    return {"hypotheses": [{"component": ""}]}


def nan_confidence(alert, toolbox, seed):
    return Finding([Hypothesis(alert["component"], None, float("nan"))])


def calls_unknown_tool(alert, toolbox, seed):
    toolbox.call("drop_tables", {})


def swallows_unknown_tool(alert, toolbox, seed):
    try:
        toolbox.call("drop_tables", {})
    except Exception:  # noqa: BLE001 - the point of the test
        pass
    return investigate(alert, toolbox, seed)


def names_unknown_component(alert, toolbox, seed):
    return {"hypotheses": [{"component": "ghost-service"}], "summary": "made up"}


def exhausts_budget(alert, toolbox, seed):
    while True:
        toolbox.get_alert()


def lets_tool_error_escape(alert, toolbox, seed):
    toolbox.query_metric("no-such-component", "cpu_pct")
