"""Robust anomaly scores of one metric series against its own pre-incident behaviour.

A level shift is located by the single change point that best splits the series (a CUSUM /
binary-segmentation statistic, no per-scenario threshold), and scored as a robust z-score:
(median after − median before) / scaled MAD before. A relative floor on the scale (a change of a
few percent of the level is never an anomaly) keeps flat, noise-free series from producing
infinite scores.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: scaled MAD -> standard deviation for normal data.
MAD_TO_SD = 1.4826
#: a shift smaller than this fraction of the baseline level never counts.
RELATIVE_FLOOR = 0.02
#: with a latest onset (the alert time), samples more than this many steps later are not looked at.
HORIZON_STEPS = 5
#: robust z-scores are clipped here (a 0 -> 1 jump on a flat series is "very anomalous", not infinite).
Z_CAP = 50.0


@dataclass(frozen=True)
class SeriesAnomaly:
    """The level shift found in one series: robust z, onset time, and levels before/after."""

    z: float
    onset: int | None
    before: float
    after: float
    spike_z: float = 0.0

    @property
    def strength(self) -> float:
        """Evidence strength in [0, 1): 0 below |z| = 3, ~0.5 at |z| = 9, approaching 1 for huge shifts."""
        a = max(abs(self.z), 0.6 * self.spike_z) - 3.0
        return 0.0 if a <= 0 else a / (a + 6.0)

    @property
    def direction(self) -> int:
        return int(math.copysign(1, self.z)) if self.z else 0


NONE = SeriesAnomaly(0.0, None, math.nan, math.nan)


def median(x) -> float:
    """``float(np.median(x))`` of a 1-D series, bit for bit, without np.median's per-call overhead (the
    investigator takes thousands of medians of short series per run)."""
    s = np.sort(np.asarray(x, dtype=np.float64))
    n = len(s)
    if n == 0 or np.isnan(s[-1]):            # empty or NaN (sorted last): np.median's own answer
        return float(np.median(s))
    m = n // 2
    return float(s[m]) if n % 2 else float((s[m - 1] + s[m]) / 2)


def percentile90(x) -> float:
    """``float(np.percentile(x, 90))`` of a 1-D series, bit for bit (numpy's linear method: the same virtual
    index and the same two-sided interpolation), without np.percentile's per-call overhead."""
    s = np.sort(np.asarray(x, dtype=np.float64))
    n = len(s)
    if n == 0 or np.isnan(s[-1]):            # empty or NaN (sorted last): numpy's own answer
        return float(np.percentile(s, 90))
    index = (n - 1) * 0.9
    below = int(math.floor(index))
    gamma = index - below
    a, b = s[below], s[min(below + 1, n - 1)]
    diff = b - a
    return float(b - diff * (1 - gamma)) if gamma >= 0.5 else float(a + diff * gamma)


def robust_scale(x: np.ndarray) -> tuple[float, float]:
    """Median and robust standard deviation (scaled MAD, floored relative to the level)."""
    med = median(x)
    mad = median(np.abs(x - med)) * MAD_TO_SD
    return med, max(mad, RELATIVE_FLOOR * abs(med), 1e-9)


def change_point(x: np.ndarray, lo: int, hi: int) -> int:
    """Index in [lo, hi) that best splits ``x`` into two segments of different mean (CUSUM statistic)."""
    n = len(x)
    centred = x - x.mean()
    s = np.cumsum(centred)[:-1]          # s[k-1] = sum of x[:k] (centred)
    k = np.arange(1, n)
    stat = np.abs(s) / np.sqrt(k * (n - k) / n)
    lo, hi = max(lo, 1), min(hi, n - 1)
    if hi <= lo:
        return max(1, min(n - 1, lo))
    return int(lo + np.argmax(stat[lo - 1:hi - 1]))


def level_shift(timestamps: np.ndarray, values: np.ndarray, latest_onset: int | None = None,
                min_segment: int = 4) -> SeriesAnomaly:
    """Score the strongest level shift in a series; its onset must not be later than ``latest_onset``
    (and the series is only read up to a few steps after it)."""
    ts = np.asarray(timestamps, dtype=np.int64)
    x = np.asarray(values, dtype=np.float64)
    ok = np.isfinite(x)
    ts, x = ts[ok], x[ok]
    n = len(x)
    if n < 2 * min_segment:
        return NONE
    if latest_onset is not None and n > 1:
        # what happens well after ``latest_onset`` (the alert) cannot have caused it: look no further
        keep = ts <= latest_onset + HORIZON_STEPS * (ts[1] - ts[0])
        ts, x = ts[keep], x[keep]
        n = len(x)
        if n < 2 * min_segment:
            return NONE
    hi = n - min_segment + 1
    if latest_onset is not None:
        hi = min(hi, int(np.searchsorted(ts, latest_onset, side="right")) + 1)
    if hi <= min_segment:
        return NONE
    k = change_point(x, min_segment, hi)
    before, after = x[:k], x[k:]
    med_b, scale = robust_scale(before)
    med_a = median(after)
    z = float(np.clip((med_a - med_b) / scale, -Z_CAP, Z_CAP))
    # a sustained burst that the medians ignore still counts, with less weight (see ``strength``)
    p90 = percentile90(np.abs(after - med_b)) / scale
    spike = min(p90, Z_CAP)
    return SeriesAnomaly(z, int(ts[k]), med_b, med_a, spike)


#: metric-name words by how telling a shift in that metric is (first match wins; no match = traffic/load).
METRIC_TIERS: tuple[tuple[tuple[str, ...], int], ...] = (
    (("error", "servfail", "retrans", "throttl", "restart", "lag", "rebalanc", "disk", "pool", "loss",
      "oom", "fail", "timeout"), 3),
    (("p50", "median", "hit_rate", "evict"), 1),
    (("p99", "p95", "latency", "query_time", "duration"), 2),
    (("cpu", "memory", "mem_", "connections", "heap", "saturation", "queue"), 1),
)


def metric_tier(name: str) -> int:
    """3 = fault signal, 2 = latency, 1 = resource use, 0 = traffic volume (a symptom of load, not a fault)."""
    low = name.lower()
    for words, tier in METRIC_TIERS:
        if any(w in low for w in words):
            return tier
    return 0
