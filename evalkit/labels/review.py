"""``evalkit label review``: the review queue and the keyboard-driven terminal review.

Flagged candidates are reviewed; of the others a ``spot_check_share`` (drawn with the policy's seed) is reviewed
too and the rest are auto-approved by the policy. Each key answers one candidate: ``a`` approve, ``r`` reject,
``e`` edit the truth (then ``<component> <fault_type>``), ``s`` skip, ``q`` quit; text after the key is the
reason. Scripted (stdin not a terminal) each line is one answer, e.g. ``e payments-db slow_query wrong service``.
Every decision is appended to the decision log at once, so a review killed half-way resumes where it stopped.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from evalkit.errors import printable
from evalkit.labels.decisions import Decision, DecisionLog, utc_iso
from evalkit.labels.policy import LabelPolicy
from evalkit.labels.records import Candidate, read_candidates
from evalkit.labels.validation import Score, read_scores
from evalkit.vocab import ReviewAction

KEYS = {"a": ReviewAction.APPROVE, "r": ReviewAction.REJECT, "e": ReviewAction.EDIT, "s": ReviewAction.SKIP}
POLICY_REVIEWER = "policy"


@dataclass
class ReviewSummary:
    """What a review session did: decisions taken now, candidates still open, auto-approved ones."""

    decided: dict[str, ReviewAction] = field(default_factory=dict)
    pending: list[str] = field(default_factory=list)
    auto_approved: list[str] = field(default_factory=list)


def review_queue(scores: dict[str, Score], policy: LabelPolicy,
                 order: list[str]) -> tuple[list[str], set[str], list[str]]:
    """(the ids to review: flagged first, then the spot-checks, each in ``order``; the spot-check ids; the ids
    to auto-approve)."""
    flagged = [k for k in order if k in scores and scores[k].flagged]
    passed = [k for k in order if k in scores and not scores[k].flagged]
    n = round(policy.spot_check_share * len(passed))
    spot = set(random.Random(policy.seed).sample(passed, n)) if n else set()
    return flagged + [k for k in passed if k in spot], spot, [k for k in passed if k not in spot]


def parse_answer(text: str) -> tuple[ReviewAction | None, dict | None, str]:
    """``(action, edited truth, reason)`` of one answer line; action None for ``q`` (quit) or a bad line."""
    words = text.strip().split()
    if not words or words[0].lower()[:1] not in KEYS:
        return None, None, "q" if words and words[0].lower() in ("q", "quit") else text.strip()
    action = KEYS[words[0].lower()[:1]]
    if action == ReviewAction.EDIT:
        if len(words) < 3:
            return None, None, "edit needs: e <component> <fault_type> [reason]"
        return action, {"component": words[1], "fault_type": words[2]}, " ".join(words[3:])
    return action, None, " ".join(words[1:])


def review(folder: str | Path, log: DecisionLog, reviewer: str, policy: LabelPolicy, answers: Iterator[str],
           show: Callable[[str], None], clock: Callable[[], float] = time.time) -> ReviewSummary:
    """Auto-approve what the policy admits, then ask ``answers`` about each open candidate of the queue."""
    scores = read_scores(folder)
    ordered = read_candidates(Path(folder))
    cands = {c.id: c for c in ordered}
    queue, spot, auto = review_queue(scores, policy, [c.id for c in ordered])
    done = log.final()
    out = ReviewSummary()
    for cid in auto:
        if cid not in done:
            log.append(Decision(cid, ReviewAction.AUTO_APPROVE, POLICY_REVIEWER, utc_iso(clock()),
                                "above every threshold"))
            out.auto_approved.append(cid)
    todo = [cid for cid in queue if cid not in done]
    for i, cid in enumerate(todo):
        show(describe(cands[cid], scores[cid], cid in spot, f"{i + 1}/{len(todo)}"))
        answer = _ask(answers, show, cands[cid])
        if answer is None:
            out.pending = todo[i:]
            break
        action, truth, reason = answer
        log.append(Decision(cid, action, reviewer, utc_iso(clock()), reason, truth, cid in spot))
        out.decided[cid] = action
        if action == ReviewAction.SKIP:
            out.pending.append(cid)
    return out


def _ask(answers: Iterator[str], show: Callable[[str], None],
         c: Candidate) -> tuple[ReviewAction, dict | None, str] | None:
    for line in answers:
        action, truth, reason = parse_answer(line)
        if action is None and reason == "q":
            return None
        problem = unadmissible(c, action, truth) if action is not None else \
            f"'{reason}': answer a [why] | r [why] | e <component> <fault_type> [why] | s | q"
        if problem is None:
            return action, truth, reason  # type: ignore[return-value]
        show(f"  ? {problem}")
    return None


def unadmissible(c: Candidate, action: ReviewAction, truth: dict | None) -> str | None:
    """Why ``action`` cannot be taken on ``c`` (an approval needs a truth, and a truth must be a component of
    the snapshot), or None."""
    if action == ReviewAction.APPROVE:
        truth = c.truth
        if truth is None:
            return "no truth to approve: edit it (e <component> <fault_type>) or reject it"
    if action in (ReviewAction.APPROVE, ReviewAction.EDIT) and truth is not None:
        if truth["component"] not in {x["name"] for x in c.snapshot["components"]}:
            return f"'{truth['component']}' is not a component of the snapshot: edit it or reject it"
    return None


def describe(c: Candidate, s: Score, spot: bool, position: str) -> str:
    """The terminal view of one candidate: alert, answer, truth, feedback, and the confidence parts."""
    truth = f"{c.truth['component']} / {c.truth['fault_type']}" if c.truth else "(none)"
    answer = f"{c.answer['component']} / {c.answer['fault_type']}" if c.answer else "(none)"
    lines = [f"[{position}] {c.id}  {'spot-check' if spot else 'flagged'}  confidence {s.confidence:.2f}"
             f"{'  HARD' if s.hard else ''}",
             f"  alert:    {c.alert.get('title', '')}", f"  agent:    {answer}", f"  truth:    {truth}"]
    lines += [f"  feedback: {f['kind']} {f.get('component') or ''} {f.get('text') or ''}".rstrip() for f in c.feedback]
    lines += [f"  {part:<12} {v:.2f}  {s.reasons.get(part, '')}".rstrip() for part, v in s.parts.items()]
    return "\n".join(printable(x) for x in lines)
