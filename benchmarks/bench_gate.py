"""The pre-merge gate end to end: `evalkit gate --suite core --trials 3 --jobs 2` in a fresh temp folder, on the
embedded default store (goal: <= 60 s wall time).

The gate needs a baseline. If `baselines/core/main.*` is committed, the gate uses that export; otherwise this
script first builds one (reference:v1, k=3, seed 0) in the temp folder's embedded store and promotes it, and
says so. That set-up is timed apart and is not part of the gate's time.

    python benchmarks/bench_gate.py [--agent reference:v2] [--trials 3] [--jobs 2] [--repeat 1] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EVALKIT = Path(sys.executable).with_name("evalkit")
GOAL_S = 60.0


def build_baseline(work: Path, suite: str, trials: int, jobs: int) -> str:
    """Run reference:v1 on the suite, log it into ``work``'s embedded store and promote it to <suite>@main."""
    from evalkit.run import JournalConfig, RunConfig, run_suite
    from evalkit.store import Store

    t0 = time.perf_counter()
    config = RunConfig(trials=trials, seed=0, jobs=jobs, journal=JournalConfig(work / ".evalkit" / "journal"))
    result = run_suite(REPO / "suites" / suite, "reference:v1", config)
    store = Store(None, root=work)
    logged = store.log_run(result, role="baseline", outbox=False)
    store.promote(logged.run_id, suite, "main", suite_hash=result.meta["suite_hash"], reason="bench_gate set-up")
    print(f"set-up: built the baseline {suite}@main = run {logged.run_id} ({len(result.table)} trials) in "
          f"{time.perf_counter() - t0:.1f} s", flush=True)
    return logged.run_id


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suite", default="core")
    ap.add_argument("--agent", default="reference:v2", help="candidate build (default: the monitor-focus build)")
    ap.add_argument("--trials", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=1, help="gate runs (each on a fresh journal)")
    ap.add_argument("--keep", action="store_true", help="keep the temp folder")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="evalkit-bench-gate-"))
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    try:
        committed = REPO / "baselines" / args.suite / "main.manifest.json"
        if committed.is_file():
            baselines_dir = REPO / "baselines"
            print(f"baseline: the committed export {committed}")
        else:
            baselines_dir = work / "no-exports"
            print(f"baseline: {committed} does not exist yet; building one in the temp store first")
            build_baseline(work, args.suite, args.trials, args.jobs)
        times, last = [], None
        for i in range(args.repeat):
            out = work / f"gate-{i}"
            cmd = [str(EVALKIT), "gate", "--suite", args.suite, "--agent", args.agent, "--trials", str(args.trials),
                   "--jobs", str(args.jobs), "--seed", str(100 + i), "--baselines-dir", str(baselines_dir),
                   "--output-dir", str(out / "reports"), "--journal-dir", str(out / "journal"), "--json"]
            t0 = time.perf_counter()
            proc = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True)
            times.append(time.perf_counter() - t0)
            if proc.returncode not in (0, 1):
                raise SystemExit(f"gate exited {proc.returncode}: {proc.stderr.strip()}")
            last = json.loads(proc.stdout)
            print(f"run {i + 1}: {times[-1]:.1f} s wall, exit {proc.returncode}, verdict {last['verdict']}",
                  flush=True)
        med = statistics.median(times)
        meta = last["run_meta"]
        trials = meta.get("trials", args.trials)
        n = len({c["category"] for c in last["cells"]}) - 1
        print(f"\nevalkit gate --suite {args.suite} --agent {args.agent} --trials {trials} --jobs {args.jobs}: "
              f"median {med:.1f} s wall over {len(times)} run(s) (investigations {meta.get('duration_s', 0):.1f} s "
              f"of it); goal <= {GOAL_S:.0f} s: {'met' if med <= GOAL_S else 'MISSED'}")
        print(f"verdict {last['verdict']} ({'cross-category' if last['cross_category'] else 'single'}), "
              f"{len(last['regressed_cells'])} regressed cells over {n} categories; baseline: {last['baseline_source']}")
        print(f"cpus: {os.cpu_count()}, load average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
