"""Validation of candidate labels: each confidence part catches the defect it is named for, on a real world."""

from __future__ import annotations

import json

import pytest

from evalkit.errors import UserError
from evalkit.labels.policy import LabelPolicy, load_policy
from evalkit.labels.validation import score_candidates
from evalkit.vocab import ConfidencePart as P

from labels_support import candidate, correction, thumbs

NO_SOLVER = LabelPolicy(solvability_build=None)


def test_a_thumbs_up_confirms_the_agents_answer_and_a_correction_overrides_it():
    assert candidate([thumbs(True)]).truth["component"] == "profiles-db"
    assert candidate([thumbs(True), correction("metering", "bad_deploy")]).truth["component"] == "metering"
    assert candidate([thumbs(False, "no idea")]).truth is None


def test_a_well_supported_correct_label_passes_every_part():
    [s] = score_candidates([candidate([correction("profiles-db", text="slow query on the profiles db")])], NO_SOLVER)
    assert not s.flagged, s.reasons
    assert s.parts[P.SPECIFICITY] == s.parts[P.LEAKAGE] == s.parts[P.DUPLICATION] == 1.0
    assert s.parts[P.SUPPORT] >= 0.5


@pytest.mark.parametrize("defect,make,part", [
    ("vague feedback", lambda: candidate([thumbs(False, "looks wrong")]), P.SPECIFICITY),
    ("truth absent from the snapshot", lambda: candidate([correction("warehouse-replica-db")]), P.SPECIFICITY),
    ("answer leaked in the alert", lambda: candidate([thumbs(True)], alert_title="root cause: profiles-db"),
     P.LEAKAGE),
])
def test_a_planted_defect_is_flagged_by_its_part(defect, make, part):
    [s] = score_candidates([make()], NO_SOLVER)
    assert s.flagged and s.parts[part] < 1.0, (defect, s.parts)
    assert s.reasons[part]


def test_a_second_label_of_the_same_incident_is_a_duplicate_and_the_first_is_not():
    first = candidate([thumbs(True)], trace_id="tr-a", at_ms=1)
    second = candidate([thumbs(True)], trace_id="tr-b", at_ms=2)
    scores = {s.id: s for s in score_candidates([first, second], NO_SOLVER)}
    assert scores[first.id].parts[P.DUPLICATION] == 1.0
    assert scores[second.id].parts[P.DUPLICATION] == 0.0 and scores[second.id].flagged


def test_feedback_that_disagrees_with_other_feedback_on_the_incident_loses_consistency():
    right = candidate([thumbs(True)], trace_id="tr-a")
    wrong = candidate([correction("metering", "bad_deploy")], trace_id="tr-b")
    scores = {s.id: s for s in score_candidates([right, wrong], NO_SOLVER)}
    assert scores[wrong.id].parts[P.CONSISTENCY] < 0.5


def test_solvability_marks_a_label_hard_instead_of_dropping_it():
    c = candidate([correction("profiles-db")])
    [s] = score_candidates([c], LabelPolicy(solvability_budget=1))  # one tool call cannot solve anything
    assert s.hard and s.parts[P.SOLVABILITY] == 0.0
    assert not s.flagged  # hard is a mark, not a reason to hold the label back


def test_every_problem_of_a_policy_file_is_one_line(tmp_path):
    path = tmp_path / "policy.json"
    path.write_text(json.dumps({"thresholds": {"support": 2, "speed": 1}, "spot_check_share": -1, "colour": 1}))
    with pytest.raises(UserError) as err:
        load_policy(path)
    lines = str(err.value).splitlines()
    assert len(lines) == 4 and all(line.startswith(str(path)) for line in lines)
    assert any("thresholds.support" in line and "0 to 1" in line for line in lines)
    path.write_text(json.dumps({"thresholds": {"support": 0.3}, "solvability_build": None}))
    assert load_policy(path).thresholds[P.SUPPORT] == 0.3 and load_policy(path).solvability_build is None


@pytest.mark.parametrize("change, field", [
    ({"id": "../../evil"}, "id"),           # would write the hidden truth outside the suite at admission
    ({"id": "another-name"}, "id"),         # not its own file's name
    ({"snapshot": []}, "snapshot"),
    ({"alert": "x"}, "alert"),
    ({"truth": "x"}, "truth"),
])
def test_a_tampered_candidate_file_is_refused_by_name_before_anything_uses_it(tmp_path, change, field):
    from evalkit.labels.records import read_candidates, write_candidate

    cand = candidate([thumbs(True)])
    (tmp_path / "candidates").mkdir()
    write_candidate(tmp_path, cand)
    path = tmp_path / "candidates" / f"{cand.id}.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **change}))
    with pytest.raises(UserError) as err:
        read_candidates(tmp_path)
    assert err.value.exit_code == 2 and str(err.value).startswith(f"{path}: {field} ")


@pytest.mark.parametrize("content", [b"\xff\xfe not utf-8", b"[]", b"[" * 100000])
def test_an_unreadable_candidate_file_is_one_error(tmp_path, content):
    from evalkit.labels.records import read_candidates

    (tmp_path / "candidates").mkdir()
    (tmp_path / "candidates" / "x.json").write_bytes(content)
    with pytest.raises(UserError):
        read_candidates(tmp_path)
