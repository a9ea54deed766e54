"""Scale against an earlier commit, in one window: the same steps on the base commit and on this checkout, alternated.

    python benchmarks/scale_vs_base.py                       # base e264421 (before the scale work), 3 rounds
    python benchmarks/scale_vs_base.py --base REV --repeats 5 --phases reference

Absolute times on these machines move by 2x between sessions, so the scale goals are best read as ratios to the
code they started from, measured side by side. Each round runs, for both the base (a ``git worktree`` at
``--base``, started with this interpreter) and this checkout:

- generate: ``evalkit suite generate --per-category N`` (12 categories) into a fresh folder; the base on one
  core (it has no ``--jobs``), this checkout with ``--jobs 1`` and ``--jobs J``,
- reference: ``reference:v1`` on the base's core (360 scenarios) and on ``--limit 360`` of this checkout's core
  pool, k = 3, ``--jobs J``, ``--no-log``; this checkout twice, with a cold then a warm replay cache.

It prints each step's median wall time and the ratios base / this checkout, next to the issue's goals expressed
as ratios (generate: 256 s -> 60 s for 10,000 scenarios; reference: 2x the trials/s). Each step is a fresh
``python -m evalkit`` process with its own ``EVALKIT_CACHE_DIR``; the user's caches are not touched.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
from collections import defaultdict
from pathlib import Path

from bench_scale import evalkit_cli, run_args

REPO = Path(__file__).resolve().parent.parent
GOALS = {"generate": 256 / 60, "reference": 2.0}


def _evalkit(code_root: Path, args: list[str], cache: Path) -> float:
    """Wall seconds of one ``python -m evalkit`` of the evalkit at ``code_root`` (cwd there, so bare suite names
    resolve to its own suites)."""
    env = {**os.environ, "PYTHONPATH": str(code_root), "EVALKIT_CACHE_DIR": str(cache)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # measure evalkit, not the byte-compiler
    return evalkit_cli(args, env, cwd=code_root)[0]


def _reference_args(work: Path, jobs: int) -> list[str]:
    """``evalkit run`` of reference:v1 on the running evalkit's own core, k = 3 (bench_scale's flags)."""
    return run_args(Path("core"), work, jobs, 3, agent="reference:v1") + ["--no-log"]


def one_round(base: Path, work: Path, args, walls: dict[str, list[float]]) -> None:
    """One round of every phase, base and this checkout alternated."""
    per_cat = str(args.per_category)
    if "generate" in args.phases:
        gen = ["suite", "generate", "--name", "scale", "--per-category", per_cat, "--seed", "7"]
        walls["generate base (1 core)"].append(_evalkit(base, gen + ["--output-dir", str(work / "g0")],
                                                        work / "c0"))
        for jobs in (1, args.jobs):
            out = work / f"g{jobs}"
            walls[f"generate --jobs {jobs}"].append(
                _evalkit(REPO, gen + ["--output-dir", str(out), "--jobs", str(jobs), "--force"], work / f"c{jobs}"))
    if "reference" in args.phases:
        walls["reference base"].append(_evalkit(base, _reference_args(work / "r0", args.jobs), work / "rc0"))
        cache = work / "rc1"
        new = _reference_args(work / "r1", args.jobs) + ["--limit", "360"]
        walls["reference cold cache"].append(_evalkit(REPO, new, cache))
        walls["reference warm cache"].append(_evalkit(REPO, new, cache))
    for d in work.iterdir():  # the next round starts cold again
        shutil.rmtree(d)


def report(walls: dict[str, list[float]], args) -> None:
    med = {k: statistics.median(v) for k, v in walls.items()}
    for k, v in walls.items():
        print(f"  {k:24s} {med[k]:7.1f} s median  ({', '.join(f'{w:.1f}' for w in v)})")
    n = 12 * args.per_category
    if "generate" in args.phases:
        base = med["generate base (1 core)"]
        for jobs in (1, args.jobs):
            print(f"  generate --jobs {jobs}: {base / med[f'generate --jobs {jobs}']:.2f}x the base's speed "
                  f"({1000 * med[f'generate --jobs {jobs}'] / n:.1f} ms/scenario; goal {GOALS['generate']:.2f}x "
                  "with every core: 256 s -> 60 s for 10,000)")
    if "reference" in args.phases:
        base = med["reference base"]
        for label in ("cold", "warm"):
            new = med[f"reference {label} cache"]
            print(f"  reference, {label} replay cache: {base / new:.2f}x the base's trials/s "
                  f"({1080 / base:.0f} -> {1080 / new:.0f} trials/s; goal {GOALS['reference']:.1f}x)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", default="e264421", help="the commit to compare against (default: before the scale work)")
    ap.add_argument("--repeats", type=int, default=3, help="rounds (medians are quoted)")
    ap.add_argument("--per-category", type=int, default=84, help="generated scenarios per category (x 12)")
    ap.add_argument("--jobs", type=int, default=2, help="--jobs of this checkout's generate and of both runs")
    ap.add_argument("--phases", default="generate,reference", help="comma-separated, of: generate, reference")
    args = ap.parse_args()
    args.phases = set(args.phases.split(","))
    print(f"[scale vs {args.base}] {os.cpu_count()} cores, load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}, {args.repeats} rounds, base and this checkout alternated")
    with tempfile.TemporaryDirectory(prefix="scale-vs-base-") as tmp:
        base, work = Path(tmp) / "base", Path(tmp) / "work"
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", "--quiet", str(base), args.base],
                       check=True)
        try:
            work.mkdir()
            walls: dict[str, list[float]] = defaultdict(list)
            for _ in range(args.repeats):
                one_round(base, work, args, walls)
            report(walls, args)
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(base)], check=False)


if __name__ == "__main__":
    main()
