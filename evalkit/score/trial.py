"""Per-trial scores of one investigation against its ground truth.

Graded root-cause score (``rca_score``), chosen so that a right answer with the wrong mechanism still
counts for something and a near miss counts for less:

=====================================================  =====
top hypothesis names the cause (or an alias) and its     1.0
fault type
top hypothesis names the cause, fault type wrong/missing 0.5
the cause is only the 2nd or 3rd hypothesis              0.25
anything else                                            0.0
=====================================================  =====

Agent failures (crash, timeout, malformed output...) score 0 on every quality metric; infrastructure
failures score NaN (not the agent's doing, never a regression). ``distractor_ratio`` is a process measure
computed from whatever trajectory was recorded, also for failed trials (0 when no call was made).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

from evalkit.agents.base import Finding
from evalkit.suite.model import GroundTruth
from evalkit.vocab import Status

NAN = float("nan")
QUALITY_SCORES = ("rca_top1", "rca_top3", "fault_type_correct", "rca_score", "evidence_recall")
USAGE_COLUMNS = ("tokens_in", "tokens_out", "cost_usd")
GRADES = {"exact": 1.0, "component": 0.5, "top3": 0.25, "wrong": 0.0}


def normalize_fault(fault: str | None) -> str:
    """Fault types compare case-insensitively with ``-``/space treated as ``_`` (``OOM-kill loop`` = ``oom_kill_loop``)."""
    if not fault:
        return ""
    return "_".join(str(fault).strip().lower().replace("-", " ").split())


def as_finding(finding: Finding | Mapping | None) -> Finding | None:
    """A trial's finding as a Finding: its dict form (as the worker and the journal keep it) is read by the model
    the adapters use, ``Finding.from_dict``, with the recorded usage and stderr kept as they are."""
    if finding is None or isinstance(finding, Finding):
        return finding
    out = Finding.from_dict({"hypotheses": [], **finding})  # a record may leave out an empty list
    out.usage, out.stderr = dict(finding.get("usage") or {}), finding.get("stderr") or ""
    return out


def _call_parts(call: Any) -> tuple[Any, list[str], str | None]:
    if isinstance(call, Mapping):
        return (call.get("args") or {}), list(call.get("refs") or []), call.get("error")
    return (call.args or {}), list(call.refs or []), call.error


def ref_component(ref: str) -> str | None:
    """``metric:<component>:<metric>`` / ``logs:<component>`` ... -> the component."""
    parts = str(ref).split(":")
    return parts[1] if len(parts) >= 2 and parts[1] else None


def evidence_recall(finding: Finding | None, trajectory: Iterable, truth: GroundTruth) -> float:
    """Share of the truth's key evidence signals the agent queried (trajectory refs) or cited (hypotheses)."""
    wanted = {e.strip() for e in truth.evidence if e and e.strip()}
    if not wanted:
        return NAN
    queried = {r.strip() for _, refs, error in map(_call_parts, trajectory) if not error for r in refs}
    cited = {str(e).strip() for h in (finding.hypotheses if finding is not None else []) for e in h.evidence}
    return len(wanted & (queried | cited)) / len(wanted)


def distractor_ratio(trajectory: Iterable, truth: GroundTruth) -> float:
    """Share of tool calls whose ``component`` argument or refs point at one of the truth's distractors."""
    distractors = set(truth.distractors)
    calls = list(trajectory)
    if not calls or not distractors:
        return 0.0
    hits = 0
    for call in calls:
        args, refs, _ = _call_parts(call)
        comp = args.get("component") if isinstance(args, Mapping) else None
        if comp in distractors or any(ref_component(r) in distractors for r in refs):
            hits += 1
    return hits / len(calls)


def _usage(finding: Finding | None) -> dict[str, float]:
    usage = finding.usage if finding is not None else {}
    out = {}
    for col in USAGE_COLUMNS:
        v = usage.get(col) if usage else None
        try:
            x = float(v) if v is not None else NAN
        except (TypeError, ValueError):
            x = NAN
        out[col] = x if 0 <= x < math.inf else NAN  # a count or a cost: a negative or infinite one is no report
    return out


def score_trial(finding: Finding | Mapping | None, trajectory: Iterable, truth: GroundTruth, *,
                status: str = Status.OK) -> dict[str, Any]:
    """Score one trial. ``status`` is the runner's: ``ok``, ``agent_error`` (scores 0) or ``infra_error`` (NaN).

    Returns the per-trial columns of the results table that depend on the truth: ``predicted``,
    ``predicted_fault``, ``expected_component``, ``expected_fault``, the six scores, ``tool_calls`` and
    the usage columns (``tokens_in``, ``tokens_out``, ``cost_usd``; NaN where the adapter reports none, or a
    negative or infinite number).
    """
    finding = as_finding(finding)
    trajectory = list(trajectory or [])
    row: dict[str, Any] = {
        "expected_component": truth.component,
        "expected_fault": truth.fault_type,
        "tool_calls": len(trajectory),
        "predicted": json.dumps([h.component for h in finding.hypotheses] if finding else []),
        "predicted_fault": (finding.hypotheses[0].fault_type or "") if finding and finding.hypotheses else "",
    }
    row.update(_usage(finding))
    if status == Status.INFRA_ERROR:
        row.update({k: NAN for k in QUALITY_SCORES}, distractor_ratio=NAN)
        return row
    row["distractor_ratio"] = distractor_ratio(trajectory, truth)
    if status != Status.OK or finding is None:
        row.update({k: 0.0 for k in QUALITY_SCORES})
        if not truth.evidence:
            row["evidence_recall"] = NAN
        return row
    hyps = finding.hypotheses
    top1 = bool(hyps) and truth.accepts(hyps[0].component)
    top3 = any(truth.accepts(h.component) for h in hyps[:3])
    fault_ok = bool(hyps) and normalize_fault(hyps[0].fault_type) == normalize_fault(truth.fault_type) != ""
    grade = GRADES["exact" if top1 and fault_ok else "component" if top1 else "top3" if top3 else "wrong"]
    row.update(
        rca_top1=float(top1), rca_top3=float(top3), fault_type_correct=float(fault_ok), rca_score=grade,
        evidence_recall=evidence_recall(finding, trajectory, truth),
    )
    return row

