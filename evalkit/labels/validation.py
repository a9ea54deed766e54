"""``evalkit label validate``: score every candidate of a harvest folder and write ``scores.json``.

A candidate is *flagged* (it goes to the review queue) when a gated part falls below the policy's threshold;
its confidence is the smallest gated part. Solvability only marks it *hard*.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable

from evalkit.atomic import atomic_write
from evalkit.errors import UserError
from evalkit.labels import confidence as conf
from evalkit.labels.policy import GATED, LabelPolicy
from evalkit.labels.records import Candidate, read_candidates
from evalkit.labels.solvability import solve_in_worker
from evalkit.parallel import ordered_map
from evalkit.vocab import ConfidencePart

SCORES_FILE = "scores.json"


@dataclass
class Score:
    """The confidence of one candidate: its parts, why each is below 1, the verdict of the policy."""

    id: str
    parts: dict[str, float]
    reasons: dict[str, str] = field(default_factory=dict)
    confidence: float = 0.0
    flagged: bool = False
    hard: bool = False


def validate_folder(folder: str | Path, policy: LabelPolicy, *, against: str | Path | None = None,
                    jobs: int = 1) -> list[Score]:
    """Score the candidates in ``folder`` (``against``: a suite whose scenarios count for duplication;
    ``jobs``: processes for the solvability investigations)."""
    from evalkit.suite import load_suite

    cands = read_candidates(Path(folder))
    existing = [{"id": s.id, "alert": s.alert} for s in load_suite(against).scenarios] if against else []
    scores = score_candidates(cands, policy, existing, jobs=jobs)
    atomic_write(Path(folder) / SCORES_FILE,
                 json.dumps({s.id: asdict(s) for s in scores}, indent=1, sort_keys=True) + "\n")
    return scores


def score_candidates(cands: list[Candidate], policy: LabelPolicy, existing: Iterable[dict] = (),
                     jobs: int = 1) -> list[Score]:
    """Scores of ``cands`` (oldest first: an earlier label of an incident is the original, later ones dups).
    Solvability is checked for the candidates the gated parts pass (a flagged one is reviewed anyway)."""
    by_incident: dict[str, list[Candidate]] = defaultdict(list)
    for c in cands:
        by_incident[c.incident].append(c)
    dup = conf.duplication(cands, existing)
    all_parts: list[dict[str, tuple[float, str]]] = []
    for c in cands:
        support, consistency = conf.support_and_consistency(c, [p for p in by_incident[c.incident] if p.id != c.id])
        all_parts.append({ConfidencePart.SPECIFICITY: conf.specificity(c), ConfidencePart.SUPPORT: support,
                          ConfidencePart.CONSISTENCY: consistency, ConfidencePart.LEAKAGE: conf.leakage(c),
                          ConfidencePart.DUPLICATION: dup[c.id]})
    if policy.solvability_build:
        passed = [i for i, parts in enumerate(all_parts) if not _verdict("", parts, policy).flagged]
        work = [(cands[i].to_dict(), policy.solvability_build, policy.solvability_budget) for i in passed]
        for i, part in zip(passed, ordered_map(solve_in_worker, work, jobs)):
            all_parts[i][ConfidencePart.SOLVABILITY] = part
    return [_verdict(c.id, parts, policy) for c, parts in zip(cands, all_parts)]


def _verdict(cid: str, parts: dict[str, tuple[float, str]], policy: LabelPolicy) -> Score:
    values = {str(k): round(float(v), 4) for k, (v, _) in parts.items()}
    reasons = {str(k): why for k, (_, why) in parts.items() if why}
    gated = [values[p] for p in GATED]
    flagged = any(values[p] < policy.thresholds[p] for p in GATED)
    hard = values.get(ConfidencePart.SOLVABILITY, 1.0) < 1.0
    return Score(cid, values, reasons, min(gated), flagged, hard)


def read_scores(folder: str | Path) -> dict[str, Score]:
    """The scores of a validated harvest folder, by candidate id."""
    path = Path(folder) / SCORES_FILE
    if not path.is_file():
        raise UserError.at(str(folder), "", "no scores.json", "run `evalkit label validate` on it first")
    return {k: Score(**v) for k, v in json.loads(path.read_text(encoding="utf-8")).items()}
