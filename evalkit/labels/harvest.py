"""``evalkit label harvest``: traces of an MLflow experiment plus their feedback -> candidate labels.

Each trace with root-cause feedback becomes one candidate: the alert, a world snapshot materialized from the
recorded tool results (with the queries that produced them as provenance), the truth the feedback gives (the
latest correction; else a thumbs-up confirms the agent's answer; vague feedback leaves it open), a category
and the snapshot's other implicated components as distractors. Traces without feedback are skipped.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from evalkit.errors import UserError
from evalkit.labels.reading import Mapping, evalkit_convention
from evalkit.labels.records import CANDIDATES_DIR, Candidate, HarvestedTrace, write_candidate
from evalkit.labels.snapshot import build_snapshot, snapshot_window
from evalkit.vocab import FeedbackKind

UNKNOWN_CATEGORY = "harvested/unclassified"


@dataclass
class HarvestResult:
    """What a harvest read and wrote: traces seen, candidates written, traces skipped (id -> why)."""

    out: Path
    traces: int
    candidates: list[str]
    skipped: dict[str, str] = field(default_factory=dict)


def harvest(experiment: str, out: str | Path, *, tracking_uri: str | None = None, mapping: Mapping | None = None,
            force: bool = False) -> HarvestResult:
    """Read every trace of ``experiment`` and write a candidate per trace with feedback into ``out``."""
    import mlflow

    from evalkit.store.tracking import mlflow_tracking, quiet_mlflow_logs

    quiet_mlflow_logs()
    with mlflow_tracking(tracking_uri):
        exp = mlflow.get_experiment_by_name(experiment)
        if exp is None:
            raise UserError.at("--experiment", "", experiment, "no such MLflow experiment at this tracking URI; "
                                                               "log traces first (evalkit run --trace)")
        traces = mlflow.search_traces(locations=[exp.experiment_id], return_type="list", flush=True)
    return harvest_traces(traces, out, mapping=mapping, force=force)


def harvest_traces(traces: list[Any], out: str | Path, *, mapping: Mapping | None = None,
                   force: bool = False) -> HarvestResult:
    """Candidates from already-read traces (see :func:`harvest`)."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        if not force:
            raise UserError.at("--output-dir", "", str(out), "is not empty; choose a new folder or pass --force")
        shutil.rmtree(out)
    (out / CANDIDATES_DIR).mkdir(parents=True)
    mapper = mapping or evalkit_convention
    result = HarvestResult(out, len(traces), [])
    for trace in traces:
        tid = trace.info.trace_id
        read = mapper(trace)
        if read is None:
            result.skipped[tid] = "not an investigation (no alert on the root span)"
        elif not read.feedback:
            result.skipped[tid] = "no root-cause feedback"
        else:
            cand = candidate_of(read)
            write_candidate(out, cand)
            result.candidates.append(cand.id)
    (out / "harvest.json").write_text(json.dumps({"traces": result.traces, "candidates": result.candidates,
                                                  "skipped": result.skipped}, indent=1) + "\n", encoding="utf-8")
    return result


def candidate_of(read: HarvestedTrace) -> Candidate:
    """One investigation with feedback as a candidate label."""
    snapshot = build_snapshot(read.tools, (str(read.alert.get("component") or ""),))
    answer = _answer(read.finding)
    truth = _truth(read, answer, snapshot)
    queries = [{"tool": t.tool, "args": t.args, "refs": t.refs, "error": t.error,
                "result_size": t.result_size if t.result_size is not None else
                len(json.dumps(t.result, separators=(",", ":"), default=str))} for t in read.tools]
    cid = "label-" + hashlib.sha256(read.trace_id.encode()).hexdigest()[:12]  # the trace id itself stays hidden
    return Candidate(cid, read.trace_id, read.incident, read.build, read.at_ms,
                     category_of(truth, read.category), read.alert, snapshot_window(snapshot, read.alert, read.window),
                     snapshot, truth, answer, [asdict(f) for f in read.feedback], queries)


def _answer(finding: dict | None) -> dict | None:
    hyps = (finding or {}).get("hypotheses") or []
    top = hyps[0] if hyps and isinstance(hyps[0], dict) else None
    return {"component": top.get("component"), "fault_type": top.get("fault_type")} if top else None


def _truth(read: HarvestedTrace, answer: dict | None, snapshot: dict) -> dict | None:
    """The latest correction, else a confirmation of the agent's answer, else None (vague feedback)."""
    fixes = [f for f in read.feedback if f.kind == FeedbackKind.CORRECTION]
    if fixes:
        comp, ft = fixes[-1].component, fixes[-1].fault_type
    elif answer and any(f.kind == FeedbackKind.CONFIRMATION for f in read.feedback):
        comp, ft = answer["component"], answer["fault_type"]
    else:
        return None
    return complete_truth(str(comp), ft or "", snapshot)


def complete_truth(component: str, fault_type: str, snapshot: dict) -> dict:
    """A truth document for ``component``/``fault_type``: its aliases (a service's pods, an external's host),
    the snapshot signals about it as evidence, and the other components with change events as distractors."""
    comps = {c["name"]: c for c in snapshot["components"]}
    aliases = sorted({c["name"] for c in comps.values() if c.get("service") == component}
                     | ({comps[component]["host"]} if comps.get(component, {}).get("host") else set()))
    about = {component, *aliases}
    evidence = sorted({f"events:{e['component']}" for e in snapshot["events"] if e["component"] in about}
                      | {f"logs:{x['component']}" for x in snapshot["logs"] if x["component"] in about}
                      | {f"metric:{c}:{m}" for _, c, m, _ in snapshot["metrics"] if c == component})
    distractors = sorted({e["component"] for e in snapshot["events"]} - about)
    return {"component": component, "fault_type": fault_type, "aliases": aliases, "evidence": evidence,
            "distractors": distractors}


def category_of(truth: dict | None, hint: str | None) -> str:
    """The category of a truth's fault type (the synthetic taxonomy), else the trace's hint, else unclassified."""
    from evalkit.suite.generator.catalog import CATEGORIES

    by_fault = {ft: cat for cat, (fts, _, _) in CATEGORIES.items() for ft in fts}
    if truth and truth["fault_type"] in by_fault:
        return by_fault[truth["fault_type"]]
    return hint or UNKNOWN_CATEGORY
