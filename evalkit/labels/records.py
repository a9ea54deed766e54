"""What harvest reads from one trace (:class:`HarvestedTrace`) and what it writes per trace (:class:`Candidate`)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from evalkit.errors import UserError
from evalkit.vocab import FeedbackKind


@dataclass
class ToolRecord:
    """One tool call a trace recorded: the tool, its arguments, its result and the signals it looked at."""

    tool: str
    args: dict
    result: Any
    refs: list[str] = field(default_factory=list)
    error: str | None = None
    result_size: int | None = None  # bytes of the result's JSON, when the trace recorded it


@dataclass
class Feedback:
    """One assessment on a trace, read as root-cause feedback: a correction (component, fault type), a
    confirmation, a rejection or a comment; ``text`` keeps the free text, ``source`` who gave it."""

    kind: FeedbackKind
    component: str | None = None
    fault_type: str | None = None
    text: str = ""
    source: str = ""
    at_ms: int = 0


@dataclass
class HarvestedTrace:
    """An investigation as a mapping read it from a trace: the alert, the tool calls, the agent's answer and
    the feedback. ``incident`` groups traces of the same incident (their feedback must agree)."""

    trace_id: str
    incident: str
    build: str
    alert: dict
    tools: list[ToolRecord]
    finding: dict | None = None
    feedback: list[Feedback] = field(default_factory=list)
    window: dict | None = None
    category: str | None = None
    at_ms: int = 0


@dataclass
class Candidate:
    """A candidate label: the visible part (alert, window, world snapshot) and the hidden part (truth, feedback,
    the agent's answer, the queries that produced the snapshot). Candidate files are never shown to an agent."""

    id: str
    trace_id: str
    incident: str
    build: str
    at_ms: int
    category: str
    alert: dict
    window: dict
    snapshot: dict
    truth: dict | None
    answer: dict | None
    feedback: list[dict]
    queries: list[dict]

    def to_dict(self) -> dict:
        """The fields as a (shallow) dict: the snapshot is plain JSON data already, so no deep copy."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, doc: dict) -> "Candidate":
        return cls(**doc)


CANDIDATES_DIR = "candidates"


def write_candidate(folder: Path, cand: Candidate) -> None:
    """``<folder>/candidates/<id>.json`` (compact JSON: a harvest writes thousands)."""
    path = Path(folder) / CANDIDATES_DIR / f"{cand.id}.json"
    path.write_text(json.dumps(cand.to_dict(), separators=(",", ":"), sort_keys=True, default=str), encoding="utf-8")


def read_candidates(folder: Path) -> list[Candidate]:
    """Every candidate of a harvest folder, oldest trace first (ties by id)."""
    base = Path(folder) / CANDIDATES_DIR
    if not base.is_dir():
        raise UserError.at(str(folder), "", "no candidates/ folder",
                           "give the --output-dir folder of `evalkit label harvest`")
    out = []
    for p in sorted(base.glob("*.json")):
        try:
            doc = json.loads(p.read_text(encoding="utf-8"))
            cand = Candidate.from_dict(doc) if isinstance(doc, dict) else None
        except (ValueError, TypeError, OSError, RecursionError) as exc:  # JSON, UTF-8, fields, a folder
            raise UserError.at(str(p), "", f"unreadable candidate ({type(exc).__name__})",
                               "harvest again into a fresh folder") from None
        if cand is None:
            raise UserError.at(str(p), "", "not a JSON object", "harvest again into a fresh folder")
        _check_candidate(p, cand)
        out.append(cand)
    return sorted(out, key=lambda c: (c.at_ms, c.id))


_SHAPES = {"alert": dict, "window": dict, "snapshot": dict, "truth": (dict, type(None)),
           "answer": (dict, type(None)), "feedback": list, "queries": list}


def _check_candidate(path: Path, cand: Candidate) -> None:
    """A candidate's id names files of the suite it is admitted to: it must be its own file's name and a scenario
    id (no folder, no ``..``); the fields later steps read must have their JSON type."""
    from evalkit.suite.suite_file import ID_RE

    if not isinstance(cand.id, str) or cand.id != path.stem or not ID_RE.fullmatch(cand.id):
        raise UserError.at(str(path), "id", cand.id, f"must be the file's name ({path.stem}) and a scenario id "
                           "(letters, digits, '-', '_', '.'; no folders); harvest again into a fresh folder")
    for name, kind in _SHAPES.items():
        if not isinstance(getattr(cand, name), kind):
            raise UserError.at(str(path), name, type(getattr(cand, name)).__name__,
                               "not the type a harvest writes; harvest again into a fresh folder")
