"""The settings of a run as one frozen value: :class:`RunConfig` (with :class:`JournalConfig`, :class:`RetryConfig`).

A RunConfig is built once — by the ``@run_options`` decorator of the CLI, or by hand in Python
(``run_suite("smoke", "reference:v1", RunConfig(trials=1))``) — and passed unchanged through
``run_gate``, ``run_suite`` and ``generate_history``. Its values are checked when it is built, here and
nowhere else, with the one-line errors of :mod:`evalkit.errors`.

To add a run setting, add one field: with ``metadata=cli(...)`` it also becomes an option of the commands
that run a suite (``evalkit run`` and ``evalkit gate``, or only those named in ``commands``), and its check,
if any, goes in :meth:`RunConfig.problems`. This module imports nothing heavy (``evalkit --help`` reads it).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from evalkit.agents.limits import DEFAULT_LIMITS, MessageLimits
from evalkit.errors import Problem, UserError, whole_number
from evalkit.vocab import SandboxMode, values

if TYPE_CHECKING:
    from evalkit.agents.sandbox import SandboxSettings
    from evalkit.run.executors import Executor

EXECUTORS = ("local", "threads", "processes", "ray")
#: CI machines have 2 cores; ``--jobs 0`` uses them all (the Python API's default is 1).
CLI_JOBS = 2
RUN_COMMANDS = ("run", "gate")


def cli(*decls: str, help: str, commands: tuple[str, ...] = RUN_COMMANDS, **click_kwargs: Any) -> dict:
    """Field metadata that makes a setting a command-line option (``decls`` and keywords as for ``click.option``;
    ``choices=`` and ``path="dir"`` stand in for click types, so this module needs no click)."""
    return {"cli": {"decls": decls, "help": help, "commands": commands, **click_kwargs}}


@dataclass(frozen=True)
class JournalConfig:
    """Where finished trials are journaled so that rerunning the same run resumes it."""

    dir: Path | None = field(default=None, metadata=cli(
        "--journal-dir", "journal_dir", path="dir",
        help="Resumable journal directory (default .evalkit/journal); rerunning the same command resumes it."))
    fresh: bool = field(default=False, metadata=cli(
        "--fresh", is_flag=True, help="Discard this run's journal and start over instead of resuming."))
    enabled: bool = True
    fsync_interval_s: float = 0.05
    #: keeps this run's journal apart from other runs of the same build and seed: a baseline run's trials are
    #: never resumed as a gate's candidate, which must be a measurement of its own
    name: str = ""

    def __post_init__(self) -> None:
        if self.dir is not None and not isinstance(self.dir, Path):
            object.__setattr__(self, "dir", Path(self.dir))


#: no journal: every trial runs again on a rerun (tests, benchmarks, backdated histories).
NO_JOURNAL = JournalConfig(enabled=False)


@dataclass(frozen=True)
class RetryConfig:
    """How often an infrastructure failure is retried, with exponential backoff from ``backoff_s``."""

    max_retries: int = 2
    backoff_s: float = 0.5


@dataclass(frozen=True)
class SequentialConfig:
    """How the gate spends a pool suite: the sequential design (rounds) or, with ``fixed``, one shot; the
    budget caps a sequential gate (None = no cap); open categories at the cap are reported as they stand."""

    fixed: bool = field(default=False, metadata=cli(
        "--fixed", is_flag=True, commands=("gate",),
        help="On a pool suite, run every scenario and compare in one shot instead of sampling the pool in rounds."))
    max_trials: int | None = field(default=None, metadata=cli(
        "--max-trials", type=int, commands=("gate",),
        help="Sequential gate: stop after this many trials; open categories are reported as they stand."))
    max_minutes: float | None = field(default=None, metadata=cli(
        "--max-minutes", type=float, commands=("gate",), help="Sequential gate: stop after this much wall time."))
    max_cost_usd: float | None = field(default=None, metadata=cli(
        "--max-cost", "max_cost_usd", type=float, commands=("gate",),
        help="Sequential gate: stop once the candidate's cost_usd reaches this many dollars."))

    def problems(self) -> list[Problem]:
        out = []
        if self.max_trials is not None and not whole_number(self.max_trials, 1):
            out.append(Problem("--max-trials", "", self.max_trials, "give a whole number of trials >= 1, or leave it out"))
        for option, v in (("--max-minutes", self.max_minutes), ("--max-cost", self.max_cost_usd)):
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v < float("inf")):
                out.append(Problem(option, "", v, "give a positive number, or leave it out"))
        return out

    def reached(self, trials: int, wall_s: float, cost_usd: float) -> str | None:
        """Which cap is reached, if any (a phrase for the report), else None."""
        if self.max_trials is not None and trials >= self.max_trials:
            return f"trial budget reached ({trials} of {self.max_trials} trials)"
        if self.max_minutes is not None and wall_s >= 60.0 * self.max_minutes:
            return f"time budget reached ({wall_s:.0f} s of {60.0 * self.max_minutes:g} s)"
        if self.max_cost_usd is not None and cost_usd >= self.max_cost_usd:
            return f"cost budget reached (${cost_usd:.2f} of ${self.max_cost_usd:.2f})"
        return None


@dataclass(frozen=True)
class SandboxConfig:
    """How ``cmd:`` agents (and, with ``isolate``, Python agents) are sandboxed: see :mod:`evalkit.agents.sandbox`."""

    mode: SandboxMode = field(default=SandboxMode.ON, metadata=cli(
        "--sandbox", "sandbox_mode", choices=values(SandboxMode), default=SandboxMode.ON.value, show_default=True,
        help="Agent sandbox (Linux, bubblewrap): on (truth and checkout hidden, network kept), strict (also no "
             "network) or none (explicit opt-out, recorded with the run)."))
    env: tuple[str, ...] = field(default=(), metadata=cli(
        "--agent-env", "agent_env", multiple=True,
        help="Pass this variable of evalkit's environment to the agent (repeatable); nothing else is passed."))
    paths: tuple[str, ...] = field(default=(), metadata=cli(
        "--agent-path", "agent_paths", multiple=True,
        help="Show this file or folder to the sandboxed agent, read-only (repeatable)."))
    isolate: bool = field(default=False, metadata=cli(
        "--isolate", is_flag=True,
        help="Run a Python agent in the sandbox too, through a worker subprocess (it is trusted code otherwise)."))
    #: more paths no agent may see, besides the run's suite and journal (the gate's report folder)
    hidden: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.mode, str) and self.mode in tuple(SandboxMode):
            object.__setattr__(self, "mode", SandboxMode(self.mode))
        object.__setattr__(self, "env", tuple(self.env or ()))
        object.__setattr__(self, "paths", tuple(str(p) for p in (self.paths or ())))
        object.__setattr__(self, "hidden", tuple(str(p) for p in (self.hidden or ())))

    def problems(self) -> list[Problem]:
        out = []
        if not isinstance(self.mode, SandboxMode):
            out.append(Problem("--sandbox", "", self.mode, f"choose one of {', '.join(m.value for m in SandboxMode)}"))
        if bad := [n for n in self.env if not isinstance(n, str) or not n.isidentifier()]:
            out.append(Problem("--agent-env", "", bad[0], "give the name of an environment variable, e.g. "
                               "--agent-env OPENAI_API_KEY"))
        return out

    def settings(self, protect: tuple[str, ...] = ()) -> "SandboxSettings":
        """The picklable settings the agents of a run are built with; ``protect``: paths never shown."""
        from evalkit.agents.sandbox import SandboxSettings

        return SandboxSettings(self.mode, self.env, self.paths, tuple(str(p) for p in (*protect, *self.hidden)),
                               self.isolate)


@dataclass(frozen=True)
class TraceConfig:
    """Opt-in MLflow tracing of the run's investigations (a trace per trial, a span per tool call), so they are
    browsable in the MLflow trace view and can be harvested into labels (docs/labels.md)."""

    enabled: bool = field(default=False, metadata=cli(
        "--trace", "trace", is_flag=True, commands=("run",),
        help="Log every trial as an MLflow trace (a span per tool call, the finding on the root span)."))
    experiment: str = field(default="evalkit-traces", metadata=cli(
        "--trace-experiment", "trace_experiment", commands=("run",), show_default=True,
        help="MLflow experiment the traces of --trace go to."))

    def problems(self) -> list[Problem]:
        if not isinstance(self.experiment, str) or not self.experiment.strip():
            return [Problem("--trace-experiment", "", self.experiment, "give an MLflow experiment name")]
        return []


@dataclass(frozen=True)
class RunConfig:
    """How a suite is run: trials, seeds, concurrency, timeout, scorers, agent options, journal and retries.

    ``trials=None`` takes the suite's default; ``executor`` is a name in :data:`EXECUTORS` or an Executor;
    ``scorers`` are user scorer specs ``[name=]pkg.mod:fn`` (or UserScorers); ``agent_options`` are passed
    to the agent factory. Bad values raise :class:`~evalkit.errors.UserError` (one line per problem).
    """

    trials: int | None = field(default=None, metadata=cli(
        "--trials", type=int, help="Trials per scenario (default: the suite's)."))
    seed: int = field(default=0, metadata=cli(
        "--seed", type=int, show_default=True, help="Run seed; trial seeds derive from it."))
    jobs: int = field(default=1, metadata=cli(
        "--jobs", type=int, default=CLI_JOBS, show_default=True, help="Parallel investigations (0 = all CPUs)."))
    executor: str | Executor = field(default="local", metadata=cli(
        "--executor", choices=EXECUTORS, show_default=True,
        help="local: processes for Python agents, threads for cmd:/openai:; ray for a cluster."))
    ray_address: str | None = field(default=None, metadata=cli(
        "--ray-address", help="Ray cluster address for --executor ray (default: local Ray)."))
    timeout_s: float = field(default=60.0, metadata=cli(
        "--timeout", "timeout_s", type=float, show_default=True, help="Per-investigation timeout in seconds."))
    scorers: tuple[Any, ...] = field(default=(), metadata=cli(
        "--scorer", "scorers", multiple=True, help="User scorer [name=]pkg.module:function (repeatable)."))
    fail_fast: int = field(default=5, metadata=cli(
        "--fail-fast", type=int, show_default=True,
        help="Stop with exit 2 when the first N trials all fail before the agent's first message or tool call "
             "(a broken agent); 0 = never."))
    #: a finished run whose agent failed in more than this share of its trials says so in its warnings.
    failure_warning_share: float = 0.5
    agent_options: Mapping[str, Any] = field(default_factory=dict, hash=False)
    journal: JournalConfig = field(default_factory=JournalConfig)
    retry: RetryConfig = field(default_factory=RetryConfig)
    sequential: SequentialConfig = field(default_factory=SequentialConfig)
    sandbox: SandboxConfig = field(default_factory=SandboxConfig)
    trace: TraceConfig = field(default_factory=TraceConfig)
    #: bounds on what an agent sends (message and trial bytes, JSON depth, finding size).
    limits: MessageLimits = field(default_factory=lambda: DEFAULT_LIMITS)

    def __post_init__(self) -> None:
        object.__setattr__(self, "scorers", tuple(self.scorers or ()))
        object.__setattr__(self, "agent_options", dict(self.agent_options or {}))
        if problems := self.problems():
            raise UserError(*problems)

    def problems(self) -> list[Problem]:
        """What is wrong with these settings (the checks of every run setting live here)."""
        out = []
        if self.trials is not None and not whole_number(self.trials, 1):
            out.append(Problem("--trials", "", self.trials, "give an integer >= 1"))
        if not whole_number(self.fail_fast, 0):
            out.append(Problem("--fail-fast", "", self.fail_fast, "give a number of trials >= 0 (0 = never stop early)"))
        if not whole_number(self.seed, 0):
            out.append(Problem("--seed", "", self.seed, "give an integer >= 0"))
        elif self.seed >= 2**63:  # results store it as int64
            out.append(Problem("--seed", "", self.seed, "give an integer below 2^63"))
        out += execution_problems(self.executor, self.jobs, self.timeout_s)
        if not whole_number(self.retry.max_retries, 0):
            out.append(Problem("max_retries", "", self.retry.max_retries, "give an integer >= 0"))
        return out + self.sequential.problems() + self.sandbox.problems() + self.trace.problems()

    def replace(self, **changes: Any) -> "RunConfig":
        """A copy with ``changes`` applied (and checked)."""
        return dataclasses.replace(self, **changes)

    @property
    def executor_name(self) -> str:
        """The executor's name (``custom`` for an Executor object without one)."""
        return self.executor if isinstance(self.executor, str) else getattr(self.executor, "name", "custom")

    def agent_kwargs(self, protect: tuple[str, ...] = ()) -> dict[str, Any]:
        """The options every agent of the run is built with: ``agent_options`` plus the timeout, the sandbox
        (``protect``: the run's own paths no agent may see) and the output limits."""
        return {**self.agent_options, "timeout_s": float(self.timeout_s),
                "sandbox": self.sandbox.settings(protect), "limits": self.limits}


def execution_problems(executor: Any, jobs: Any, timeout_s: Any) -> list[Problem]:
    """Problems with an executor name, a number of jobs and a timeout (shared with ``make_executor``)."""
    out = []
    if isinstance(executor, str) and executor not in EXECUTORS:
        out.append(Problem("--executor", "", executor, f"choose one of {', '.join(EXECUTORS)}"))
    if timeout_s is None or isinstance(timeout_s, bool) or not timeout_s > 0:
        out.append(Problem("--timeout", "", timeout_s, "give the per-investigation timeout in seconds (> 0)"))
    if not whole_number(jobs, 0):
        out.append(Problem("--jobs", "", jobs, "give a number of parallel investigations >= 1 (0 = all CPUs)"))
    return out


__all__ = ["RunConfig", "TraceConfig", "JournalConfig", "RetryConfig", "SequentialConfig", "SandboxConfig", "NO_JOURNAL", "EXECUTORS", "cli", "execution_problems"]
