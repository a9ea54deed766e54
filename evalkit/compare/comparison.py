"""``compare(candidate, baseline)``: the per-category, per-metric verdicts a gate and its reports read.

Pipeline: validate both runs (same suite version, infrastructure errors within the limit) → average trials
per scenario → pair the shared scenarios → per-cell paired statistics → tests against the margins, corrected
across the gated family (and, separately, across the report-only family) → verdicts, MDEs, suggestions,
cross-category trade-offs and flipped scenarios.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from evalkit.compare import flips as flips_mod
from evalkit.compare import mde as mde_mod
from evalkit.compare import paired as paired_mod
from evalkit.compare import verdicts as vd
from evalkit.compare.paired import OVERALL
from evalkit.compare.policy import CORRECTIONS, Policy, default_policy, load_policy
from evalkit.compare.policy_hash import policy_hash
from evalkit.compare.validity import check_runs
from evalkit.errors import UserError
from evalkit.jsonable import jsonable
from evalkit.score.catalogue import on_unit_scale
from evalkit.vocab import Direction, GateTest, Verdict

FRAME_COLUMNS = [
    "category", "metric", "gated", "direction", "test", "n", "k_baseline", "k_candidate",
    "baseline_mean", "candidate_mean", "diff", "ci_low", "ci_high", "margin", "p", "p_adj",
    "p_noninf", "p_noninf_adj", "level", "bound_low", "bound_high", "verdict", "mde", "n_for_delta", "suggestion",
]


@dataclass
class Comparison:
    """The outcome of comparing a candidate run with a baseline run.

    ``to_frame()`` has one row per category × metric (plus ``__overall_micro__``, all scenarios pooled):
    ``diff`` = candidate − baseline in the metric's units; ``ci_low``/``ci_high`` the plain 95% interval;
    ``bound_low``/``bound_high`` the one-sided bounds at the cell's corrected level that decide the verdict;
    ``p``/``p_adj`` the regression test (H0: no drop beyond the margin) and its corrected value."""

    cells: pd.DataFrame
    policy: Policy
    notes: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    #: builds the flipped-scenarios table on first use (None: no flips)
    flips_source: Callable[[], pd.DataFrame] | None = field(default=None, repr=False)
    _flips_table: pd.DataFrame | None = field(default=None, init=False, repr=False)

    # ------------------------------------------------------------------ verdicts
    def to_frame(self) -> pd.DataFrame:
        return self.cells.copy()

    @property
    def gated(self) -> pd.DataFrame:
        return self.cells[self.cells["gated"]]

    @property
    def verdict(self) -> str:
        """Overall: regressed if any gated cell regressed; else improved if any improved; else not-worse if
        every gated cell is not-worse; else within-delta if every gated cell is not-worse or within-delta (the
        sequential design: no drop of δ or more anywhere); else inconclusive."""
        v = self.gated["verdict"]
        if (v == Verdict.REGRESSED).any():
            return Verdict.REGRESSED
        if (v == Verdict.IMPROVED).any():
            return Verdict.IMPROVED
        if len(v) and (v == Verdict.NOT_WORSE).all():
            return Verdict.NOT_WORSE
        if len(v) and v.isin([Verdict.NOT_WORSE, Verdict.WITHIN_DELTA]).all():
            return Verdict.WITHIN_DELTA
        return Verdict.INCONCLUSIVE

    @property
    def regressed_cells(self) -> list[tuple[str, str]]:
        """(category, metric) of every gated cell that regressed."""
        g = self.gated
        g = g[g["verdict"] == Verdict.REGRESSED]
        return list(zip(g["category"], g["metric"]))

    # ------------------------------------------------------------- cross-category
    @property
    def cross_category(self) -> bool:
        """For some gated metric, a category regressed while another category's verdict is ``improved`` or
        while the overall cell did not regress — the case an average hides."""
        g = self.gated
        for _metric, rows in g.groupby("metric", sort=False):
            cats = rows[rows["category"] != OVERALL]
            if not (cats["verdict"] == Verdict.REGRESSED).any():
                continue
            overall = rows.loc[rows["category"] == OVERALL, "verdict"]
            if (cats["verdict"] == Verdict.IMPROVED).any() or (len(overall) and overall.iloc[0] != Verdict.REGRESSED):
                return True
        return False

    @property
    def headline(self) -> str:
        """The reports' one-sentence summary (:func:`evalkit.report.headline.headline`), kept for notebooks."""
        from evalkit.report.headline import headline

        return headline(self)

    # ---------------------------------------------------------------------- flips
    def flips(self, category: str | None = None) -> pd.DataFrame:
        """Flipped scenarios on the primary binary metric, most consistent first (all categories if None)."""
        if self._flips_table is None and self.flips_source is not None:
            self._flips_table = self.flips_source()
        table = self._flips_table
        if table is None:
            return pd.DataFrame(columns=flips_mod.FLIP_COLUMNS)
        if category is None:
            return table.copy()
        return table[table["category"] == category].reset_index(drop=True)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary: verdict, cells, flips, notes, policy (and its hash, as the gate tags it), meta
        (the reports add the headline)."""
        out = jsonable({
            "verdict": self.verdict,
            "cross_category": self.cross_category,
            "regressed_cells": [list(c) for c in self.regressed_cells],
            "notes": list(self.notes),
            "policy": self.policy.to_dict(),
            "policy_hash": policy_hash(self.policy),
            "meta": self.meta,
        })
        # pandas' JSON writer turns NaN/inf into null and numpy scalars into plain numbers, fast.
        out["cells"] = json.loads(self.cells.to_json(orient="records", double_precision=15))
        out["flips"] = json.loads(self.flips().to_json(orient="records", double_precision=15))
        return out


def resolve_policy(policy: Policy | str | Path | None, method: str | None = None) -> Policy:
    """A Policy from a Policy, a policy file/folder/suite name or None (the default), with ``method``
    ("holm" | "bh") overriding its correction."""
    if policy is None:
        pol = default_policy()
    elif isinstance(policy, Policy):
        pol = policy
    else:
        pol = load_policy(policy)
    if method is not None:
        if method not in CORRECTIONS:
            raise UserError.at("compare", "method", method, f"use one of {' | '.join(CORRECTIONS)}")
        pol = dataclasses.replace(pol, correction=method)
    return pol


def _family_frame(p: paired_mod.Paired, metrics: tuple[str, ...], pol: Policy, gated: bool) -> pd.DataFrame:
    """Test one family of cells (the gated metrics, or the report-only metrics) and build its rows."""
    if not metrics:
        return pd.DataFrame(columns=FRAME_COLUMNS)
    signs = [-1.0 if pol.lower_is_better(m) else 1.0 for m in metrics]
    blocks = [paired_mod.metric_cells(p, m, s, want_samples=pol.test == GateTest.PERMUTATION) for m, s in zip(metrics, signs)]
    sizes = [len(mc.n) for mc in blocks]
    cat = lambda attr: np.concatenate([getattr(mc, attr) for mc in blocks])  # noqa: E731
    n, mean, var, binary_k1 = cat("n"), cat("mean"), cat("var"), cat("binary_k1")
    margin = np.concatenate([[pol.margin_for(c if c != OVERALL else "", mc.metric) for c in mc.categories]
                             for mc in blocks])
    kind = vd.choose_kinds(binary_k1, pol.test)
    unit: np.ndarray = np.repeat([on_unit_scale(m) for m in metrics], sizes)
    samples = [s for mc in blocks for s in (mc.samples or [])] if pol.test == GateTest.PERMUTATION else None
    in_family = (n >= pol.min_scenarios) & (n >= 2)
    stats = vd.CellStats(n=n, mean=mean, var=var, b=cat("b"), c=cat("c"), samples=samples)
    floor = binary_k1 | (unit & (var == 0))
    dec = vd.decide(stats, kind, margin, in_family, alpha=pol.alpha, method=pol.correction, floor_mde=floor,
                    permutations=pol.permutations)
    sign: np.ndarray = np.repeat(signs, sizes)
    raw = lambda lo, hi: (np.where(sign > 0, lo, -hi), np.where(sign > 0, hi, -lo))  # noqa: E731
    ci_low, ci_high = raw(dec.ci_low, dec.ci_high)
    bound_low, bound_high = raw(dec.bound_low, dec.bound_high)
    verdicts = np.array([vd.VERDICT_NAMES[v] for v in dec.verdict], dtype=object)
    k_b, k_c, wb, wc = cat("k_base"), cat("k_cand"), cat("wvar_base"), cat("wvar_cand")
    alpha_mde = pol.alpha / dec.family_size
    delta: np.ndarray = np.repeat([pol.delta_for(m) for m in metrics], sizes)
    inconclusive = (verdicts == Verdict.INCONCLUSIVE) & in_family
    n_for_delta = np.full(len(n), np.nan)
    if inconclusive.any():  # the scenarios that would let this cell see a drop of δ (same trials, level, power)
        n_for_delta[inconclusive] = mde_mod.scenarios_for(
            delta[inconclusive], var[inconclusive], margin[inconclusive], alpha_mde[inconclusive],
            use_t=vd.uses_t(dec.kind[inconclusive]), floor=floor[inconclusive])
    suggestions = []
    for i in range(len(n)):
        if verdicts[i] != Verdict.INCONCLUSIVE:
            suggestions.append("")
        elif n[i] < pol.min_scenarios:
            suggestions.append(f"needs >= {pol.min_scenarios} paired scenarios (has {int(n[i])}): add scenarios "
                               f"or lower gate.min_scenarios")
        else:
            suggestions.append(mde_mod.suggestion(abs(mean[i] + margin[i]), var[i], int(n[i]), alpha_mde[i],
                                                  k_base=k_b[i], k_cand=k_c[i], wvar_base=wb[i], wvar_cand=wc[i],
                                                  floor=bool(floor[i])))
    frame = pd.DataFrame({
        "category": sum((mc.categories for mc in blocks), []),
        "metric": np.repeat(np.array(metrics, dtype=object), sizes),
        "gated": gated,
        "direction": Direction.of(sign),
        "test": [vd.KIND_NAMES[k] for k in dec.kind],
        "n": n.astype(int),
        "k_baseline": k_b, "k_candidate": k_c,
        "baseline_mean": cat("mean_base"), "candidate_mean": cat("mean_cand"),
        "diff": cat("mean_cand") - cat("mean_base"),
        "ci_low": ci_low, "ci_high": ci_high, "margin": margin,
        "p": dec.p, "p_adj": dec.p_adj, "p_noninf": dec.p_noninf, "p_noninf_adj": dec.p_noninf_adj,
        "level": dec.level, "bound_low": bound_low, "bound_high": bound_high,
        "verdict": verdicts, "mde": dec.mde, "n_for_delta": n_for_delta, "suggestion": suggestions,
    })
    return frame[FRAME_COLUMNS]


def compare(candidate: Any, baseline: Any, policy: Policy | str | Path | None = None, method: str | None = None,
            allow_suite_mismatch: bool = False) -> Comparison:
    """Compare a candidate run with a baseline run (results DataFrames or RunResults) under a gate policy.

    ``policy``: a Policy, a policy file/folder/suite name, or None for the default; ``method`` overrides the
    policy's correction ("holm" | "bh"). Raises UserError for runs of different suite versions (unless
    ``allow_suite_mismatch``) and InvalidRun when a run lost too many trials to infrastructure errors."""
    pol = resolve_policy(policy, method)
    runs = check_runs(candidate, baseline, pol, allow_suite_mismatch)
    cand, base, hc, hb = runs.cand, runs.base, runs.hash_cand, runs.hash_base
    metrics = pol.all_metrics()
    p = paired_mod.paired_runs(cand, base, metrics, pol.primary)
    notes = []
    if hc != hb:
        notes.append(f"suite versions differ (candidate {hc}, baseline {hb}): compared the {p.n} scenarios both "
                     f"runs share; dropped {p.only_candidate} only in the candidate and {p.only_baseline} only "
                     f"in the baseline")
    elif p.only_candidate or p.only_baseline:
        notes.append(f"compared the {p.n} scenarios both runs share; {p.only_candidate} only in the candidate "
                     f"and {p.only_baseline} only in the baseline were left out")
    if p.category_changed:
        notes.append(f"{p.category_changed} scenarios changed category between the runs and were left out")
    present = set(p.base.category.astype(str))
    unknown = sorted(set(pol.category_margins) - present)
    if unknown:
        notes.append(f"policy margins name categories absent from these runs: {', '.join(unknown)}")
    frame = pd.concat([_family_frame(p, pol.metrics, pol, True),
                       _family_frame(p, tuple(m for m in pol.report if m not in pol.metrics), pol, False)],
                      ignore_index=True)
    frame["gated"] = frame["gated"].astype(bool)
    meta = {
        "suite_hash_candidate": hc, "suite_hash_baseline": hb, "paired_scenarios": p.n,
        "only_candidate": p.only_candidate, "only_baseline": p.only_baseline,
        "infra_error_rate_candidate": runs.infra_cand, "infra_error_rate_baseline": runs.infra_base,
        "alpha": pol.alpha, "correction": pol.correction, "policy": pol.source,
    }
    return Comparison(cells=frame, policy=pol, notes=notes, meta=meta,
                      flips_source=lambda: flips_mod.flips_table(p, cand, base, pol.primary))
