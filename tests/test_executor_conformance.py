"""One conformance test every Executor passes: local threads, local processes and Ray give the table of a
plain serial loop over the same trials (timing columns aside), within their capacity."""

import shutil
from pathlib import Path

import pandas as pd
import pytest

from evalkit.run.executors import Executor, make_executor
from evalkit.run.config import NO_JOURNAL, RunConfig
from evalkit.run.runner import run_suite
from evalkit.run.worker import run_trial

TRIALS = 2


class SerialExecutor:
    """The reference: run each trial inline, one at a time, in this process."""

    name = "serial"
    capacity = 1

    def __init__(self):
        self._done = []

    def submit(self, task):
        self._done.append(run_trial(task))

    def poll(self, timeout):
        out, self._done = self._done, []
        return out

    def in_flight(self):
        return len(self._done)

    def close(self):
        pass


class Watched:
    """Wraps an executor and records the largest number of trials in flight."""

    def __init__(self, inner):
        self.inner, self.name, self.capacity, self.peak = inner, inner.name, inner.capacity, 0

    def submit(self, task):
        self.inner.submit(task)
        self.peak = max(self.peak, self.inner.in_flight())

    def poll(self, timeout):
        return self.inner.poll(timeout)

    def in_flight(self):
        return self.inner.in_flight()

    def close(self):
        self.inner.close()


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    """A private copy of suites/smoke, so every executor runs exactly the same files."""
    copy = tmp_path_factory.mktemp("suite") / "smoke"
    shutil.copytree(Path(__file__).resolve().parents[1] / "suites" / "smoke", copy)
    return copy


@pytest.fixture(scope="module")
def serial_table(smoke):
    config = RunConfig(trials=TRIALS, seed=11, executor=SerialExecutor(), journal=NO_JOURNAL)
    return run_suite(smoke, "reference:v1", config).table


@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.mark.parametrize("kind", [
    "threads",
    "processes",
    pytest.param("ray", marks=[pytest.mark.ray, pytest.mark.slow]),
])
def test_executor_conformance(kind, smoke, serial_table, request):
    if kind == "ray":
        request.getfixturevalue("local_ray")
    exe = make_executor(kind, "reference:v1", jobs=2, timeout_s=60)
    assert isinstance(exe, Executor) and exe.name == kind and exe.capacity == 2
    watched = Watched(exe)
    try:
        config = RunConfig(trials=TRIALS, seed=11, executor=watched, journal=NO_JOURNAL)
        table = run_suite(smoke, "reference:v1", config).table
    finally:
        exe.close()
    assert 1 <= watched.peak <= exe.capacity
    assert exe.in_flight() == 0
    pd.testing.assert_frame_equal(table.drop(columns="latency_s"), serial_table.drop(columns="latency_s"))
