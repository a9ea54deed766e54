"""Change detection across builds on each build's own standard error (docs/drift.md).

Per category × metric, every build t is put on its own scale, z_t = s·(m_t − μ_ref)/SE_t, with s = −1 for
lower-is-better metrics so that negative z always means "worse". Deltas against one shared baseline would be
correlated through that baseline's noise; z_t is not.

- μ_ref: the plain mean of m_t over the *reference window* — the first ``ref_builds`` builds of the series
  that report the cell (default 10). It is what "normal" quality was when the history starts. Its error
  is ~1/sqrt(W) SE units and acts as a persistent offset on every later z, so short windows raise the false
  alarm rate (docs/drift.md has measured numbers); 10 builds is the default for that reason.
- SE_t: the build's scenario-clustered SE, with its variance shrunk toward the largest variance a [0, 1]
  score with that mean can have, p̃(1 − p̃) with p̃ = (n·m + ½)/(n + 1), weighted as ``prior_df``
  pseudo-scenarios: SE_t² = ((n − 1)·s² + ν₀·p̃(1 − p̃)) / ((n − 1 + ν₀)·n). With 2 scenarios per category
  the sample SD is a 1-df estimate and often exactly 0 (both scenarios solved every time), which would turn
  any wobble into an infinite z; with 30 scenarios the data dominate. Scores outside [0, 1] use the
  plain SE (z undefined when it is 0 or missing).
- EWMA (display): Z_t = λ·z_t + (1 − λ)·Z_{t−1}, Z_0 = 0, limits ±L·sqrt(λ/(2 − λ)·(1 − (1 − λ)^{2t})).
- Lower CUSUM (alarms): S_t = max(0, S_{t−1} − z_t − k); an alarm fires when S_t > h, then S restarts at 0
  so a lasting regression re-alarms every few builds instead of keeping every later build (even a fixed
  one) in alarm.
- Verdict of a cell (overview grid): m_t − μ_ref with a 95% interval on sqrt(SE_t² + SE_ref²) against the
  policy margin: regressed / improved / unchanged / inconclusive, as in the gate but uncorrected (the alarms
  are the error-controlled signal; expect C times the false alarms of one cell with C cells).
"""

from __future__ import annotations

import math

from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

from evalkit.drift.series import BuildSeries
from evalkit.errors import Problem, UserError
from evalkit.score.catalogue import lower_is_better, on_unit_scale
from evalkit.vocab import Direction, Verdict

Z95 = 1.959963984540054


@dataclass(frozen=True)
class DriftParams:
    """Detector settings (defaults and their reasons in docs/drift.md)."""

    lam: float = 0.2        # EWMA weight λ (0.1–0.2)
    L: float = 3.0          # EWMA limit width (2.7–3)
    k: float = 0.5          # CUSUM allowance, in SE units
    h: float = 4.0          # CUSUM alarm threshold (4–5)
    ref_builds: int = 10    # builds in the reference window that defines μ_ref
    prior_df: float = 2.0   # pseudo-scenarios of the [0, 1] variance bound in SE_t

    def check(self) -> "DriftParams":
        problems = []
        if not 0 < self.lam <= 1:
            problems.append(Problem("drift", "lam", self.lam, "must be in (0, 1]; use 0.1-0.2"))
        for name in ("L", "h"):
            if not 0 < getattr(self, name) < math.inf:
                problems.append(Problem("drift", name, getattr(self, name), "must be a positive finite number"))
        if not 0 <= self.k < math.inf:
            problems.append(Problem("drift", "k", self.k, "must be a finite number >= 0 (0.5 detects 1-SE shifts)"))
        if not (isinstance(self.ref_builds, int) and self.ref_builds >= 1):
            problems.append(Problem("drift", "ref_builds", self.ref_builds, "must be a whole number >= 1"))
        if not self.prior_df >= 0:
            problems.append(Problem("drift", "prior_df", self.prior_df, "must be >= 0"))
        if problems:
            raise UserError(*problems)
        return self

    def to_dict(self) -> dict:
        return asdict(self)


