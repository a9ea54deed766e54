"""Scale benchmark: evalkit's own cost on a large generated suite (no-op agent), per phase.

    python benchmarks/bench_scale.py                 # 10,000 scenarios (834 per category x 12)
    python benchmarks/bench_scale.py --n 2400 --repeats 3
    python benchmarks/bench_scale.py --suite DIR --phases run,big    # reuse a generated suite
    python benchmarks/bench_scale.py --phases reference              # reference:v1 on core, k = 3

Generates a suite of ``--n`` scenarios into a temp folder and prints, with wall times:

- generate: ``evalkit suite generate --jobs J`` (default J = 2),
- validate: ``evalkit suite validate --jobs J`` (deep plan checks, no replay), twice: the first run reuses
  the plan facts generate remembered (cold when ``--suite`` skips generate), the second reuses its own,
- load: ``load_suite`` cold (first load parses and writes the index) and warm (median of --repeats),
- run: ``evalkit run --jobs J --trials 1 --no-log`` with bench_runner's no-op agent (answers at once, no
  tool call), end to end as a user would run it: cold replay cache, then warm (the rounds after the first),
- per-trial marginal cost: (wall with --trials 3 - wall with --trials 1) / (2 N), replay cache warm,
- peak RSS: the largest single process of all steps (CLI, workers; getrusage of the children),
- big (``--phases big``): 10 trials per scenario (100,000 trials on 10,000 scenarios) logged to MLflow
  (SQLite in the temp folder): wall, peak RSS, and whether results, journal and the MLflow run are present,
- reference (``--phases reference``): ``reference:v1`` on ``--core-limit`` scenarios of core, k = 3, ``--jobs J``: trials/s and the
  share of the workers' time spent in the agent's own code (latency minus its tool calls), in tool calls
  (evalkit's Toolbox) and elsewhere (first-use world loads, dispatch, scoring, journaling),
- memory (``--phases memory``): ``reference:v1`` on ``--core-limit`` scenarios of core, k = 3, in one process
  (``--executor threads``): the memory the finished run's result holds (traced bytes freed when it is dropped),
  per trial and scaled to 100,000 trials, and the process's peak RSS; then the same command again, which resumes
  every trial from the journal: the peak of traced memory above what the process held before it, at that size
  and at a quarter of it (the difference per trial leaves fixed costs such as the loaded agent out).

Every CLI step is a fresh ``python -m evalkit`` process; EVALKIT_CACHE_DIR points into the temp folder, so
the user's replay cache is neither used nor polluted. Medians where repeated.
"""

from __future__ import annotations

import argparse
import gzip
import json
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
PHASES = ("generate", "validate", "load", "run", "marginal", "big", "reference", "memory")
DEFAULT_PHASES = "generate,validate,load,run,marginal"


