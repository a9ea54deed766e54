"""The resumable journal: durable append-only records, torn tails truncated, foreign journals refused."""

import json

import pytest

from evalkit.errors import UserError
from evalkit.run.journal import Journal, JournalHeader, default_journal_path, record_key

HEADER = JournalHeader("smoke", "abc123", "reference:v1+0123456789ab", "reference:v1", 0, 3)


def _rec(scenario, trial, status="ok", score=1.0):
    key = record_key(HEADER.suite_hash, scenario, trial, HEADER.build_id)
    return {"key": key, "row": {"scenario_id": scenario, "trial": trial, "status": status, "rca_top1": score},
            "trajectory": {"scenario_id": scenario, "trial": trial, "calls": [], "finding": None, "stderr": ""},
            "outcome": {"status": status, "error_class": "", "error_message": "", "latency_s": 0.5, "seed": 7,
                        "attempt": 0}}


def test_journal_records_survive_reopening(tmp_path):
    path = tmp_path / "j.jsonl"
    with Journal(path, HEADER) as j:
        j.append([_rec("a", 0), _rec("a", 1)])
        j.append([_rec("b", 0, score=float("nan"))])
    again = Journal(path, HEADER)
    assert sorted(again.records) == sorted(record_key("abc123", s, t, HEADER.build_id)
                                           for s, t in [("a", 0), ("a", 1), ("b", 0)])
    lines = path.read_text().splitlines()
    assert json.loads(lines[0])["build_id"] == HEADER.build_id and len(lines) == 4
    again.close()


def test_a_fresh_journal_discards_what_it_held_and_a_locked_one_is_left_alone(tmp_path):
    path = tmp_path / "j.jsonl"
    with Journal(path, HEADER) as j:
        j.append([_rec("a", 0), _rec("a", 1)])
    held = Journal(path, HEADER)
    with pytest.raises(UserError, match="locked"):
        Journal(path, HEADER, fresh=True)  # another run is using it: nothing is discarded
    assert len(held.records) == 2
    held.close()
    with Journal(path, HEADER, fresh=True) as j:
        assert j.records == {}
        j.append([_rec("b", 0)])
    with Journal(path, HEADER) as again:
        assert list(again.records) == [record_key("abc123", "b", 0, HEADER.build_id)]


def test_torn_last_line_is_truncated_and_later_appends_stay_parseable(tmp_path):
    path = tmp_path / "j.jsonl"
    with Journal(path, HEADER) as j:
        j.append([_rec("a", 0)])
    good_size = path.stat().st_size
    with open(path, "ab") as fh:
        fh.write(b'{"key": "abc123/a/1/ref')  # crash mid-write
    j = Journal(path, HEADER)
    assert j.truncated_bytes > 0 and path.stat().st_size == good_size
    assert list(j.records) == [record_key("abc123", "a", 0, HEADER.build_id)]
    j.append([_rec("a", 1)])
    j.close()
    assert len(Journal(path, HEADER).records) == 2


def test_garbage_last_line_ending_in_newline_is_moved_out(tmp_path):
    path = tmp_path / "j.jsonl"
    with Journal(path, HEADER) as j:
        j.append([_rec("a", 0)])
    with open(path, "ab") as fh:
        fh.write(b'{"key": "abc\n')
    assert len(Journal(path, HEADER).records) == 1
    assert path.read_bytes().endswith(b"}\n")


def test_corruption_before_the_end_is_quarantined_and_the_records_after_it_kept(tmp_path):
    path = tmp_path / "j.jsonl"
    with Journal(path, HEADER) as j:
        j.append([_rec("a", 0)])
    with open(path, "ab") as fh:
        fh.write(b"not json\n" + json.dumps(_rec("a", 1)).encode() + b"\n")
    j = Journal(path, HEADER)
    assert sorted(j.records) == [record_key("abc123", "a", t, HEADER.build_id) for t in (0, 1)]
    assert [(d.line, d.reason) for d in j.damaged] == [(3, "not JSON")]
    assert (tmp_path / "j.jsonl.quarantine").read_bytes() == b"not json\n"
    j.close()


def test_journal_of_another_build_or_seed_is_refused_naming_every_field(tmp_path):
    path = tmp_path / "j.jsonl"
    Journal(path, HEADER).close()
    other = JournalHeader("smoke", "abc123", "reference:v2+ffffffffffff", "reference:v2", 5, 3)
    with pytest.raises(UserError) as err:
        Journal(path, other)
    text = str(err.value)
    assert "build_id 'reference:v1+0123456789ab'" in text and "another agent build" in text
    assert "seed 0" in text and "--journal-dir" in text
    assert len(err.value.problems) == 2


def test_journal_of_another_suite_version_is_refused(tmp_path):
    path = tmp_path / "j.jsonl"
    Journal(path, HEADER).close()
    changed = JournalHeader("smoke", "def456", HEADER.build_id, "reference:v1", 0, 3)
    with pytest.raises(UserError, match="suite_hash 'abc123': the suite changed"):
        Journal(path, changed)


def test_a_file_that_is_not_a_journal_is_refused(tmp_path):
    path = tmp_path / "j.jsonl"
    path.write_text('{"hello": 1}\n')
    with pytest.raises(UserError, match="not an evalkit journal"):
        Journal(path, HEADER)


def test_finished_trial_supersedes_an_earlier_infra_failure(tmp_path):
    path = tmp_path / "j.jsonl"
    with Journal(path, HEADER) as j:
        j.append([_rec("a", 0, status="infra_error"), _rec("a", 1)])
        assert j.finished_keys() == {record_key("abc123", "a", 1, HEADER.build_id)}
        j.append([_rec("a", 0, status="ok"), _rec("a", 1, score=0.0)])
    j = Journal(path, HEADER)
    assert len(j.finished_keys()) == 2
    assert j.records[record_key("abc123", "a", 0, HEADER.build_id)]["row"]["status"] == "ok"
    assert j.records[record_key("abc123", "a", 1, HEADER.build_id)]["row"]["rca_top1"] == 1.0  # first wins


def test_append_without_sync_is_acknowledged_by_the_next_sync(tmp_path):
    with Journal(tmp_path / "j.jsonl", HEADER) as j:
        j.append([_rec("a", 0), _rec("a", 1)], sync=False)
        assert j.unsynced == 2
        assert j.sync() == 2 and j.unsynced == 0


def test_default_journal_path_names_suite_build_hash_and_seed(tmp_path):
    p = default_journal_path(tmp_path, "core", "reference:v1+0123456789ab", 7)
    assert p.parent == tmp_path and p.name.startswith("core-") and p.name.endswith("-7.jsonl")
    assert default_journal_path(None, "core", "x", 0).parts[:2] == (".evalkit", "journal")


def test_a_journal_in_use_by_another_run_is_refused(tmp_path):
    with Journal(tmp_path / "j.jsonl", HEADER):
        with pytest.raises(UserError, match="another evalkit run is using this journal"):
            Journal(tmp_path / "j.jsonl", HEADER)
    Journal(tmp_path / "j.jsonl", HEADER).close()  # free again once closed

