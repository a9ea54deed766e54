"""Per-scenario pairing: average each scenario's trials, pair the scenarios both runs share, and reduce the
paired differences to per-cell statistics (category × metric, plus the scenario-weighted overall).

The unit of analysis is the scenario: trials of one scenario share its difficulty, so they are averaged first
and never counted as independent observations. Infrastructure-error rows are dropped before averaging; the
two runs may have different numbers of trials.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from evalkit.errors import UserError
from evalkit.score.catalogue import metric
from evalkit.score.schema import OVERALL_MICRO
from evalkit.vocab import Role, Status

OVERALL = OVERALL_MICRO


@dataclass
class ScenarioMeans:
    """One run reduced to scenarios: category, valid-trial count, mean and within-scenario variance."""

    ids: pd.Index
    category: np.ndarray
    count: dict[str, np.ndarray]
    mean: dict[str, np.ndarray]
    wvar: dict[str, np.ndarray]
    binary: dict[str, bool]

    def take(self, idx: np.ndarray) -> "ScenarioMeans":
        pick = lambda d: {m: v[idx] for m, v in d.items()}  # noqa: E731
        return ScenarioMeans(self.ids[idx], self.category[idx], pick(self.count), pick(self.mean),
                             pick(self.wvar), dict(self.binary))


def scenario_means(table: pd.DataFrame, metrics: tuple[str, ...], role: str) -> ScenarioMeans:
    """Average trials per scenario (vectorised with bincount); infra-error rows do not count."""
    missing = [m for m in metrics if m not in table.columns]
    if missing:
        raise UserError.at(f"{role} run", "columns", missing,
                           "the policy names metrics this results table lacks; fix gate.metrics/gate.report")
    keep = (table["status"] != Status.INFRA_ERROR).to_numpy(dtype=bool, na_value=True)
    t = table.loc[keep]
    codes, ids = pd.factorize(t["scenario_id"], sort=True)
    cat_codes, cat_names = pd.factorize(t["category"])
    cat_names = np.asarray(cat_names, dtype=object)
    S = len(ids)
    _, first = np.unique(codes, return_index=True)   # first row of each scenario
    category = cat_names[cat_codes[first]] if S else np.array([], dtype=object)
    conflict = cat_codes[first][codes] != cat_codes
    if conflict.any():
        sid = str(np.asarray(t["scenario_id"])[conflict][0])
        raise UserError.at(f"{role} run", "category", sid,
                           "this scenario appears under two categories; the results table is corrupt, rerun it")
    count, mean, wvar, binary = {}, {}, {}, {}
    for m in metrics:
        x = t[m].to_numpy(dtype=float, na_value=np.nan)
        ok = ~np.isnan(x)
        xs = np.where(ok, x, 0.0)
        cnt = np.bincount(codes, weights=ok, minlength=S)
        s1 = np.bincount(codes, weights=xs, minlength=S)
        with np.errstate(divide="ignore", invalid="ignore"):
            mu = s1 / cnt
            dev = np.where(ok, x - mu[codes], 0.0)
            ss = np.bincount(codes, weights=dev * dev, minlength=S)
            wv = np.where(cnt >= 2, ss / (cnt - 1), np.nan)
        count[m], mean[m], wvar[m] = cnt, mu, wv
        vals = x[ok]
        binary[m] = metric(m).binary or bool(vals.size and np.all((vals == 0) | (vals == 1)))
    return ScenarioMeans(pd.Index(np.asarray(ids).astype(str), dtype=object), category, count, mean, wvar, binary)


@dataclass
class Paired:
    """Both runs aligned on the scenarios they share."""

    base: ScenarioMeans
    cand: ScenarioMeans
    only_candidate: int
    only_baseline: int
    category_changed: int
    categories: np.ndarray   # sorted category names
    group: np.ndarray        # category index of each paired scenario

    @property
    def n(self) -> int:
        return len(self.base.ids)


def pair(cand: ScenarioMeans, base: ScenarioMeans) -> Paired:
    """Align on scenario ids present in both runs (same category in both; others are dropped and counted)."""
    pos = base.ids.get_indexer(cand.ids)
    both = pos >= 0
    ci, bi = np.flatnonzero(both), pos[both]
    same_cat = cand.category[ci] == base.category[bi]
    changed = int((~same_cat).sum())
    ci, bi = ci[same_cat], bi[same_cat]
    if ci.size == 0:
        raise UserError.at("candidate run", "scenario_id", f"{len(cand.ids)} scenarios",
                           f"none of them is in the baseline's {len(base.ids)} scenarios; compare runs of the same suite")
    b = base.take(bi)
    cats, group = np.unique(b.category.astype(str), return_inverse=True)
    return Paired(b, cand.take(ci), only_candidate=int(len(cand.ids) - both.sum()),
                  only_baseline=int(len(base.ids) - both.sum()), category_changed=changed, categories=cats,
                  group=group)


def paired_runs(cand: pd.DataFrame, base: pd.DataFrame, metrics: tuple[str, ...], primary: str) -> Paired:
    """Both runs reduced to scenario means of ``metrics`` and paired; the primary score joins them (for flips)
    where both runs have it: runs without it have no flips."""
    if primary not in metrics and primary in cand.columns and primary in base.columns:
        metrics = metrics + (primary,)
    return pair(scenario_means(cand, metrics, Role.CANDIDATE), scenario_means(base, metrics, Role.BASELINE))


@dataclass
class MetricCells:
    """Per-cell statistics for one metric: categories (sorted) then the overall, all oriented higher = better."""

    metric: str
    categories: list[str]
    n: np.ndarray
    mean_base: np.ndarray
    mean_cand: np.ndarray
    mean: np.ndarray          # oriented mean difference
    var: np.ndarray           # variance (ddof=1) of the oriented per-scenario differences
    b: np.ndarray             # pass→fail (oriented) among binary one-trial pairs
    c: np.ndarray
    binary_k1: np.ndarray     # every pair is binary with exactly one valid trial per side
    k_base: np.ndarray
    k_cand: np.ndarray
    wvar_base: np.ndarray     # pooled within-scenario trial variance (NaN when every k = 1)
    wvar_cand: np.ndarray
    samples: list[np.ndarray] | None


def metric_cells(p: Paired, metric: str, sign: float, want_samples: bool = False) -> MetricCells:
    """Reduce the paired differences of ``metric`` to per-category and overall statistics."""
    cats, g = p.categories, p.group
    C = len(cats)
    cb, cc = p.base.count[metric], p.cand.count[metric]
    valid = (cb > 0) & (cc > 0)
    xb, xc = p.base.mean[metric], p.cand.mean[metric]
    d = np.where(valid, sign * (xc - xb), 0.0)
    w = valid.astype(float)

    def per_group(values: np.ndarray, weights: np.ndarray = w) -> np.ndarray:
        by_cat = np.bincount(g, weights=values * weights, minlength=C)
        return np.append(by_cat, by_cat.sum())

    def pooled(wvar: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """The mean within-scenario variance over the valid pairs with two or more trials on this side."""
        ok = (valid & (counts >= 2)).astype(float)
        return per_group(np.where(ok > 0, wvar, 0.0), ok) / per_group(np.ones_like(d), ok)

    n = per_group(np.ones_like(d))
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = per_group(d) / n
        dev = d - np.append(mean[:C], 0.0)[g]
        dev_all = d - mean[C]
        ss = np.append(np.bincount(g, weights=dev * dev * w, minlength=C), np.sum(dev_all * dev_all * w))
        var = np.where(n >= 2, ss / (n - 1), np.nan)
        mean_base = per_group(np.where(valid, xb, 0.0)) / n
        mean_cand = per_group(np.where(valid, xc, 0.0)) / n
        k_base = per_group(cb) / n
        k_cand = per_group(cc) / n
        wvar_base, wvar_cand = pooled(p.base.wvar[metric], cb), pooled(p.cand.wvar[metric], cc)
    binary = p.base.binary[metric] and p.cand.binary[metric]
    not_k1 = per_group(((cb != 1) | (cc != 1)).astype(float))
    binary_k1 = (not_k1 == 0) & (n > 0) & binary
    bb = per_group((d == -1).astype(float)) if binary else np.zeros(C + 1)
    cc_ = per_group((d == 1).astype(float)) if binary else np.zeros(C + 1)
    samples = None
    if want_samples:
        samples = [d[valid & (g == i)] for i in range(C)] + [d[valid]]
    return MetricCells(metric, [*map(str, cats), OVERALL], n, mean_base, mean_cand, mean, var, bb, cc_,
                       binary_k1, k_base, k_cand, wvar_base, wvar_cand, samples)
