"""Monitors: definitions with thresholds drawn from the healthy data, and their evaluation over the window.

A monitor goes to ALERT after two consecutive minutes above its threshold and back to OK after two
below; ``history`` lists the transitions. The triggering alert is the first ALERT transition of the
alerting monitor after the fault onset.
"""

from __future__ import annotations

import math

import numpy as np

from evalkit.suite.generator.numeric import nantop

LABELS = {"latency_p99_ms": "p99 latency", "error_rate_pct": "error rate", "query_time_p99_ms": "p99 query time",
          "disk_used_pct": "disk usage", "consumer_lag": "consumer lag", "cpu_pct": "CPU",
          "servfail_per_s": "SERVFAIL rate", "db_pool_in_use_pct": "connection pool usage",
          "memory_pct": "memory", "net_retransmit_pct": "TCP retransmits", "evictions_per_s": "evictions",
          "cpu_throttled_pct": "CPU throttling", "rebalances_per_min": "rebalances",
          "requests_per_s": "request rate"}


def nice(v: float, digits: int = 2) -> float:
    """Round up to ``digits`` significant digits (thresholds people would type)."""
    if v <= 0 or not math.isfinite(v):
        return float(v)
    e = math.floor(math.log10(v)) - (digits - 1)
    return float(round(math.ceil(v / 10 ** e) * 10 ** e, 6))


def monitor_def(component: str, metric: str, threshold: float) -> dict:
    return {"name": f"{component}-{metric.replace('_', '-')}", "component": component, "metric": metric,
            "comparator": ">", "threshold": threshold}


def healthy_threshold(x: np.ndarray, healthy: slice, rng: np.random.Generator, floor: float,
                      cap: float | None = None) -> float:
    """A threshold comfortably above the healthy range ``x[healthy]`` (percent gauges: at most ``cap``,
    the way people set "disk above 90 %": such a monitor may already fire on a slowly filling disk)."""
    top = nantop(x[healthy])
    thr = nice(max(floor, top * float(rng.uniform(1.4, 2.5))))
    return min(thr, cap) if cap is not None else thr


def alert_threshold(x: np.ndarray, pre: np.ndarray, post: np.ndarray, rng: np.random.Generator) -> float | None:
    """A threshold the series never held for two minutes before onset but does after; None if impossible."""
    pairs = np.minimum(x[:-1], x[1:])
    pre_top = nantop(x[pre])
    post_idx = np.nonzero(post[:-1])[0]
    if post_idx.size == 0:
        return None
    peak = nantop(pairs[post_idx])
    if not peak > pre_top * 1.02:
        return None
    raw = pre_top + float(rng.uniform(0.2, 0.45)) * (peak - pre_top)
    for digits in (2, 3, 4, 6):
        thr = nice(raw, digits)
        if pre_top < thr < peak:
            return thr
    return raw


def evaluate(monitors: list[dict], series: list[np.ndarray], ts: np.ndarray, step: int) -> list[list[dict]]:
    """Fill each monitor's ``state``, ``last_triggered`` and ``history`` (last 20 transitions) from its series on
    the grid ``ts`` (two-minute hysteresis); returns each monitor's full list of transitions. All monitors go
    through one matrix of comparisons: a world's ~20 cost a dozen numpy calls instead of a dozen each."""
    if not monitors:
        return []
    x = np.array(series, dtype=np.float64).reshape(len(monitors), ts.size)
    thr = np.array([m["threshold"] for m in monitors], dtype=np.float64)
    above = x > thr[:, None]
    # NaN is never above; nan_to_num's clamping of infinities matters only for thresholds at the float limits
    for i in (~(np.abs(thr) < _BIG)).nonzero()[0].tolist():
        above[i] = np.nan_to_num(x[i], nan=-np.inf) > thr[i]
    row, at, up = _transitions(above)
    ends = np.searchsorted(row, np.arange(1, len(monitors) + 1)).tolist()
    times, ups = (ts[at] + step).tolist(), up.tolist()
    no_data = np.logical_and.reduce(x[:, -3:] != x[:, -3:], axis=1).tolist()  # the last three minutes all NaN
    hists, lo = [], 0
    for monitor, hi, blank in zip(monitors, ends, no_data):
        hist = [{"ts": t, "state": "ALERT" if u else "OK"} for t, u in zip(times[lo:hi], ups[lo:hi])]
        fired = [h["ts"] for h in hist if h["state"] == "ALERT"]
        monitor["state"] = "NO_DATA" if blank else "ALERT" if hi > lo and ups[hi - 1] else "OK"
        monitor["last_triggered"] = fired[-1] if fired else None
        monitor["history"] = hist[-20:]
        hists.append(hist)
        lo = hi
    return hists


_BIG = float(np.finfo(np.float64).max)


def _transitions(above: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where the two-minute hysteresis changes state, per row of ``above`` (one monitor a row): the rows, the
    grid indices and whether each change goes to ALERT, sorted by row then index.

    Two minutes above in a row can only raise an alert and two below in a row only clear one, so the
    transitions are the events (either pair) whose kind differs from the previous event's in the row, starting
    from OK; the same result as stepping the state machine minute by minute, without a Python loop over the
    grid. An event is a pair of minutes that agree (both above or both below), of the kind they agree on: one
    comparison instead of two pair masks.
    """
    later = above[:, 1:]
    row, col = (later == above[:, :-1]).nonzero()
    kind = later[row, col]
    prev = np.zeros_like(kind)   # the previous event's kind in the same row (OK before a row's first event)
    prev[1:] = kind[:-1] & (row[1:] == row[:-1])
    change = kind != prev
    return row[change], col[change] + 1, kind[change]
