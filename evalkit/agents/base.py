"""The Agent protocol, the Finding it returns, and the build id that names a build.

An agent receives the alert, a Toolbox and a seed and returns a Finding. It never sees a scenario,
a suite path or a ground truth. Failures are classified by :class:`AgentFailure` subclasses so the
runner can record them as scored failures with an ``error_class`` instead of crashing the run.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Protocol, SupportsIndex, runtime_checkable

from evalkit.provenance import text_hash
from evalkit.vocab import ErrorClass
from evalkit.world.toolbox import Toolbox

if TYPE_CHECKING:
    from evalkit.agents.limits import MessageLimits


@dataclass
class Hypothesis:
    """One ranked root-cause hypothesis: the component, the fault type, a confidence and evidence refs."""

    component: str
    fault_type: str | None = None
    confidence: float = 0.0
    evidence: list[str] = field(default_factory=list)


@dataclass
class Finding:
    """What an investigation concludes: ranked hypotheses (best first) and a short summary.

    ``usage`` carries what the adapter reports: ``tokens_in``, ``tokens_out``, ``cost_usd``, ``turns``.
    ``stderr`` is what a subprocess agent wrote to stderr.
    """

    hypotheses: list[Hypothesis]
    summary: str = ""
    usage: dict[str, float] = field(default_factory=dict)
    stderr: str = ""

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, doc: dict) -> "Finding":
        """Parse a finding from JSON; raises MalformedOutput on anything that is not one."""
        if not isinstance(doc, dict):
            raise MalformedOutput(f"finding must be a JSON object, got {type(doc).__name__}")
        hyps = doc.get("hypotheses")
        if not isinstance(hyps, list):
            raise MalformedOutput("finding.hypotheses must be a list")
        out = []
        for i, h in enumerate(hyps):
            if not isinstance(h, dict) or not isinstance(h.get("component"), str) or not h["component"]:
                raise MalformedOutput(f"finding.hypotheses[{i}] needs a non-empty string 'component'")
            ft = h.get("fault_type")
            if ft is not None and not isinstance(ft, str):
                raise MalformedOutput(f"finding.hypotheses[{i}].fault_type must be a string")
            try:  # an optional field given as null is absent, as in the journal's records
                conf = float(0.0 if h.get("confidence") is None else h["confidence"])
            except (TypeError, ValueError, OverflowError):
                raise MalformedOutput(f"finding.hypotheses[{i}].confidence must be a number") from None
            ev = [] if h.get("evidence") is None else h["evidence"]
            if not isinstance(ev, list) or not all(isinstance(e, str) for e in ev):
                raise MalformedOutput(f"finding.hypotheses[{i}].evidence must be a list of strings")
            out.append(Hypothesis(h["component"], ft, conf, list(ev)))
        summary = doc.get("summary") or ""
        if not isinstance(summary, str):
            raise MalformedOutput("finding.summary must be a string")
        return cls(out, summary)


@dataclass(frozen=True)
class BuildId:
    """Stable identity of an agent build: name, version, configuration hash and git sha where known
    (``-dirty`` when the agent's files differ from that commit)."""

    name: str
    version: str
    config: dict = field(default_factory=dict, hash=False, compare=False)
    git_sha: str | None = None
    #: the agent's files differ from git_sha (modified or untracked); their content hash is in ``config``.
    dirty: bool = False

    @property
    def config_hash(self) -> str:
        return text_hash(json.dumps(self.config, sort_keys=True, separators=(",", ":"), default=str))

    def __str__(self) -> str:
        sha = f"@{self.git_sha[:12]}" if self.git_sha else ""
        return f"{self.name}:{self.version}+{self.config_hash}{sha}{'-dirty' if self.dirty else ''}"


@runtime_checkable
class Agent(Protocol):
    """An investigation agent build."""

    build: BuildId

    def investigate(self, alert: dict, toolbox: Toolbox, seed: int) -> Finding:
        """Investigate the alert using only the toolbox; return ranked hypotheses."""
        ...


class LoadedAgent(Agent, Protocol):
    """What :func:`evalkit.agents.load_agent` returns: an adapter around the agent that bounds what the agent
    may send back by ``limits``."""

    limits: MessageLimits


class RebuiltFromSpec:
    """Mixin for adapters: pickles as "load this spec again" (``self.spec``, ``self.options``), so worker
    processes rebuild the agent instead of copying open clients, locks or processes."""

    spec: str | None
    options: dict

    def __reduce_ex__(self, protocol: SupportsIndex):  # rebuilt from the spec in worker processes
        if self.spec is not None:
            from evalkit.agents.spec import load_agent

            return partial(load_agent, self.spec, **self.options), ()
        return super().__reduce_ex__(protocol)


# --- failure classes --------------------------------------------------------------------------
class AgentFailure(Exception):
    """An investigation that ended without a usable finding. ``error_class`` goes into the results."""

    error_class = ErrorClass.AGENT_ERROR
    infrastructure = False


class AgentCrash(AgentFailure):
    """The agent raised, could not be started, or its process was killed by a signal."""

    error_class = ErrorClass.AGENT_CRASH


class AgentExit(AgentFailure):
    """The agent exited before its finding: a non-zero exit code, or a Python agent's ``sys.exit``."""

    error_class = ErrorClass.AGENT_EXIT


class AgentTimeout(AgentFailure):
    """No finding within the agent's ``timeout_s``; its processes are killed."""

    error_class = ErrorClass.TIMEOUT


class MalformedOutput(AgentFailure):
    """The agent's output broke the protocol: not a finding, a bad field, or over a message limit."""

    error_class = ErrorClass.MALFORMED_OUTPUT


class UnknownToolCall(AgentFailure):
    """The agent called a tool the Toolbox does not have."""

    error_class = ErrorClass.UNKNOWN_TOOL


class UnknownComponent(AgentFailure):
    """The finding names a component that is not in the world."""

    error_class = ErrorClass.UNKNOWN_COMPONENT


class BudgetExceeded(AgentFailure):
    """A budget ran out: tool calls past ``max_tool_calls``, or an ``openai:`` agent's turns or tokens."""

    error_class = ErrorClass.BUDGET_EXCEEDED


class InfrastructureError(AgentFailure):
    """Not the agent's fault (endpoint unreachable, rate limits exhausted, executor died): retried, never scored."""

    error_class = ErrorClass.INFRA_ERROR
    infrastructure = True


class EndpointUnreachable(InfrastructureError):
    """The agent's model endpoint stayed unreachable or failing after the retries."""

    error_class = ErrorClass.INFRA_UNREACHABLE


class RateLimited(InfrastructureError):
    """The agent's endpoint kept rate-limiting it after every retry."""

    error_class = ErrorClass.INFRA_RATE_LIMITED


def is_infrastructure(error_class: str | None) -> bool:
    """Infrastructure failures are reported apart and never counted as quality regressions."""
    return bool(error_class) and str(error_class).startswith("infra_")
