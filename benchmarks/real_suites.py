"""Real-incident suites: reference:v1 accuracy beside published baselines, and importer timings.

Runs ``reference:v1`` (and the symptom-following ``reference:v4``) on ``suites/real-petshop`` and
``suites/real-nezha`` (k trials, default 3) with
``evalkit.run.run_suite`` and aggregates with ``evalkit.score.aggregate`` (per-scenario means, 95 % t
intervals clustered by scenario). Prints per-category top-1/top-3 (and top-5) service-level accuracy,
then the breakdown the published numbers use, side by side with them:

* PetShop: ``code/RCA-Dataset-Eval.ipynb`` of amazon-science/petshop-root-cause-analysis (commit
  1c5992d): the anomaly-traversal baseline (MAD score, threshold 5), top-1/top-3 per traffic scenario
  and target metric over all 68 issues. Its scoring is node-level (the exact X-Ray node); ours is
  service-level (a service's nodes are aliases), which is at least as lenient.
* Nezha: the repository README of IntelligentDDS/Nezha (commit d814010): Nezha's own service-level
  AS@1/3/5 per system. The paper's Table 3 (baselines at service level) could not be retrieved as
  text here, so its baseline columns are not reproduced.

Beside both, the same simple baseline *measured here* on the imported suites: PetShop's anomaly
traversal re-implemented on the Toolbox (``evalkit.agents.baselines:AnomalyTraversal``, deterministic,
one trial). On PetShop it checks the import against the published figure; on Nezha it stands in for
the missing Table 3.

Usage: ``python benchmarks/real_suites.py [--trials 3] [--jobs 2] [--import-repeats 0]``.
``--import-repeats N`` also times N fresh imports of each dataset into a temporary folder (median).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

PETSHOP_PUBLISHED = {  # (traffic, target) -> (n, top1, top3)   RCA-Dataset-Eval.ipynb, cell 3 output
    ("low_traffic", "latency"): (14, 0.571, 0.571), ("low_traffic", "availability"): (12, 0.833, 1.000),
    ("high_traffic", "latency"): (14, 0.571, 0.786), ("high_traffic", "availability"): (12, 0.667, 1.000),
    ("temporal_traffic", "latency"): (8, 1.000, 1.000), ("temporal_traffic", "availability"): (8, 0.750, 1.000),
}
NEZHA_PUBLISHED = {  # system -> (n, AS@1, AS@3, AS@5)   Nezha README (service level, Nezha itself)
    "online-boutique": (56, 0.9286, 0.9643, 0.9643), "train-ticket": (45, 0.8667, 0.9778, 0.9778),
}


def top5(table: pd.DataFrame, suite) -> pd.Series:
    """Service-level top-5 hit per trial, from the predicted ranking and the truth (with aliases)."""
    from evalkit.suite import load_truth

    truths = {sid: load_truth(suite, sid) for sid in table["scenario_id"].unique()}
    return pd.Series([float(any(truths[s].accepts(c) for c in json.loads(p or "[]")[:5]))
                      for s, p in zip(table["scenario_id"], table["predicted"])], index=table.index)


def grouped(table: pd.DataFrame, groups: dict[str, str]) -> pd.DataFrame:
    """``aggregate`` with the category replaced by another grouping of the scenarios."""
    from evalkit.score.aggregate import aggregate

    t = table.copy()
    t["category"] = t["scenario_id"].map(groups).astype("string")
    return aggregate(t)


def _row(agg: pd.DataFrame, cat: str, metric: str) -> pd.DataFrame:
    return agg[(agg["category"] == cat) & (agg["metric"] == metric)]


def cell(agg: pd.DataFrame, cat: str, metric: str) -> str:
    r = _row(agg, cat, metric)
    if r.empty:
        return "      n/a       "
    m, lo, hi = (float(r[c].iloc[0]) for c in ("mean", "ci_low", "ci_high"))
    return f"{m:.2f} [{max(lo, 0):.2f},{min(hi, 1):.2f}]"


BASELINE = "evalkit.agents.baselines:AnomalyTraversal"


def run(suite_dir: Path, trials: int, jobs: int, agent: str = "reference:v1"):
    from evalkit.run import NO_JOURNAL, RunConfig, run_suite
    from evalkit.score.aggregate import aggregate
    from evalkit.suite import load_suite

    suite = load_suite(suite_dir)
    t0 = time.perf_counter()
    res = run_suite(suite, agent, RunConfig(trials=trials, seed=0, jobs=jobs, journal=NO_JOURNAL))
    took = time.perf_counter() - t0
    table = res.table.copy()
    table["custom.top5"] = top5(table, suite)
    return suite, table, aggregate(table), took


def print_categories(name: str, agg: pd.DataFrame, v4: pd.DataFrame, base: pd.DataFrame,
                     n_by_cat: dict[str, int]) -> None:
    print(f"\n{name}: service-level accuracy per category (mean over scenarios of the k-trial mean, 95% CI); "
          "baseline = anomaly traversal, measured here")
    print(f"  {'category':30s} {'n':>4s}  {'reference:v1 top-1':18s} {'top-3':17s} {'top-5':17s} | "
          f"{'reference:v4 top-1':18s} {'top-3':17s} | baseline top-1 / top-3")
    for cat in [*sorted(n_by_cat), "__overall_micro__", "__overall_macro__"]:
        n = n_by_cat.get(cat, sum(n_by_cat.values()))
        print(f"  {cat:30s} {n:4d}  {cell(agg, cat, 'rca_top1'):18s} {cell(agg, cat, 'rca_top3')} "
              f"{cell(agg, cat, 'custom.top5')} | {cell(v4, cat, 'rca_top1'):18s} {cell(v4, cat, 'rca_top3')} | "
              f"{mean(base, cat, 'rca_top1')} / {mean(base, cat, 'rca_top3')}")


def mean(agg: pd.DataFrame, cat: str, metric: str) -> str:
    r = _row(agg, cat, metric)
    return f"{float(r['mean'].iloc[0]):.3f}" if not r.empty else "  n/a"


def petshop_report(suite, table: pd.DataFrame, base_table: pd.DataFrame) -> None:
    groups = {}
    for sc in suite.scenarios:
        traffic = next(t.split(":", 1)[1] for t in sc.tags if t.startswith("traffic:"))
        target = next(t.split(":", 1)[1] for t in sc.tags if t.startswith("target:"))
        groups[sc.id] = f"{'temporal_traffic' if traffic.startswith('temporal') else traffic}/{target}"
    agg, base = grouped(table, groups), grouped(base_table, groups)
    print("\nPetShop by traffic scenario and target KPI (the published breakdown)")
    print(f"  {'group':32s} {'n':>3s}  {'reference:v1 top-1':19s} {'top-3':17s} | baseline here 1 / 3 | "
          "published baseline 1 / 3")
    for (traffic, target), (n, p1, p3) in PETSHOP_PUBLISHED.items():
        g = f"{traffic}/{target}"
        got = sum(1 for v in groups.values() if v == g)
        print(f"  {g:32s} {got:3d}  {cell(agg, g, 'rca_top1'):19s} {cell(agg, g, 'rca_top3')} | "
              f"{mean(base, g, 'rca_top1')} / {mean(base, g, 'rca_top3')}       | {p1:.3f} / {p3:.3f} (n={n})")


def nezha_report(suite, table: pd.DataFrame, base_table: pd.DataFrame) -> None:
    groups = {sc.id: next(t.split(":", 1)[1] for t in sc.tags if t.startswith("system:")) for sc in suite.scenarios}
    agg, base = grouped(table, groups), grouped(base_table, groups)
    print("\nNezha by system (service level) beside Nezha's own published AS@k")
    print(f"  {'system':18s} {'n':>3s}  {'reference:v1 top-1':19s} {'top-3':17s} {'top-5':17s} | "
          "baseline here 1 / 3 | Nezha AS@1/3/5")
    for system, (n, a1, a3, a5) in NEZHA_PUBLISHED.items():
        got = sum(1 for v in groups.values() if v == system)
        print(f"  {system:18s} {got:3d}  {cell(agg, system, 'rca_top1'):19s} {cell(agg, system, 'rca_top3')} "
              f"{cell(agg, system, 'custom.top5')} | {mean(base, system, 'rca_top1')} / "
              f"{mean(base, system, 'rca_top3')}       | {a1:.3f} / {a3:.3f} / {a5:.3f} (n={n})")
    alerts = {sc.id: next(t for t in sc.tags if t.startswith("alert:")) for sc in suite.scenarios}
    agg = grouped(table, alerts)
    print("  by alert source:  " + "   ".join(f"{a} (n={n}) top-1 {cell(agg, a, 'rca_top1')}"
                                              for a, n in sorted(Counter(alerts.values()).items())))


def time_imports(repeats: int) -> None:
    from evalkit.suite.importers import default_source, import_suite

    print(f"\nImport timings (median of {repeats}, wall clock)")
    for kind in ("petshop", "nezha"):
        times = []
        for _ in range(repeats):
            with tempfile.TemporaryDirectory() as tmp:
                t0 = time.perf_counter()
                res = import_suite(kind, default_source(kind), Path(tmp) / kind)
                times.append(time.perf_counter() - t0)
        print(f"  {kind:8s} {statistics.median(times):7.1f} s  ({res.scenarios} scenarios, hash {res.hash[:12]})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--import-repeats", type=int, default=0)
    args = ap.parse_args()
    for name, report in (("real-petshop", petshop_report), ("real-nezha", nezha_report)):
        suite_dir = REPO / "suites" / name
        if not suite_dir.is_dir():
            print(f"{suite_dir} missing: run `evalkit suite import {name.split('-')[1]} --output-dir {suite_dir}`")
            continue
        suite, table, agg, took = run(suite_dir, args.trials, args.jobs)
        _, _, v4_agg, _ = run(suite_dir, args.trials, args.jobs, "reference:v4")
        _, base_table, base_agg, _ = run(suite_dir, 1, args.jobs, BASELINE)
        n_by_cat = Counter(s.category for s in suite.scenarios)
        errors = int((table["status"] != "ok").sum())
        print(f"\n=== {name}: {len(suite.scenarios)} scenarios x {args.trials} trials in {took:.0f} s "
              f"({errors} failed trials), suite hash {suite.hash[:12]}")
        print_categories(name, agg, v4_agg, base_agg, n_by_cat)
        report(suite, table, base_table)
    if args.import_repeats:
        time_imports(args.import_repeats)


if __name__ == "__main__":
    main()
