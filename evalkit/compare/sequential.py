"""The sequential design for scenario pools: per-category anytime-valid verdicts after every round.

A pool suite's baseline covers every scenario of the pool. The candidate runs rounds of scenarios drawn from
each open category's pool, without replacement, in an order fixed by the run seed (:func:`draw_orders`).
After every round each cell (category × metric) is judged by two betting bettors (:mod:`.betting`):

- regression: "the category's mean change (candidate − baseline) is ≥ −m" at level α/F (F = categories × gated metrics,
  Bonferroni, so that looking after every round keeps the family-wise false-alarm rate ≤ α); rejected →
  ``regressed`` (the upper bound U lies below −m);
- futility: "it is ≤ −δ" at level ``futility_alpha``; rejected → ``within-delta`` (no drop of δ or more: the
  lower bound L_δ lies above −δ).

Improvement and "not-worse" are read off the lower bound L at level α/F (L > +m: ``improved``; L > −m:
``not-worse``). A category stops once a gated metric regressed, or every gated metric is at least
``within-delta``, or its pool is spent; a budget stops all of them. The overall cell weighs the category cells
by their pool sizes; its bounds are the same sums of the category bounds, valid whenever all of those are,
so it spends no extra α.
"""

from __future__ import annotations

import functools
import hashlib
import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from evalkit.compare import betting
from evalkit.vocab import Stop, Verdict

TEST_NAME = "betting-cs"
#: outcome codes of :func:`simulate`
SIM_REGRESSED, SIM_WITHIN, SIM_SPENT = 1, 0, -1


def draw_orders(ids_by_category: Mapping[str, Sequence[str]], seed: int) -> dict[str, list[str]]:
    """The order in which each category's pool is drawn: a permutation of its sorted ids fixed by the run
    seed and the category, so that it is random, reproducible and independent of anything the agent does."""
    out: dict[str, list[str]] = {}
    for cat in sorted(ids_by_category):
        ids = sorted(ids_by_category[cat])
        digest = hashlib.sha256(f"evalkit-pool-order/{int(seed)}/{cat}".encode()).digest()
        rng = np.random.default_rng(int.from_bytes(digest[:8], "big"))
        out[cat] = [ids[i] for i in rng.permutation(len(ids))]
    return out


@dataclass(frozen=True)
class CellBounds:
    """Anytime-valid bounds of one cell after the draws so far (differences oriented: higher is better)."""

    n: int
    pool: int
    mean: float
    upper: float         # U at level α_cell: decides "regressed" (U < −m)
    lower: float         # L at level α_cell: decides "not-worse" (L > −m) and "improved" (L > +m)
    lower_delta: float   # L_δ at the futility level: decides "within-delta" (L_δ > −δ)
    p: float             # anytime p-value of "mean ≥ −m"
    p_noninf: float      # anytime p-value of "mean ≤ −m"

    def verdict(self, margin: float, delta: float) -> Verdict:
        """The cell's verdict from its bounds (see the module docstring)."""
        if self.upper < -margin:
            return Verdict.REGRESSED
        if self.lower > margin:
            return Verdict.IMPROVED
        if self.lower > -margin:
            return Verdict.NOT_WORSE
        if self.lower_delta > -delta:
            return Verdict.WITHIN_DELTA
        return Verdict.INCONCLUSIVE


def cell_bounds(x: np.ndarray, pool: int, margin: float, delta: float, alpha_cell: float,
                futility_alpha: float) -> CellBounds:
    """Bounds of one cell from its differences ``x`` in draw order (a prefix of a pool of ``pool``).

    Remembered by value: a category that has stopped keeps the same draws in every later round, so the gate
    (and a simulation of thousands of gates) does not redo its bounds."""
    x = np.ascontiguousarray(x, dtype=float)
    return _cell_bounds(x.tobytes(), int(pool), float(margin), float(delta), float(alpha_cell),
                        float(futility_alpha))


