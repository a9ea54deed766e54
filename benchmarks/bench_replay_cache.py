"""Benchmark: what one entry of the on-disk replay cache costs, per core world: writing it (encode, checksum,
temp file, rename), reading it (read, checksum, plain-data unpickle) and decoding its telemetry on first use,
next to a fresh replay with its digest check (what a miss costs instead).

A cold run of a generated suite pays a replay and a write per scenario; a warm one a read and, where the agent
looks at telemetry, a decode. Medians of this process's CPU time and of wall time, in a private cache folder.

    python benchmarks/bench_replay_cache.py [--scenarios 120] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from pathlib import Path

from timing import timed

CORE = Path(__file__).resolve().parents[1] / "suites" / "core"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenarios", type=int, default=120, help="core scenarios (spread over the pool)")
    ap.add_argument("--repeats", type=int, default=3, help="writes and reads of each entry")
    args = ap.parse_args()
    os.environ["EVALKIT_CACHE_DIR"] = tempfile.mkdtemp(prefix="evalkit-bench-replay-cache-")
    os.environ.pop("EVALKIT_REPLAY_CACHE", None)

    from evalkit.suite import load_suite, load_world, replay_cache

    scenarios = load_suite(CORE).scenarios
    picked = scenarios[::max(1, len(scenarios) // args.scenarios)][:args.scenarios]
    load_world(picked[0], cache=False)  # warm the interpreter's imports
    cpu: dict[str, list[float]] = {"replay + digest check (a miss)": [], "write an entry": [],
                                   "read an entry": [], "decode its telemetry": []}
    wall: dict[str, list[float]] = {k: [] for k in cpu}
    sizes = []

    def record(step: str, timing: tuple[float, float, object]) -> object:
        wall[step].append(timing[0])
        cpu[step].append(timing[1])
        return timing[2]

    for sc in picked:
        world = record("replay + digest check (a miss)", timed(load_world, sc, cache=False))
        key = replay_cache.replay_key(sc.category, int(sc.world["seed"]), sc.noise_level, sc.window, sc.alert,
                                      sc.world.get("digest"))
        for _ in range(args.repeats):
            record("write an entry", timed(replay_cache.put, key, world))
        for _ in range(args.repeats):
            cached = record("read an entry", timed(replay_cache.get, key))
            record("decode its telemetry", timed(getattr, cached, "logs"))
        sizes.append(sum(f.stat().st_size for f in replay_cache.replay_dir().rglob(f"{key}.world")))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"[replay cache] {len(picked)} core worlds, {args.repeats} writes and reads each, "
          f"{os.cpu_count()} cpus, load average {load:.1f}; median entry {statistics.median(sizes) / 1024:.0f} KiB")
    for step in cpu:
        print(f"  {step:32s} {statistics.median(cpu[step]) * 1e3:7.3f} ms cpu   "
              f"{statistics.median(wall[step]) * 1e3:7.3f} ms wall")


if __name__ == "__main__":
    main()
