"""A simulated production feedback stream for the acceptance demo (docs/labels.md) and benchmarks/bench_labels.py.

A "production" agent (a reference build) investigated a generated suite with tracing on; simulated users who know
the answer (this module alone reads the suite's truth, as a user knows their own incident) give feedback, and a
planted share of it is bad: a wrong correction, a truth absent from the snapshot, vague feedback, an alert that
spells out the answer (planted into the suite before the run), a second trace of an already-labelled incident.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalkit.store import names

GOOD = "good"
BAD_KINDS = ("wrong-correction", "absent", "vague", "leak", "duplicate")


@dataclass
class Plan:
    """Which scenarios get which planted defect (the rest get honest feedback)."""

    kinds: dict[str, str] = field(default_factory=dict)  # scenario id -> a BAD_KINDS kind

    def of(self, sid: str) -> str:
        return self.kinds.get(sid, GOOD)


def plan_stream(scenario_ids: list[str], bad_share: float = 0.25, seed: int = 0) -> Plan:
    """Plant a defect into ``bad_share`` of the scenarios, the kinds in turn (a duplicate adds a second trace,
    so the bad share of the stream is a little higher than ``bad_share``)."""
    rng = random.Random(seed)
    ids = sorted(scenario_ids)
    chosen = rng.sample(ids, max(len(BAD_KINDS), round(bad_share * len(ids))))
    return Plan({sid: BAD_KINDS[i % len(BAD_KINDS)] for i, sid in enumerate(sorted(chosen))})


def plant_leaks(suite_dir: str | Path, plan: Plan) -> None:
    """Rewrite the alert title of every "leak" scenario of a materialized suite to name its root cause, as an
    alert written by someone who already knew it would."""
    from evalkit.suite import load_suite, load_truth

    suite = load_suite(suite_dir)
    for s in suite.scenarios:
        if plan.of(s.id) == "leak":
            truth = load_truth(suite, s.id)
            path = Path(suite_dir) / "scenarios" / f"{s.id}.json"
            doc = json.loads(path.read_text(encoding="utf-8"))
            doc["alert"]["title"] += f" (root cause: {truth.component} {truth.fault_type})"
            path.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def give_feedback(suite: Any, result: Any, trace_ids: list[str], plan: Plan, *, seed: int = 0,
                  tracking_uri: str | None = None) -> dict[str, str]:
    """Log the users' feedback on the traces (``trace_ids`` in the order of ``result.trajectories``) as MLflow
    assessments; returns trace id -> ``good`` or the planted kind (the answer key of the demo)."""
    import mlflow

    from evalkit.store.tracking import mlflow_tracking
    from evalkit.suite import load_truth

    rng = random.Random(seed)
    key: dict[str, str] = {}
    seen: set[str] = set()
    with mlflow_tracking(tracking_uri):
        for traj, tid in zip(result.trajectories, trace_ids):
            sid = traj["scenario_id"]
            kind = plan.of(sid)
            key[tid] = GOOD if kind == "duplicate" and sid not in seen else kind  # the first trace is the original
            seen.add(sid)
            _log_one(mlflow, tid, key[tid], load_truth(suite, sid), traj.get("finding"), rng)
    return key


def _log_one(mlflow: Any, tid: str, kind: str, truth: Any, finding: dict | None, rng: random.Random) -> None:
    from mlflow.entities import AssessmentSource

    user = AssessmentSource(source_type="HUMAN", source_id=f"oncall-{rng.randrange(1, 6)}")
    hyps = (finding or {}).get("hypotheses") or []
    right = bool(hyps) and truth.accepts(hyps[0].get("component"))
    fix = {"component": truth.component, "fault_type": truth.fault_type}
    if kind == "wrong-correction":
        wrong = sorted(set(truth.distractors) - {truth.component, *truth.aliases}) or ["api-gateway"]
        fix = {"component": rng.choice(wrong), "fault_type": truth.fault_type}
    elif kind == "absent":
        fix = {"component": "warehouse-replica-db", "fault_type": truth.fault_type}
    if kind == "vague":
        mlflow.log_feedback(trace_id=tid, name=names.ASSESS_CORRECT, value=False, source=user,
                            rationale="doesn't look right, something else was going on")
    elif kind in (GOOD, "leak") and right and rng.random() < 0.5:
        mlflow.log_feedback(trace_id=tid, name=names.ASSESS_CORRECT, value=True, source=user, rationale="spot on")
    else:
        mlflow.log_expectation(trace_id=tid, name=names.ASSESS_ROOT_CAUSE, value=fix, source=user)
        mlflow.log_feedback(trace_id=tid, name=names.ASSESS_COMMENT, value=f"it was {fix['component']}",
                            source=user)
