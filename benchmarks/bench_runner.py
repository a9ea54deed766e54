"""Runner benchmarks: framework overhead per trial with a no-op agent, and reference:v1 wall time on core.

    python benchmarks/bench_runner.py                      # both parts
    python benchmarks/bench_runner.py --part overhead --trials-total 10000 --repeats 3
    python benchmarks/bench_runner.py --part core --repeats 1

Part 1 runs ~10,000 trials of an agent that answers at once without any tool call, so what is measured
is evalkit itself: task dispatch, world/agent cache lookups, Toolbox set-up, finding checks, scoring,
journaling (fsync'd in batches) and building the results table. Printed: median trials/s and ms/trial
per executor mode. Part 2 is the end-to-end wall time of ``reference:v1`` on ``suites/core`` with k = 3 and
``--jobs 2``. Each repeat uses a fresh journal, so nothing is resumed.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


class NoopAgent:
    """Answers the alerting component immediately: no tool calls, no work."""

    def __init__(self):
        from evalkit.agents.base import BuildId

        self.build = BuildId("noop", "1")

    def investigate(self, alert: dict, toolbox, seed: int):
        from evalkit.agents.base import Finding, Hypothesis

        return Finding([Hypothesis(alert["component"], None, 0.5)])


def _run(suite: str, spec: str, trials: int, executor: str, jobs: int) -> tuple[float, int]:
    from evalkit.run import JournalConfig, RunConfig, run_suite

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        config = RunConfig(trials=trials, seed=0, jobs=jobs, executor=executor, journal=JournalConfig(tmp))
        result = run_suite(suite, spec, config)
        wall = time.perf_counter() - t0
    bad = result.table[result.table["status"] != "ok"]
    if len(bad):
        raise SystemExit(f"benchmark run had {len(bad)} failed trials: {bad['error_message'].iloc[0]}")
    return wall, len(result.table)


def overhead(suite: str, total: int, repeats: int) -> None:
    from evalkit.suite import load_suite

    with tempfile.TemporaryDirectory() as tmp:  # a private copy: nothing edits it while we measure
        copy = Path(tmp) / Path(suite).name
        shutil.copytree(suite, copy)
        _overhead(str(copy), len(load_suite(copy).scenarios), total, repeats)


def _overhead(suite: str, n_scen: int, total: int, repeats: int) -> None:
    trials = -(-total // n_scen)
    print(f"[overhead] no-op agent, {n_scen} scenarios x {trials} trials = {n_scen * trials} trials per run, "
          f"median of {repeats} runs. 'per trial' is the marginal cost: (wall(full) - wall(1 trial per scenario))"
          f" / extra trials, i.e. without start-up (workers, agent and suite loading, first world loads).")
    for executor, jobs in (("threads", 1), ("threads", 2), ("processes", 1), ("processes", 2)):
        full, small = [], []
        for _ in range(repeats):
            wall, n = _run(suite, "bench_runner:NoopAgent", trials, executor, jobs)
            full.append(wall)
            wall1, n1 = _run(suite, "bench_runner:NoopAgent", 1, executor, jobs)
            small.append(wall1)
        med, med1 = statistics.median(full), statistics.median(small)
        per_trial = (med - med1) / (n - n1)
        print(f"  {executor:<9} jobs={jobs}: {1000 * per_trial:6.3f} ms/trial marginal ({1 / per_trial:6.0f} trials/s)"
              f"   end-to-end {n / med:6.0f} trials/s (wall {med:.2f} s incl. {med1:.2f} s start-up)")


def core(repeats: int) -> None:
    walls, sizes = zip(*[_run(str(REPO / "suites" / "core"), "reference:v1", 3, "local", 2) for _ in range(repeats)])
    med, n = statistics.median(walls), sizes[-1]
    print(f"[core] reference:v1 on suites/core, k=3, --jobs 2: median wall {med:.1f} s for {n} trials "
          f"({n / med:.1f} trials/s; runs {', '.join(f'{w:.1f}' for w in walls)})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=["overhead", "core", "all"], default="all")
    ap.add_argument("--suite", default=str(REPO / "suites" / "smoke"), help="suite for the overhead part")
    ap.add_argument("--trials-total", type=int, default=10_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--core-repeats", type=int, default=1)
    args = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent))  # workers import bench_runner:noop_agent
    if args.part in ("overhead", "all"):
        overhead(args.suite, args.trials_total, args.repeats)
    if args.part in ("core", "all"):
        core(args.core_repeats)


if __name__ == "__main__":
    main()
