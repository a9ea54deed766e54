"""From per-cell paired statistics to corrected p-values, confidence bounds, verdicts and MDEs — on arrays.

The last axis is the family of tests (category × metric cells); any leading axes are independent
replications, which is how the calibration benchmark runs thousands of simulated comparisons through the
same code as :func:`evalkit.compare.compare`.

Per cell, with margin m ≥ 0 and the difference δ oriented so that higher is better:
- regression test H0: δ ≥ −m (p), corrected across the family (p_adj): ``regressed`` iff p_adj ≤ α, i.e.
  iff the upper bound at the cell's corrected level α·p/p_adj lies below −m;
- non-inferiority test H0: δ ≤ −m (p_noninf), corrected the same way: ``not-worse`` iff p_noninf_adj ≤ α,
  i.e. iff the lower bound at its corrected level lies above −m; ``improved`` iff, in addition, that same
  lower bound lies above +m (the non-inferiority → superiority step needs no further correction);
- otherwise ``inconclusive``, with the MDE at α/(number of tests).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

import numpy as np

from evalkit.compare import corrections, mde as mde_mod, stat_tests as st
from evalkit.vocab import Correction, GateTest, Verdict

T, MCNEMAR_EXACT, MCNEMAR_MIDP, SCORE, PERMUTATION, WILSON, MIDP = 0, 1, 2, 3, 4, 5, 6
#: MCNEMAR_* (conditional on the discordant pairs) stay decodable for the calibration benchmark's comparison;
#: no policy selects them (they do not hold their level at a non-zero margin when flips go one way).
KIND_NAMES = {T: "paired-t", MCNEMAR_EXACT: "mcnemar-exact", MCNEMAR_MIDP: "mcnemar-midp",
              SCORE: "tango-score", PERMUTATION: "sign-flip", WILSON: "wilson-mover", MIDP: "midp-mover"}
REGRESSED, INCONCLUSIVE, NOT_WORSE, IMPROVED = -1, 0, 1, 2
VERDICT_NAMES = {REGRESSED: Verdict.REGRESSED, INCONCLUSIVE: Verdict.INCONCLUSIVE, NOT_WORSE: Verdict.NOT_WORSE,
                 IMPROVED: Verdict.IMPROVED}
#: kind -> (p-value at δ0, bound at a level): paired t on (mean, var, n), the others on the (b, c, n) counts of
#: binary one-trial cells (the sign-flip test, on the samples, is dispatched apart)
_TESTS = {
    T: (st.t_pvalue, st.t_bound),
    MCNEMAR_EXACT: (partial(st.mcnemar_pvalue, midp=False), partial(st.mcnemar_bound, midp=False)),
    MCNEMAR_MIDP: (partial(st.mcnemar_pvalue, midp=True), partial(st.mcnemar_bound, midp=True)),
    SCORE: (st.score_pvalue, st.score_bound),
    WILSON: (st.wilson_pvalue, st.wilson_bound),
    MIDP: (st.midp_pvalue, st.midp_bound),
}
#: a policy's gate.test -> (the kind of binary one-trial cells, the kind of every other cell)
_KINDS_BY_TEST = {GateTest.AUTO: (MIDP, T), GateTest.T: (T, T), GateTest.PERMUTATION: (PERMUTATION, PERMUTATION),
                  GateTest.SCORE: (SCORE, T), GateTest.WILSON: (WILSON, T)}


@dataclass
class CellStats:
    """Paired statistics per cell, oriented so that higher is better (arrays of one shape).

    ``b``/``c`` (binary cells with one trial per side): pass→fail and fail→pass counts.
    ``samples``: the per-scenario differences, flat in C order, only needed by the permutation test."""

    n: np.ndarray
    mean: np.ndarray
    var: np.ndarray
    b: np.ndarray | None = None
    c: np.ndarray | None = None
    samples: list | None = None


@dataclass
class Decision:
    """Everything :func:`decide` computes per cell (arrays shaped like the input cells)."""

    kind: np.ndarray
    p: np.ndarray
    p_adj: np.ndarray
    p_noninf: np.ndarray
    p_noninf_adj: np.ndarray
    level: np.ndarray
    bound_low: np.ndarray
    bound_high: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    verdict: np.ndarray
    mde: np.ndarray
    family_size: np.ndarray = field(default=None)


def choose_kinds(binary_k1, test: str = GateTest.AUTO) -> np.ndarray:
    """Test per cell: ``auto`` = the mid-p MOVER test for binary cells with one trial per scenario on both
    sides, paired t otherwise; ``t``/``permutation`` everywhere; ``score`` = Tango's
    score test and ``wilson`` = the Wilson MOVER test for the binary one-trial cells (t elsewhere)."""
    if test not in _KINDS_BY_TEST:
        raise ValueError(f"unknown test {test!r}")
    binary, other = _KINDS_BY_TEST[test]
    return np.where(np.asarray(binary_k1, dtype=bool), binary, other)


class _Cells:
    """Flat views of the cell statistics, with the test kind of each cell, for per-kind dispatch."""

    def __init__(self, s: CellStats, kind: np.ndarray, permutations: int, seed: int):
        shape = np.shape(s.n)
        self.shape = shape
        f = lambda a: np.broadcast_to(np.asarray(a, dtype=float), shape).ravel()  # noqa: E731
        self.n, self.mean, self.var = f(s.n), f(s.mean), f(s.var)
        nan = np.full(self.n.shape, np.nan)
        self.b = f(s.b) if s.b is not None else nan
        self.c = f(s.c) if s.c is not None else nan
        self.kind = np.broadcast_to(np.asarray(kind, dtype=int), shape).ravel()
        self.samples = s.samples
        self.permutations, self.seed = permutations, seed
        self._signs: dict[int, tuple[np.ndarray, bool]] = {}
        if np.any(self.kind == PERMUTATION) and self.samples is None:
            raise ValueError("the permutation test needs CellStats.samples")

    def signs(self, j: int) -> tuple[np.ndarray, bool]:
        """The sign flips for cell ``j``'s sample size, drawn once: every p-value and bound of every cell of
        that size uses the same seeded matrix (up to permutations × n draws)."""
        n = len(self.samples[j])
        if n not in self._signs:
            self._signs[n] = st.sign_matrix(n, self.permutations, self.seed)
        return self._signs[n]

    def _each_kind(self, func):
        out = np.full(self.n.shape, np.nan)
        for k in np.unique(self.kind):
            idx = np.flatnonzero(self.kind == k)
            out[idx] = func(int(k), idx)
        return out

    def _test(self, k: int, which: int, i: np.ndarray, x: np.ndarray, side: str) -> np.ndarray:
        """For cells ``i`` of kind ``k``: p-values at δ0 = ``x`` (``which`` 0) or bounds at level ``x`` (1)."""
        if k == PERMUTATION:
            fn = (st.signflip_pvalue, st.signflip_bound)[which]
            return np.array([fn(self.samples[j], xj, side, signs=self.signs(j)) if self.n[j] >= 1 else np.nan
                             for j, xj in zip(i, x)])
        first, second = (self.mean, self.var) if k == T else (self.b, self.c)
        return _TESTS[k][which](first[i], second[i], self.n[i], x, side)

    def pvalue(self, delta0, side: str) -> np.ndarray:
        d0 = np.broadcast_to(np.asarray(delta0, dtype=float), self.shape).ravel()
        return self._each_kind(lambda k, i: self._test(k, 0, i, d0[i], side))

    def bound(self, level, side: str) -> np.ndarray:
        lv = np.broadcast_to(np.asarray(level, dtype=float), self.shape).ravel()

        def one(k, i):  # a cell outside the family has no level (NaN): no bound
            ok = np.isfinite(lv[i])
            res = np.full(i.shape, np.nan)
            res[ok] = self._test(k, 1, i[ok], lv[i][ok], side)
            return res
        return self._each_kind(one)


def uses_t(kind) -> np.ndarray:
    """Cells whose MDE uses t quantiles (paired t, permutation, the MOVER tests); the score test's use normal ones."""
    return np.isin(kind, (T, PERMUTATION, WILSON, MIDP))


