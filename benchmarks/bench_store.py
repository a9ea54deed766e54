"""Benchmark the store: log a run of 10,000 scenarios x 3 trials, and load a baseline's results table.

Goals (embedded SQLite): log <= 5 s, load <= 2 s. Prints medians over --repeats runs; the one-off costs
(importing mlflow, creating the SQLite schema) are printed separately.

    python benchmarks/bench_store.py [--scenarios 10000] [--trials 3] [--repeats 5] [--tracking-uri URI]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
from timing import timed

from evalkit.score.schema import RESULT_COLUMNS, conform
from evalkit.suite.generator import CATEGORIES
TOOLS = ["list_services", "get_topology", "query_metric", "search_logs", "get_traces", "list_events"]


def make_result(n_scenarios: int, trials: int, calls_per_trial: int, seed: int = 0) -> SimpleNamespace:
    """A realistic-size synthetic run: the full results schema, a custom scorer column, trajectories."""
    rng = np.random.default_rng(seed)
    rows = n_scenarios * trials
    scen = np.repeat(np.arange(n_scenarios), trials)
    data = {c: pd.Series([""] * rows, dtype="string") if t == "string" else np.zeros(rows, dtype=t)
            for c, t in RESULT_COLUMNS.items()}
    table = pd.DataFrame(data).assign(
        suite="bench", suite_hash="f" * 64, build_id="reference:v2+0123abcd", agent_spec="reference:v2",
        scenario_id=pd.Series([f"bench-{i:06d}" for i in scen], dtype="string"),
        category=np.asarray(list(CATEGORIES))[scen % len(CATEGORIES)],
        trial=np.tile(np.arange(trials), n_scenarios),
        predicted='["checkout-db", "checkout-api", "payments"]',
        expected_component="checkout-db", expected_fault="slow_query", predicted_fault="slow_query")
    table["seed"] = rng.integers(0, 2**62, rows)
    table["status"] = np.where(rng.random(rows) < 0.02, "agent_error", "ok")
    for c in ("rca_top1", "rca_top3", "fault_type_correct"):
        table[c] = (rng.random(rows) < 0.7).astype(float)
    for c in ("rca_score", "evidence_recall", "distractor_ratio", "latency_s", "tokens_in", "tokens_out",
              "cost_usd"):
        table[c] = rng.random(rows)
    table["tool_calls"] = rng.integers(3, 40, rows)
    table["custom.judge.helpfulness"] = rng.random(rows)
    table = conform(table)
    trajectories = [
        {"scenario_id": f"bench-{s:06d}", "trial": int(t), "stderr": "",
         "calls": [{"tool": TOOLS[k % len(TOOLS)], "args": {"component": "checkout-db", "metric": "p99"},
                    "result_size": 512, "elapsed_s": 0.004, "refs": [f"metric:checkout-db:p99:{k}"]}
                   for k in range(calls_per_trial)],
         "finding": {"hypotheses": [{"component": "checkout-db", "fault_type": "slow_query", "confidence": 0.7,
                                     "evidence": ["metric:checkout-db:p99"]}], "summary": "slow query"}}
        for s, t in zip(scen, table["trial"])
    ]
    meta = {"suite": "bench", "suite_version": "1", "suite_hash": "f" * 64, "build_id": "reference:v2+0123abcd",
            "agent_spec": "reference:v2", "trials": trials, "seed": seed, "evalkit_version": "0.1.0",
            "started_at": "2026-01-01T00:00:00+00:00", "duration_s": 600.0, "infra_errors": 0}
    return SimpleNamespace(table=table, trajectories=trajectories, meta=meta)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenarios", type=int, default=10_000)
    ap.add_argument("--trials", type=int, default=3)
    ap.add_argument("--calls-per-trial", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--tracking-uri", default=None, help="default: a fresh embedded SQLite store in a temp dir")
    args = ap.parse_args()

    result = make_result(args.scenarios, args.trials, args.calls_per_trial)
    print(f"run: {args.scenarios} scenarios x {args.trials} trials = {len(result.table)} rows, "
          f"{args.calls_per_trial} tool calls per trajectory")
    from evalkit.score.aggregate import aggregate

    t_agg, _, aggregates = timed(aggregate, result.table)
    print(f"aggregate(table) [scorer, for reference]: {t_agg:.2f} s -> {len(aggregates)} rows")

    with tempfile.TemporaryDirectory(prefix="evalkit-bench-store-") as tmp:
        t_import, _, _ = timed(__import__, "mlflow")
        from evalkit.store import Store

        store = Store(args.tracking_uri, root=Path(tmp))
        t_first, _, _ = timed(store.client)
        print(f"one-off: import mlflow {t_import:.2f} s; open/create store {t_first:.2f} s ({store.tracking_uri})")

        log_times, log_cpu, logged = [], [], []
        for _ in range(args.repeats):
            dt, cpu, run_id = timed(store.log_run, result, aggregates=aggregates)
            assert not run_id.queued, run_id.message
            log_times.append(dt)
            log_cpu.append(cpu)
            logged.append(run_id)
        default_times = [timed(store.log_run, result)[0] for _ in range(max(1, args.repeats // 2))]
        load_times, load_cpu, tables = zip(*[timed(store.load_table, run_id) for run_id in logged])
        pd.testing.assert_frame_equal(tables[-1], result.table)
        n_metrics = len(store.run_info(logged[0]).metrics)

    print(f"log_run (aggregates passed in, {n_metrics} metrics): median {statistics.median(log_times):.2f} s "
          f"(min {min(log_times):.2f}, max {max(log_times):.2f}; CPU median {statistics.median(log_cpu):.2f} s; "
          "goal <= 5 s)")
    print(f"log_run (aggregates computed inside):      median {statistics.median(default_times):.2f} s")
    print(f"load_table (baseline results):             median {statistics.median(load_times):.2f} s "
          f"(min {min(load_times):.2f}, max {max(load_times):.2f}; CPU median {statistics.median(load_cpu):.2f} s; "
          "goal <= 2 s)")


if __name__ == "__main__":
    main()