@functools.lru_cache(maxsize=4096)
def _cell_bounds(xb: bytes, pool: int, margin: float, delta: float, alpha_cell: float,
                 futility_alpha: float) -> CellBounds:
    x = np.frombuffer(xb, dtype=float)
    return CellBounds(
        n=int(x.size), pool=pool, mean=float(x.mean()) if x.size else math.nan,
        upper=betting.bound(x, alpha_cell, betting.LOWER),
        lower=betting.bound(x, alpha_cell, betting.UPPER),
        lower_delta=betting.bound(x, futility_alpha, betting.UPPER),
        p=betting.anytime_p(x, -margin, betting.LOWER),
        p_noninf=betting.anytime_p(x, -margin, betting.UPPER))


def combine(cells: Sequence[CellBounds], weights: Sequence[float]) -> CellBounds:
    """The pool-weighted sum of category cells (the overall cell): estimate and every bound are weighted sums.

    Valid simultaneously with the category bounds (no extra α); p-values are not defined for it (NaN)."""
    w = np.asarray(weights, dtype=float)
    w = w / w.sum() if w.sum() > 0 else w
    get = lambda attr: float(np.dot(w, [getattr(c, attr) for c in cells]))  # noqa: E731
    seen = np.array([c.n > 0 for c in cells], dtype=bool)
    mean = (float(np.dot(w[seen], [c.mean for c, s in zip(cells, seen) if s]) / w[seen].sum())
            if seen.any() else math.nan)
    return CellBounds(n=sum(c.n for c in cells), pool=sum(c.pool for c in cells), mean=mean,
                      upper=get("upper"), lower=get("lower"), lower_delta=get("lower_delta"),
                      p=math.nan, p_noninf=math.nan)


def category_stop(verdicts: Sequence[str], n: int, pool: int) -> Stop:
    """Why a category (with these gated-cell verdicts after n of pool draws) stops, or Stop.OPEN."""
    if any(v == Verdict.REGRESSED for v in verdicts):
        return Stop.REGRESSED
    if verdicts and all(v in (Verdict.IMPROVED, Verdict.NOT_WORSE, Verdict.WITHIN_DELTA) for v in verdicts):
        return Stop.WITHIN_DELTA
    if n >= pool:
        return Stop.POOL_SPENT
    return Stop.OPEN


def next_round(orders: Mapping[str, Sequence[str]], used: Mapping[str, int], open_categories: Sequence[str],
               round_size: int, max_new: int | None = None) -> dict[str, list[str]]:
    """The next scenarios to run per open category: up to ``round_size`` more from its order, and no more
    than ``max_new`` in all (shared out category by category in order, for a trial budget)."""
    out: dict[str, list[str]] = {}
    room = math.inf if max_new is None else max(0, int(max_new))
    for cat in open_categories:
        start = used.get(cat, 0)
        take = int(min(round_size, len(orders[cat]) - start, room))
        if take > 0:
            out[cat] = list(orders[cat][start:start + take])
            room -= take
    return out


def simulate(x: np.ndarray, margin: float, delta: float, alpha_cell: float, futility_alpha: float,
             round_size: int) -> tuple[np.ndarray, np.ndarray]:
    """The design on simulated draws: ``x`` is (repetitions, N), each row a whole pool in draw order.

    Returns (outcome per repetition: SIM_REGRESSED / SIM_WITHIN / SIM_SPENT, scenarios used), with the
    decision checked at round ends only, as the gate does (one metric; the regression side wins a tie)."""
    x = np.asarray(x, dtype=float)
    N = x.shape[-1]
    t_reg = betting.first_crossing(x, -margin, betting.LOWER, alpha_cell)
    t_fut = betting.first_crossing(x, -delta, betting.UPPER, futility_alpha)
    at_round = lambda t: np.minimum(np.ceil(t / round_size) * round_size, N)  # noqa: E731
    big = N + round_size + 1
    s_reg = np.where(t_reg <= N, at_round(t_reg), big)
    s_fut = np.where(t_fut <= N, at_round(t_fut), big)
    outcome = np.where(s_reg <= s_fut, np.where(s_reg < big, SIM_REGRESSED, SIM_SPENT), SIM_WITHIN)
    used = np.minimum(np.minimum(s_reg, s_fut), N).astype(int)
    return outcome, used


__all__ = ["CellBounds", "TEST_NAME", "category_stop", "cell_bounds", "combine", "draw_orders", "next_round",
           "simulate"]
