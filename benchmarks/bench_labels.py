"""Labels from production (issue 18): the confusion table of validation on a planted feedback stream, the
throughput of harvest + validate, and the cost of tracing a trial.

A reference build investigates a generated suite with tracing on (``evalkit.labels.demo``), simulated users give
feedback with >= 20 % planted bad candidates; harvest reads the traces back from the embedded MLflow store and
validate scores them. The stream is built once into ``--workdir`` and reused (building 1,000 traces costs a few
minutes: the MLflow SQLite trace store writes ~0.2 s per trace):

    python benchmarks/bench_labels.py [--traces 1000] [--jobs 2] [--workdir .evalkit/bench-labels]
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections import Counter
from pathlib import Path


def stream(workdir: Path, traces: int, jobs: int):
    """The demo stream of about ``traces`` traces (built on first use, then read from ``workdir``)."""
    from evalkit.labels.demo import EXPERIMENT, Stream, produce

    meta = workdir / "stream.json"
    if meta.is_file():
        doc = json.loads(meta.read_text())
        key = json.loads((workdir / "answer_key.json").read_text())
        return Stream(doc["tracking_uri"], EXPERIMENT, Path(doc["suite_dir"]), key, doc["run_s"], doc["trace_s"])
    per_category = max(1, math.ceil(traces / 12 / 1.05))  # duplicates add ~5 % traces
    s = produce(workdir, per_category=per_category, jobs=jobs)
    meta.write_text(json.dumps({"tracking_uri": s.tracking_uri, "suite_dir": str(s.suite_dir), "run_s": s.run_s,
                                "trace_s": s.trace_s}))
    return s


def confusion(key: dict[str, str], folder: Path) -> Counter:
    """(planted kind, flagged) -> count."""
    from evalkit.labels.records import read_candidates
    from evalkit.labels.validation import read_scores

    scores = read_scores(folder)
    return Counter((key[c.trace_id], scores[c.id].flagged) for c in read_candidates(folder))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--traces", type=int, default=1000)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--workdir", default=".evalkit/bench-labels")
    args = ap.parse_args()
    from evalkit.labels.harvest import harvest
    from evalkit.labels.policy import LabelPolicy
    from evalkit.labels.validation import validate_folder

    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    s = stream(work, args.traces, args.jobs)
    n = len(s.key)
    print(f"stream: {n} traces, {sum(v != 'good' for v in s.key.values())} planted bad "
          f"({sum(v != 'good' for v in s.key.values()) / n:.0%})")
    print(f"tracing cost: {s.trace_s / n * 1000:.0f} ms per trial logged as a trace "
          f"(the investigations themselves: {s.run_s / n * 1000:.0f} ms per trial)")
    t0 = time.perf_counter()
    h = harvest(s.experiment, work / "candidates", tracking_uri=s.tracking_uri, force=True)
    t1 = time.perf_counter()
    scores = validate_folder(work / "candidates", LabelPolicy(), jobs=args.jobs)
    t2 = time.perf_counter()
    print(f"harvest: {h.traces} traces -> {len(h.candidates)} candidates in {t1 - t0:.1f} s")
    print(f"validate: {len(scores)} candidates in {t2 - t1:.1f} s (jobs={args.jobs}); "
          f"harvest + validate {t2 - t0:.1f} s (goal <= 60 s for 1,000 traces)")
    table = confusion(s.key, work / "candidates")
    kinds = sorted({k for k, _ in table}, key=lambda k: (k != "good", k))
    print(f"\n{'planted':<18}{'flagged':>9}{'passed':>9}{'flag rate':>11}")
    for k in kinds:
        f, p = table[(k, True)], table[(k, False)]
        print(f"{k:<18}{f:>9}{p:>9}{f / max(1, f + p):>10.0%}")
    bad_f = sum(v for (k, fl), v in table.items() if k != "good" and fl)
    bad_n = sum(v for (k, _), v in table.items() if k != "good")
    good_f, good_n = table[("good", True)], table[("good", True)] + table[("good", False)]
    print(f"\nbad flagged: {bad_f}/{bad_n} = {bad_f / max(1, bad_n):.1%} (goal >= 90 %); "
          f"good flagged: {good_f}/{good_n} = {good_f / max(1, good_n):.1%} (goal <= 10 %); "
          f"hard: {sum(x.hard for x in scores)}")


if __name__ == "__main__":
    main()
