"""Shared state while one world is built: grid, traffic, per-node latency/error contributions, sinks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from evalkit.suite.generator.logs import LogSink, Template, emit
from evalkit.suite.generator.numeric import clip
from evalkit.suite.generator.plan import Plan
from evalkit.suite.generator.topology import Topology


@dataclass
class Ctx:
    """Everything the baseline, fault, noise-free log and trace builders share for one world.

    ``own_*`` are each call-graph node's own contribution (baseline); ``d50``/``d99``/``derr`` are the
    fault's added contribution at the nodes where it enters. Propagation turns both into totals.
    """

    plan: Plan
    T: Topology
    ts: np.ndarray                      # grid (epoch seconds)
    mid: np.ndarray                     # grid midpoints, for time profiles
    rng: np.random.Generator            # fault stream
    rps: dict[str, np.ndarray] = field(default_factory=dict)
    own50: dict[str, np.ndarray] = field(default_factory=dict)
    own99: dict[str, np.ndarray] = field(default_factory=dict)
    ownerr: dict[str, np.ndarray] = field(default_factory=dict)
    d50: dict[str, np.ndarray] = field(default_factory=dict)
    d99: dict[str, np.ndarray] = field(default_factory=dict)
    derr: dict[str, np.ndarray] = field(default_factory=dict)
    #: edits to the finished metric series, each ``patch(metrics, facts)`` (a fault registers one with
    #: ``@ctx.patches.append`` on its ``def patch``); run in registration order
    patches: list[Callable[[dict, dict], None]] = field(default_factory=list)
    sink: LogSink = field(default_factory=LogSink)
    events: list[dict] = field(default_factory=list)
    #: how a caller logs a failure that comes from this node (fault-specific wording)
    caller_errors: dict[str, list[Template]] = field(default_factory=dict)
    caller_slow: dict[str, list[Template]] = field(default_factory=dict)
    log_ctx: dict[str, dict] = field(default_factory=dict)
    static: dict[str, dict] = field(default_factory=dict)   # per-node facts drawn with the baseline
    entry_share: dict[str, float] = field(default_factory=dict)  # traffic share of each entry service

    @property
    def n(self) -> int:
        return int(self.ts.size)

    @property
    def start(self) -> int:
        return int(self.ts[0])

    def ramp(self, t0: float, seconds: float) -> np.ndarray:
        """0 before ``t0``, rising linearly to 1 over ``seconds``."""
        return clip((self.mid - t0) / max(seconds, 1.0), 0.0, 1.0)

    def add(self, store: dict[str, np.ndarray], node: str, values: np.ndarray) -> None:
        store[node] = store.get(node, 0.0) + values

    def event(self, ts: int, kind: str, component: str, summary: str, details: dict) -> None:
        """Record a change event (keys in the order every event record has)."""
        self.events.append({"ts": ts, "kind": kind, "component": component, "summary": summary, "details": details})

    def log(self, rng: np.random.Generator, component: str, rate_per_min: np.ndarray | float,
            templates: list[Template], probs: list[float] | None, fill: dict) -> None:
        """Emit Poisson-timed log lines for ``component`` at ``rate_per_min`` (per grid minute, or constant):
        ``rate_per_min[i]`` expected lines in minute ``i``, each at a uniform second of its minute.

        A constant rate takes numpy's scalar-parameter path with ``size=n``: the same per-minute draws from the
        same stream as an array of ``n`` equal rates, without the array path's Python-level parameter checks
        (3x faster).
        """
        if not isinstance(rate_per_min, np.ndarray):
            counts = rng.poisson(max(float(rate_per_min), 0.0), size=self.n)
        else:
            if rate_per_min.shape != (self.n,):  # broadcast_to's Python-level checks cost more than the draws
                rate_per_min = np.broadcast_to(rate_per_min, (self.n,))
            counts = rng.poisson(np.maximum(rate_per_min.astype(float, copy=False), 0))
        minute_ts = np.repeat(self.ts, counts)  # the grid has one point per minute: ts[i] == start + 60 * i
        times = minute_ts + rng.integers(0, 60, size=minute_ts.size)
        emit(self.sink, rng, component, times, templates, probs, fill)
