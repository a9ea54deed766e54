"""The named parts of a candidate label's confidence, each in 0..1 with a reason when it is below 1:
specificity, support, consistency, leakage and duplication (solvability: :mod:`evalkit.labels.solvability`)."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Iterable

from evalkit.labels.implicate import implicated
from evalkit.labels.records import Candidate
from evalkit.vocab import ConfidencePart

#: a near-duplicate fires within this many seconds of an earlier label on the same alert
DUPLICATE_WINDOW_S = 1800
#: ... and its snapshot shares at least this share of components with it
DUPLICATE_JACCARD = 0.8
#: alert fields that name what fired, not a diagnosis
_ALERT_FACTS = {"component", "metric", "value", "threshold", "fired_at", "severity"}

Part = tuple[float, str]


def accepted(truth: dict, component: str | None) -> bool:
    return component is not None and (component == truth["component"] or component in truth.get("aliases", ()))


def specificity(c: Candidate) -> Part:
    """A concrete component present in the snapshot's topology, with a fault type."""
    if c.truth is None or not c.truth.get("component"):
        return 0.0, "the feedback names no component"
    names = {x["name"] for x in c.snapshot["components"]}
    if c.truth["component"] not in names:
        return 0.0, f"'{c.truth['component']}' is not in the snapshot's topology"
    if not c.truth.get("fault_type"):
        return 0.5, "the feedback names no fault type"
    return 1.0, ""


def support_and_consistency(c: Candidate, peers: list[Candidate]) -> tuple[Part, Part]:
    """Support: how strongly the snapshot implicates the truth, relative to the most implicated component.
    Consistency: the feedback agrees with the other feedback on the same incident, and a correction that
    overrules the agent is no weaker in the evidence than the agent's answer."""
    if c.truth is None:
        return (0.0, "no truth to support"), (0.0, "no truth to check")
    scores = implicated(c.snapshot, c.alert)
    top = max(scores.values(), default=0.0)
    truth = c.truth["component"]
    mine = scores.get(truth, 0.0)
    ratio = mine / top if top > 0 else 0.0
    best = max(scores, key=lambda k: scores[k]) if scores else "-"
    support = (ratio, "" if ratio >= 1.0 else f"the snapshot implicates '{truth}' {mine:g} of {top:g} ('{best}')")
    agree = [accepted(c.truth, p.truth["component"]) for p in peers if p.truth is not None]
    consistency: Part = (1.0, "")
    if agree and sum(agree) < len(agree):
        consistency = (sum(agree) / len(agree), f"{len(agree) - sum(agree)} of {len(agree)} other feedback on "
                                                f"incident '{c.incident}' name another component")
    answer = (c.answer or {}).get("component")
    if answer and not accepted(c.truth, answer) and scores.get(answer, 0.0) > mine:
        overruled = min(consistency[0], 0.25)
        consistency = (overruled, f"the correction overrules the agent's '{answer}', which the evidence implicates "
                                  f"more ({scores[answer]:g} vs {mine:g})")
    return support, consistency


def leakage(c: Candidate) -> Part:
    """The alert's free text (title, monitor, extra fields) must not name the cause or the fault."""
    if c.truth is None:
        return 1.0, ""
    text = " ".join(str(v) for k, v in c.alert.items() if k not in _ALERT_FACTS).lower()
    text = text.replace(str(c.alert.get("component", "")).lower(), " ")
    words = [c.truth["component"], *c.truth.get("aliases", ())]
    ft = c.truth.get("fault_type") or ""
    words += [ft, ft.replace("_", " ")] if ft else []
    for w in words:
        if w and re.search(rf"(?<![\w-]){re.escape(w.lower())}(?![\w-])", text):
            return 0.0, f"the alert spells out '{w}'"
    if "root cause" in text:
        return 0.0, "the alert states a root cause"
    return 1.0, ""


def duplication(cands: list[Candidate], existing: Iterable[dict] = ()) -> dict[str, Part]:
    """1 for the first label of an incident, 0 for a near-duplicate of an earlier candidate or of an existing
    scenario (same alerting component and metric, fired within DUPLICATE_WINDOW_S, same incident or at least
    DUPLICATE_JACCARD of shared components). ``existing``: visible scenario docs of a suite (``alert``,
    ``id``, optional ``components``)."""
    seen: dict[tuple, list[tuple[str, str, int, set[str]]]] = defaultdict(list)
    for doc in existing:
        a = doc["alert"]
        seen[(a.get("component"), a.get("metric"))].append((doc["id"], "", int(a.get("fired_at", 0)),
                                                           set(doc.get("components", ()))))
    out: dict[str, Part] = {}
    for c in cands:
        key = (c.alert.get("component"), c.alert.get("metric"))
        fired = int(c.alert.get("fired_at", 0))
        names = {x["name"] for x in c.snapshot["components"]}
        twin = next((sid for sid, inc, t, comps in seen[key] if (inc and inc == c.incident) or (
            abs(t - fired) <= DUPLICATE_WINDOW_S and (not comps or _jaccard(names, comps) >= DUPLICATE_JACCARD))), None)
        out[c.id] = (0.0, f"near-duplicate of '{twin}'") if twin else (1.0, "")
        seen[key].append((c.id, c.incident, fired, names))
    return out


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if (a or b) else 1.0


__all__ = ["ConfidencePart", "specificity", "support_and_consistency", "leakage", "duplication", "accepted"]
