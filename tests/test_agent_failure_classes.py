"""Every adapter ends a failed investigation the same way: the same kind of failure raises the same
AgentFailure subclass and records the same ``error_class`` in the results, whatever the agent speaks
(a Python callable in-process, a cmd: process over JSON lines, an mcp: client)."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pytest
from fakes.worlds import slow_query_world

from evalkit.agents import load_agent
from evalkit.agents.base import (AgentCrash, AgentExit, BudgetExceeded, MalformedOutput, UnknownComponent,
                                 UnknownToolCall)
from evalkit.agents.subprocess_agent import AgentReportedError
from evalkit.world.toolbox import Toolbox
from system_support import needs_bwrap

FAKES = Path(__file__).resolve().parent / "fakes"


def start(adapter: str, mode: str):
    """The fake agent of ``adapter`` that fails in ``mode`` (tests/fakes holds one fake per adapter)."""
    if adapter == "python":
        return load_agent(f"fakes.py_agents:{mode}")
    if adapter == "mcp":
        pytest.importorskip("mcp")
    fake = FAKES / ("subprocess_agents.py" if adapter == "cmd" else "mcp_agents.py")
    return load_agent(f"{adapter}:" + shlex.join([sys.executable, str(fake), mode]), timeout_s=30)


#: how many tool calls each adapter's trial may make (the python fake that exhausts its budget loops)
MAX_CALLS = {"python": 8, "cmd": 60, "mcp": 60}
SANDBOXED = {"cmd", "mcp"}  # cmd: and mcp: agents run in the bubblewrap sandbox
TABLE = [  # (adapters, the fake's failure mode, what it must raise, the results' error_class)
    ("python", "crash", AgentCrash, "agent_crash"),
    ("python", "lets_tool_error_escape", AgentCrash, "agent_crash"),
    ("python", "exits", AgentExit, "agent_exit"),
    ("python", "returns_garbage", MalformedOutput, "malformed_output"),
    ("python", "returns_bad_dict", MalformedOutput, "malformed_output"),
    ("python", "nan_confidence", MalformedOutput, "malformed_output"),
    ("python", "calls_unknown_tool", UnknownToolCall, "unknown_tool"),
    ("python", "swallows_unknown_tool", UnknownToolCall, "unknown_tool"),
    ("python", "names_unknown_component", UnknownComponent, "unknown_component"),
    ("python", "exhausts_budget", BudgetExceeded, "budget_exceeded"),
    ("cmd mcp", "signal", AgentCrash, "agent_crash"),
    ("cmd mcp", "exit", AgentExit, "agent_exit"),
    ("cmd mcp", "exit0", MalformedOutput, "malformed_output"),
    ("cmd", "garbage", MalformedOutput, "malformed_output"),
    ("cmd", "unknown_type", MalformedOutput, "malformed_output"),
    ("cmd", "bad_final", MalformedOutput, "malformed_output"),
    ("cmd", "nan_final", MalformedOutput, "malformed_output"),
    ("mcp", "malformed", MalformedOutput, "malformed_output"),
    ("mcp", "huge_call", MalformedOutput, "malformed_output"),
    ("cmd mcp", "unknown_tool", UnknownToolCall, "unknown_tool"),
    ("cmd mcp", "unknown_component", UnknownComponent, "unknown_component"),
    ("cmd", "error", AgentReportedError, "agent_error"),
]
CASES = [pytest.param(adapter, mode, error, error_class, id=f"{adapter}-{mode}",
                      marks=[needs_bwrap] if adapter in SANDBOXED else [])
         for adapters, mode, error, error_class in TABLE for adapter in adapters.split()]


@pytest.mark.parametrize("adapter, mode, error, error_class", CASES)
def test_each_way_a_trial_fails_raises_its_class_and_records_its_error_class(adapter, mode, error, error_class):
    world = slow_query_world()
    with pytest.raises(error) as info:
        start(adapter, mode).investigate(dict(world.alert), Toolbox(world, max_calls=MAX_CALLS[adapter]), 0)
    assert info.value.error_class == error_class
