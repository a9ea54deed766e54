"""Deferred worlds: a trial's world is replayed only when a tool first needs it, every tool answers byte for
byte what the eager replay answers, and a stale scenario is still refused (the trial is a setup error)."""

from __future__ import annotations

import json
import pytest

from suite_helpers import SMOKE, copy_suite, private_replay_cache, replay_sample

@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    return private_replay_cache(tmp_path, monkeypatch)



def _every_tool_call(world) -> list[tuple[str, dict]]:
    """One call of every tool, and every metric/log/trace/event query of every component of ``world``."""
    calls: list[tuple[str, dict]] = [("get_alert", {}), ("list_components", {}), ("get_topology", {}),
                                     ("list_monitors", {}), ("list_events", {}), ("search_logs", {"limit": 500}),
                                     ("get_traces", {"limit": 200})]
    mid = (world.start + world.end) // 2
    for c in world.components:
        name = c["name"]
        calls += [("get_topology", {"component": name, "depth": 2}), ("list_metrics", {"component": name}),
                  ("search_logs", {"component": name, "limit": 500}), ("list_events", {"component": name}),
                  ("get_traces", {"component": name, "errors_only": True, "start": mid, "limit": 200})]
        calls += [("query_metric", {"component": name, "metric": m}) for m in world.metrics.get(name, {})]
    return calls


def _answers(world, calls) -> list[str]:
    from evalkit.world.toolbox import Toolbox

    tb = Toolbox(world, max_calls=len(calls))
    return [json.dumps(tb.call(tool, args), sort_keys=True) for tool, args in calls]


def test_every_tool_answers_the_same_on_a_deferred_world_as_on_the_eager_replay(cache_dir):
    """Every smoke scenario and a sample of core, cold cache: each tool's output and the world's bytes."""
    from evalkit.suite import load_world

    for sc in replay_sample(12):
        eager = load_world(sc, cache=False)
        deferred = load_world(sc, lazy=True, deferred=True)
        assert not deferred.loaded, sc.id
        calls = _every_tool_call(eager)
        assert _answers(deferred, calls) == _answers(eager, calls), sc.id
        assert deferred.loaded and deferred.to_bytes() == eager.to_bytes(), sc.id


def test_nothing_is_loaded_until_a_tool_reads_the_telemetry():
    from evalkit.world.deferred import DeferredWorld
    from evalkit.world.model import World
    from evalkit.world.toolbox import Toolbox

    loads = []
    real = World(start=0, end=600, step=60, components=[{"name": "api", "kind": "service", "tier": "service"},
                                                        {"name": "db", "kind": "database", "tier": "data"}],
                 edges=[("api", "db", "calls")], metrics={}, alert={"component": "api", "title": "t"})
    world = DeferredWorld(real.alert, lambda: loads.append(1) or real)
    tb = Toolbox(world)
    assert tb.get_alert() == real.alert and "api" in tb.component_names()
    assert loads == []                                               # the alert and its component cost nothing
    assert "db" in tb.component_names() and "nope" not in tb.component_names()
    assert loads == [1]                                              # any other name loads the world, once
    assert tb.list_components()[1]["name"] == "db" and loads == [1]


def test_a_failed_load_is_raised_to_every_reader_and_kept():
    from evalkit.errors import Problem, UserError
    from evalkit.world.deferred import DeferredWorld

    def stale():
        raise UserError(Problem("s.json", "world.digest", "x", "regenerate"))

    world = DeferredWorld({"component": "api"}, stale)
    for _ in range(2):
        with pytest.raises(UserError, match="digest"):
            world.components  # noqa: B018 - the read is the point
    assert isinstance(world.failure, UserError) and not world.loaded


def test_a_trial_on_a_stale_scenario_is_a_setup_error_once_a_tool_needs_the_world(cache_dir, tmp_path):
    """The digest check stays: the deferred replay refuses the stale world and the worker reports it."""
    from evalkit.run.tasks import TrialTask
    from evalkit.run.worker import run_trial
    from evalkit.suite import load_suite
    from evalkit.vocab import ErrorClass, Status

    root = copy_suite(SMOKE, tmp_path / "stale", keep=1)
    path = next((root / "scenarios").glob("*.json"))
    doc = json.loads(path.read_text())
    doc["world"]["digest"] = "0" * 16                                # what an older generator would have written
    path.write_text(json.dumps(doc))
    suite = load_suite(root)
    task = TrialTask(suite_path=str(root), suite_hash=suite.hash, scenario_id=doc["id"], trial=0, seed=1,
                     agent_spec="reference:v1")
    out = run_trial(task)
    assert (out.status, out.error_class) == (Status.SETUP_ERROR, ErrorClass.SETUP_ERROR)
    assert "digest" in out.error_message


def test_the_load_counts_as_neither_the_tool_calls_time_nor_the_agents(monkeypatch):
    """A deferred load inside the first tool call is evalkit's cost: subtracted from that call's duration."""
    from types import SimpleNamespace

    import evalkit.world.toolbox as toolbox
    from evalkit.world.deferred import DeferredWorld, load_seconds
    from evalkit.world.model import World
    from fake_clock import FakeClock

    clock = FakeClock()
    monkeypatch.setattr(toolbox, "time", SimpleNamespace(perf_counter=clock))
    real = World(start=0, end=600, step=60, components=[{"name": "api", "kind": "service", "tier": "service"}],
                 edges=[], metrics={}, alert={"component": "api"})

    def slow_load():
        clock.advance(7.0)
        return real

    world = DeferredWorld(real.alert, slow_load, clock=clock)
    tb = toolbox.Toolbox(world)
    tb.list_components()
    assert load_seconds(world) == 7.0 and tb.trajectory[0].duration_s == 0.0
    assert load_seconds(real) == 0.0


def test_a_retried_trial_loads_the_world_again_after_a_transient_failure(cache_dir, tmp_path, monkeypatch):
    """An infrastructure failure of the deferred load (here an OSError) is retried by the runner; the retry on the
    same worker process must load the world again, not be handed the failure the worker kept from the first try."""
    from collections import OrderedDict

    import evalkit.suite.generator as generator
    from evalkit.run import worker
    from evalkit.run.tasks import TrialTask
    from evalkit.suite import load_suite
    from evalkit.vocab import Status

    monkeypatch.setattr(worker, "_worlds", OrderedDict())
    real, calls = generator.replay, []

    def flaky(*a, **k):
        calls.append(1)
        if len(calls) == 1:
            raise OSError(24, "Too many open files")
        return real(*a, **k)

    monkeypatch.setattr(generator, "replay", flaky)
    root = copy_suite(SMOKE, tmp_path / "s", keep=1)
    suite = load_suite(root)
    task = TrialTask(suite_path=str(root), suite_hash=suite.hash, scenario_id=suite.scenarios[0].id, trial=0,
                     seed=1, agent_spec="reference:v1")
    assert worker.run_trial(task).status == Status.INFRA_ERROR
    assert worker.run_trial(task.retry()).status == Status.OK
    assert len(calls) == 2