DETECT_COLUMNS = ("direction", "mu_ref", "se_ref", "se_eff", "z", "ewma", "ewma_limit", "cusum", "alarm",
                  "margin", "diff", "verdict")


@dataclass
class Drift:
    """Detector output: the series with z, EWMA, CUSUM, alarms and verdicts (``to_frame()``), per build and
    cell; ``alarms`` lists the builds that triggered an alarm."""

    series: BuildSeries
    frame: pd.DataFrame
    params: DriftParams
    reference: dict = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        return self.frame.copy()

    @property
    def alarms(self) -> pd.DataFrame:
        """One row per alarm: build (order, run id, build id, time), category, metric, m_t, μ_ref, z, S_t."""
        cols = ["order", "start_time", "build_id", "run_id", "category", "metric", "mean", "mu_ref", "z", "cusum"]
        return self.frame.loc[self.frame["alarm"], cols].reset_index(drop=True)


def effective_se(mean: np.ndarray, se: np.ndarray, n: np.ndarray, unit: np.ndarray,
                 prior_df: float) -> np.ndarray:
    """SE_t of the module docstring, element-wise (``unit``: the metric is a [0, 1] score)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        known_n = np.isfinite(n) & (n >= 1)
        nn = np.where(known_n, n, 1.0)
        p = np.clip((nn * mean + 0.5) / (nn + 1.0), 0.0, 1.0)
        bound = p * (1.0 - p)
        s2 = np.where(np.isfinite(se), se * se * nn, np.nan)
        df = nn - 1.0
        shrunk = np.where(np.isfinite(s2) & (df >= 1), (df * s2 + prior_df * bound) / (df + prior_df), bound)
        unit_se = np.sqrt(shrunk / nn)
        plain = np.where(np.isfinite(se) & (se > 0), se, np.nan)
        out = np.where(unit & known_n, unit_se, plain)
    return np.where(np.isfinite(mean), out, np.nan)


def _reference(values: np.ndarray, se: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per column: μ_ref and SE_ref over its first ``window`` present values, and how many were used."""
    present = np.isfinite(values)
    rank = np.cumsum(present, axis=0)
    use = present & (rank <= window)
    count = use.sum(axis=0).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mu = np.where(use, values, 0.0).sum(axis=0) / count
        var = np.where(use & np.isfinite(se), se * se, 0.0).sum(axis=0)
        se_ref = np.sqrt(var) / count
    return np.where(count > 0, mu, np.nan), np.where(count > 0, se_ref, np.nan), count


def _recursions(z: np.ndarray, p: DriftParams) -> tuple[np.ndarray, ...]:
    """EWMA, its limit, lower CUSUM and alarms over time (rows) for every cell (columns) at once."""
    T, C = z.shape
    ewma, limit, cusum = (np.full((T, C), np.nan) for _ in range(3))
    alarm = np.zeros((T, C), dtype=bool)
    Z, S, seen = np.zeros(C), np.zeros(C), np.zeros(C)
    decay = 1.0 - p.lam
    base = p.L * np.sqrt(p.lam / (2.0 - p.lam))
    for t in range(T):
        ok = np.isfinite(z[t])
        zt = np.where(ok, z[t], 0.0)
        seen += ok
        Z = np.where(ok, p.lam * zt + decay * Z, Z)
        S = np.where(ok, np.maximum(0.0, S - zt - p.k), S)
        fire = ok & (S > p.h)
        ewma[t] = np.where(ok, Z, np.nan)
        limit[t] = np.where(ok, base * np.sqrt(1.0 - decay ** (2.0 * seen)), np.nan)
        cusum[t] = np.where(ok, S, np.nan)
        alarm[t] = fire
        S = np.where(fire, 0.0, S)
    return ewma, limit, cusum, alarm


