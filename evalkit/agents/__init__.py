"""Agent builds: the protocol, the built-in reference investigator and adapters for any agent.

The names below are imported on first use, so that light modules of this package (the output limits,
the sandbox settings) can be read by ``RunConfig`` without loading the adapters.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from evalkit.agents.base import Agent, AgentFailure, BuildId, Finding, Hypothesis
    from evalkit.agents.spec import load_agent

_HOME = {"Agent": "base", "AgentFailure": "base", "BuildId": "base", "Finding": "base", "Hypothesis": "base",
         "load_agent": "spec"}

__all__ = ["Agent", "AgentFailure", "BuildId", "Finding", "Hypothesis", "load_agent"]


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(importlib.import_module(f"evalkit.agents.{_HOME[name]}"), name)
    raise AttributeError(f"module 'evalkit.agents' has no attribute {name!r}")
