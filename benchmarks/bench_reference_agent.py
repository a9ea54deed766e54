"""Median investigation time of the reference agent per scenario of a suite (world replay excluded).

    python benchmarks/bench_reference_agent.py [--suite core] [--versions v1,v2,v3,v4] [--repeat 3]

Worlds are replayed once up front; each timed run is ``agent.investigate`` on a fresh Toolbox.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from timing import timed

from evalkit.agents.reference import ReferenceAgent
from evalkit.suite import load_suite, load_world
from evalkit.world.toolbox import Toolbox


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suite", default="core")
    ap.add_argument("--versions", default="v1,v2,v3,v4")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    suite = load_suite(args.suite)
    t0 = time.perf_counter()
    worlds = [(sc, load_world(sc)) for sc in suite.scenarios]
    replay = time.perf_counter() - t0
    print(f"suite {args.suite!r}: {len(worlds)} scenarios, world replay {1000 * replay / len(worlds):.1f} ms "
          f"per scenario (not counted below)")
    print(f"{'build':8} {'median ms':>10} {'p90 ms':>8} {'max ms':>8} {'median calls':>13}")
    for v in args.versions.split(","):
        agent = ReferenceAgent(v)
        times, calls = [], []
        for rep in range(args.repeat):
            for sc, world in worlds:
                tb = Toolbox(world, max_calls=sc.max_tool_calls)
                times.append(1000 * timed(agent.investigate, world.alert, tb, rep)[0])
                calls.append(len(tb.trajectory))
        times.sort()
        print(f"{v:8} {statistics.median(times):10.2f} {times[int(0.9 * (len(times) - 1))]:8.2f} "
              f"{times[-1]:8.2f} {statistics.median(calls):13.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