def decide(stats: CellStats, kind, margin, in_family, alpha: float = 0.05, method: str = Correction.HOLM,
           ci_level: float = 0.95, power: float = 0.8, floor_mde=False, permutations: int = 9999,
           seed: int = 0) -> Decision:
    """Test every cell against its margin, correct across the family (last axis) and give verdicts.

    ``kind``: test code per cell (T, MIDP, WILSON, SCORE, PERMUTATION; MCNEMAR_EXACT/MIDP for comparisons); ``in_family``: cells
    that take part in the correction and can get a non-inconclusive verdict; ``floor_mde``: cells whose MDE
    uses the binary flip floor (see :mod:`evalkit.compare.mde`)."""
    cells = _Cells(stats, kind, permutations, seed)
    shape = cells.shape
    margin = np.broadcast_to(np.asarray(margin, dtype=float), shape)
    fam = np.broadcast_to(np.asarray(in_family, dtype=bool), shape)
    r = lambda a: a.reshape(shape)  # noqa: E731

    p = r(cells.pvalue(-margin, st.LOWER))
    p_ni = r(cells.pvalue(-margin, st.UPPER))
    p_imp = r(cells.pvalue(margin, st.UPPER))
    p_adj = corrections.adjust(np.where(fam, p, np.nan), method)
    p_ni_adj = corrections.adjust(np.where(fam, p_ni, np.nan), method)
    level = corrections.cell_levels(p, p_adj, alpha)
    level_ni = corrections.cell_levels(p_ni, p_ni_adj, alpha)

    bound_high = r(cells.bound(level, st.LOWER))
    bound_low = r(cells.bound(level_ni, st.UPPER))
    tail = (1.0 - ci_level) / 2.0
    ci_high = r(cells.bound(tail, st.LOWER))
    ci_low = r(cells.bound(tail, st.UPPER))

    regressed = fam & (p_adj <= alpha)
    noninf = fam & (p_ni_adj <= alpha) & ~regressed
    improved = noninf & (p_imp <= level_ni)
    verdict = np.where(regressed, REGRESSED, np.where(improved, IMPROVED, np.where(noninf, NOT_WORSE,
                                                                                      INCONCLUSIVE)))
    m_family = np.broadcast_to(np.maximum(np.sum(fam, axis=-1, keepdims=True), 1), shape)
    kind_arr = r(cells.kind)
    detect = mde_mod.mde(r(cells.var), r(cells.n), margin, alpha / m_family, power, use_t=uses_t(kind_arr),
                         floor=floor_mde)
    return Decision(kind=kind_arr, p=p, p_adj=p_adj, p_noninf=p_ni, p_noninf_adj=p_ni_adj, level=level,
                    bound_low=bound_low, bound_high=bound_high, ci_low=ci_low, ci_high=ci_high,
                    verdict=verdict.astype(int), mde=detect, family_size=m_family)
