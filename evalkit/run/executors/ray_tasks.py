"""Ray executor: the same trials as Ray tasks on a cluster (``pip install evalkit[ray]``).

Each trial is one ``ray.remote`` task (no retries by Ray: the runner retries infrastructure failures
itself). Ray reuses worker processes, so the suite, worlds and agent cached by
:mod:`evalkit.run.worker` stay warm. A task still unfinished ``timeout_s + SCHEDULING_GRACE_S`` after
submission is force-cancelled (its worker killed) and recorded as ``timeout``; the grace covers worker
start-up, which the driver cannot observe. The suite path must be readable on the worker nodes (a shared
filesystem or the same checkout).
"""

from __future__ import annotations

import socket
import time
from contextlib import suppress

from evalkit.errors import UserError
from evalkit.run.executors import TrialFn, died_outcome, timeout_outcome
from evalkit.run.tasks import TrialOutcome, TrialTask

SCHEDULING_GRACE_S = 15.0


def _run_remote(task: TrialTask, trial_fn: TrialFn | None = None) -> TrialOutcome:
    if trial_fn is None:
        from evalkit.run.worker import run_trial as trial_fn
    return trial_fn(task, None)


def _check_reachable(address: str | None, timeout_s: float = 5.0) -> None:
    """Fail fast with a UserError when ``host:port`` does not accept connections (Ray would retry for minutes)."""
    if not address or address in ("auto", "local"):
        return
    hostport = address.split("://", 1)[-1].rstrip("/")
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise UserError.at("--ray-address", "", address, "give host:port (e.g. 10.0.0.5:6379 or ray://head:10001)")
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except OSError as exc:
        raise UserError.at("--ray-address", "", address,
                           f"nothing answers there ({exc.strerror or exc}); start the cluster with `ray start "
                           "--head` or omit --ray-address to start a local Ray") from None


class RayExecutor:
    """Trials as Ray tasks, at most ``capacity`` in flight (``jobs``, or the cluster's CPUs when 0)."""

    name = "ray"

    def __init__(self, jobs: int = 0, timeout_s: float = 60.0, address: str | None = None,
                 trial_fn: TrialFn | None = None):
        try:
            import ray
        except ImportError:
            raise UserError.at("--executor", "", "ray", "Ray is not installed: pip install 'evalkit[ray]'") from None
        self._ray = ray
        self._owns = False
        if not ray.is_initialized():
            _check_reachable(address)
            try:
                ray.init(address=address, include_dashboard=False, log_to_driver=False,
                         configure_logging=False)
            except ConnectionError as exc:
                raise UserError.at("--ray-address", "", address or "auto",
                                   f"cannot connect to a Ray cluster ({exc}); start one with `ray start --head`"
                                   " or omit --ray-address to start a local one") from None
            self._owns = True
        cpus = int(ray.cluster_resources().get("CPU", 1)) or 1
        self.capacity = max(1, int(jobs) if jobs else cpus)
        self.timeout_s = float(timeout_s)
        self._fn = trial_fn
        self._remote = ray.remote(num_cpus=1, max_retries=0, retry_exceptions=False)(_run_remote)
        self._refs: dict = {}  # ObjectRef -> (task, submitted_at)
        self._closed = False

    def submit(self, task: TrialTask) -> None:
        ref = self._remote.remote(task, self._fn) if self._fn is not None else self._remote.remote(task)
        self._refs[ref] = (task, time.monotonic())

    def in_flight(self) -> int:
        return len(self._refs)

    def poll(self, timeout: float | None) -> list[TrialOutcome]:
        ray = self._ray
        out = self._expire()
        if not self._refs:
            return out
        wait_s = 0.0 if out else self._next_check(timeout)
        ready, _ = ray.wait(list(self._refs), num_returns=1, timeout=wait_s)
        if ready:
            ready, _ = ray.wait(list(self._refs), num_returns=len(self._refs), timeout=0)
        for ref in ready:
            task, _ = self._refs.pop(ref)
            try:
                out.append(ray.get(ref))
            except Exception as exc:  # noqa: BLE001 - worker crash, node loss, object loss
                out.append(died_outcome(task, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"))
        return out

    def _next_check(self, timeout: float | None) -> float:
        now = time.monotonic()
        first_deadline = min(t0 for _, t0 in self._refs.values()) + self.timeout_s + SCHEDULING_GRACE_S
        wait_s = min(1.0, max(0.0, first_deadline - now))
        return wait_s if timeout is None else min(wait_s, timeout)

    def _expire(self) -> list[TrialOutcome]:
        now, out = time.monotonic(), []
        for ref, (task, t0) in list(self._refs.items()):
            if now - t0 > self.timeout_s + SCHEDULING_GRACE_S:
                ready, _ = self._ray.wait([ref], timeout=0)
                if ready:
                    continue
                self._ray.cancel(ref, force=True)
                del self._refs[ref]
                out.append(timeout_outcome(task, self.timeout_s, now - t0, "Ray task cancelled"))
        return out

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for ref in list(self._refs):
            with suppress(Exception):
                self._ray.cancel(ref, force=True)
        self._refs.clear()
        if self._owns:
            self._ray.shutdown()
