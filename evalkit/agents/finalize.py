"""Turn what an agent returned into a checked Finding, the same way for every adapter.

A finding must parse (``Finding`` or its dict form), have finite confidences and name only components
that exist in the world; otherwise the investigation ends with ``MalformedOutput`` or
``UnknownComponent``. Also: how an adapter serves one tool call and attaches captured stderr/usage to a
failure.
"""

from __future__ import annotations

import json
import math
from typing import Any

from evalkit.agents.base import (AgentFailure, BudgetExceeded, Finding, MalformedOutput, UnknownComponent,
                                 UnknownToolCall)
from evalkit.agents.limits import DEFAULT_LIMITS, MessageLimits, check_finding_size
from evalkit.errors import printable
from evalkit.jsonable import jsonable
from evalkit.world.toolbox import Toolbox, ToolBudgetExceeded, ToolError, UnknownTool


def dumps(obj: Any) -> str:
    """Strict one-line JSON (no NaN/Infinity, which other languages' parsers reject)."""
    try:
        return json.dumps(obj, separators=(",", ":"), allow_nan=False, default=str)
    except ValueError:
        return json.dumps(jsonable(obj), separators=(",", ":"), allow_nan=False, default=str)


def parse_usage(doc: Any) -> dict[str, float]:
    """Validate an agent-reported usage dict (string -> finite number)."""
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise MalformedOutput(f"finding.usage must be an object of numbers, got {type(doc).__name__}")
    out: dict[str, float] = {}
    for k, v in doc.items():
        try:
            number = float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else math.nan
        except OverflowError:  # an integer beyond any float
            number = math.inf
        if not isinstance(k, str) or not math.isfinite(number):
            raise MalformedOutput(f"finding.usage[{printable(repr(k))[:80]}] must be a finite number, got "
                                  f"{printable(repr(v))[:80]}")
        out[k] = number
    return out


def to_finding(value: Any) -> Finding:
    """A Finding from a Finding or its dict form; MalformedOutput for anything else."""
    if isinstance(value, Finding):
        finding = value
        if not isinstance(finding.hypotheses, list) or not all(
                isinstance(getattr(h, "component", None), str) and h.component for h in finding.hypotheses):
            raise MalformedOutput("finding.hypotheses must be Hypothesis objects with a non-empty component")
    elif isinstance(value, dict):
        finding = Finding.from_dict(value)
        finding.usage = parse_usage(value.get("usage"))
    else:
        raise MalformedOutput(f"agent returned {type(value).__name__}, expected a Finding or a dict")
    for i, h in enumerate(finding.hypotheses):
        try:
            conf = float(h.confidence)
        except (TypeError, ValueError, OverflowError):
            raise MalformedOutput(f"finding.hypotheses[{i}].confidence must be a number") from None
        if not math.isfinite(conf):
            raise MalformedOutput(f"finding.hypotheses[{i}].confidence must be finite, got {h.confidence!r}")
    return finding


def finalize(value: Any, toolbox: Toolbox, limits: MessageLimits = DEFAULT_LIMITS) -> Finding:
    """Parse and check a returned finding: MalformedOutput (shape or size) / UnknownComponent, or the Finding."""
    finding = to_finding(value)
    check_finding_size(finding, limits)
    components = toolbox.component_names()
    if components is not None:  # None: a toolbox that only relays calls (an isolated agent's); the caller checks
        for h in finding.hypotheses:
            if h.component not in components:
                raise UnknownComponent(f"finding names component {h.component!r}, which is not in the world")
    return finding


def call_tool(toolbox: Toolbox, tool: str, args: dict) -> tuple[Any, str | None]:
    """Serve one tool call an agent asked for: ``(result, None)``, or ``(None, error)`` for the agent to read
    and recover from. A tool that does not exist ends the investigation (UnknownToolCall), as does an
    exhausted call budget (BudgetExceeded)."""
    try:
        return toolbox.call(tool, args), None
    except UnknownTool as exc:
        raise UnknownToolCall(str(exc)) from None
    except ToolBudgetExceeded as exc:
        raise BudgetExceeded(str(exc)) from None
    except ToolError as exc:
        return None, str(exc)
    except Exception as exc:  # noqa: BLE001 - odd argument values must not crash the caller
        return None, f"{tool} failed: {exc!r}"


def attach(exc: AgentFailure, *, stderr: str = "", usage: dict | None = None) -> AgentFailure:
    """Attach what was captured before a failure (``exc.stderr``, ``exc.usage``) for the runner to record."""
    if stderr and not getattr(exc, "stderr", ""):
        exc.stderr = stderr
    if usage and not getattr(exc, "usage", None):
        exc.usage = dict(usage)
    return exc
