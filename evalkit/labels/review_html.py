"""The static HTML review page: every candidate with its alert, answers, feedback, evidence, confidence parts and
the decision the log holds. Everything shown is escaped (alerts and feedback are user text)."""

from __future__ import annotations

from html import escape
from pathlib import Path

from evalkit.labels.decisions import DecisionLog
from evalkit.labels.records import Candidate, read_candidates
from evalkit.labels.validation import Score, read_scores

_STYLE = ("body{font:14px sans-serif;margin:1.5em}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
          "padding:4px 6px;vertical-align:top}.low{background:#fdd}.hard{color:#a50}code{font-size:12px}")


def write_review_html(folder: str | Path, log: DecisionLog, out: str | Path) -> Path:
    """Write the page for the candidates of ``folder`` (flagged first) and return its path."""
    scores = read_scores(folder)
    decided = log.final()
    cands = sorted(read_candidates(Path(folder)), key=lambda c: (not scores[c.id].flagged, c.id))
    rows = "\n".join(_row(c, scores[c.id], decided.get(c.id)) for c in cands)
    head = "".join(f"<th>{h}</th>" for h in ("candidate", "alert", "agent / truth", "feedback", "evidence",
                                             "confidence", "decision"))
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>evalkit label review</title>"
            f"<style>{_STYLE}</style></head><body><h1>Candidate labels ({len(cands)})</h1>"
            f"<table><tr>{head}</tr>\n{rows}</table></body></html>\n")
    path = Path(out)
    path.write_text(page, encoding="utf-8")
    return path


def _row(c: Candidate, s: Score, decision) -> str:
    e = escape
    truth = f"{c.truth['component']} / {c.truth['fault_type']}" if c.truth else "(none)"
    answer = f"{c.answer['component']} / {c.answer['fault_type']}" if c.answer else "(none)"
    feedback = "<br>".join(e(f"{f['kind']}: {f.get('component') or ''} {f.get('text') or ''} ({f.get('source')})")
                           for f in c.feedback)
    evidence = "<br>".join(f"<code>{e(ref)}</code>" for ref in (c.truth or {}).get("evidence", [])[:12])
    parts = "<br>".join(f"<span class='{'low' if v < 1 else ''}'>{e(p)} {v:.2f}</span> {e(s.reasons.get(p, ''))}"
                        for p, v in s.parts.items())
    status = "flagged" if s.flagged else "passed"
    verdict = e(f"{decision.action} by {decision.reviewer} at {decision.at}: {decision.reason}") if decision else "open"
    return (f"<tr><td><b>{e(c.id)}</b><br>{status}{' <span class=hard>hard</span>' if s.hard else ''}"
            f"<br>{len(c.queries)} queries</td><td>{e(str(c.alert.get('title', '')))}</td>"
            f"<td>agent: {e(answer)}<br>truth: {e(truth)}</td><td>{feedback}</td><td>{evidence}</td>"
            f"<td>{s.confidence:.2f}<br>{parts}</td><td>{verdict}</td></tr>")
