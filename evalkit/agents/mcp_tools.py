"""A trial's Toolbox as an MCP server (official ``mcp`` SDK): the same tools, schemas, budget and recording,
plus ``submit_finding``, which ends the investigation with a finding checked like every adapter's.

The server wraps the Toolbox and nothing else, so the truth never crosses. What ends a trial is kept in a
:class:`TrialOutcome` the adapter waits on: a finding, or the failure (unknown tool, exhausted budget,
malformed finding, a message over the limits) that ends it as it ends a ``cmd:`` agent's. A tool result is
the tool's JSON as text (and as ``structuredContent`` when it is an object); the signals it looked at are
in ``_meta["evalkit/refs"]``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from evalkit.agents.base import AgentFailure, Finding
from evalkit.agents.finalize import call_tool, dumps, finalize
from evalkit.agents.limits import DEFAULT_LIMITS, MessageLimits
from evalkit.world.toolbox import TOOL_SCHEMAS, Toolbox

SERVER_NAME = "evalkit"
SUBMIT_TOOL = "submit_finding"
REFS_KEY = "evalkit/refs"
_HYPOTHESIS = {
    "type": "object",
    "properties": {
        "component": {"type": "string", "description": "component name exactly as list_components returns it"},
        "fault_type": {"type": "string"},
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        "evidence": {"type": "array", "items": {"type": "string"},
                     "description": f"refs of the tool results that support it (their _meta['{REFS_KEY}'])"},
    },
    "required": ["component"],
}
#: the finding an agent submits: the ``final`` finding of the JSON-lines protocol.
SUBMIT_SCHEMA: dict = {
    "description": "Submit the final answer (ends the investigation): root-cause hypotheses ranked best first "
                   "and a short summary. Call it exactly once, at the end.",
    "parameters": {
        "type": "object",
        "properties": {
            "hypotheses": {"type": "array", "items": _HYPOTHESIS},
            "summary": {"type": "string"},
            "usage": {"type": "object", "description": "tokens_in, tokens_out, cost_usd, turns (numbers)"},
        },
        "required": ["hypotheses"],
    },
}


@dataclass
class TrialOutcome:
    """How a trial served over MCP ended: its finding or its failure (the first one wins)."""

    finding: Finding | None = None
    failure: AgentFailure | None = None
    done: threading.Event = field(default_factory=threading.Event)

    def finish(self, finding: Finding | None = None, failure: AgentFailure | None = None) -> None:
        if not self.done.is_set():
            self.finding, self.failure = finding, failure
            self.done.set()


def _text_result(types: Any, text: str, *, error: bool = False, value: Any = None,
                 refs: list[str] | None = None) -> Any:
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)], is_error=error,
                                structured_content=value if isinstance(value, dict) else None,
                                _meta={REFS_KEY: refs} if refs is not None else None)


def serve_call(types: Any, toolbox: Toolbox, outcome: TrialOutcome, name: str, args: Any,
               limits: MessageLimits = DEFAULT_LIMITS, *, ends_trial: bool = True) -> Any:
    """Serve one ``tools/call``: a tool result, an error result the agent may recover from, or (for an unknown
    tool, an exhausted budget, a submitted finding) the end of the trial recorded in ``outcome``.
    ``ends_trial`` false (interactive serving): failures and findings are answered, and serving goes on."""
    if outcome.done.is_set():
        return _text_result(types, "the investigation has ended", error=True)
    if args is not None and not isinstance(args, dict):
        return _text_result(types, f"arguments must be an object, got {type(args).__name__}", error=True)
    try:
        if name == SUBMIT_TOOL:
            finding = finalize(args or {}, toolbox, limits)
            if not ends_trial:
                return _text_result(types, "finding accepted: it is well-formed (it is not scored here)")
            outcome.finish(finding=finding)
            return _text_result(types, "finding accepted; the investigation is over")
        result, error = call_tool(toolbox, name, args or {})
    except AgentFailure as exc:
        if ends_trial:
            outcome.finish(failure=exc)
        return _text_result(types, str(exc), error=True)
    if error is not None:
        return _text_result(types, error, error=True)
    return _text_result(types, dumps(result), value=result, refs=list(toolbox.trajectory[-1].refs))


def build_server(toolbox: Toolbox, outcome: TrialOutcome, limits: MessageLimits = DEFAULT_LIMITS, *,
                 ends_trial: bool = True) -> Any:
    """A low-level MCP ``Server`` serving ``toolbox`` (imports the ``mcp`` SDK)."""
    import mcp_types as types
    from mcp.server.lowlevel import Server

    tools = [types.Tool(name=name, description=s["description"], input_schema=s["parameters"])
             for name, s in {**TOOL_SCHEMAS, SUBMIT_TOOL: SUBMIT_SCHEMA}.items()]

    async def on_list_tools(ctx: Any, params: Any) -> Any:
        return types.ListToolsResult(tools=tools)

    async def on_call_tool(ctx: Any, params: Any) -> Any:
        return serve_call(types, toolbox, outcome, params.name, params.arguments, limits, ends_trial=ends_trial)

    return Server(SERVER_NAME, version="1", instructions="Investigate the alert (get_alert) with the tools, "
                  "then call submit_finding once.", on_list_tools=on_list_tools, on_call_tool=on_call_tool)


__all__ = ["TrialOutcome", "build_server", "serve_call", "SUBMIT_SCHEMA", "SUBMIT_TOOL", "REFS_KEY", "SERVER_NAME"]
