"""Time to compare two runs of 50,000 scenarios × 3 trials over 20 categories and 5 metrics (goal ≤ 1 s).

Builds two schema-conformant results tables (150,000 rows each) with numpy, then times ``compare()`` (all
cells, tests, corrections, MDEs, suggestions, headline) and, separately, the flips table and ``to_dict()``;
then the opt-in permutation test on a core-sized pair.

Usage: python benchmarks/bench_compare.py [--scenarios 50000] [--trials 3] [--categories 20] [--repeats 7]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time

import numpy as np
import pandas as pd
from timing import timed

from evalkit.compare import compare, default_policy
from evalkit.score.schema import conform

METRICS = ("rca_top1", "rca_score", "rca_top3", "fault_type_correct", "evidence_recall")


def make_table(S: int, k: int, C: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    difficulty = np.random.default_rng(0).beta(2, 1.5, S)          # shared by both runs: paired scenarios
    cat = np.arange(S) % C
    p = np.clip(difficulty + shift * (cat == 0), 0, 1)
    sid = np.repeat(np.char.add("sc-", np.arange(S).astype(str)), k)
    rows = S * k
    hit = (rng.random(rows) < np.repeat(p, k)).astype(float)
    partial = (1 - hit) * 0.5 * (rng.random(rows) < 0.5)
    expected = np.repeat(np.char.add("svc-", (np.arange(S) % 97).astype(str)), k)
    predicted = np.where(hit == 1, np.char.add(np.char.add('["', expected), '", "x"]'), '["wrong", "x"]')
    df = pd.DataFrame({
        "suite": "bench", "suite_hash": "h", "build_id": f"b{seed}", "agent_spec": "bench", "run_seed": seed,
        "scenario_id": sid, "category": np.repeat(np.char.add("cat/", cat.astype(str)), k),
        "trial": np.tile(np.arange(k), S), "seed": np.arange(rows), "status": "ok", "error_class": "",
        "error_message": "", "predicted": predicted, "predicted_fault": "", "expected_component": expected,
        "expected_fault": "", "rca_top1": hit, "rca_top3": np.maximum(hit, 2 * partial),
        "fault_type_correct": hit, "rca_score": hit + partial, "evidence_recall": rng.random(rows),
        "distractor_ratio": rng.random(rows), "tool_calls": 7, "latency_s": 0.5, "tokens_in": 0.0,
        "tokens_out": 0.0, "cost_usd": 0.0,
    })
    return conform(df)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scenarios", type=int, default=50_000)
    ap.add_argument("--trials", type=int, default=3)
    ap.add_argument("--categories", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args(argv)
    base = make_table(args.scenarios, args.trials, args.categories, seed=1)
    cand = make_table(args.scenarios, args.trials, args.categories, seed=2, shift=-0.08)
    policy = dataclasses.replace(default_policy(), metrics=METRICS[:2], report=METRICS[2:])
    compare(cand, base, policy)  # warm-up (imports, caches)
    times, extra = [], []
    for _ in range(args.repeats):
        wall, _, cmp = timed(compare, cand, base, policy)
        times.append(wall)
        t0 = time.perf_counter()
        cmp.flips()
        cmp.to_dict()
        extra.append(time.perf_counter() - t0)
    med = statistics.median(times)
    print(f"compare(): {args.scenarios} scenarios x {args.trials} trials ({len(base)} rows per run), "
          f"{args.categories} categories, {len(METRICS)} metrics ({len(cmp.to_frame())} cells)")
    print(f"  median {med * 1000:.0f} ms over {args.repeats} repeats (min {min(times) * 1000:.0f} ms, "
          f"max {max(times) * 1000:.0f} ms); goal <= 1000 ms: {'OK' if med <= 1.0 else 'MISSED'}")
    print(f"  flips table ({len(cmp.flips())} flipped scenarios) + to_dict(): median "
          f"{statistics.median(extra) * 1000:.0f} ms")
    print(f"  verdict: {cmp.verdict}; {cmp.headline}")

    # The opt-in sign-flip permutation test (9999 flips) on a core-sized pair: 360 scenarios x 5 trials, 12
    # categories. Every p-value and bound of every cell of one sample size shares one sign matrix.
    small_b, small_c = make_table(360, 5, 12, seed=1), make_table(360, 5, 12, seed=2, shift=-0.08)
    perm = dataclasses.replace(policy, test="permutation")
    compare(small_c, small_b, perm)
    ptimes = [timed(compare, small_c, small_b, perm)[0] for _ in range(args.repeats)]
    print(f"compare() with test=permutation, 360 scenarios x 5 trials, 12 categories: median "
          f"{statistics.median(ptimes) * 1000:.0f} ms over {args.repeats} repeats")
    return 0


if __name__ == "__main__":
    sys.exit(main())
