"""Run one trial inside a worker (thread, process or Ray task): rebuild world and agent, investigate, classify.

Workers receive only a :class:`TrialTask`; they load the suite and the agent themselves and cache both
(plus a few recent worlds) per process. Agents are cached per thread, so a thread executor never shares
one agent instance between concurrent investigations. The ground truth is never touched here.
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from typing import Callable

from evalkit.agents.attempt import attempt, describe
from evalkit.errors import UserError
from evalkit.run.tasks import TrialOutcome, TrialTask
from evalkit.vocab import ErrorClass, Status
from evalkit.world.deferred import load_seconds
from evalkit.world.toolbox import Answers, Toolbox

WORLD_CACHE_SIZE = 8

_lock = threading.Lock()
_suites: dict[tuple[str, str], tuple[object, dict]] = {}  # (path, hash) -> (suite, scenarios by id)
_worlds: "OrderedDict[tuple[str, str], tuple[object, Answers]]" = OrderedDict()  # world + its tools' answers
_local = threading.local()


class WorkerSetupError(Exception):
    """The worker could not rebuild the suite, world or agent (an infrastructure problem, not the agent's)."""


def _scenario(task: TrialTask):
    """The task's scenario, from the per-process suite cache (the suite is loaded once per worker)."""
    key = (task.suite_path, task.suite_hash)
    with _lock:
        cached = _suites.get(key)
    if cached is None:
        from evalkit.suite import load_suite

        suite = load_suite(task.suite_path)
        if suite.hash != task.suite_hash:
            raise WorkerSetupError(
                f"suite at {task.suite_path} has hash {suite.hash} on this worker, the run expects {task.suite_hash}"
            )
        cached = (suite, {s.id: s for s in suite.scenarios})
        with _lock:
            _suites[key] = cached
    suite, by_id = cached
    try:
        return by_id[task.scenario_id]
    except KeyError:
        raise WorkerSetupError(f"scenario {task.scenario_id!r} is not in suite {suite.name}") from None


def _world(task: TrialTask, scenario) -> tuple[object, Answers]:
    """The scenario's world (cached per process with the answers its tools gave, which later trials reuse)."""
    key = (task.suite_hash, task.scenario_id)
    with _lock:
        cached = _worlds.get(key)
        if cached is not None:
            _worlds.move_to_end(key)
            return cached
    from evalkit.suite import load_world

    cached = (load_world(scenario, lazy=True, deferred=True), Answers())  # replayed when a tool needs it
    with _lock:
        _worlds[key] = cached
        while len(_worlds) > WORLD_CACHE_SIZE:
            _worlds.popitem(last=False)
    return cached


def _forget_world(task: TrialTask, world: object) -> None:
    """Drop ``world`` from the per-process cache (if it is still the cached one)."""
    key = (task.suite_hash, task.scenario_id)
    with _lock:
        if key in _worlds and _worlds[key][0] is world:
            del _worlds[key]


def _agent(task: TrialTask):
    cache = vars(_local).setdefault("agents", {})  # this thread's own
    key = (task.agent_spec, task.agent_options)
    agent = cache.get(key)
    if agent is None:
        from evalkit.agents.spec import load_agent

        agent = cache[key] = load_agent(task.agent_spec, **dict(task.agent_options))
    return agent


def run_trial(task: TrialTask, on_start: Callable[[], None] | None = None) -> TrialOutcome:
    """Run one investigation and classify how it ended. Never raises for agent or setup failures.

    ``on_start`` is called right before ``investigate`` (after world and agent are ready), so executors
    measure the per-investigation timeout from there.
    """
    try:
        scenario = _scenario(task)
        world, answers = _world(task, scenario)
        agent = _agent(task)
    except Exception as exc:  # noqa: BLE001 - classified by _setup_failure
        return _setup_failure(task, exc)

    toolbox = Toolbox(world, max_calls=scenario.max_tool_calls, answers=answers)
    alert = copy.deepcopy(world.alert or scenario.alert)
    if on_start is not None:
        on_start()
    before = load_seconds(world)
    done = attempt(agent, alert, toolbox, task.seed)
    latency = done.latency_s - (load_seconds(world) - before)  # a deferred world's load is evalkit's time
    failure = getattr(world, "failure", None)
    if failure is not None:  # the deferred world could not be loaded when a tool first needed it
        if not isinstance(failure, UserError):  # infrastructure: not kept, so a retry loads the world again
            _forget_world(task, world)
        return _setup_failure(task, failure)
    return TrialOutcome(
        task.scenario_id, task.trial, task.seed, done.status, done.error_class, done.message,
        done.finding.to_dict() if done.finding is not None else None,
        [c.to_dict() for c in toolbox.trajectory], latency, done.stderr, task.attempt,
    )


def _setup_failure(task: TrialTask, exc: Exception) -> TrialOutcome:
    """A stale/broken suite or agent spec is the user's to fix (retrying won't); anything else is infrastructure."""
    if isinstance(exc, UserError):
        status, error_class, message = Status.SETUP_ERROR, ErrorClass.SETUP_ERROR, str(exc)
    else:
        status, error_class = Status.INFRA_ERROR, ErrorClass.INFRA_EXECUTOR
        message = f"worker setup failed: {describe(exc)}"
    return TrialOutcome(task.scenario_id, task.trial, task.seed, status, error_class, message, attempt=task.attempt)
