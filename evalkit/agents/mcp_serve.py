"""``evalkit world serve``: one scenario's world as an MCP server, for exploring it with any MCP client.

The server is the one every ``mcp:`` trial gets (the scenario's Toolbox: its tools, schemas and call budget,
plus ``submit_finding``), serving until the client disconnects (stdio) or evalkit is interrupted (HTTP).
Nothing ends the session: an unknown tool, the spent budget or a submitted finding are answered as errors
or acknowledged, and the finding is checked but never scored. Only the world is loaded into the server;
the scenario's truth is not read.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from evalkit.errors import UserError, whole_number
from evalkit.world.toolbox import Toolbox


@dataclass
class ServedWorld:
    """What ``world serve`` serves: the scenario's id, its toolbox, and the suite it comes from."""

    suite: str
    scenario_id: str
    toolbox: Toolbox


def scenario_toolbox(suite: str | Path, scenario_id: str, max_calls: int | None = None) -> ServedWorld:
    """The Toolbox of one scenario of ``suite`` (a path or a name); UserError for an unknown scenario."""
    from evalkit.suite import load_suite, load_world

    suite_obj = load_suite(suite)
    scenario = suite_obj.scenario(scenario_id, "--scenario")
    if max_calls is not None and not whole_number(max_calls, 1):
        raise UserError.at("world serve", "--max-calls", max_calls, "give a whole number >= 1")
    budget = max_calls if max_calls is not None else scenario.max_tool_calls
    return ServedWorld(suite_obj.name, scenario_id, Toolbox(load_world(scenario), max_calls=budget))


def serve_world(suite: str | Path, scenario_id: str, *, http_port: int | None = None, max_calls: int | None = None,
                announce: Callable[[str], None] | None = None, stop: threading.Event | None = None) -> ServedWorld:
    """Serve one scenario's world over MCP: on stdin/stdout (default) or streamable HTTP on 127.0.0.1:``http_port``
    (0: any free port) until ``stop`` is set or evalkit is interrupted. ``announce`` gets one line saying where."""
    from evalkit.agents.mcp_tools import TrialOutcome, build_server

    served = scenario_toolbox(suite, scenario_id, max_calls)
    server = build_server(served.toolbox, TrialOutcome(), ends_trial=False)
    say = announce or (lambda line: print(line, file=sys.stderr))
    where = f"scenario {served.scenario_id} of suite {served.suite} ({served.toolbox.max_calls} tool calls)"
    if http_port is None:
        import anyio
        from mcp.server.stdio import stdio_server

        async def run() -> None:
            async with stdio_server() as (read, write):
                await server.run(read, write, server.create_initialization_options())

        say(f"evalkit: serving {where} over MCP on stdio")
        anyio.run(run)
        return served
    from evalkit.agents.limits import MessageLimits
    from evalkit.agents.mcp_transport import InboundGuard, ServerLoop

    with ServerLoop() as loop:
        try:  # a session has no byte budget; each message keeps its limits
            url = loop.serve_http(server, InboundGuard(MessageLimits(trial_bytes=1 << 60)), port=http_port)
        except OSError as exc:
            raise UserError.at("world serve", "--http", http_port, f"cannot listen on 127.0.0.1:{http_port} "
                               f"({exc.strerror}); pick another port, or 0 for any free one") from None
        say(f"evalkit: serving {where} over MCP at {url} (Ctrl-C stops)")
        with contextlib.suppress(KeyboardInterrupt):
            (stop or threading.Event()).wait()
    return served


__all__ = ["ServedWorld", "scenario_toolbox", "serve_world"]
