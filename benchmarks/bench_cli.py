"""CLI start-up: `evalkit --help` and every subcommand's `--help` in fresh processes (goal: root <= 0.3 s).

Also checks, with ``python -X importtime``, that `evalkit --help` imports none of the heavy modules (pandas,
numpy, mlflow, matplotlib, ray, scipy, pyarrow) and prints the slowest imports.

    python benchmarks/bench_cli.py [--repeat 10] [--only-root]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

import click
from timing import timed

EVALKIT = Path(sys.executable).with_name("evalkit")
HEAVY = ("pandas", "numpy", "mlflow", "matplotlib", "ray", "scipy", "pyarrow")
GOAL_S = 0.3


def wall(args: list[str], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        elapsed, _, proc = timed(subprocess.run, [str(EVALKIT), *args], capture_output=True, text=True)
        times.append(elapsed)
        if proc.returncode != 0:
            raise SystemExit(f"evalkit {' '.join(args)} exited {proc.returncode}: {proc.stderr.strip()}")
    return times


def command_paths() -> list[list[str]]:
    """Every subcommand path (imports the command modules in this process, not in the measured ones)."""
    from evalkit.cli import cli

    def walk(group, path, parent):
        ctx = click.Context(group, info_name=path[-1] if path else "evalkit", parent=parent)
        for name in group.list_commands(ctx):
            cmd = group.get_command(ctx, name)
            yield [*path, name]
            if isinstance(cmd, click.Group):
                yield from walk(cmd, [*path, name], ctx)

    return list(walk(cli, [], None))


def import_report(flag: str = "--help") -> tuple[list[str], list[tuple[float, str]]]:
    """(heavy top-level modules imported, the 8 slowest cumulative imports) of `evalkit <flag>`."""
    proc = subprocess.run([sys.executable, "-X", "importtime", str(EVALKIT), flag], capture_output=True, text=True)
    fields = [line.split(":", 1)[1].split("|") for line in proc.stderr.splitlines()
              if line.startswith("import time:") and "cumulative" not in line]
    rows = [(int(cum) / 1e6, name.rstrip()) for _self, cum, name in fields]
    heavy = sorted({name.strip().split(".")[0] for _, name in rows} & set(HEAVY))
    top_level = [(t, name.strip()) for t, name in rows if len(name) - len(name.lstrip()) == 1]
    return heavy, sorted(top_level, reverse=True)[:8]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=10, help="fresh processes per command (>= 10 for the root)")
    ap.add_argument("--only-root", action="store_true", help="skip the subcommands")
    args = ap.parse_args()

    wall(["--help"], 2)  # warm the OS file cache; not counted
    root = wall(["--help"], max(args.repeat, 10))
    med = statistics.median(root)
    print(f"evalkit --help: median {med:.3f} s over {len(root)} fresh processes "
          f"(min {min(root):.3f}, max {max(root):.3f}); goal <= {GOAL_S} s: {'met' if med <= GOAL_S else 'MISSED'}")
    version = wall(["--version"], max(args.repeat, 10))
    print(f"evalkit --version: median {statistics.median(version):.3f} s")

    heavy, top = import_report("--help")
    print(f"heavy modules imported by `evalkit --help`: {', '.join(heavy) if heavy else 'none'}")
    print("slowest top-level imports of `evalkit --help` (cumulative):")
    for seconds, name in top:
        print(f"  {seconds * 1000:7.1f} ms  {name.strip()}")

    if args.only_root:
        return
    print(f"\nsubcommand --help, median of {args.repeat} fresh processes:")
    results = []
    for path in command_paths():
        times = wall([*path, "--help"], args.repeat)
        results.append((statistics.median(times), " ".join(path)))
        print(f"  {statistics.median(times):6.3f} s  evalkit {' '.join(path)} --help", flush=True)
    slowest = max(results)
    print(f"slowest subcommand help: evalkit {slowest[1]} --help at {slowest[0]:.3f} s")


if __name__ == "__main__":
    main()
