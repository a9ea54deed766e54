"""The shape a journal record must have to be resumed, checked field by field.

A resumed record is re-scored from its stored outcome and trajectory, so anything the scorer reads is
checked here first: a record that fails is damaged (hand-edited, half-written by a dying disk, from another
tool) and is quarantined and rerun instead of crashing the run. :func:`record_problem` says what is wrong
with a record in a few words, or None when it can be resumed.
"""

from __future__ import annotations

import math
from typing import Any, Collection

from evalkit.vocab import Status

#: the statuses a journaled trial can end in (a setup error stops the run and is never journaled)
RECORD_STATUSES = frozenset({Status.OK, Status.AGENT_ERROR, Status.INFRA_ERROR})
#: what a recorded tool call may hold (evalkit.world.toolbox.ToolCall's fields) and must hold
CALL_FIELDS = frozenset({"tool", "args", "result_size", "duration_s", "refs", "error"})
CALL_REQUIRED = ("tool", "args", "result_size", "duration_s")
#: what re-scoring reads from a record's outcome and trajectory (present, even when null)
OUTCOME_REQUIRED = ("status", "error_class", "error_message", "latency_s", "seed")
TRAJECTORY_REQUIRED = ("scenario_id", "trial", "finding", "calls")


def record_key(suite_hash: str, scenario_id: str, trial: int, build_id: str) -> str:
    """The key of one trial's record: ``<suite_hash>/<scenario_id>/<trial>/<build_id>``."""
    return f"{suite_hash}/{scenario_id}/{int(trial)}/{build_id}"


def _number(v: Any) -> bool:
    """A JSON number a float can hold (NaN allowed: the journal writes NaN latencies)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return False
    try:
        float(v)
    except OverflowError:
        return False
    return True


def _finite(v: Any) -> bool:
    return _number(v) and math.isfinite(float(v))


def _int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and _number(v)


def _str_list(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(x, str) for x in v)


def _opt_str(v: Any) -> bool:
    return v is None or isinstance(v, str)


def _hypothesis_problem(h: Any, i: int) -> str | None:
    if not isinstance(h, dict) or not isinstance(h.get("component"), str):
        return f"finding.hypotheses[{i}] has no component"
    if not _opt_str(h.get("fault_type")):
        return f"finding.hypotheses[{i}].fault_type is not a string"
    if h.get("confidence") is not None and not _finite(h["confidence"]):
        return f"finding.hypotheses[{i}].confidence is not a number"
    if h.get("evidence") is not None and not _str_list(h["evidence"]):
        return f"finding.hypotheses[{i}].evidence is not a list of strings"
    return None


def _finding_problem(f: Any) -> str | None:
    if f is None:
        return None
    if not isinstance(f, dict):
        return "finding is not an object"
    hyps = f.get("hypotheses", [])
    if not isinstance(hyps, list):
        return "finding.hypotheses is not a list"
    for i, h in enumerate(hyps):
        if (problem := _hypothesis_problem(h, i)) is not None:
            return problem
    if not _opt_str(f.get("summary")) or not _opt_str(f.get("stderr")):
        return "finding.summary or finding.stderr is not a string"
    usage = f.get("usage")
    if usage is not None and (not isinstance(usage, dict)
                              or not all(v is None or _number(v) for v in usage.values())):
        return "finding.usage is not an object of numbers"
    return None


def _call_problem(c: Any, i: int) -> str | None:
    if not isinstance(c, dict) or not set(c) <= CALL_FIELDS or not all(k in c for k in CALL_REQUIRED):
        return f"calls[{i}] is not a tool call ({', '.join(CALL_REQUIRED)})"
    if not isinstance(c["tool"], str) or not isinstance(c["args"], dict):
        return f"calls[{i}].tool or .args has the wrong type"
    if not _opt_str(c["args"].get("component")):
        return f"calls[{i}].args.component is not a string"
    if not _int(c["result_size"]) or not _number(c["duration_s"]):
        return f"calls[{i}].result_size or .duration_s is not a number"
    if not _str_list(c.get("refs", [])) or not _opt_str(c.get("error")):
        return f"calls[{i}].refs or .error has the wrong type"
    return None


def _outcome_problem(o: Any) -> str | None:
    if not isinstance(o, dict):
        return "no outcome"
    if missing := [k for k in OUTCOME_REQUIRED if k not in o]:
        return f"outcome lacks {', '.join(missing)}"
    if not isinstance(o.get("status"), str) or o["status"] not in RECORD_STATUSES:
        return f"outcome.status is not one of {', '.join(sorted(RECORD_STATUSES))}"
    if not _opt_str(o.get("error_class")) or not _opt_str(o.get("error_message")):
        return "outcome.error_class or .error_message is not a string"
    if not _int(o.get("seed")) or not _number(o.get("latency_s")):
        return "outcome.seed or .latency_s is not a number"
    if "attempt" in o and not _int(o["attempt"]):
        return "outcome.attempt is not an integer"
    return None


def record_problem(rec: Any, *, suite_hash: str, build_id: str, trials: int,
                   scenario_ids: Collection[str] | None = None) -> str | None:
    """What makes ``rec`` (a parsed journal line) unusable for resuming, or None. ``scenario_ids``: the suite's
    scenarios (None: not checked)."""
    if not isinstance(rec, dict):
        return "not a JSON object"
    if missing := [k for k in ("key", "row", "trajectory", "outcome") if k not in rec]:
        return f"no {', '.join(missing)}"
    tr, row = rec["trajectory"], rec["row"]
    if not isinstance(rec["key"], str) or not isinstance(row, dict) or not isinstance(tr, dict):
        return "key, row or trajectory has the wrong type"
    if missing := [k for k in TRAJECTORY_REQUIRED if k not in tr]:
        return f"trajectory lacks {', '.join(missing)}"
    sid, trial = tr.get("scenario_id"), tr.get("trial")
    if not isinstance(sid, str) or not _int(trial):
        return "trajectory.scenario_id or .trial has the wrong type"
    if scenario_ids is not None and sid not in scenario_ids:
        return f"unknown scenario id '{sid}'"
    if not 0 <= trial < trials:
        return f"trial {trial} is outside 0..{trials - 1}"
    if rec["key"] != record_key(suite_hash, sid, trial, build_id):
        return "key does not match its scenario, trial, suite and build"
    for problem in (_outcome_problem(rec["outcome"]), _finding_problem(tr.get("finding"))):
        if problem is not None:
            return problem
    if row.get("status") != rec["outcome"]["status"]:
        return "row.status differs from outcome.status"
    calls = tr.get("calls")
    if not isinstance(calls, list):
        return "trajectory.calls is not a list"
    for i, c in enumerate(calls):
        if (problem := _call_problem(c, i)) is not None:
            return problem
    if not _opt_str(tr.get("stderr")):
        return "trajectory.stderr is not a string"
    return None
