"""The World: one incident's telemetry snapshot (topology, metrics, logs, traces, events, monitors, alert).

A World is plain data: it is produced by a generator (replayed from a spec + seed) or loaded from
materialized files, and it is all the Toolbox ever reads. It never contains the ground truth.
Times are integer epoch seconds (UTC); metric series share one regular time grid.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np


@dataclass
class World:
    """Telemetry of one incident.

    Attributes:
        start, end, step: the time grid of every metric series (epoch seconds, ``end`` exclusive).
        components: ``{"name", "kind", "tier", ...}`` per component; kinds are e.g. ``gateway``,
            ``service``, ``database``, ``cache``, ``kafka-topic``, ``consumer-group``, ``k8s-node``,
            ``pod``, ``external``.
        edges: ``(source, target, relation)``; ``relation`` is ``calls`` (source depends on target),
            ``runs-on`` (pod on node), ``instance-of`` (pod of service), ``produces``/``consumes``.
        metrics: component -> metric name -> float64 array on the grid (NaN where no sample).
        metric_units: metric name -> unit string (``ms``, ``%``, ``req/s``...).
        logs: records ``{"ts", "component", "level", "message"}`` sorted by ``ts``.
        traces: span summaries ``{"trace_id", "ts", "root", "duration_ms", "error",
            "spans": [{"component", "operation", "parent", "duration_ms", "error"}]}``.
        events: change events ``{"ts", "kind", "component", "summary", "details"}``; kinds:
            ``deploy``, ``config-change``, ``feature-flag``, ``k8s-event``, ``scaling``, ``cert``...
        monitors: ``{"name", "component", "metric", "comparator", "threshold", "state", "last_triggered"}``.
        alert: the triggering alert ``{"monitor", "component", "metric", "value", "threshold",
            "fired_at", "severity", "title"}``.
    """

    start: int
    end: int
    step: int
    components: list[dict]
    edges: list[tuple[str, str, str]]
    metrics: dict[str, dict[str, np.ndarray]]
    metric_units: dict[str, str] = field(default_factory=dict)
    logs: list[dict] = field(default_factory=list)
    traces: list[dict] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)
    monitors: list[dict] = field(default_factory=list)
    alert: dict = field(default_factory=dict)

    @property
    def timestamps(self) -> np.ndarray:
        """The shared metric time grid (epoch seconds)."""
        return np.arange(self.start, self.end, self.step, dtype=np.int64)

    def component_names(self) -> list[str]:
        return [c["name"] for c in self.components]

    def to_bytes(self) -> bytes:
        """Canonical serialisation, used to prove replays are byte-identical."""
        import json

        doc = {f.name: getattr(self, f.name) for f in fields(self)}
        doc["edges"] = [list(e) for e in self.edges]
        doc["metrics"] = {c: {m: np.asarray(v, dtype="<f8").tobytes().hex() for m, v in sorted(ms.items())}
                          for c, ms in sorted(self.metrics.items())}
        return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
