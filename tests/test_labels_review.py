"""Review of candidate labels: the decision log is append-only and the source of truth, a review killed
half-way resumes where it stopped, the HTML page escapes what users wrote, admission writes a valid suite
whose truth (and its provenance) stays out of what an agent sees."""

from __future__ import annotations

import json

import pytest

from evalkit.labels.admit import admit
from evalkit.labels.decisions import Decision, DecisionLog
from evalkit.labels.policy import LabelPolicy
from evalkit.labels.records import CANDIDATES_DIR, write_candidate
from evalkit.labels.review import review
from evalkit.labels.review_html import write_review_html
from evalkit.labels.validation import validate_folder
from evalkit.vocab import ReviewAction

from fake_clock import FakeClock
from labels_support import candidate, correction, thumbs

POLICY = LabelPolicy(solvability_build=None, spot_check_share=0.0)
HOSTILE = "<script>alert('x')</script>"


@pytest.fixture
def folder(tmp_path):
    """A harvest folder: one good label, one vague (flagged), one duplicate (flagged), one with no fault type."""
    cands = [candidate([thumbs(True)], trace_id="tr-good", at_ms=1, incident="inc-1"),
             candidate([thumbs(False, HOSTILE)], trace_id="tr-vague", at_ms=2, incident="inc-2"),
             candidate([thumbs(True)], trace_id="tr-dup", at_ms=3, incident="inc-1"),
             candidate([correction("profiles-db", "")], trace_id="tr-nofault", at_ms=4, incident="inc-3")]
    (tmp_path / CANDIDATES_DIR).mkdir()
    for c in cands:
        write_candidate(tmp_path, c)
    validate_folder(tmp_path, POLICY)
    return tmp_path, {c.trace_id: c.id for c in cands}


def test_a_review_killed_half_way_resumes_from_the_log_and_loses_nothing(folder):
    path, ids = folder
    log, clock, shown = DecisionLog(path / "decisions.jsonl"), FakeClock(1.7e9), []
    first = review(path, log, "alice", POLICY, iter(["e profiles-db slow_query named by the user"]), shown.append, clock)
    assert first.auto_approved == [ids["tr-good"]] and len(first.decided) == 1 and len(first.pending) == 2
    with open(log.path, "ab") as fh:  # the crash: a decision half-written
        fh.write(b'{"candidate": "' + ids["tr-dup"].encode() + b'", "action": "app')
    clock.advance(60)
    second = review(path, log, "bob", POLICY, iter(["r duplicate of inc-1", "a"]), shown.append, clock)
    final = log.final()
    assert log.torn == 1 and not second.auto_approved and not second.pending
    assert {k: d.action for k, d in final.items()} == {
        ids["tr-good"]: ReviewAction.AUTO_APPROVE, ids["tr-vague"]: ReviewAction.EDIT,
        ids["tr-dup"]: ReviewAction.REJECT, ids["tr-nofault"]: ReviewAction.APPROVE}
    assert final[ids["tr-vague"]].reviewer == "alice" and final[ids["tr-vague"]].truth == {
        "component": "profiles-db", "fault_type": "slow_query"}
    assert final[ids["tr-dup"]].at == "2023-11-14T22:14:20Z" and final[ids["tr-dup"]].reason == "duplicate of inc-1"


def test_approving_a_candidate_without_a_truth_is_refused_until_it_is_edited(folder):
    path, ids = folder
    log, shown = DecisionLog(path / "decisions.jsonl"), []
    review(path, log, "alice", POLICY, iter(["a", "e warehouse-db slow_query", "r vague"]), shown.append)
    assert log.final()[ids["tr-vague"]].action == ReviewAction.REJECT
    assert sum(line.startswith("  ? ") for line in shown) == 2


def test_the_review_page_escapes_what_users_wrote(folder, tmp_path_factory):
    path, _ = folder
    page = write_review_html(path, DecisionLog(path / "decisions.jsonl"), path / "review.html").read_text()
    assert HOSTILE not in page and "&lt;script&gt;" in page
    assert page.count("<tr>") == 5  # header + every candidate


def test_admitted_labels_make_a_valid_suite_with_hidden_truth_and_a_new_version_on_each_admission(folder, tmp_path):
    from evalkit.suite import load_suite, load_truth
    from evalkit.suite.validate import validate_suite

    path, ids = folder
    log = DecisionLog(path / "decisions.jsonl")
    log.append(Decision(ids["tr-good"], ReviewAction.APPROVE, "alice", "2026-01-01T00:00:00Z", "ok"))
    first = admit(path, log, tmp_path / "harvested", clock=FakeClock(1.7e9))
    log.append(Decision(ids["tr-vague"], ReviewAction.EDIT, "bob", "2026-01-02T00:00:00Z", "",
                        {"component": "profiles-db", "fault_type": "slow_query"}))
    second = admit(path, log, tmp_path / "harvested", clock=FakeClock(1.7e9))
    assert (first.version, second.version) == ("1.0.0", "1.1.0") and first.hash != second.hash
    assert validate_suite(tmp_path / "harvested") == []
    suite = load_suite(tmp_path / "harvested")
    assert sorted(s.id for s in suite.scenarios) == sorted([ids["tr-good"], ids["tr-vague"]])
    truth = json.loads((tmp_path / "harvested" / "truth" / f"{ids['tr-vague']}.json").read_text())
    assert truth["provenance"]["trace_id"] == "tr-vague" and truth["provenance"]["reviewer"] == "bob"
    assert load_truth(suite, ids["tr-vague"]).component == "profiles-db"
    visible = "".join(p.read_text(errors="ignore") for p in (tmp_path / "harvested").rglob("*")
                      if p.is_file() and "truth" not in p.parts)
    for secret in ("tr-vague", "tr-good", "provenance", "oncall-", HOSTILE):
        assert secret not in visible  # nothing of the feedback or the trace reaches the agent's side
