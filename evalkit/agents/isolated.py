"""Python agents in the sandbox (``--isolate``): a worker subprocess that speaks the ``cmd:`` protocol.

A Python agent is trusted code: it runs in evalkit's process and could read anything evalkit can. With
``--isolate`` it runs instead as ``python -m evalkit.agents.isolated SPEC OPTIONS`` inside the same
bubblewrap sandbox as ``cmd:`` agents: the worker rebuilds the agent from its spec, hands it a
:class:`RelayToolbox` whose calls travel over the protocol to the real Toolbox in evalkit, and sends its
finding back. The build id is the in-process agent's, so results compare with unisolated runs.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path
from typing import Any

from evalkit.agents.base import AgentFailure, BuildId
from evalkit.world.toolbox import ToolBudgetExceeded, Toolbox, ToolCall, ToolError, UnknownTool

class RelayToolbox(Toolbox):
    """A Toolbox without a world: every call goes to evalkit, which serves and records it."""

    def __init__(self, max_calls: int):
        self.max_calls = max_calls
        self.trajectory: list[ToolCall] = []
        self._next_id = 0

    def component_names(self) -> set[str] | None:
        return None  # evalkit checks the finding's components against the world

    def call(self, tool: str, args: dict | None = None) -> Any:
        self._next_id += 1
        _send({"type": "tool_call", "id": self._next_id, "tool": tool, "args": dict(args or {})})
        line = sys.stdin.readline()
        if not line:  # evalkit ended the investigation (unknown tool, budget, deadline)
            raise SystemExit(0)
        reply = json.loads(line)
        self.trajectory.append(ToolCall(tool, dict(args or {}), 0, 0.0, list(reply.get("refs", []))))
        if not reply.get("ok"):
            raise ToolError(str(reply.get("error", "tool failed")))
        return reply["result"]


def _send(msg: dict) -> None:
    sys.stdout.write(json.dumps(msg, separators=(",", ":"), allow_nan=False, default=str) + "\n")
    sys.stdout.flush()


def main(argv: list[str]) -> None:
    """Worker entry point: one investigation of the agent ``argv[1]`` (options as JSON in ``argv[2]``)."""
    from evalkit.agents.sandbox import SandboxSettings
    from evalkit.agents.spec import load_agent
    from evalkit.vocab import SandboxMode

    spec, options = argv[1], json.loads(argv[2]) if len(argv) > 2 else {}
    start = json.loads(sys.stdin.readline())
    agent = load_agent(spec, sandbox=SandboxSettings(mode=SandboxMode.NONE), timeout_s=None, **options)
    toolbox = RelayToolbox(int(start["max_calls"]))
    try:
        finding = agent.investigate(start["alert"], toolbox, int(start["seed"]))
    except (ToolBudgetExceeded, UnknownTool) as exc:
        raise SystemExit(str(exc)) from None
    except AgentFailure as exc:
        sys.stderr.write(getattr(exc, "stderr", "") or "")
        _send({"type": "error", "message": str(exc), "error_class": str(exc.error_class)})
        return
    _send({"type": "final", "finding": {**finding.to_dict(), "stderr": ""}})


def program_paths(spec: str, kind: str) -> tuple[list[Path], list[str]]:
    """What the worker needs to see (evalkit's package, the agent's module) and the PYTHONPATH entries that
    make them importable."""
    import evalkit

    package = Path(evalkit.__file__).resolve().parent
    mounts, pythonpath = [package], [str(package.parent)]
    if kind == "python":
        top = spec.partition(":")[0].split(".")[0]
        found = importlib.util.find_spec(top)
        if found is not None and found.origin not in (None, "built-in", "frozen"):
            where = Path(found.submodule_search_locations[0] if found.submodule_search_locations else found.origin)
            mounts.append(where.resolve())
            pythonpath.append(str(where.resolve().parent))
    return mounts, list(dict.fromkeys(pythonpath))


def load_isolated_agent(spec: str, kind: str, inner_build: BuildId, deterministic: bool, options: dict, *,
                        timeout_s: float | None, sandbox, raw_options: dict):
    """A SubprocessAgent that runs the Python agent ``spec`` through the isolated worker, in the sandbox."""
    from evalkit.agents import sandbox as sb
    from evalkit.agents.subprocess_agent import SubprocessAgent, scrubbed_env

    sb.require(sandbox, f"agent {spec}")
    mounts, pythonpath = program_paths(spec, kind)
    mounts += sb.program_mounts(Path(sys.executable), None, Path.cwd())
    env = {**scrubbed_env(None, sandbox.env), "PYTHONPATH": os.pathsep.join(pythonpath),
           "PYTHONDONTWRITEBYTECODE": "1"}
    worker = [sys.executable, "-m", "evalkit.agents.isolated", spec, json.dumps(options, sort_keys=True, default=str)]
    return SubprocessAgent(worker, inner_build, timeout_s=timeout_s, env=env, deterministic=deterministic, spec=spec,
                           options=raw_options, sandbox=sandbox, mounts=mounts)


if __name__ == "__main__":
    main(sys.argv)
