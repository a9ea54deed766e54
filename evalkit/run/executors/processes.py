"""Process executor: CPU-bound Python agents in worker processes that can be killed.

Each worker runs one trial at a time and writes the monotonic time its investigation started into a
shared double; the parent kills a worker whose investigation exceeds the timeout (the trial is recorded
as ``timeout``) and starts a replacement. A worker that dies on its own (segfault, OOM kill, ``os._exit``)
yields an ``infra_executor`` outcome, which the runner retries. Workers are forked from a forkserver
that has evalkit preloaded, so a replacement starts in milliseconds and no parent threads are forked.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import sys
import threading
import time
from contextlib import contextmanager, suppress
from multiprocessing.connection import wait as mp_wait

from evalkit.parallel import tune_gc
from evalkit.run.executors import TrialFn, died_outcome, timeout_outcome
from evalkit.run.tasks import TrialOutcome, TrialTask

PRELOAD = ["evalkit.run.worker", "evalkit.agents.base", "evalkit.world.toolbox", "evalkit.suite",
           "evalkit.agents.spec", "numpy"]
_CHECK_S = 0.25


def _worker_main(conn, started, trial_fn) -> None:
    """Worker loop: receive a task, run it, send the outcome; exit when the parent goes away."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what Ctrl-C means
    tune_gc()

    def on_start() -> None:
        started.value = time.monotonic()

    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        try:
            outcome = trial_fn(task, on_start)
        except BaseException as exc:  # noqa: BLE001 - report instead of dying silently
            outcome = died_outcome(task, f"{type(exc).__name__} in worker: {exc}")
        started.value = 0.0
        try:
            conn.send(outcome)
        except (BrokenPipeError, OSError):
            return


_main_lock = threading.Lock()


@contextmanager
def _without_main():
    """Start workers without re-running the parent's ``__main__`` in them.

    multiprocessing re-imports the parent's main script in spawn/forkserver children so that objects
    defined there unpickle. Workers never need it (tasks name the agent by spec and the trial function
    lives in evalkit), and re-running a user script without an ``if __name__ == "__main__":`` guard would
    start a run inside every worker. So the main module's file and spec are hidden while a worker starts.
    """
    main = sys.modules.get("__main__")
    if main is None:
        yield
        return
    with _main_lock:
        saved = {a: main.__dict__[a] for a in ("__file__", "__spec__") if a in main.__dict__}
        main.__dict__.pop("__file__", None)
        main.__spec__ = None
        try:
            yield
        finally:
            main.__dict__.pop("__spec__", None)
            main.__dict__.update(saved)


class _Worker:
    __slots__ = ("proc", "conn", "started", "task", "last")

    def __init__(self, ctx, trial_fn) -> None:
        parent, child = ctx.Pipe(duplex=True)
        self.started = ctx.Value("d", 0.0, lock=False)
        self.proc = ctx.Process(target=_worker_main, args=(child, self.started, trial_fn),
                                name="evalkit-worker", daemon=True)
        with _without_main():
            self.proc.start()
        child.close()
        self.conn = parent
        self.task: TrialTask | None = None
        self.last: str | None = None  # scenario id of the last task sent

    def kill(self) -> None:
        with suppress(Exception):  # already gone
            self.proc.kill()
        self.proc.join(timeout=5)
        self.conn.close()


def _context(start_method: str | None):
    method = start_method or os.environ.get("EVALKIT_START_METHOD") or "forkserver"
    ctx = mp.get_context(method)
    if method == "forkserver":
        ctx.set_forkserver_preload(PRELOAD)
    return ctx


def start_forkserver(start_method: str | None = None) -> None:
    """Start the forkserver (with evalkit preloaded) now, in the background: its imports then overlap the rest of
    the caller's start-up instead of following it. Idempotent; nothing to do for other start methods."""
    ctx = _context(start_method)
    if ctx.get_start_method() == "forkserver":
        from multiprocessing import forkserver

        with _without_main():
            forkserver.ensure_running()


class ProcessExecutor:
    """``jobs`` killable worker processes, one trial each at a time."""

    name = "processes"

    def __init__(self, jobs: int = 1, timeout_s: float = 60.0, trial_fn: TrialFn | None = None,
                 start_method: str | None = None):
        if trial_fn is None:
            from evalkit.run.worker import run_trial as trial_fn
        self.capacity = max(1, int(jobs))
        self.timeout_s = float(timeout_s)
        self._fn = trial_fn
        self._ctx = _context(start_method)
        self._workers: list[_Worker] = []
        self._closed = False

    def submit(self, task: TrialTask) -> None:
        idle = [w for w in self._workers if w.task is None]
        # affinity: the worker that ran this scenario last has its world in its in-process cache
        worker = next((w for w in idle if w.last == task.scenario_id), idle[0] if idle else None)
        if worker is None:
            if len(self._workers) >= self.capacity:
                raise RuntimeError("submit() beyond capacity: poll() first")
            worker = _Worker(self._ctx, self._fn)
            self._workers.append(worker)
        worker.task = task
        worker.last = task.scenario_id
        worker.started.value = 0.0
        with suppress(BrokenPipeError, OSError):  # the dead worker is noticed by poll()
            worker.conn.send(task)

    def in_flight(self) -> int:
        return sum(w.task is not None for w in self._workers)

    def poll(self, timeout: float | None) -> list[TrialOutcome]:
        deadline = None if timeout is None else time.monotonic() + timeout
        out: list[TrialOutcome] = []
        while True:
            busy = [w for w in self._workers if w.task is not None]
            if not busy:
                return out
            out.extend(self._expire(busy))
            busy = [w for w in busy if w.task is not None]
            wait_s = 0.0 if out else self._next_check(busy, deadline)
            handles = [w.conn for w in busy] + [w.proc.sentinel for w in busy]
            ready = set(mp_wait(handles, timeout=wait_s)) if busy else set()
            for w in busy:
                if w.conn in ready:
                    try:
                        outcome = w.conn.recv()
                    except (EOFError, OSError):
                        out.append(self._died(w))
                        continue
                    w.task = None
                    out.append(outcome)
                elif w.proc.sentinel in ready:
                    out.append(self._died(w))
            if out or (deadline is not None and time.monotonic() >= deadline):
                return out

    def _next_check(self, busy: list[_Worker], deadline: float | None) -> float:
        now = time.monotonic()
        wait_s = _CHECK_S
        for w in busy:
            if w.started.value:
                wait_s = min(wait_s, w.started.value + self.timeout_s - now)
        if deadline is not None:
            wait_s = min(wait_s, deadline - now)
        return max(0.0, wait_s)

    def _expire(self, busy: list[_Worker]) -> list[TrialOutcome]:
        now, out = time.monotonic(), []
        for w in busy:
            started = w.started.value
            if started and now - started > self.timeout_s:
                if w.conn.poll():  # finished just in time: take the real result
                    continue
                out.append(timeout_outcome(w.task, self.timeout_s, now - started, "worker killed and replaced"))
                w.task = None
                self._discard(w)
        return out

    def _died(self, w: _Worker) -> TrialOutcome:
        w.proc.join(timeout=1)
        outcome = died_outcome(w.task, f"worker process exited with code {w.proc.exitcode}")
        w.task = None
        self._discard(w)
        return outcome

    def _discard(self, w: _Worker) -> None:
        w.kill()
        self._workers.remove(w)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for w in self._workers:
            if w.task is None:
                with suppress(BrokenPipeError, OSError):
                    w.conn.send(None)
        for w in self._workers:
            if w.task is None:
                w.proc.join(timeout=2)  # an idle worker exits on the None it was sent
            w.kill()
        self._workers.clear()
