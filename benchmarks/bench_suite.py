"""Benchmark: replaying one core scenario's world, and validating the whole core suite.

Goals (issue 2): replay median <= 20 ms, validate core <= 5 s. Prints medians of wall-clock time and of
process CPU time (the CPU figure is what to compare when the machine is shared and loaded).

    python benchmarks/bench_suite.py [--scenarios 72] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
from pathlib import Path

from timing import timed

CORE = Path(__file__).resolve().parents[1] / "suites" / "core"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenarios", type=int, default=72, help="core scenarios to replay (spread over categories)")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    from evalkit.suite import load_suite, load_world, validate_suite

    suite = load_suite(CORE)
    step = max(1, len(suite.scenarios) // args.scenarios)
    picked = suite.scenarios[::step][: args.scenarios]
    for sc in picked[:5]:  # warm imports and caches of the interpreter
        load_world(sc)
    wall, cpu, _ = zip(*[timed(load_world, sc) for _ in range(args.repeats) for sc in picked])
    vwall, vcpu, _ = zip(*[timed(validate_suite, CORE) for _ in range(args.repeats)])
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"machine: {os.cpu_count()} cpus, load average {load:.1f}")
    print(f"replay one core scenario world: median {statistics.median(wall) * 1000:.1f} ms wall, "
          f"{statistics.median(cpu) * 1000:.1f} ms cpu  (n={len(wall)}, p90 "
          f"{sorted(wall)[int(0.9 * len(wall))] * 1000:.1f} ms wall; goal <= 20 ms)")
    print(f"validate core ({len(suite.scenarios)} scenarios): median {statistics.median(vwall):.2f} s wall, "
          f"{statistics.median(vcpu):.2f} s cpu  (n={len(vwall)}; goal <= 5 s)")


if __name__ == "__main__":
    main()