def evalkit_cli(args: list[str], env: dict, cwd: Path | None = None) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB, largest child) of one ``python -m evalkit`` invocation (run in ``cwd``,
    which a failure names, when given)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "evalkit", *args], cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        where = f"[{cwd}] " if cwd else ""
        raise SystemExit(f"{where}evalkit {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return wall, max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)


def _load_walls(suite: Path, repeats: int, env: dict) -> tuple[float, float]:
    """(cold, median warm) seconds of load_suite, each in a fresh process (import time excluded)."""
    code = ("import sys,time; from evalkit.suite import load_suite; t=time.perf_counter(); "
            "s=load_suite(sys.argv[1]); print(time.perf_counter()-t, len(s.scenarios))")
    walls = [float(subprocess.run([sys.executable, "-c", code, str(suite)], env=env, capture_output=True, text=True,
                                  check=True).stdout.split()[0]) for _ in range(repeats + 1)]
    return walls[0], statistics.median(walls[1:])


def run_args(suite: Path, work: Path, jobs: int, trials: int, agent: str = "bench_runner:NoopAgent") -> list[str]:
    return ["run", "--suite", str(suite), "--agent", agent, "--jobs", str(jobs), "--trials", str(trials),
            "--no-outbox", "--quiet", "--fresh", "--journal-dir", str(work / "journal"),
            "--output-dir", str(work / "out")]


def bench_generate_validate_load(suite: Path, per_cat: int, n: int, phases: set[str], args, env: dict) -> None:
    if "generate" in phases:
        wall, _ = evalkit_cli(["suite", "generate", "--output-dir", str(suite), "--name", "scale", "--per-category",
                        str(per_cat), "--seed", "7", "--jobs", str(args.jobs), "--force"], env)
        print(f"  generate   {wall:8.1f} s   ({1000 * wall / n:.2f} ms/scenario)")
    if "validate" in phases:  # right after generate, the plans generate derived are remembered
        for label in (("plans remembered from generate" if "generate" in phases else "cold, no plan remembered"),
                      "again"):
            wall, _ = evalkit_cli(["suite", "validate", str(suite), "--jobs", str(args.jobs)], env)
            print(f"  validate   {wall:8.1f} s   ({label}; process start-up included)")
    if "load" in phases:
        time.sleep(2.1)  # files older than the index's racy window, as any suite one loads later
        cold, warm = _load_walls(suite, args.repeats, env)
        print(f"  load       {cold:8.2f} s cold (parse + write index), {warm:.3f} s warm (median of {args.repeats})")


def bench_runs(suite: Path, work: Path, n: int, phases: set[str], args, env: dict) -> None:
    """No-op agent, k = 1: cold replay cache, then warm; k = 3 for the marginal cost of a trial."""
    def run(trials: int) -> float:
        return evalkit_cli(run_args(suite, work, args.jobs, trials) + ["--no-log"], env)[0]

    if "run" in phases:
        cold_run = run(1)
        print(f"  run k=1    {cold_run:8.1f} s cold replay cache ({n / cold_run:.0f} trials/s)")
    if "run" in phases or "marginal" in phases:
        warm_runs = [run(1) for _ in range(args.repeats)]
        warm_run = statistics.median(warm_runs)
        print(f"  run k=1    {warm_run:8.1f} s warm replay cache, median of {args.repeats} "
              f"({n / warm_run:.0f} trials/s; {', '.join(f'{w:.1f}' for w in warm_runs)})")
    if "marginal" in phases:
        k3_wall = statistics.median([run(3) for _ in range(args.repeats)])
        marginal = (k3_wall - warm_run) / (2 * n)
        print(f"  run k=3    {k3_wall:8.1f} s warm, median of {args.repeats}: marginal "
              f"{1000 * marginal:.3f} ms per extra trial")


def bench_big(suite: Path, work: Path, n: int, args, env: dict) -> None:
    """10 trials per scenario, logged to MLflow (SQLite + artifact folder in the temp dir); checks the outputs."""
    uri = f"sqlite:///{work / 'mlflow.db'}"
    wall, rss = evalkit_cli(run_args(suite, work, args.jobs, 10) + ["--tracking-uri", uri], env)
    results = work / "out" / "results.parquet"
    code = ("import sys, mlflow; c = mlflow.MlflowClient(sys.argv[1]); "
            "print(sum(len(c.search_runs([e.experiment_id])) for e in c.search_experiments()))")
    runs = subprocess.run([sys.executable, "-c", code, uri], env=env, capture_output=True, text=True).stdout.strip()
    journal = list((work / "journal").glob("*.jsonl"))
    rows = _parquet_rows(results, env)
    print(f"  big k=10   {wall:8.1f} s for {rows} trials ({rows / wall:.0f} trials/s), peak RSS {rss / 1024:.0f} MB; "
          f"results.parquet {'present' if results.is_file() else 'MISSING'}, journal "
          f"{sum(p.stat().st_size for p in journal) / 2**20:.0f} MB in {len(journal)} file(s), MLflow runs: {runs}")
    if rows != 10 * n:
        print(f"  big k=10   expected {10 * n} result rows, found {rows}")


def _parquet_rows(path: Path, env: dict) -> int:
    if not path.is_file():
        return 0
    code = "import sys, pyarrow.parquet as pq; print(pq.ParquetFile(sys.argv[1]).metadata.num_rows)"
    return int(subprocess.run([sys.executable, "-c", code, str(path)], env=env, capture_output=True, text=True,
                              check=True).stdout)


def bench_reference(work: Path, args, env: dict) -> None:
    """reference:v1 on core, k = 3, twice: cold replay cache, then warm; trials/s and where the time went."""
    for label in ("cold", "warm"):
        limit = ["--limit", str(args.core_limit)] if args.core_limit else []
        wall, _ = evalkit_cli(run_args(Path(args.core), work, args.jobs, 3, agent="reference:v1") + ["--no-log"]
                              + limit, env)
        rows, latency, bad, tools = _time_split(work / "out")
        busy = wall * args.jobs
        print(f"  reference  {wall:8.1f} s {label} replay cache: {rows} trials of reference:v1 on {args.core} (k=3, "
              f"--jobs {args.jobs}): {rows / wall:.0f} trials/s, {bad} not ok")
        print(f"  reference  share of {args.jobs} x wall: agent's own code {100 * (latency - tools) / busy:.0f} %, "
              f"Toolbox calls {100 * tools / busy:.0f} %, rest of evalkit (first-use world loads, dispatch, "
              f"scoring, journal, start-up) {100 * (busy - latency) / busy:.0f} %")


_HELD = """
import gc, os, resource, sys, tracemalloc
from evalkit.run import JournalConfig, RunConfig, run_suite
config = RunConfig(trials=3, jobs=2, executor="threads", journal=JournalConfig(dir=sys.argv[3], fresh=True))
tracemalloc.start()
result = run_suite(sys.argv[1], "reference:v1", config, limit=int(sys.argv[2]))
gc.collect()
with_result = tracemalloc.get_traced_memory()[0]
trials = len(result.table)
journal = result.meta["journal"]
del result
gc.collect()
held = with_result - tracemalloc.get_traced_memory()[0]
before = tracemalloc.get_traced_memory()[0]
tracemalloc.reset_peak()
again = run_suite(sys.argv[1], "reference:v1", config.replace(journal=JournalConfig(dir=sys.argv[3])),
                  limit=int(sys.argv[2]))
resume_peak = tracemalloc.get_traced_memory()[1] - before
assert again.meta["resumed_trials"] == trials
print(trials, held, resume_peak, os.path.getsize(journal), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def _held(args, n: int, journal_dir: Path, env: dict) -> tuple[int, ...]:
    """(trials, bytes the result held, resume peak, journal bytes, peak RSS KiB) of :data:`_HELD` on ``n``
    scenarios of ``args.core``, in a process of its own."""
    proc = subprocess.run([sys.executable, "-c", _HELD, args.core, str(n), str(journal_dir)], env=env,
                          capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"the memory phase failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return tuple(int(x) for x in proc.stdout.split()[-5:])


def bench_memory(work: Path, args, env: dict) -> None:
    """What a finished run holds in memory per trial (its RunResult: table, trajectories, meta), with reference:v1
    on core (about 30 tool calls a trial) in one process: the bytes freed when the result is dropped."""
    n = args.core_limit or 360
    trials, held, resume_peak, journal_bytes, rss_kib = _held(args, n, work / "j-memory", env)
    print(f"  memory     a finished run of {trials} reference:v1 trials holds {held / 2**20:.1f} MB "
          f"({held / trials / 1024:.1f} KiB a trial, ~{held / trials * 100_000 / 2**30:.2f} GiB for 100,000); "
          f"peak RSS of the process {rss_kib / 1024:.0f} MB")
    # the resume again at a quarter of the size: the slope leaves fixed costs out
    trials_s, _, peak_s, _, _ = _held(args, max(12, n // 4), work / "j-memory-small", env)
    slope = (resume_peak - peak_s) / (trials - trials_s)
    print(f"  memory     resuming all {trials} from their journal ({journal_bytes / 2**20:.1f} MB) peaks at "
          f"{resume_peak / 2**20:.1f} MB above what the process held before ({peak_s / 2**20:.1f} MB for "
          f"{trials_s}): {slope / 1024:.1f} KiB a trial more, ~{slope * 100_000 / 2**30:.2f} GiB for 100,000")


def _time_split(out: Path) -> tuple[int, float, int, float]:
    """(trials, summed latency s, trials not ok, summed tool-call s) of a run's output folder."""
    code = ("import sys, pandas as pd; t = pd.read_parquet(sys.argv[1]); "
            "print(len(t), float(t['latency_s'].sum()), int((t['status'] != 'ok').sum()))")
    fields = subprocess.run([sys.executable, "-c", code, str(out / "results.parquet")], capture_output=True,
                            text=True, check=True).stdout.split()
    with gzip.open(out / "trajectories.jsonl.gz", "rt", encoding="utf-8") as fh:
        tools = sum(c.get("duration_s", 0.0) for line in fh for c in json.loads(line).get("calls", []))
    return int(fields[0]), float(fields[1]), int(fields[2]), tools


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000, help="scenarios (rounded up to a multiple of 12)")
    ap.add_argument("--jobs", type=int, default=2, help="--jobs of generate, validate and run")
    ap.add_argument("--repeats", type=int, default=3, help="repeats of the warm load and warm run")
    ap.add_argument("--keep", default=None, help="generate into this folder and keep it (default: a temp dir)")
    ap.add_argument("--suite", default=None, help="use this generated suite (skips the generate phase)")
    ap.add_argument("--core", default="core", help="the suite of the reference phase")
    ap.add_argument("--core-limit", type=int, default=360,
                    help="scenarios of --core in the reference phase (--limit; 360: core 1.0's 30 per category; 0: all)")
    ap.add_argument("--phases", default=DEFAULT_PHASES, help=f"comma-separated, of: {', '.join(PHASES)}")
    args = ap.parse_args()
    phases = set(args.phases.split(","))
    if args.suite:
        phases.discard("generate")
    per_cat = -(-args.n // CATEGORIES)
    n = per_cat * CATEGORIES
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        work = Path(tmp)
        suite = Path(args.suite or args.keep or work / "suite")
        if args.suite:
            n = len(list((suite / "scenarios").glob("*.json")))
        env = {**os.environ, "EVALKIT_CACHE_DIR": str(work / "cache"),
               "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
        # measure evalkit, not the compiler: where PYTHONDONTWRITEBYTECODE is set (CI images), every step would
        # compile pandas, numpy and evalkit from source again (~1.3 s a process here); a user's pip install
        # has their bytecode, and so do the steps here after the first one
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        print(f"[scale] {n} scenarios, --jobs {args.jobs}, python {sys.version.split()[0]}, {os.cpu_count()} cores, "
              f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        bench_generate_validate_load(suite, per_cat, n, phases, args, env)
        bench_runs(suite, work, n, phases, args, env)
        if "big" in phases:
            bench_big(suite, work, n, args, env)
        if "reference" in phases:
            bench_reference(work, args, env)
        if "memory" in phases:
            bench_memory(work, args, env)
        rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"  peak RSS   {rss_mb:8.0f} MB (largest single process of all the steps)")
        cache_mb = sum(p.stat().st_size for p in (work / "cache").rglob("*") if p.is_file()) / 2**20
        print(f"  cache dir  {cache_mb:8.0f} MB on disk (replay cache, plan facts, suite index)")


if __name__ == "__main__":
    main()
