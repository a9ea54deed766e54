"""Multiple-comparison corrections along the last axis (the family of category × metric tests).

NaN p-values are cells outside the family (too few scenarios, not tested): they stay NaN and do not count.
Holm controls the family-wise error (the gate: a false alarm blocks a merge); Benjamini–Hochberg controls the
false discovery rate (dashboards, triage).
"""

from __future__ import annotations

import numpy as np

from evalkit.vocab import Correction, values

METHODS = values(Correction)


def _step(p, adjusted) -> np.ndarray:
    """Adjusted p-values: ``adjusted(ps, m, rank)`` of the p-values sorted along the last axis (NaN last; ``m``
    the number that are not NaN, ``rank`` 1-based), capped at 1, NaN kept, back in the input order."""
    p = np.asarray(p, dtype=float)
    if p.shape[-1] == 0:
        return p.copy()
    order = np.argsort(p, axis=-1, kind="stable")         # NaN sort last
    ps = np.take_along_axis(p, order, axis=-1)
    m = np.sum(~np.isnan(p), axis=-1, keepdims=True)
    rank = np.arange(1, p.shape[-1] + 1)                   # 1-based rank among the sorted values
    adj = np.where(np.isnan(ps), np.nan, np.minimum(adjusted(ps, m, rank), 1.0))
    out = np.empty_like(adj)
    np.put_along_axis(out, order, adj, axis=-1)
    return out


def holm(p) -> np.ndarray:
    """Holm step-down adjusted p-values: max_{i≤j} (m − i + 1)·p_(i), capped at 1."""
    return _step(p, lambda ps, m, rank: np.fmax.accumulate((m - rank + 1) * ps, axis=-1))


def bh(p) -> np.ndarray:
    """Benjamini–Hochberg step-up adjusted p-values: min_{i≥j} m·p_(i)/i, capped at 1."""
    return _step(p, lambda ps, m, rank: np.fmin.accumulate((ps * m / rank)[..., ::-1], axis=-1)[..., ::-1])


def adjust(p, method: str) -> np.ndarray:
    """Adjusted p-values by ``method`` ("holm" or "bh")."""
    if method == Correction.HOLM:
        return holm(p)
    if method == Correction.BH:
        return bh(p)
    raise ValueError(f"unknown correction {method!r}; use one of {METHODS}")


def cell_levels(p, p_adj, alpha: float) -> np.ndarray:
    """The per-cell significance level implied by the correction: α·p/p_adj.

    ``p ≤ level`` exactly when ``p_adj ≤ α``, so a confidence bound computed at this level agrees with the
    corrected decision (for Holm it is α/(m − j + 1) at the step where the procedure stops). Cells with
    p = p_adj = 0 get the Bonferroni level α/m; cells outside the family stay NaN."""
    p = np.asarray(p, dtype=float)
    p_adj = np.asarray(p_adj, dtype=float)
    m = np.sum(~np.isnan(p_adj), axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        level = np.where(p_adj > 0, alpha * p / p_adj, alpha / np.maximum(m, 1))
    return np.where(np.isnan(p_adj), np.nan, level)
