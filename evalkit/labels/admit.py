"""``evalkit label admit``: write the admitted labels into a suite through :mod:`evalkit.suite` (staged, deeply
validated, moved into place). Admitting into an existing harvested suite keeps its labels and bumps its minor
version, so the new suite has a new version and a new content hash. Truth files stay hidden as in every suite;
each carries its provenance (trace, feedback, the queries behind the snapshot, reviewer, decision time)."""

from __future__ import annotations

import shutil
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from evalkit.errors import UserError
from evalkit.labels.decisions import ADMITTED, Decision, DecisionLog, utc_iso
from evalkit.labels.harvest import category_of, complete_truth
from evalkit.labels.records import Candidate, read_candidates
from evalkit.labels.validation import Score, read_scores
from evalkit.vocab import ReviewAction

TAG_HARVESTED = "harvested"
TAG_HARD = "hard"


@dataclass
class AdmitResult:
    """The written suite: folder, version, content hash, the labels admitted now, those marked hard."""

    path: Path
    version: str
    hash: str
    admitted: list[str]
    hard: list[str] = field(default_factory=list)


def admit(folder: str | Path, log: DecisionLog, out: str | Path, *, name: str = "harvested",
          description: str = "Labels harvested from production investigations and their feedback.",
          clock: Callable[[], float] = time.time) -> AdmitResult:
    """Write every candidate whose final decision admits it into the suite ``out`` (created or extended)."""
    from evalkit.suite.importers.common import SuiteStage

    out = Path(out)
    cands = {c.id: c for c in read_candidates(Path(folder))}
    scores = read_scores(folder)
    decided = {k: d for k, d in log.final().items() if d.action in ADMITTED and k in cands}
    version, categories, kept = _previous(out)
    new = sorted(k for k in decided if k not in kept)
    if not new:
        raise UserError.at(str(log.path), "", "no new admitted label",
                           "approve candidates first (evalkit label review)")
    with SuiteStage(out, force=True) as stage:
        if kept:
            for sub in ("scenarios", "truth", "worlds"):
                if (out / sub).is_dir():
                    shutil.copytree(out / sub, stage.tmp / sub, dirs_exist_ok=True)
        for cid in new:
            cat = _add(stage, cands[cid], scores[cid], decided[cid])
            categories.setdefault(cat, "Harvested production incidents.")
        stage.write_suite_toml(name, version, description, {"source": "evalkit label admit",
                                                            "admitted_at": utc_iso(clock())}, categories,
                               default_trials=1)
        stage.per_category = {c: 1 for c in categories}
        done = stage.finish([])
    return AdmitResult(done.path, version, done.hash, new, [cid for cid in new if scores[cid].hard])


def _previous(out: Path) -> tuple[str, dict[str, str], set[str]]:
    """(the new version, the categories, the ids already in) of the suite at ``out`` (1.0.0 when new)."""
    toml = out / "suite.toml"
    if not toml.is_file():
        if out.exists() and any(out.iterdir()):
            raise UserError.at(str(out), "--suite", str(out), "is a folder without suite.toml; choose a new "
                                                             "folder or an existing harvested suite")
        return "1.0.0", {}, set()
    doc = tomllib.loads(toml.read_text(encoding="utf-8"))
    major, minor, *_ = (str(doc.get("version", "1.0.0")).split(".") + ["0", "0"])
    try:
        version = f"{int(major)}.{int(minor) + 1}.0"
    except ValueError:
        raise UserError.at(str(toml), "version", doc.get("version"), "use MAJOR.MINOR.PATCH") from None
    return version, dict(doc.get("categories", {})), {p.stem for p in (out / "scenarios").glob("*.json")}


def _add(stage, c: Candidate, s: Score, d: Decision) -> str:
    """Write one admitted candidate as scenario, world folder and truth file; returns its category."""
    import pandas as pd

    from evalkit.suite.importers.common import WorldFiles

    truth = c.truth or {}
    if d.action == ReviewAction.EDIT and d.truth:
        truth = complete_truth(d.truth["component"], d.truth["fault_type"], c.snapshot)
    category = category_of(truth, c.category)
    snap = c.snapshot
    world = WorldFiles(snap["components"], [tuple(e) for e in snap["edges"]],
                       pd.DataFrame(snap["metrics"], columns=["ts", "component", "metric", "value"]),
                       snap["units"], snap["logs"], snap["traces"], snap["monitors"], snap["events"])
    provenance = {"trace_id": c.trace_id, "incident": c.incident, "build": c.build, "feedback": c.feedback,
                  "agent_answer": c.answer, "queries": c.queries, "reviewer": d.reviewer, "decision": str(d.action),
                  "decided_at": d.at, "reason": d.reason, "confidence": s.parts}
    doc = {k: truth[k] for k in ("component", "fault_type", "aliases", "evidence", "distractors")}
    tags = [TAG_HARVESTED] + ([TAG_HARD] if s.hard else [])
    w = c.window
    stage.add_scenario(c.id, category, c.alert, (w["start"], w["end"], w["step"]), world,
                       {**doc, "provenance": provenance}, tags, "A harvested production incident.")
    return category
