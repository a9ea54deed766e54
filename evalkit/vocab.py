"""The words evalkit stores: trial statuses, error classes, verdicts and stop reasons, each spelled once as a
``StrEnum``.

They live together in this leaf module (it imports nothing) because every layer reads them — the runner
and the adapters write statuses and error classes, scoring, the store and the summary count them, compare
and drift decide verdicts that reports, the gate, the CLI and notebooks show — and a home inside any one
of those folders would make the others import upwards. Members *are* their stored strings
(``Status.OK == "ok"``, ``f"{Verdict.REGRESSED}" == "regressed"``), so results tables, journals, JSON
reports and MLflow tags stay byte-identical.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class Status(StrEnum):
    """How a trial ended (the ``status`` column of the results table)."""

    OK = "ok"
    AGENT_ERROR = "agent_error"
    INFRA_ERROR = "infra_error"
    #: not a row status: the worker hit a user error (stale or broken suite, bad agent spec) and the run stops.
    SETUP_ERROR = "setup_error"


class ErrorClass(StrEnum):
    """Why a trial failed (the ``error_class`` column; ``""`` when it did not). ``infra_*`` classes are
    infrastructure failures: reported apart, retried, never counted as quality regressions."""

    AGENT_ERROR = "agent_error"
    AGENT_CRASH = "agent_crash"
    AGENT_EXIT = "agent_exit"
    TIMEOUT = "timeout"
    MALFORMED_OUTPUT = "malformed_output"
    UNKNOWN_TOOL = "unknown_tool"
    UNKNOWN_COMPONENT = "unknown_component"
    BUDGET_EXCEEDED = "budget_exceeded"
    SCORER_ERROR = "scorer_error"
    INFRA_ERROR = "infra_error"
    INFRA_UNREACHABLE = "infra_unreachable"
    INFRA_RATE_LIMITED = "infra_rate_limited"
    INFRA_EXECUTOR = "infra_executor"
    #: the class of a SETUP_ERROR outcome (never in a results table).
    SETUP_ERROR = "setup_error"


#: the failure classes an agent's own process may claim for itself (the isolated worker relays them);
#: never infrastructure, scorer or setup classes, which only evalkit decides.
AGENT_REPORTABLE = frozenset({ErrorClass.AGENT_CRASH, ErrorClass.AGENT_EXIT, ErrorClass.TIMEOUT,
                              ErrorClass.MALFORMED_OUTPUT, ErrorClass.UNKNOWN_TOOL, ErrorClass.BUDGET_EXCEEDED,
                              ErrorClass.UNKNOWN_COMPONENT})


class Verdict(StrEnum):
    """The judgement of a (category, metric) cell, of a whole comparison, or of a build in the drift view."""

    REGRESSED = "regressed"
    IMPROVED = "improved"
    #: compare / gate: the drop is shown to be smaller than the margin (non-inferiority) — a gain may hide here
    NOT_WORSE = "not-worse"
    #: drift only: the change is shown to lie within ±margin on both sides (equivalence).
    UNCHANGED = "unchanged"
    INCONCLUSIVE = "inconclusive"
    #: sequential design: a drop of delta (the smallest regression that matters) or more is ruled out, though
    #: the cell is not shown within the margin.
    WITHIN_DELTA = "within-delta"
    #: drift only: the build has no value for the cell.
    MISSING = "missing"


class Stop(StrEnum):
    """Why a category of a sequential gate stopped drawing scenarios from its pool (``open``: it has not)."""

    REGRESSED = "regressed"
    WITHIN_DELTA = "no drop >= delta"
    POOL_SPENT = "pool spent"
    BUDGET = "budget reached"
    OPEN = "open"


class SandboxMode(StrEnum):
    """How ``cmd:`` agents are sandboxed: ``on`` (default: namespaces, hidden truth, network kept),
    ``strict`` (also no network) or ``none`` (the explicit opt-out, recorded with the run)."""

    ON = "on"
    STRICT = "strict"
    NONE = "none"


class ConfidencePart(StrEnum):
    """The named parts of a harvested label's confidence score (evalkit.labels.confidence)."""

    SPECIFICITY = "specificity"
    SUPPORT = "support"
    CONSISTENCY = "consistency"
    LEAKAGE = "leakage"
    DUPLICATION = "duplication"
    SOLVABILITY = "solvability"


