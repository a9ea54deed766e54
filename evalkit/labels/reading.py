"""Reading a trace as an investigation: the default mapping for evalkit's span convention (docs/labels.md) and
the feedback of its assessments. Another convention plugs in as a mapping hook, a Python callable
``fn(trace) -> HarvestedTrace | None`` named ``pkg.module:fn`` (it may reuse :func:`feedback_of`)."""

from __future__ import annotations

import importlib
from typing import Any, Callable

from evalkit.errors import UserError
from evalkit.labels.records import Feedback, HarvestedTrace, ToolRecord
from evalkit.store import names
from evalkit.vocab import FeedbackKind

#: a mapping hook: one MLflow trace -> an investigation (None: not an investigation, skipped)
Mapping = Callable[[Any], "HarvestedTrace | None"]


def evalkit_convention(trace: Any) -> HarvestedTrace | None:
    """The documented convention: the root span's inputs hold ``alert`` (and optionally ``window``), its outputs
    ``finding``; each span of type TOOL is one tool call named after the tool, inputs = arguments, outputs =
    result. Trace tags ``evalkit.scenario_id`` (the incident), ``evalkit.build_id`` and ``evalkit.category``
    are optional."""
    spans = trace.data.spans
    root = next((s for s in spans if s.parent_id is None), None)
    inputs = root.inputs if root is not None and isinstance(root.inputs, dict) else {}
    if not isinstance(inputs.get("alert"), dict):
        return None
    outputs = root.outputs if isinstance(root.outputs, dict) else {}
    tools = [_tool(s) for s in sorted(spans, key=lambda s: s.start_time_ns) if str(s.span_type) == "TOOL"]
    info = trace.info
    tags = info.tags or {}
    return HarvestedTrace(info.trace_id, tags.get(names.TRACE_TAG_SCENARIO, info.trace_id),
                          tags.get(names.TAG_BUILD, ""), inputs["alert"], tools, outputs.get("finding"),
                          feedback_of(trace), inputs.get("window"), tags.get(names.TRACE_TAG_CATEGORY),
                          int(info.request_time or 0))


def _tool(span: Any) -> ToolRecord:
    attrs = span.attributes
    size = attrs.get(names.SPAN_ATTR_SIZE)
    return ToolRecord(span.name, span.inputs if isinstance(span.inputs, dict) else {}, span.outputs,
                      list(attrs.get(names.SPAN_ATTR_REFS) or []), attrs.get(names.SPAN_ATTR_ERROR),
                      size if isinstance(size, int) else None)


def feedback_of(trace: Any) -> list[Feedback]:
    """The root-cause feedback among a trace's valid assessments, oldest first: ``root_cause`` (expectation or
    feedback, ``{"component", "fault_type"}``) is a correction, ``root_cause_correct`` a thumbs-up/down, and
    ``comment`` (or any rationale) free text."""
    out = []
    for a in sorted(trace.info.assessments or [], key=lambda a: a.create_time_ms or 0):
        if a.valid is False:
            continue
        value, text = a.value, getattr(a, "rationale", None) or ""
        source = getattr(a.source, "source_id", "") or ""
        at = int(a.create_time_ms or 0)
        if a.name == names.ASSESS_ROOT_CAUSE and isinstance(value, dict):
            comp, ft = value.get("component"), value.get("fault_type")
            out.append(Feedback(FeedbackKind.CORRECTION if comp else FeedbackKind.COMMENT,
                                comp if isinstance(comp, str) else None, ft if isinstance(ft, str) else None,
                                text, source, at))
        elif a.name == names.ASSESS_CORRECT and isinstance(value, bool):
            out.append(Feedback(FeedbackKind.CONFIRMATION if value else FeedbackKind.REJECTION, text=text,
                                source=source, at_ms=at))
        elif a.name == names.ASSESS_COMMENT:
            out.append(Feedback(FeedbackKind.COMMENT, text=str(value or text), source=source, at_ms=at))
    return out


def load_mapping(spec: str | None) -> Mapping:
    """The mapping hook named ``pkg.module:function`` (None: :func:`evalkit_convention`)."""
    if not spec:
        return evalkit_convention
    module, _, attr = spec.partition(":")
    try:
        fn = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError, ValueError) as exc:
        raise UserError.at("--mapping", "", spec, f"cannot load it ({type(exc).__name__}); give an importable "
                                                 "pkg.module:function taking an MLflow trace") from None
    if not callable(fn):
        raise UserError.at("--mapping", "", spec, "is not callable; give a function fn(trace)")
    return fn
