"""The metric catalogue: every built-in metric a gate, report or drift view can judge, described once.

Each :class:`Metric` says its scale, its direction (higher is better or not), whether it is binary (pass
or fail per trial, tested with McNemar-style tests at k = 1) and how it is shown (percentages and
percentage *points* for metrics on a 0–1 scale, plain values otherwise). Scoring, the policy checks, the
comparator, the reports, the drift view and the notebooks read it here; a new metric is one entry.
User-scorer columns (``custom.<scorer>.<name>``) are not listed: they are unbounded, higher is better.

(Named ``catalogue`` rather than ``metrics`` so that it is not mistaken for :mod:`evalkit.store.metrics`,
which writes metric values to MLflow.) The module itself imports nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

CUSTOM_PREFIX = "custom."
UNIT = (0.0, 1.0)


@dataclass(frozen=True)
class Metric:
    """One metric: ``kind`` score (quality) or cost, ``scale`` (low, high) (``None``: unbounded),
    ``higher_is_better``, ``binary`` and ``shown`` as ``points`` (percent of a 0–1 scale) or ``value``."""

    name: str
    kind: str
    scale: tuple[float, float] | None
    higher_is_better: bool
    binary: bool = False
    shown: str = "value"

    @property
    def in_points(self) -> bool:
        """Shown as percentages, differences as percentage points (intervals clipped to ±100 points)."""
        return self.shown == "points"


def _score(name: str, *, binary: bool = False, higher_is_better: bool = True) -> Metric:
    return Metric(name, "score", UNIT, higher_is_better, binary, "points")


def _cost(name: str, *, higher_is_better: bool = False) -> Metric:
    return Metric(name, "cost", (0.0, float("inf")), higher_is_better)


#: name -> Metric, scores first (the order reports and aggregates list them in).
METRICS: dict[str, Metric] = {m.name: m for m in (
    _score("rca_top1", binary=True),
    _score("rca_top3", binary=True),
    _score("fault_type_correct", binary=True),
    _score("rca_score"),
    _score("evidence_recall"),
    _score("distractor_ratio", higher_is_better=False),
    _cost("tool_calls"),
    _cost("latency_s"),
    # Token counts were never in the lower-is-better set; kept as they were, so that verdicts under
    # existing policies do not change.
    _cost("tokens_in", higher_is_better=True),
    _cost("tokens_out", higher_is_better=True),
    _cost("cost_usd"),
)}

#: the quality scores (0–1), the cost columns, and the binary scores, in catalogue order.
SCORES: tuple[str, ...] = tuple(n for n, m in METRICS.items() if m.kind == "score")
COSTS: tuple[str, ...] = tuple(n for n, m in METRICS.items() if m.kind == "cost")
BINARY: tuple[str, ...] = tuple(n for n, m in METRICS.items() if m.binary)


def metric(name: str) -> Metric:
    """The catalogue entry of ``name``; a user-scorer or unknown column is unbounded and higher-is-better."""
    return METRICS.get(name) or Metric(name, "custom", None, True)


def is_known(name: str) -> bool:
    """A catalogue metric or a user-scorer column ``custom.<scorer>.<name>``."""
    return name in METRICS or (name.startswith(CUSTOM_PREFIX) and len(name) > len(CUSTOM_PREFIX))


def on_unit_scale(name: str) -> bool:
    """Values lie in [0, 1] (differences in [-1, 1]): tolerances default to points, intervals are clipped."""
    return metric(name).scale == UNIT


def lower_is_better(name: str) -> bool:
    """A drop of ``name`` is an improvement (distractor ratio, tool calls, latency, cost)."""
    return not metric(name).higher_is_better


__all__ = ["Metric", "METRICS", "SCORES", "COSTS", "BINARY", "CUSTOM_PREFIX", "metric", "is_known",
           "on_unit_scale", "lower_is_better"]
