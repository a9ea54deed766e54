"""Scoring: per-trial scores against the ground truth, user scorers, and per-category aggregates.

``score_trial(finding, trajectory, truth)`` and ``aggregate(table)`` are the public entry points.
(Imported eagerly: a lazy ``__getattr__`` loses to the same-named ``aggregate`` submodule once that is imported.)
"""

from __future__ import annotations

from evalkit.score.aggregate import aggregate, error_counts
from evalkit.score.custom import UserScorer, load_scorers
from evalkit.score.passk import pass_at_k, pass_hat_k
from evalkit.score.protocol import BuiltinScorer, Scorer
from evalkit.score.scorer import TrialScorer
from evalkit.score.trial import score_trial

__all__ = ["BuiltinScorer", "Scorer", "TrialScorer", "UserScorer", "aggregate", "error_counts", "load_scorers",
           "pass_at_k", "pass_hat_k", "score_trial"]
