"""Scale benchmark: evalkit's own cost on a large generated suite (no-op agent), per phase.

    python benchmarks/bench_scale.py                 # 10,000 scenarios (834 per category x 12)
    python benchmarks/bench_scale.py --n 2400 --repeats 3

Generates a suite of ``--n`` scenarios into a temp folder and prints, with wall times:

- generate: ``evalkit suite generate --jobs J`` (default J = 2),
- validate: ``evalkit suite validate --jobs J`` (deep plan checks, no replay),
- load: ``load_suite`` cold (first load parses and writes the index) and warm (median of --repeats),
- run: ``evalkit run --jobs J --trials 1 --no-log`` with bench_runner's no-op agent (answers at once, no
  tool call), end to end as a user would run it: cold replay cache, then warm (the rounds after the first),
- per-trial marginal cost: (wall with --trials 3 - wall with --trials 1) / (2 N), replay cache warm,
- peak RSS: the largest single process of all steps (CLI, workers; getrusage of the children).

Every CLI step is a fresh ``python -m evalkit`` process; EVALKIT_CACHE_DIR points into the temp folder, so
the user's replay cache is neither used nor polluted. Medians where repeated.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CATEGORIES = 12


def _cli(args: list[str], env: dict) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB, largest child) of one ``python -m evalkit`` invocation."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "evalkit", *args], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"evalkit {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return wall, max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)


def _load_walls(suite: Path, repeats: int, env: dict) -> tuple[float, float]:
    """(cold, median warm) seconds of load_suite, each in a fresh process (import time excluded)."""
    code = ("import sys,time; from evalkit.suite import load_suite; t=time.perf_counter(); "
            "s=load_suite(sys.argv[1]); print(time.perf_counter()-t, len(s.scenarios))")
    walls = []
    for _ in range(repeats + 1):
        out = subprocess.run([sys.executable, "-c", code, str(suite)], env=env, capture_output=True, text=True,
                             check=True).stdout.split()
        walls.append(float(out[0]))
    return walls[0], statistics.median(walls[1:])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000, help="scenarios (rounded up to a multiple of 12)")
    ap.add_argument("--jobs", type=int, default=2, help="--jobs of generate, validate and run")
    ap.add_argument("--repeats", type=int, default=3, help="repeats of the warm load and warm run")
    ap.add_argument("--keep", default=None, help="generate into this folder and keep it (default: a temp dir)")
    args = ap.parse_args()
    per_cat = -(-args.n // CATEGORIES)
    n = per_cat * CATEGORIES
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        work = Path(tmp)
        suite = Path(args.keep) if args.keep else work / "suite"
        env = {**os.environ, "EVALKIT_CACHE_DIR": str(work / "cache"),
               "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
        print(f"[scale] {n} scenarios ({per_cat} per category), --jobs {args.jobs}, python {sys.version.split()[0]}, "
              f"{os.cpu_count()} cores")

        wall, _ = _cli(["suite", "generate", "--output-dir", str(suite), "--name", "scale", "--per-category",
                        str(per_cat), "--seed", "7", "--jobs", str(args.jobs), "--force"], env)
        print(f"  generate   {wall:8.1f} s   ({1000 * wall / n:.2f} ms/scenario)")
        wall, _ = _cli(["suite", "validate", str(suite), "--jobs", str(args.jobs)], env)
        print(f"  validate   {wall:8.1f} s   (process start-up included)")
        time.sleep(2.1)  # files older than the index's racy window, as any suite one loads later
        cold, warm = _load_walls(suite, args.repeats, env)
        print(f"  load       {cold:8.2f} s cold (parse + write index), {warm:.3f} s warm (median of {args.repeats})")

        def run(trials: int) -> tuple[float, int]:
            return _cli(["run", "--suite", str(suite), "--agent", "bench_runner:NoopAgent", "--jobs", str(args.jobs),
                         "--trials", str(trials), "--no-log", "--no-outbox", "--quiet", "--fresh",
                         "--journal-dir", str(work / "journal"), "--output-dir", str(work / "out")], env)

        cold_run, rss = run(1)
        print(f"  run k=1    {cold_run:8.1f} s cold replay cache ({n / cold_run:.0f} trials/s)")
        warm_runs = [run(1)[0] for _ in range(args.repeats)]
        warm_run = statistics.median(warm_runs)
        print(f"  run k=1    {warm_run:8.1f} s warm replay cache, median of {args.repeats} "
              f"({n / warm_run:.0f} trials/s; {', '.join(f'{w:.1f}' for w in warm_runs)})")
        k3 = [run(3)[0] for _ in range(args.repeats)]
        k3_wall = statistics.median(k3)
        marginal = (k3_wall - warm_run) / (2 * n)
        print(f"  run k=3    {k3_wall:8.1f} s warm, median of {args.repeats}: marginal "
              f"{1000 * marginal:.3f} ms per extra trial")
        rss_mb = max(rss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
        print(f"  peak RSS   {rss_mb:8.0f} MB (largest single process of all the steps)")
        cache_mb = sum(p.stat().st_size for p in (work / "cache").rglob("*") if p.is_file()) / 2**20
        print(f"  replay cache {cache_mb:6.0f} MB on disk")


if __name__ == "__main__":
    main()
