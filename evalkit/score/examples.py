"""Example user scorer (see docs/results-table.md): ``--scorer evalkit.score.examples:calibration``."""

from __future__ import annotations


def calibration(finding, trajectory, truth) -> dict[str, float]:
    """How well the top hypothesis' confidence matches being right: Brier score (lower is better)."""
    if not finding.hypotheses:
        return {"confidence": 0.0, "brier": 0.0}
    top = finding.hypotheses[0]
    confidence = min(1.0, max(0.0, float(top.confidence)))
    right = 1.0 if truth.accepts(top.component) else 0.0
    return {"confidence": confidence, "brier": (confidence - right) ** 2}
