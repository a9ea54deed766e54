"""Try an agent on one scenario and show what passed between it and evalkit: ``evalkit agents check``.

The first thing to run on a new agent: in seconds it shows the protocol exchange (for ``cmd:`` agents),
the tool calls, the finding or the failure with its class, and the agent's stderr — instead of a full run
in which every trial times out.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from evalkit.agents.base import Finding
from evalkit.agents.sandbox import SandboxSettings
from evalkit.errors import clip
from evalkit.world.toolbox import Toolbox


@dataclass
class CheckResult:
    """What one investigation of the checked agent did."""

    spec: str
    build_id: str
    scenario_id: str
    seconds: float
    transcript: list[tuple[str, str]] = field(default_factory=list)
    calls: list[dict] = field(default_factory=list)
    finding: Finding | None = None
    error_class: str = ""
    message: str = ""
    stderr: str = ""

    @property
    def ok(self) -> bool:
        return self.finding is not None


def check_agent(spec: str, *, suite: str = "smoke", scenario: str | None = None, timeout_s: float = 30.0,
                sandbox: SandboxSettings | None = None) -> CheckResult:
    """Run ``spec`` on one scenario of ``suite`` (its first, or ``scenario``) and record the exchange."""
    from evalkit.agents.attempt import attempt
    from evalkit.agents.spec import load_agent
    from evalkit.suite import load_suite, load_world

    suite_obj = load_suite(suite)
    sc = suite_obj.scenario(scenario) if scenario is not None else suite_obj.scenarios[0]
    agent = load_agent(spec, timeout_s=timeout_s, sandbox=sandbox or SandboxSettings(protect=(str(suite_obj.path),)))
    transcript: list[tuple[str, str]] = []
    if hasattr(agent, "transcript"):
        agent.transcript = transcript
    world = load_world(sc)
    toolbox = Toolbox(world, max_calls=sc.max_tool_calls)
    done = attempt(agent, copy.deepcopy(world.alert or sc.alert), toolbox, 0)
    return CheckResult(spec, str(agent.build), sc.id, done.latency_s, transcript,
                       [c.to_dict() for c in toolbox.trajectory], done.finding, done.error_class, done.message,
                       done.stderr)


def format_check(result: CheckResult, width: int = 160) -> str:
    """The check as text: transcript (or tool calls), outcome, stderr tail."""
    lines = [f"agent {result.spec} · build {result.build_id} · scenario {result.scenario_id} · "
             f"{result.seconds:.2f} s"]
    if result.transcript:
        lines.append("protocol exchange:")
        lines += [f"  {d}  {_clip(text, width)}" for d, text in result.transcript]
    elif result.calls:
        lines.append("tool calls:")
        lines += [f"  {c.get('tool')}({_clip(str(c.get('args', {})), width)})" for c in result.calls]
    if result.ok:
        top = result.finding.hypotheses[:3]
        lines.append("ok: finding with " + (", ".join(f"{h.component} ({h.confidence:g})" for h in top) or
                                             "no hypotheses"))
    else:
        lines.append(f"failed: {result.error_class}: {result.message}")
        if not result.transcript and not result.calls:
            lines.append("  the agent sent nothing: it must write one JSON message per line on stdout, starting "
                         "with a tool_call (or final) after reading the start message")
    tail = result.stderr.strip().splitlines()[-10:]
    if tail:
        lines.append("stderr (last lines):")
        lines += [f"  {_clip(t, width)}" for t in tail]
    return "\n".join(lines)


def _clip(text: str, width: int) -> str:
    return clip("".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text), width)


__all__ = ["CheckResult", "check_agent", "format_check"]
