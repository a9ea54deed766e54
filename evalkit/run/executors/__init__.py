"""Executors run trials with bounded concurrency and enforce the per-investigation timeout.

Every executor implements :class:`Executor`: the runner ``submit``\\s at most ``capacity`` tasks at a time
and ``poll``\\s for finished :class:`~evalkit.run.tasks.TrialOutcome`\\s. Retries, journaling and progress
live in the runner, so all executors produce identical tables for a deterministic agent.

- ``threads``: I/O-bound agents (subprocess, LLM endpoints); a timed-out investigation is abandoned.
- ``processes``: CPU-bound Python agents; a worker that exceeds the timeout is killed and replaced.
- ``ray``: the same tasks on a Ray cluster (``pip install evalkit[ray]``); timed-out tasks are force-cancelled.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Callable, Iterator, Protocol, runtime_checkable

from evalkit.errors import UserError
from evalkit.run.config import RunConfig, execution_problems
from evalkit.run.tasks import TrialOutcome, TrialTask
from evalkit.vocab import ErrorClass

#: the function every executor runs on a task: ``fn(task, on_start) -> TrialOutcome``
TrialFn = Callable[..., TrialOutcome]


@runtime_checkable
class Executor(Protocol):
    """Runs trials; ``submit`` never blocks, ``poll`` returns what finished (possibly nothing)."""

    name: str
    capacity: int

    def submit(self, task: TrialTask) -> None: ...

    def poll(self, timeout: float | None) -> list[TrialOutcome]: ...

    def in_flight(self) -> int: ...

    def close(self) -> None: ...


def local_mode_for(agent_spec: str) -> str:
    """Threads for I/O-bound agents (``cmd:``, ``mcp:``, ``openai:``), processes for Python ones (``reference:``, ``pkg:fn``)."""
    kind = agent_spec.split(":", 1)[0].strip().lower()
    return "threads" if kind in ("cmd", "mcp", "mcp+http", "openai") else "processes"


def prestart(executor: "str | Executor", agent_spec: str | None) -> None:
    """Start what the executor named ``executor`` will run trials on before the caller's own start-up (the
    process executor's forkserver imports evalkit while the caller imports pandas and loads the suite); does
    nothing for other executors (or an Executor object). A run that then fails early only leaves an idle
    forkserver, which ends with it."""
    if not isinstance(executor, str) or not agent_spec:
        return
    if (local_mode_for(agent_spec) if executor == "local" else executor) == "processes":
        from evalkit.run.executors.processes import start_forkserver

        start_forkserver()


def make_executor(name: str, agent_spec: str, jobs: int = 1, timeout_s: float = 60.0,
                  ray_address: str | None = None, trial_fn: TrialFn | None = None) -> Executor:
    """Build the executor called ``name`` (``local`` picks threads or processes from the agent spec)."""
    if problems := execution_problems(name, jobs, timeout_s):
        raise UserError(*problems)
    if name == "local":
        name = local_mode_for(agent_spec)
    if name == "ray":
        from evalkit.run.executors.ray_tasks import RayExecutor

        return RayExecutor(jobs=jobs, timeout_s=timeout_s, address=ray_address, trial_fn=trial_fn)
    jobs = jobs or (os.cpu_count() or 1)
    if name == "threads":
        from evalkit.run.executors.threads import ThreadExecutor

        return ThreadExecutor(jobs=jobs, timeout_s=timeout_s, trial_fn=trial_fn)
    from evalkit.run.executors.processes import ProcessExecutor

    return ProcessExecutor(jobs=jobs, timeout_s=timeout_s, trial_fn=trial_fn)


@contextmanager
def executor_for(config: RunConfig, agent_spec: str) -> Iterator[Executor]:
    """The executor of a run: ``config.executor`` when it is an Executor object (the caller's to close), else a
    new one of that name (``local`` picks from ``agent_spec``), closed when the block ends."""
    if not isinstance(config.executor, str):
        yield config.executor
        return
    exe = make_executor(config.executor, agent_spec, jobs=config.jobs, timeout_s=config.timeout_s,
                        ray_address=config.ray_address)
    try:
        yield exe
    finally:
        exe.close()


def timeout_outcome(task: TrialTask, timeout_s: float, elapsed: float, how: str) -> TrialOutcome:
    return TrialOutcome.failure(task, ErrorClass.TIMEOUT, f"investigation exceeded the {timeout_s:g} s timeout ({how})",
                                infra=False, latency_s=elapsed)


def died_outcome(task: TrialTask, detail: str) -> TrialOutcome:
    return TrialOutcome.failure(task, ErrorClass.INFRA_EXECUTOR, f"executor died: {detail}", infra=True)
