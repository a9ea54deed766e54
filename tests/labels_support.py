"""Candidate labels built without MLflow: a smoke-suite world queried through the Toolbox as an agent would."""

from __future__ import annotations

import functools
from pathlib import Path

from evalkit.labels.harvest import candidate_of
from evalkit.labels.records import Candidate, Feedback, HarvestedTrace, ToolRecord
from evalkit.vocab import FeedbackKind

REPO = Path(__file__).resolve().parents[1]
SCENARIO = "database-slow-query-001"  # alert on 'metering', truth 'profiles-db' (see tests/adversarial)


def investigation(alert_title: str | None = None) -> tuple[dict, list[ToolRecord]]:
    """The alert and the tool records of a broad look at the smoke scenario's world."""
    alert, records = _investigation()
    return ({**alert, "title": alert_title} if alert_title is not None else dict(alert)), records


@functools.lru_cache(maxsize=1)
def _investigation() -> tuple[dict, list[ToolRecord]]:
    from evalkit.suite import load_suite, load_world
    from evalkit.world.toolbox import Toolbox

    suite = load_suite(REPO / "suites" / "smoke")
    scenario = next(s for s in suite.scenarios if s.id == SCENARIO)
    tb = Toolbox(load_world(scenario), max_calls=200)
    calls: list[tuple[str, dict]] = [("get_alert", {}), ("list_components", {}), ("get_topology", {}),
                                     ("list_events", {}), ("list_monitors", {}),
                                     ("search_logs", {"level": "ERROR", "limit": 500}),
                                     ("search_logs", {"level": "WARN", "limit": 500}),
                                     ("get_traces", {"errors_only": True, "limit": 200})]
    names = [c["name"] for c in tb.list_components() if c["kind"] in ("service", "database", "gateway")]
    calls += [("query_metric", {"component": n, "metric": m["metric"]})
              for n in names for m in tb.list_metrics(n)]
    records = [ToolRecord(tool, args, tb.call(tool, args)) for tool, args in calls]
    return dict(records[0].result), records


def candidate(feedback: list[Feedback], *, answer: str = "profiles-db", incident: str = SCENARIO,
              trace_id: str = "tr-1", at_ms: int = 1, alert_title: str | None = None) -> Candidate:
    alert, records = investigation(alert_title)
    finding = {"hypotheses": [{"component": answer, "fault_type": "slow_query"}]}
    return candidate_of(HarvestedTrace(trace_id, incident, "reference:v4", alert, records, finding, feedback,
                                       at_ms=at_ms))


def correction(component: str, fault_type: str = "slow_query", text: str = "") -> Feedback:
    return Feedback(FeedbackKind.CORRECTION, component, fault_type, text, "oncall-1", 1)


def thumbs(up: bool, text: str = "") -> Feedback:
    return Feedback(FeedbackKind.CONFIRMATION if up else FeedbackKind.REJECTION, text=text, source="oncall-2")
