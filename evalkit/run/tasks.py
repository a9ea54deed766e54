"""What a worker receives (:class:`TrialTask`) and what it sends back (:class:`TrialOutcome`).

Both are small picklable dataclasses: a task names the suite by path and the agent by spec so that any
worker (thread, process, Ray task on another node) can rebuild world and agent itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from evalkit.vocab import Status


@dataclass(frozen=True)
class TrialTask:
    """One investigation to run: (suite path, scenario id, trial, seed, agent spec) plus run settings.

    ``suite_path`` should be absolute: workers may run in another directory (or on another node).
    """

    suite_path: str
    suite_hash: str
    scenario_id: str
    trial: int
    seed: int
    agent_spec: str
    agent_options: tuple[tuple[str, object], ...] = ()
    attempt: int = 0

    @property
    def key(self) -> tuple[str, int]:
        return (self.scenario_id, self.trial)

    def retry(self) -> "TrialTask":
        return replace(self, attempt=self.attempt + 1)

    @classmethod
    def make(cls, suite_path: str | Path, suite_hash: str, scenario_id: str, trial: int, seed: int,
             agent_spec: str, agent_options: dict | None = None) -> "TrialTask":
        opts = tuple(sorted((agent_options or {}).items()))
        return cls(str(suite_path), suite_hash, scenario_id, int(trial), int(seed), agent_spec, opts)


@dataclass
class TrialOutcome:
    """The raw result of one investigation, before scoring.

    ``status`` is ``ok`` | ``agent_error`` | ``infra_error``; ``finding`` is ``Finding.to_dict()`` (None when
    the agent failed); ``calls`` are ``ToolCall.to_dict()`` of the recorded trajectory (empty when the
    worker was killed); ``latency_s`` is the wall time of ``investigate``.
    """

    scenario_id: str
    trial: int
    seed: int
    status: str
    error_class: str = ""
    error_message: str = ""
    finding: dict | None = None
    calls: list[dict] = field(default_factory=list)
    latency_s: float = float("nan")
    stderr: str = ""
    attempt: int = 0

    @property
    def key(self) -> tuple[str, int]:
        return (self.scenario_id, self.trial)

    @classmethod
    def failure(cls, task: TrialTask, error_class: str, message: str, *, infra: bool,
                latency_s: float = float("nan")) -> "TrialOutcome":
        """An outcome produced without the worker's help (timeout kill, dead worker)."""
        return cls(task.scenario_id, task.trial, task.seed, Status.INFRA_ERROR if infra else Status.AGENT_ERROR,
                   error_class, message, None, [], latency_s, "", task.attempt)
