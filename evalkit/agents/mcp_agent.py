"""Agents that speak MCP (``mcp:<command line>``): evalkit serves each trial's Toolbox as an MCP server and
starts the agent, an MCP client, with the connection details (``docs/mcp.md``).

Per trial, in the agent's private working folder (the only writable folder its sandbox has):

- ``mcp.json``: a client config in the shape common MCP clients read, one server named ``evalkit``:
  stdio (``{"command": ..., "args": [...]}``: a standard-library byte pump, copied next to it, between the
  client and a unix socket evalkit listens on) or, with ``transport=http``, ``{"url": "http://127.0.0.1:PORT/mcp"}``;
- ``trial.json``: the alert, seed, call budget and timeout (what a ``cmd:`` agent's ``start`` message holds).

Environment: ``EVALKIT_MCP_CONFIG`` (the config's path), ``EVALKIT_MCP_TRANSPORT``, ``EVALKIT_MCP_URL`` (HTTP
only), ``EVALKIT_TRIAL`` (the trial file's path). The agent runs exactly like a ``cmd:`` agent (sandbox,
scrubbed environment, timeout, stderr and stdout captured) and the trial ends when ``submit_finding`` arrives,
the budget runs out, an unknown tool is called or the deadline passes; then its process group is ended.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import shlex
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from evalkit.agents import sandbox as sb
from evalkit.agents.base import AgentTimeout, BuildId, Finding
from evalkit.agents.subprocess_agent import (EXIT_GRACE_S, OPTIONS, SubprocessAgent, exit_failure, launch,
                                             prepare_command, sandboxed_command, supervised)
from evalkit.errors import UserError
from evalkit.vocab import SandboxMode
from evalkit.world.toolbox import Toolbox

TRANSPORTS: tuple[str, ...] = ("stdio", "http")
MCP_OPTIONS: tuple[str, ...] = (*OPTIONS, "transport")
BRIDGE = Path(__file__).with_name("mcp_bridge.py")
POLL_S = 0.02          # how often the agent process is checked for an early exit while waiting for its finding
CONFIG_FILE, TRIAL_FILE, SOCKET_FILE, BRIDGE_FILE = "mcp.json", "trial.json", "mcp.sock", "evalkit_mcp_bridge.py"


def client_config(transport: str, workdir: str, url: str | None) -> dict:
    """The ``mcpServers`` config file a client reads (Claude Desktop / Cursor / Claude Code shape); over stdio,
    the command connects the client to the server listening in ``workdir``."""
    if transport == "http":
        return {"mcpServers": {"evalkit": {"type": "http", "url": url}}}
    args = ["-I", "-S", os.path.join(workdir, BRIDGE_FILE), os.path.join(workdir, SOCKET_FILE)]
    return {"mcpServers": {"evalkit": {"type": "stdio", "command": sys.executable, "args": args}}}


class McpAgent(SubprocessAgent):
    """An MCP client run as a subprocess per investigation (started, sandboxed and ended like a ``cmd:``
    agent), served by a per-trial in-process MCP server instead of JSON lines on its stdin/stdout."""

    def __init__(self, argv: list[str], build: BuildId, *, transport: str = "stdio", **kwargs: Any):
        super().__init__(argv, build, **kwargs)
        self.transport = transport

    def __repr__(self) -> str:
        return f"McpAgent({shlex.join(self.argv)!r}, transport={self.transport!r})"

    def investigate(self, alert: dict, toolbox: Toolbox, seed: int) -> Finding:
        """Serve the toolbox over MCP, start the agent, return its submitted finding (or raise an AgentFailure)."""
        from evalkit.agents.mcp_tools import TrialOutcome, build_server
        from evalkit.agents.mcp_transport import InboundGuard, ServerLoop

        deadline = time.monotonic() + (self.timeout_s if self.timeout_s is not None else math.inf)
        outcome = TrialOutcome()
        guard = InboundGuard(self.limits, outcome)
        with tempfile.TemporaryDirectory(prefix="evalkit-agent-", ignore_cleanup_errors=True) as workdir, \
                tempfile.TemporaryFile() as errfile, ServerLoop() as loop:
            def start() -> Any:
                server = build_server(toolbox, outcome, self.limits)
                # what the agent knows before its first call (the ``start`` message of the JSON-lines protocol)
                trial = {"alert": alert, "seed": seed, "max_calls": toolbox.calls_left, "timeout_s": self.timeout_s}
                env = self._serve(loop, server, guard, workdir, trial)
                argv, env = sandboxed_command(self._sandbox_prefix, self.argv, env, workdir)
                return launch(argv, env, workdir, errfile, pipes=False)

            return supervised(start, lambda proc: self._await(outcome, proc, deadline), errfile)

    def _serve(self, loop: Any, server: Any, guard: Any, workdir: str, trial: dict) -> dict[str, str]:
        """Start listening for the agent; write its config and trial files; return its environment."""
        url = None
        if self.transport == "http":
            url = loop.serve_http(server, guard)
        else:
            shutil.copyfile(BRIDGE, os.path.join(workdir, BRIDGE_FILE))
            loop.serve_unix(server, os.path.join(workdir, SOCKET_FILE), guard)
        config, trial_path = os.path.join(workdir, CONFIG_FILE), os.path.join(workdir, TRIAL_FILE)
        Path(config).write_text(json.dumps(client_config(self.transport, workdir, url), indent=1))
        Path(trial_path).write_text(json.dumps(trial, default=str))
        env = {**self.env, "EVALKIT_MCP_CONFIG": config, "EVALKIT_MCP_TRANSPORT": self.transport,
               "EVALKIT_TRIAL": trial_path}
        return {**env, "EVALKIT_MCP_URL": url} if url else env

    def _await(self, outcome: Any, proc: Any, deadline: float) -> Finding:
        """Wait for the trial's end: its finding, its failure, the agent's exit or the deadline."""
        while not outcome.done.wait(max(0.0, min(POLL_S, deadline - time.monotonic()))):  # inf: POLL_S
            if proc.poll() is not None:
                if outcome.done.wait(EXIT_GRACE_S):  # a finding sent just before exiting still counts
                    break
                raise exit_failure(proc, deadline, sandboxed=self._sandbox_prefix is not None,
                                   what="a finding (submit_finding)")
            if time.monotonic() >= deadline:
                raise AgentTimeout(f"no finding submitted within the {self.timeout_s:g}s timeout")
        if outcome.failure is not None:
            raise outcome.failure
        assert outcome.finding is not None
        return outcome.finding


def load_mcp_agent(command: str, options: dict, *, spec: str, timeout_s: float | None, raw_options: dict,
                   sandbox: sb.SandboxSettings) -> McpAgent:
    """Build an McpAgent from ``mcp:<command line>``; options as for ``cmd:`` plus ``transport`` (stdio|http)."""
    if importlib.util.find_spec("mcp") is None:
        raise UserError.at("agent", "spec", spec, "mcp: agents need the official MCP SDK; pip install 'evalkit[mcp]'")
    transport = options.get("transport", "stdio")
    if transport not in TRANSPORTS:
        raise UserError.at("agent", "options.transport", transport, f"give one of {', '.join(TRANSPORTS)}")
    if transport == "http" and sandbox.mode is SandboxMode.STRICT:
        raise UserError.at("agent", "options.transport", transport, "--sandbox strict gives the agent no network, "
                           "so no loopback port either; use transport=stdio (or --sandbox on)")
    setup = prepare_command(command, options, spec=spec, sandbox=sandbox, allowed=MCP_OPTIONS, form="mcp")
    mounts = setup.mounts
    if sandbox.enabled:  # the stdio bridge runs on evalkit's own interpreter, inside the sandbox
        mounts = [*mounts, *sb.program_mounts(Path(sys.executable), None, Path.cwd())]
    return McpAgent(setup.argv, setup.build, transport=transport, timeout_s=timeout_s, env=setup.env,
                    deterministic=setup.deterministic, spec=spec, options=raw_options, sandbox=sandbox, mounts=mounts)


__all__ = ["McpAgent", "load_mcp_agent", "client_config", "TRANSPORTS"]
