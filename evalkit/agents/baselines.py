"""Simple, published-style RCA baselines as evalkit agents: a floor to compare any agent against.

:class:`AnomalyTraversal` is the "anomaly traversal" baseline of the PetShop benchmark (Hardt et al.,
*The PetShop Dataset*, 2023; algorithm as described there and in its repository's
``baseline_anomaly_traversal.py``, re-implemented here on the Toolbox): score the alert's own metric
on every component the alerting one depends on with a median-absolute-deviation score against the
window before the alert, at the first sample from the alert on where the alerting component itself
is anomalous; call a component anomalous above a threshold (5), keep the anomalous components nothing
anomalous below them explains (no anomalous dependency), and rank those reachable from the alerting
component through anomalous components only by the summed scores along that path. On the imported
PetShop suite it lands within one or two issues of the published figure per traffic scenario and
target (docs/real-suites.md).

Spec: ``evalkit.agents.baselines:AnomalyTraversal`` (options: ``threshold``, ``lead_steps``). It is
deterministic and uses no randomness; it never reads ground truth, only the alert and the Toolbox.
"""

from __future__ import annotations

import numpy as np

from evalkit.agents.base import BuildId, Finding, Hypothesis
from evalkit.agents.reference.graph import DependencyGraph
from evalkit.world.toolbox import Toolbox, ToolError, metric_arrays

#: path expansions of the traversal before it stops looking for better paths.
_MAX_EXPANSIONS = 100_000


class AnomalyTraversal:
    """The PetShop "anomaly traversal" baseline (MAD score, threshold 5, deepest anomalies on an
    anomalous path from the alerting component)."""

    deterministic = True

    def __init__(self, threshold: float = 5.0, lead_steps: int = 2):
        self.threshold = float(threshold)
        self.lead_steps = int(lead_steps)
        self.build = BuildId("anomaly-traversal", "1", config={"threshold": self.threshold,
                                                               "lead_steps": self.lead_steps})

    def investigate(self, alert: dict, toolbox: Toolbox, seed: int) -> Finding:
        """Rank root-cause candidates for ``alert``; ``seed`` is unused (the method is deterministic)."""
        alert = toolbox.call("get_alert", {}) or dict(alert or {})
        target, metric = str(alert.get("component") or ""), str(alert.get("metric") or "")
        fired = int(alert.get("fired_at") or 0)
        kinds = {c["name"]: str(c.get("kind") or "") for c in toolbox.call("list_components", {})}
        edges = (toolbox.call("get_topology", {}) or {}).get("edges", [])
        graph = DependencyGraph.from_topology(edges, kinds)
        target = graph.service_of(target)
        if target not in kinds or not metric:
            return Finding([], summary="the alert names no known component or metric")
        scores = self._scores(toolbox, graph, target, metric, fired)
        if scores is None:
            return Finding([], summary=f"{target} {metric} is not anomalous at the alert: no root cause")
        anomalous = {c for c, s in scores.items() if s > self.threshold}
        ranked = _traverse(graph, target, anomalous, scores)
        total = sum(s for _, s in ranked) or 1.0
        hyps = [Hypothesis(c, None, round(s / total, 4), [f"metric:{c}:{metric}"]) for c, s in ranked[:5]]
        if not hyps:
            return Finding([], summary="no anomalous component without an anomalous dependency")
        return Finding(hyps, summary=f"{hyps[0].component}: deepest anomaly in {metric} on an anomalous path "
                                     f"from {target} ({len(anomalous)} anomalous components)")

    def _scores(self, tb: Toolbox, graph: DependencyGraph, target: str, metric: str,
                fired: int) -> dict[str, float] | None:
        """MAD score of ``metric`` at the trigger point for ``target`` and what it depends on (nearest
        first, within the call budget); None when the target itself is not anomalous."""
        hops = graph.distances([target])   # the target (0 hops) and everything it depends on
        order = sorted(hops, key=lambda c: (hops[c], c))
        series: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for c in order:
            if tb.calls_left <= 0:
                break
            try:
                res = tb.call("query_metric", {"component": c, "metric": metric})
            except ToolError:
                continue
            if res and res.get("timestamps"):
                series[c] = metric_arrays(res)
        if target not in series:
            return None
        ts, _ = series[target]
        step = int(ts[1] - ts[0]) if len(ts) > 1 else 60
        split = fired - self.lead_steps * step if fired else int(ts[len(ts) // 2])
        fitted = {c: _fit(t, v, split) for c, (t, v) in series.items()}
        row = _trigger(series[target], fitted[target], fired or split, self.threshold)
        if row is None:
            return None
        out = {}
        for c, (t, v) in series.items():
            i = int(np.searchsorted(t, row))
            if i < len(t) and t[i] == row and np.isfinite(v[i]) and fitted[c] is not None:
                out[c] = _score(v[i], fitted[c])
        return out


def _fit(ts: np.ndarray, vals: np.ndarray, split: int) -> tuple[float, float] | None:
    """(median, MAD) of the values before ``split``; a constant history gets a zero MAD."""
    x = vals[(ts < split) & np.isfinite(vals)]
    if len(x) < 2:
        return None
    med = float(np.median(x))
    return med, float(np.median(np.abs(x - med)))


def _score(x: float, fit: tuple[float, float]) -> float:
    """Absolute deviation from the median in MADs; with a constant history any change is infinitely odd."""
    med, mad = fit
    dev = abs(float(x) - med)
    if mad > 0:
        return dev / mad
    return float("inf") if dev > 1e-9 * max(1.0, abs(med)) else 0.0


def _trigger(series: tuple[np.ndarray, np.ndarray], fit: tuple[float, float] | None, split: int,
             threshold: float) -> int | None:
    """Timestamp of the first sample from ``split`` (the alert) on where the target is anomalous."""
    if fit is None:
        return None
    ts, vals = series
    for t, v in zip(ts, vals):
        if t >= split and np.isfinite(v) and _score(v, fit) > threshold:
            return int(t)
    return None


def _traverse(graph: DependencyGraph, target: str, anomalous: set[str],
              scores: dict[str, float]) -> list[tuple[str, float]]:
    """Anomalous components without an anomalous dependency, reachable from ``target`` through anomalous
    components, each with the best summed score of such a (simple) path; best first."""
    if target not in anomalous:
        return []
    capped = {c: min(s, 1e6) for c, s in scores.items()}
    best: dict[str, float] = {}
    stack = [(target, capped[target], frozenset([target]))]
    expansions = 0
    while stack and expansions < _MAX_EXPANSIONS:   # anomalous subgraphs are small; the cap bounds the rest
        node, total, seen = stack.pop()
        expansions += 1
        best[node] = max(best.get(node, -1.0), total)
        for nxt in sorted(graph.deps.get(node, set()) & anomalous):
            if nxt not in seen:
                stack.append((nxt, total + capped[nxt], seen | {nxt}))
    roots = [c for c in best if not (graph.deps.get(c, set()) & anomalous)]
    return sorted(((c, best[c]) for c in roots), key=lambda kv: (-kv[1], kv[0]))
