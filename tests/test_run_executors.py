"""Executors: bounded concurrency, timeouts (kill and replace / abandon), dead workers as infra errors."""

import os
import threading
import time

import pytest

from evalkit.errors import UserError
from evalkit.run.executors import local_mode_for, make_executor
from evalkit.run.executors.processes import ProcessExecutor
from evalkit.run.executors.threads import ThreadExecutor
from evalkit.run.tasks import TrialOutcome, TrialTask


def fake_trial(task, on_start=None):
    """Behaviour keyed by scenario id: hang-*, die-*, crash-* (raises), else ok with the worker's pid."""
    if on_start:
        on_start()
    sid = task.scenario_id
    if sid.startswith("hang"):
        time.sleep(1.5)
    if sid.startswith("die"):
        os._exit(3)
    if sid.startswith("crash"):
        raise RuntimeError("bug in the trial function")
    return TrialOutcome(sid, task.trial, task.seed, "ok", finding={"hypotheses": []}, latency_s=0.0,
                        stderr=str(os.getpid()), attempt=task.attempt)


def gc_trial(task, on_start=None):
    """Makes and drops 50,000 cyclic pairs, then reports how many are still uncollected and the gc state."""
    import gc
    import weakref

    class Node:
        pass

    alive = []
    for _ in range(50_000):
        a, b = Node(), Node()
        a.other, b.other = b, a
        alive.append(weakref.ref(a))
        del a, b
    left = sum(r() is not None for r in alive)
    state = f"{left} {gc.get_freeze_count()} {gc.get_threshold()[0]}"
    return TrialOutcome(task.scenario_id, task.trial, task.seed, "ok", finding={"hypotheses": []}, latency_s=0.0,
                        stderr=state, attempt=task.attempt)


def test_a_process_worker_still_collects_cycles_with_its_imports_frozen():
    """Trial workers collect less often (a replay allocates tens of thousands of containers) and skip what
    they imported, but unreachable cycles are still freed as the worker goes on."""
    exe = ProcessExecutor(jobs=1, timeout_s=30, trial_fn=gc_trial)
    try:
        out, _ = drain(exe, [task("cycles")])
    finally:
        exe.close()
    left, frozen, gen0 = map(int, out[("cycles", 0)].stderr.split())
    assert frozen > 10_000 and gen0 > 700
    assert left < 50_000 - 40_000  # at most the last, not yet collected, batch of 20,000 allocations survives


def task(sid, trial=0):
    return TrialTask.make("/nowhere", "h", sid, trial, 1, "reference:v1")


def drain(exe, tasks):
    tasks, out, peak = list(tasks), [], 0
    deadline = time.monotonic() + 30
    while (tasks or exe.in_flight()) and time.monotonic() < deadline:
        while tasks and exe.in_flight() < exe.capacity:
            exe.submit(tasks.pop(0))
        peak = max(peak, exe.in_flight())
        out.extend(exe.poll(timeout=0.5))
    return {o.key: o for o in out}, peak


def test_local_mode_is_threads_for_io_bound_agents_and_processes_for_python_ones():
    assert local_mode_for("cmd:python agent.py") == "threads"
    assert local_mode_for("openai:gpt-4o-mini") == "threads"
    assert local_mode_for("reference:v1") == "processes"
    assert local_mode_for("mypkg.agents:build") == "processes"


def test_bad_executor_options_are_user_errors():
    with pytest.raises(UserError, match="--executor: 'dask'"):
        make_executor("dask", "reference:v1")
    with pytest.raises(UserError, match="--timeout"):
        make_executor("local", "reference:v1", timeout_s=0)


def test_process_executor_kills_a_hung_worker_and_replaces_it():
    exe = ProcessExecutor(jobs=2, timeout_s=0.4, trial_fn=fake_trial)
    try:
        out, peak = drain(exe, [task("hang"), task("ok", 0), task("ok", 1), task("ok", 2)])
        assert peak == 2
        hung = out[("hang", 0)]
        assert (hung.status, hung.error_class) == ("agent_error", "timeout")
        assert "killed and replaced" in hung.error_message and hung.latency_s >= 0.4
        assert all(out[("ok", t)].status == "ok" for t in range(3))
        pids_before = {w.proc.pid for w in exe._workers}
        out2, _ = drain(exe, [task("ok", 3), task("ok", 4)])
        assert len(exe._workers) <= 2 and all(w.proc.is_alive() for w in exe._workers)
        assert {int(o.stderr) for o in out2.values()} <= pids_before | {w.proc.pid for w in exe._workers}
    finally:
        exe.close()


def test_process_executor_reports_a_dead_worker_as_an_infrastructure_error():
    exe = ProcessExecutor(jobs=1, timeout_s=5, trial_fn=fake_trial)
    try:
        out, _ = drain(exe, [task("die"), task("ok")])
        assert (out[("die", 0)].status, out[("die", 0)].error_class) == ("infra_error", "infra_executor")
        assert "exit" in out[("die", 0)].error_message and "3" in out[("die", 0)].error_message
        assert out[("ok", 0)].status == "ok"
    finally:
        exe.close()


