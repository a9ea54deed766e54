"""Time to build the drift dashboard for many builds (goal: 200 builds × 12 categories in ≤ 10 s).

The series frame is synthesised directly (200 builds × 12 categories + overall × 2 gated metrics, with a
regression injected in one category), so this measures the dashboard code — detection, 13 matplotlib
plots, HTML — and not MLflow's search. Prints the median of ``--repeat`` runs (wall and CPU time):

    python benchmarks/bench_drift.py [--builds 200] [--categories 12] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import numpy as np
import pandas as pd

from evalkit.suite.generator import CATEGORIES


def synthetic_series(builds: int = 200, categories: int = 12, scenarios: int = 30, trials: int = 3,
                     seed: int = 0) -> pd.DataFrame:
    """Long series frame like a real history: every build runs the same scenarios (fixed difficulty per
    scenario), ``trials`` trials each; one category drops 30 points for 5 builds halfway."""
    rng = np.random.default_rng(seed)
    names = list(CATEGORIES)  # the generator's twelve categories
    cats = [names[i % len(names)] + ("" if i < len(names) else f"-{i}") for i in range(categories)]
    base = rng.uniform(0.55, 0.9, len(cats))
    difficulty = {c: np.clip(rng.beta(2 * p, 2 * (1 - p), scenarios), 0, 1) for c, p in zip(cats, base)}
    start = pd.Timestamp("2024-01-01", tz="UTC")
    rows = []
    for t in range(builds):
        when = start + pd.Timedelta(hours=12 * t)
        per_metric: dict[str, list[np.ndarray]] = {"rca_top1": [], "rca_score": []}
        for c in cats:
            q = difficulty[c] - (0.3 if c == cats[0] and builds // 2 <= t < builds // 2 + 5 else 0.0)
            top1 = rng.binomial(trials, np.clip(q, 0, 1)) / trials
            score = np.clip(top1 * 0.8 + rng.uniform(0, 0.2, scenarios), 0, 1)
            for metric, x in (("rca_top1", top1), ("rca_score", score)):
                per_metric[metric].append(x)
                rows.append(_row(t, when, c, metric, x))
        for metric, xs in per_metric.items():
            rows.append(_row(t, when, "__overall_micro__", metric, np.concatenate(xs)))
    return pd.DataFrame(rows)


def _row(t: int, when: pd.Timestamp, category: str, metric: str, x: np.ndarray) -> dict:
    m, se = float(x.mean()), float(x.std(ddof=1) / np.sqrt(len(x)))
    return {"order": t, "run_id": f"run{t:04d}", "build_id": f"build-{t:04d}", "start_time": when,
            "category": category, "metric": metric, "mean": m, "se": se, "ci_low": m - 2.05 * se,
            "ci_high": m + 2.05 * se, "n_scenarios": float(len(x))}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--builds", type=int, default=200)
    ap.add_argument("--categories", type=int, default=12)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)

    from evalkit.drift.dashboard import build_dashboard
    from evalkit.drift.detect import detect
    from evalkit.drift.series import series_from_frame

    frame = synthetic_series(args.builds, args.categories)
    promoted = range(0, args.builds, 25)
    series = series_from_frame(frame, suite="bench", promoted_orders=promoted, tracking_uri="sqlite:///bench.db")
    import matplotlib  # noqa: F401 - import cost is not part of the dashboard build

    walls, cpus, detects = [], [], []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            w0, c0 = time.perf_counter(), time.process_time()
            drift = detect(series)
            detects.append(time.perf_counter() - w0)
            path = build_dashboard(drift, tmp)
            walls.append(time.perf_counter() - w0)
            cpus.append(time.process_time() - c0)
            size = path.stat().st_size
    print(f"drift dashboard: {args.builds} builds x {args.categories} categories (+ overall) x 2 metrics, "
          f"{len(frame)} series points, {len(drift.alarms)} alarms, page {size / 1e6:.2f} MB")
    print(f"  detect (z, EWMA, CUSUM, verdicts): median {statistics.median(detects) * 1000:.1f} ms")
    print(f"  whole dashboard: median wall {statistics.median(walls):.2f} s, CPU {statistics.median(cpus):.2f} s "
          f"over {args.repeat} runs (goal <= 10 s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
