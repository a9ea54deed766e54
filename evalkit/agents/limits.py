"""Bounds on what an agent may send: message and trial size, JSON depth and number length, finding shape.

An agent's output is untrusted input: a 30 MB summary, a 400-digit confidence or JSON nested 100,000 deep
must end the investigation as ``malformed_output`` with the limit in the message, never as a crash inside
evalkit or a journal of hundreds of megabytes. The same :class:`MessageLimits` apply to every adapter
(subprocess, Python, OpenAI); the defaults are documented in ``docs/agent-protocol.md``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from evalkit.errors import Problem, UserError, whole_number

if TYPE_CHECKING:
    from evalkit.agents.base import Finding


def _malformed(message: str) -> Exception:
    from evalkit.agents.base import MalformedOutput  # imported late: RunConfig (and `evalkit --help`) reads this module

    return MalformedOutput(message)


@dataclass(frozen=True)
class MessageLimits:
    """Upper bounds on an agent's output (change them with ``RunConfig(limits=MessageLimits(...))``)."""

    #: bytes of one protocol message (one stdout line of a ``cmd:`` agent).
    message_bytes: int = 1 << 20
    #: bytes an agent sends over a whole investigation (all its messages).
    trial_bytes: int = 8 << 20
    #: characters of ``finding.summary``.
    summary_chars: int = 20_000
    #: hypotheses in a finding.
    hypotheses: int = 50
    #: evidence references per hypothesis.
    evidence_items: int = 200
    #: characters of one string in a finding (component, fault type, evidence reference).
    string_chars: int = 1_000
    #: nesting depth of a JSON message.
    json_depth: int = 64
    #: digits of a JSON number.
    number_digits: int = 40

    def __post_init__(self) -> None:
        bad = [Problem("limits", f.name, getattr(self, f.name), "give a whole number >= 1")
               for f in fields(self) if not whole_number(getattr(self, f.name), 1)]
        if bad:
            raise UserError(*bad)


DEFAULT_LIMITS = MessageLimits()


def loads(data: bytes | str, limits: MessageLimits = DEFAULT_LIMITS) -> Any:
    """Parse one JSON message within the limits; MalformedOutput (with the limit) for anything else."""
    if len(data) > limits.message_bytes:
        raise _malformed(f"message of {len(data)} bytes is over the limit of {limits.message_bytes} bytes")

    def number(text: str, kind: type) -> Any:
        if len(text.lstrip("-")) > limits.number_digits:
            raise _malformed(f"number with {len(text)} characters is over the limit of {limits.number_digits} digits")
        value = kind(text)
        if kind is float and not math.isfinite(value):
            raise _malformed(f"number {text[:40]} is out of range")
        return value

    def constant(name: str) -> Any:
        raise _malformed(f"{name} is not JSON; send finite numbers")

    try:
        doc = json.loads(data, parse_int=lambda t: number(t, int), parse_float=lambda t: number(t, float),
                         parse_constant=constant)
    except RecursionError:
        raise _malformed(f"JSON nested deeper than the limit of {limits.json_depth} levels") from None
    check_depth(doc, limits.json_depth)
    return doc


def check_depth(doc: Any, limit: int) -> None:
    """MalformedOutput when ``doc`` nests lists/objects deeper than ``limit`` (iterative: no recursion)."""
    stack = [(doc, 1)] if isinstance(doc, (dict, list)) else []  # only containers are stacked
    while stack:
        value, depth = stack.pop()
        if depth > limit:
            raise _malformed(f"JSON nested deeper than the limit of {limit} levels")
        children = value.values() if isinstance(value, dict) else value
        stack.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))


def check_finding_size(finding: Finding, limits: MessageLimits = DEFAULT_LIMITS) -> None:
    """MalformedOutput when a finding is larger than the limits allow (whatever adapter produced it)."""
    _at_most("finding.summary", len(finding.summary), "characters", limits.summary_chars)
    _at_most("finding", len(finding.hypotheses), "hypotheses", limits.hypotheses)
    for i, h in enumerate(finding.hypotheses):
        _at_most(f"finding.hypotheses[{i}].evidence", len(h.evidence), "items", limits.evidence_items)
        for name, text in (("component", h.component), ("fault_type", h.fault_type or ""),
                           *(("evidence", e) for e in h.evidence)):
            _at_most(f"finding.hypotheses[{i}].{name}", len(text), "characters", limits.string_chars)


def _at_most(what: str, count: int, unit: str, limit: int) -> None:
    """MalformedOutput ``<what> has <count> <unit>, over the limit of <limit>`` when ``count`` is over it."""
    if count > limit:
        raise _malformed(f"{what} has {count} {unit}, over the limit of {limit}")


__all__ = ["MessageLimits", "DEFAULT_LIMITS", "loads", "check_depth", "check_finding_size"]