def detect(series: BuildSeries, params: DriftParams | None = None,
           margin_for: Callable[[str, str], float] | None = None) -> Drift:
    """Run the detector of the module docstring on every (category, metric) cell of ``series``.

    ``margin_for(category, metric)`` gives the verdict margin (default: 0.02, the default gate margin;
    pass ``policy.margin_for`` to use a suite's policy)."""
    p = (params or DriftParams()).check()
    margin_for = margin_for or (lambda category, metric: 0.02)
    frame = series.frame
    if frame.empty:
        out = frame.assign(**{c: pd.Series([], dtype="float64") for c in DETECT_COLUMNS})
        return Drift(series, out, p, {"orders": [], "builds": []})
    keyed = frame.set_index(["order", "category", "metric"])
    orders = np.sort(series.builds["order"].to_numpy()) if len(series.builds) else np.unique(frame["order"])
    wide = keyed[["mean", "se", "n_scenarios"]].unstack(["category", "metric"])
    wide = wide.reindex(orders)
    cells = wide["mean"].columns
    mean = wide["mean"].to_numpy(dtype=float)
    se = wide["se"].reindex(columns=cells).to_numpy(dtype=float)
    n = wide["n_scenarios"].reindex(columns=cells).to_numpy(dtype=float)
    metrics = cells.get_level_values("metric").astype(str)
    categories = cells.get_level_values("category").astype(str)
    unit = np.broadcast_to(np.array([on_unit_scale(m) for m in metrics], dtype=bool), mean.shape)
    sign = np.array([-1.0 if lower_is_better(m) else 1.0 for m in metrics])

    se_eff = effective_se(mean, se, n, unit, p.prior_df)
    mu, se_ref, used = _reference(mean, se_eff, p.ref_builds)
    with np.errstate(invalid="ignore", divide="ignore"):
        diff = sign * (mean - mu)
        z = diff / se_eff
    z = np.where(np.isfinite(z), z, np.nan)
    ewma, limit, cusum, alarm = _recursions(z, p)

    margins = np.array([margin_for(c, m) for c, m in zip(categories, metrics)], dtype=float)
    with np.errstate(invalid="ignore"):
        se_v = np.sqrt(se_eff ** 2 + se_ref ** 2)
        lo, hi = diff - Z95 * se_v, diff + Z95 * se_v
    verdict = np.full(mean.shape, Verdict.INCONCLUSIVE, dtype=object)
    verdict[(lo >= -margins) & (hi <= margins)] = Verdict.UNCHANGED
    verdict[lo > margins] = Verdict.IMPROVED
    verdict[hi < -margins] = Verdict.REGRESSED
    verdict[~np.isfinite(diff) | ~np.isfinite(se_v)] = Verdict.MISSING

    T, C = mean.shape
    long = pd.DataFrame({
        "order": np.repeat(orders, C), "category": np.tile(categories, T), "metric": np.tile(metrics, T),
        "direction": np.tile(Direction.of(sign), T),
        "mu_ref": np.tile(mu, T), "se_ref": np.tile(se_ref, T), "se_eff": se_eff.ravel(), "z": z.ravel(),
        "ewma": ewma.ravel(), "ewma_limit": limit.ravel(), "cusum": cusum.ravel(), "alarm": alarm.ravel(),
        "margin": np.tile(margins, T), "diff": diff.ravel(), "verdict": verdict.ravel(),
    })
    out = frame.merge(long, on=["order", "category", "metric"], how="left", validate="one_to_one")
    out["alarm"] = out["alarm"].fillna(False).astype(bool)
    out = out.sort_values(["order", "category", "metric"], kind="mergesort").reset_index(drop=True)
    window = orders[: p.ref_builds].tolist()
    b = series.builds.set_index("order") if len(series.builds) else None
    reference = {
        "orders": window,
        "builds": [str(b.loc[o, "build_id"]) for o in window] if b is not None else [],
        "first": b.loc[window[0], "start_time"] if b is not None and window else None,
        "last": b.loc[window[-1], "start_time"] if b is not None and window else None,
        "cells_short": int((used < min(p.ref_builds, T)).sum()),
    }
    return Drift(series, out, p, reference)
