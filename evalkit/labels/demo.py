"""The "production" side of the acceptance demo: a reference build investigates a generated suite with tracing
on, and simulated users give feedback with planted bad candidates (docs/labels.md).

``python -m evalkit.labels.demo --workdir DIR`` prints the tracking URI and experiment to harvest, and writes
DIR/answer_key.json (trace id -> ``good`` or the planted defect) for the confusion table.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass, replace
from pathlib import Path

from evalkit.labels.simulate import give_feedback, plan_stream, plant_leaks

EXPERIMENT = "production-investigations"


@dataclass
class Stream:
    """Where the demo's traces are and which of them were planted bad."""

    tracking_uri: str
    experiment: str
    suite_dir: Path
    key: dict[str, str]
    run_s: float = 0.0    # wall time of the investigations
    trace_s: float = 0.0  # wall time of logging them as traces


def produce(workdir: str | Path, *, per_category: int = 2, seed: int = 0, build: str = "reference:v4",
            bad_share: float = 0.25, jobs: int = 1) -> Stream:
    """Generate a suite, plant the alert leaks, investigate with tracing, log the feedback stream."""
    from evalkit.labels.trace_log import log_run_traces
    from evalkit.run.config import NO_JOURNAL, RunConfig
    from evalkit.run.runner import run_suite
    from evalkit.suite import generate_suite, load_suite

    work = Path(workdir)
    uri = f"sqlite:///{(work / 'mlflow.db').resolve()}"
    suite_dir = generate_suite(work / "production", "production", per_category, seed=seed, materialize=True,
                               default_trials=1, force=True, jobs=jobs).path
    plan = plan_stream([p.stem for p in sorted((suite_dir / "scenarios").glob("*.json"))], bad_share, seed)
    plant_leaks(suite_dir, plan)
    suite = load_suite(suite_dir)
    t0 = time.perf_counter()
    result = run_suite(suite, build, RunConfig(trials=1, jobs=jobs, journal=NO_JOURNAL))
    t1 = time.perf_counter()
    ids = log_run_traces(result, suite, experiment=EXPERIMENT, tracking_uri=uri)
    t2 = time.perf_counter()
    # a duplicate: the same incident investigated (and labelled) a second time
    again = replace(result, trajectories=[t for t in result.trajectories if plan.of(t["scenario_id"]) == "duplicate"])
    ids += log_run_traces(again, suite, experiment=EXPERIMENT, tracking_uri=uri)
    both = replace(result, trajectories=result.trajectories + again.trajectories)
    key = give_feedback(suite, both, ids, plan, seed=seed, tracking_uri=uri)
    (work / "answer_key.json").write_text(json.dumps(key, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return Stream(uri, EXPERIMENT, suite_dir, key, t1 - t0, t2 - t1)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--per-category", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--build", default="reference:v4")
    args = ap.parse_args(argv)
    s = produce(args.workdir, per_category=args.per_category, seed=args.seed, build=args.build)
    bad = sum(v != "good" for v in s.key.values())
    print(f"tracking_uri={s.tracking_uri}\nexperiment={s.experiment}\ntraces={len(s.key)} planted_bad={bad}")


if __name__ == "__main__":
    main()