class ReviewAction(StrEnum):
    """A decision on a candidate label in the review log (evalkit.labels.decisions); ``auto-approve`` is the
    policy's admission of an above-threshold candidate that was not drawn for a spot-check."""

    APPROVE = "approve"
    REJECT = "reject"
    EDIT = "edit"
    SKIP = "skip"
    AUTO_APPROVE = "auto-approve"


class FeedbackKind(StrEnum):
    """What one assessment on a trace says about the root cause (evalkit.labels.harvest)."""

    CORRECTION = "correction"      # names the component (and fault type)
    CONFIRMATION = "confirmation"  # thumbs-up: the agent's answer is right
    REJECTION = "rejection"        # thumbs-down without a correction
    COMMENT = "comment"            # free text only


class Correction(StrEnum):
    """How a gate corrects its p-values for multiple cells (``[gate] correction``, ``compare --method``)."""

    HOLM = "holm"  # family-wise error: the gate (a false alarm blocks a merge)
    BH = "bh"  # Benjamini–Hochberg false discovery rate: dashboards, triage


class GateTest(StrEnum):
    """The test a gate uses on its cells (``[gate] test``)."""

    AUTO = "auto"
    T = "t"
    WILSON = "wilson"
    SCORE = "score"
    PERMUTATION = "permutation"


class Design(StrEnum):
    """A gate's design (``[gate] design``; ``auto``: sequential on pool suites, fixed otherwise)."""

    AUTO = "auto"
    FIXED = "fixed"
    SEQUENTIAL = "sequential"


class ProgressMode(StrEnum):
    """How progress is shown on stderr (``auto``: a bar on a terminal, a line every few seconds otherwise)."""

    AUTO = "auto"
    BAR = "bar"
    LINES = "lines"
    QUIET = "quiet"


class ReportCommand(StrEnum):
    """The command a report's comparison comes from (its title names it)."""

    GATE = "gate"  # ran the candidate, then compared
    COMPARE = "compare"  # compared two stored runs (``evalkit compare``, ``evalkit report``)


class Role(StrEnum):
    """What a logged run is for (the ``evalkit.role`` tag)."""

    CANDIDATE = "candidate"
    BASELINE = "baseline"
    HISTORY = "history"


class ReportFormat(StrEnum):
    """The report files a gate or comparison writes (``evalkit report --format`` prints one of them)."""

    MARKDOWN = "markdown"  # report.md
    JUNIT = "junit"  # junit.xml
    TEXT = "text"  # report.txt, the terminal table
    JSON = "json"  # comparison.json


class Direction(StrEnum):
    """Which way a metric is better (the ``direction`` column of comparisons and drift)."""

    HIGHER = "higher"
    LOWER = "lower"

    @classmethod
    def of(cls, sign: Any) -> Any:
        """The direction of a metric sign (+1 higher is better, -1 lower is better); for an array of signs, an
        array of the directions' values."""
        import numpy as np

        if np.ndim(sign) == 0:
            return cls.HIGHER if sign > 0 else cls.LOWER
        return np.where(np.asarray(sign) > 0, cls.HIGHER.value, cls.LOWER.value)


class Outcome(StrEnum):
    """How a logged run's upload ended (the ``evalkit.outcome`` tag)."""

    COMPLETE = "complete"
    FAILED = "failed"


class Source(StrEnum):
    """How a run reached the store (the ``evalkit.source`` tag)."""

    DIRECT = "direct"
    OUTBOX = "outbox"
    IMPORT = "import"


def values(vocab: type[StrEnum]) -> tuple[str, ...]:
    """The plain stored strings of ``vocab``, in order (for click choices and pydantic literals)."""
    return tuple(member.value for member in vocab)


__all__ = ["Status", "ErrorClass", "Stop", "Verdict", "SandboxMode", "ConfidencePart", "ReviewAction",
           "FeedbackKind", "Correction", "GateTest", "Design", "ProgressMode", "ReportCommand", "Role", "ReportFormat",
           "Direction", "Outcome", "Source", "values"]
