"""Thread executor: bounded concurrency for I/O-bound agents (subprocess and LLM adapters).

Threads cannot be killed, so an investigation that exceeds the timeout is recorded as ``timeout`` and its
thread abandoned (its late result is dropped) while a fresh thread takes its slot. Adapters enforce their
own hard timeouts (killing the subprocess, HTTP deadlines) and are the one owner of the deadline: this
backstop fires only ``grace_s`` after it, so the adapter's own timeout — which keeps the agent's stderr —
always ends the trial first, and only an adapter that fails to stop is abandoned.
"""

from __future__ import annotations

import queue
import threading
import time
from contextlib import suppress

from evalkit.run.executors import TrialFn, died_outcome, timeout_outcome
from evalkit.run.tasks import TrialOutcome, TrialTask

_CHECK_S = 0.25
#: how long after the investigation's deadline the backstop abandons a thread whose adapter did not stop.
BACKSTOP_GRACE_S = 5.0


class _Slot:
    __slots__ = ("task", "started", "abandoned", "thread")

    def __init__(self) -> None:
        self.task: TrialTask | None = None
        self.started = 0.0
        self.abandoned = False
        self.thread: threading.Thread | None = None


class ThreadExecutor:
    """``jobs`` worker threads pulling tasks from a queue; results come back through another queue."""

    name = "threads"

    def __init__(self, jobs: int = 1, timeout_s: float = 60.0, trial_fn: TrialFn | None = None,
                 grace_s: float = BACKSTOP_GRACE_S):
        if trial_fn is None:
            from evalkit.run.worker import run_trial as trial_fn
        self.capacity = max(1, int(jobs))
        self.timeout_s = float(timeout_s)
        self.grace_s = float(grace_s)
        self._fn = trial_fn
        self._tasks: queue.SimpleQueue = queue.SimpleQueue()
        self._results: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._slots: list[_Slot] = []
        self._pending = 0
        self._closed = False

    # --- worker side ------------------------------------------------------------------------------
    def _loop(self, slot: _Slot) -> None:
        while True:
            task = self._tasks.get()
            if task is None or slot.abandoned:
                if task is not None:
                    self._tasks.put(task)  # not ours to run any more
                return
            with self._lock:
                slot.task, slot.started = task, 0.0

            def on_start(slot: _Slot = slot) -> None:
                slot.started = time.monotonic()

            try:
                outcome = self._fn(task, on_start)
            except BaseException as exc:  # noqa: BLE001 - a bug in the trial function must not hang the run
                outcome = died_outcome(task, f"{type(exc).__name__}: {exc}")
            with self._lock:
                if slot.abandoned:
                    return
                slot.task, slot.started = None, 0.0
                self._results.put(outcome)

    def _add_slot(self) -> None:
        slot = _Slot()
        slot.thread = threading.Thread(target=self._loop, args=(slot,), name="evalkit-trial", daemon=True)
        self._slots.append(slot)
        slot.thread.start()

    # --- runner side ------------------------------------------------------------------------------
    def submit(self, task: TrialTask) -> None:
        if not self._slots:
            for _ in range(self.capacity):
                self._add_slot()
        self._pending += 1
        self._tasks.put(task)

    def in_flight(self) -> int:
        return self._pending

    def poll(self, timeout: float | None) -> list[TrialOutcome]:
        out: list[TrialOutcome] = []
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            out.extend(self._expire())
            self._drain(out)
            if out or self._pending == 0:
                break
            remaining = _CHECK_S if deadline is None else deadline - time.monotonic()
            if remaining <= 0:
                break
            with suppress(queue.Empty):
                out.append(self._results.get(timeout=min(_CHECK_S, remaining)))
        self._drain(out)
        self._pending -= len(out)
        return out

    def _drain(self, out: list[TrialOutcome]) -> None:
        while True:
            try:
                out.append(self._results.get_nowait())
            except queue.Empty:
                return

    def _expire(self) -> list[TrialOutcome]:
        now, out = time.monotonic(), []
        with self._lock:
            for slot in list(self._slots):
                if slot.task is not None and slot.started and now - slot.started > self.timeout_s + self.grace_s:
                    slot.abandoned = True
                    out.append(timeout_outcome(slot.task, self.timeout_s, now - slot.started, "thread abandoned"))
                    self._slots.remove(slot)
            missing = self.capacity - len(self._slots)
        for _ in range(missing):
            self._add_slot()
        return out

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for slot in self._slots:
            slot.abandoned = True
        for _ in self._slots:
            self._tasks.put(None)
