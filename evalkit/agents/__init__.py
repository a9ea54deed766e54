"""Agent builds: the protocol, the built-in reference investigator and adapters for any agent."""

from evalkit.agents.base import Agent, AgentFailure, BuildId, Finding, Hypothesis
from evalkit.agents.spec import load_agent

__all__ = ["Agent", "AgentFailure", "BuildId", "Finding", "Hypothesis", "load_agent"]