def test_thread_executor_abandons_a_hung_investigation_and_keeps_its_slots():
    """The hung investigation blocks until the test releases it, after the run: the run cannot have waited."""
    release = threading.Event()

    def blocking_trial(task, on_start=None):
        if task.scenario_id.startswith("hang"):
            if on_start:
                on_start()
            release.wait(60)
            return TrialOutcome(task.scenario_id, task.trial, task.seed, "ok", finding={"hypotheses": []})
        return fake_trial(task, on_start)

    exe = ThreadExecutor(jobs=2, timeout_s=0.3, trial_fn=blocking_trial, grace_s=0.0)
    try:
        out, peak = drain(exe, [task("hang"), task("ok", 0), task("ok", 1), task("crash")])
        assert not release.is_set() and len(out) == 4  # every result in while the hung thread still waits
        assert out[("hang", 0)].error_class == "timeout" and "abandoned" in out[("hang", 0)].error_message
        assert out[("crash", 0)].status == "infra_error"  # a bug in the trial function, not the agent
        assert peak == 2 and out[("ok", 1)].status == "ok"
    finally:
        release.set()
        exe.close()


def _adapter_timeout(task, on_start=None):
    """A trial whose adapter enforces the deadline itself, a little late, and keeps the agent's stderr."""
    if on_start:
        on_start()
    time.sleep(0.5)
    return TrialOutcome(task.scenario_id, task.trial, task.seed, "agent_error", "timeout",
                        "AgentTimeout: no final answer within the 0.3s timeout", stderr="agent's last words")


def test_the_adapter_owns_the_deadline_and_its_stderr_survives():
    """The executor's backstop waits grace_s past the timeout, so the adapter's own timeout ends the trial."""
    exe = ThreadExecutor(jobs=1, timeout_s=0.3, trial_fn=_adapter_timeout, grace_s=5.0)
    try:
        out, _ = drain(exe, [task("slow")])
        outcome = out[("slow", 0)]
        assert "abandoned" not in outcome.error_message and outcome.stderr == "agent's last words"
    finally:
        exe.close()


def test_poll_with_nothing_in_flight_returns_immediately():
    """Even asked to wait without limit, a poll with nothing in flight returns (it has nothing to wait for)."""
    for exe in (ThreadExecutor(1, 1, fake_trial), ProcessExecutor(1, 1, fake_trial)):
        polled: list = []
        waiter = threading.Thread(target=lambda: polled.append(exe.poll(timeout=None)), daemon=True)
        waiter.start()
        waiter.join(60)  # only keeps a broken poll from hanging the test run
        assert polled == [[]]
        exe.close()


@pytest.mark.ray
@pytest.mark.slow  # needs the ray extra, which the slow tier installs
def test_unreachable_ray_address_is_a_user_error_without_waiting_for_ray(monkeypatch):
    """The address is checked before Ray is asked to connect (Ray itself retries for minutes)."""
    pytest.importorskip("ray")
    import ray

    if ray.is_initialized():
        pytest.skip("a Ray instance is already connected")

    def ray_init(*args, **kwargs):
        raise AssertionError("ray.init was called for an address nothing answers at")

    monkeypatch.setattr(ray, "init", ray_init)
    with pytest.raises(UserError, match="--ray-address: '127.0.0.1:1': nothing answers there"):
        make_executor("ray", "reference:v1", ray_address="127.0.0.1:1")
    with pytest.raises(UserError, match="give host:port"):
        make_executor("ray", "reference:v1", ray_address="not an address")


def test_a_scenarios_trials_stay_on_the_worker_that_has_its_world(tmp_path):
    """The runner never runs one scenario on two workers at once, and the process executor hands a
    scenario's next trial to the worker that ran it (its world is in that worker's cache)."""
    import shutil as _shutil
    from pathlib import Path

    from evalkit.run.executors.processes import ProcessExecutor
    from evalkit.run import NO_JOURNAL, RunConfig
    from evalkit.run.runner import run_suite as _run_suite

    suite = tmp_path / "smoke"
    _shutil.copytree(Path(__file__).resolve().parents[1] / "suites" / "smoke", suite)

    class Recording(ProcessExecutor):
        def __init__(self):
            super().__init__(jobs=2, timeout_s=60)
            self.placed = []

        def submit(self, task):
            super().submit(task)
            w = next(w for w in self._workers if w.task is task)
            self.placed.append((task.scenario_id, w.proc.pid))

    exe = Recording()
    try:
        result = _run_suite(suite, "fakes.py_agents:investigate", RunConfig(trials=3, executor=exe, journal=NO_JOURNAL))
    finally:
        exe.close()
    assert len(result.table) == 3 * len(result.table["scenario_id"].unique())
    pids: dict[str, set] = {}
    for sid, pid in exe.placed:
        pids.setdefault(sid, set()).add(pid)
    split = [sid for sid, p in pids.items() if len(p) > 1]
    # only at the run's tail, when nothing else is left, may the idle worker help with a scenario in flight
    assert len(split) <= 1 and all(sid == exe.placed[-1][0] for sid in split), exe.placed


_CHILDREN = """
import os, sys
from evalkit.run.executors import prestart
prestart(sys.argv[1], sys.argv[2])
me = str(os.getpid())
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        stat = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        cmd = open(f"/proc/{pid}/cmdline", "rb").read()
    except OSError:
        continue
    if stat[1] == me and b"multiprocessing.forkserver" in cmd:
        print("forkserver")
"""


@pytest.mark.parametrize("executor, spec, started", [("local", "reference:v1", True), ("processes", "pkg.mod:fn", True),
                                                     ("local", "cmd:python agent.py", False),
                                                     ("threads", "reference:v1", False), ("ray", "reference:v1", False)])
def test_prestart_starts_the_forkserver_only_for_runs_on_worker_processes(executor, spec, started):
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", _CHILDREN, executor, spec], capture_output=True, text=True, check=True)
    assert out.stdout.split() == (["forkserver"] if started else [])
