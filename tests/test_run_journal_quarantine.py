"""A damaged journal record is moved aside byte for byte (never silently lost), named in one warning line, and
its trial is run again; it never crashes the run."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from evalkit.errors import UserError
from evalkit.run.journal import Journal, JournalHeader, quarantine_path, record_key
from evalkit.run.spool import TrajectorySpool
from suite_helpers import SMOKE, copy_suite

HEADER = JournalHeader("smoke", "abc123", "reference:v1+0123456789ab", "reference:v1", 0, 2)
SCENARIOS = ("a", "b")


def record(scenario: str = "a", trial: int = 0, **changes) -> dict:
    """A valid journal record of ``scenario``/``trial``; ``changes`` replace top-level parts."""
    rec = {"key": record_key(HEADER.suite_hash, scenario, trial, HEADER.build_id),
           "row": {"scenario_id": scenario, "trial": trial, "status": "ok", "rca_top1": 1.0},
           "trajectory": {"scenario_id": scenario, "trial": trial, "finding": {
               "hypotheses": [{"component": "db", "fault_type": "oom", "confidence": 0.9, "evidence": ["logs:db"]}],
               "summary": "db ran out of memory", "usage": {"tokens_in": 10}},
               "calls": [{"tool": "get_logs", "args": {"component": "db"}, "result_size": 3, "duration_s": 0.01,
                          "refs": ["logs:db"], "error": None}], "stderr": ""},
           "outcome": {"status": "ok", "error_class": "", "error_message": "", "latency_s": 0.5, "seed": 11,
                       "attempt": 0}}
    rec.update(changes)
    return rec


def line(doc: object) -> bytes:
    return json.dumps(doc).encode() + b"\n"


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def with_trajectory(**changes) -> dict:
    rec = record()
    rec["trajectory"] = {**rec["trajectory"], **changes}
    return rec


def with_outcome(**changes) -> dict:
    rec = record()
    rec["outcome"] = {**rec["outcome"], **changes}
    return rec


def with_hypothesis(**changes) -> dict:
    rec = record()
    hyp = {**rec["trajectory"]["finding"]["hypotheses"][0], **changes}
    rec["trajectory"] = {**rec["trajectory"], "finding": {"hypotheses": [hyp]}}
    return rec


DAMAGE: dict[str, tuple[bytes, str]] = {
    "no row": (line({k: v for k, v in record().items() if k != "row"}), "no row"),
    "no outcome": (line({k: v for k, v in record().items() if k != "outcome"}), "no outcome"),
    "unknown scenario id": (line(record("ghost-999")), "unknown scenario id 'ghost-999'"),
    "trial as a string": (line(with_trajectory(trial="0")), "trajectory.scenario_id or .trial has the wrong type"),
    "trial out of range": (line(record("a", 7)), "trial 7 is outside 0..1"),
    "key of another trial": (line({**record("a", 0), "key": record("a", 1)["key"]}), "key does not match"),
    "NUL bytes": (b"\x00" * 60 + b"\n", "not JSON"),
    "truncated line": (line(record())[:40] + b"\n", "not JSON"),
    "not an object": (b"[1, 2, 3]\n", "not a JSON object"),
    "unknown status": (line(with_outcome(status="great")), "outcome.status is not one of"),
    "seed as a float": (line(with_outcome(seed=1.5)), "outcome.seed or .latency_s is not a number"),
    "400-digit confidence": (line(with_hypothesis(confidence=10 ** 400)), "confidence is not a number"),
    "hypothesis without component": (line(with_hypothesis(component=None)), "has no component"),
    "calls not a list": (line(with_trajectory(calls={"tool": "x"})), "trajectory.calls is not a list"),
    "call with an unknown field": (line(with_trajectory(calls=[{"tool": "x", "args": {}, "result_size": 1,
                                                               "duration_s": 0.1, "shell": "rm"}])),
                                   "calls[0] is not a tool call"),
    "component as a list": (line(with_trajectory(calls=[{"tool": "x", "args": {"component": ["db"]},
                                                        "result_size": 1, "duration_s": 0.1}])),
                            "calls[0].args.component is not a string"),
    "deep nesting": (b'{"key": ' + nested(100_000).encode() + b"}\n", "not JSON"),
    "invalid UTF-8": (b'{"key": "\xff\xfe"}\n', "not JSON"),
}


def journal_with(tmp_path: Path, damaged: bytes, *, after: bytes = b"") -> Path:
    """A journal holding a good record of a/0, then ``damaged``, then ``after``."""
    path = tmp_path / "j.jsonl"
    Journal(path, HEADER).close()
    with open(path, "ab") as fh:
        fh.write(line(record("a", 0)) + damaged + after)
    return path


@pytest.mark.parametrize("kind", DAMAGE)
def test_a_damaged_record_is_moved_aside_byte_for_byte_and_named_in_one_warning(tmp_path, kind):
    damaged, reason = DAMAGE[kind]
    path = journal_with(tmp_path, damaged, after=line(record("b", 1)))
    header_line = path.read_bytes().split(b"\n")[0] + b"\n"
    with Journal(path, HEADER, scenario_ids=SCENARIOS) as j:
        assert sorted(j.records) == sorted([record("a", 0)["key"], record("b", 1)["key"]])
        [warning] = j.warnings
    assert quarantine_path(path).read_bytes() == damaged
    assert path.read_bytes() == header_line + line(record("a", 0)) + line(record("b", 1))
    assert warning.startswith(f"journal {path} line 3 (") and reason in warning
    assert f"moved to {path}.quarantine and its trial is run again" in warning
    assert "\x00" not in warning and "\n" not in warning
    with Journal(path, HEADER, scenario_ids=SCENARIOS) as again:  # clean now: nothing more to say
        assert again.warnings == [] and len(again.records) == 2


def test_the_warning_names_the_record_by_its_key_when_it_has_one(tmp_path):
    path = journal_with(tmp_path, DAMAGE["unknown scenario id"][0])
    with Journal(path, HEADER, scenario_ids=SCENARIOS) as j:
        assert f"(key '{record('ghost-999')['key']}')" in j.warnings[0]


def test_a_torn_last_line_is_quarantined_too(tmp_path):
    path = journal_with(tmp_path, line(record("b", 0))[:25])
    with Journal(path, HEADER, scenario_ids=SCENARIOS) as j:
        assert list(j.records) == [record("a", 0)["key"]] and j.truncated_bytes == 25
        assert "torn by a crash mid-write" in j.warnings[0]
        j.append([record("b", 0)])
    assert quarantine_path(path).read_bytes() == line(record("b", 0))[:25] + b"\n"
    assert len(Journal(path, HEADER).records) == 2


def test_quarantine_files_accumulate_rather_than_overwrite(tmp_path):
    path = journal_with(tmp_path, b"first\n")
    Journal(path, HEADER).close()
    with open(path, "ab") as fh:
        fh.write(b"second\n")
    Journal(path, HEADER).close()
    assert quarantine_path(path).read_bytes() == b"first\nsecond\n"


def test_many_damaged_records_name_the_first_few_and_count_the_rest(tmp_path):
    path = journal_with(tmp_path, b"".join(b"junk %d\n" % i for i in range(9)))
    with Journal(path, HEADER) as j:
        assert len(j.damaged) == 9
        assert len(j.warnings) == 6 and "4 more damaged record(s)" in j.warnings[-1]


def test_the_rewritten_journal_is_still_locked_against_a_second_run(tmp_path):
    path = journal_with(tmp_path, b"junk\n")
    with Journal(path, HEADER):
        with pytest.raises(UserError, match="another evalkit run is using this journal"):
            Journal(path, HEADER)


def test_a_damaged_header_is_still_refused_before_anything_runs(tmp_path):
    path = tmp_path / "j.jsonl"
    path.write_bytes(b"\x00" * 80 + b"\n" + line(record()))
    with pytest.raises(UserError) as err:
        Journal(path, HEADER)
    text = str(err.value)
    assert "not an evalkit journal" in text and "\\x00" in text and "\x00" not in text
    assert not quarantine_path(path).exists()


# ---- the runner: the damaged record's trial is run again -------------------------------------------------
def test_run_suite_reruns_the_trials_of_damaged_records_and_says_so(tmp_path):
    from evalkit.run.config import JournalConfig, RunConfig
    from evalkit.run.runner import run_suite

    suite = copy_suite(SMOKE, tmp_path / "smoke", keep=2)
    config = RunConfig(trials=2, seed=4, jobs=1, executor="threads", journal=JournalConfig(tmp_path / "journal"))
    first = run_suite(suite, "reference:v1", config)
    jfile = Path(first.meta["journal"])
    lines = jfile.read_bytes().split(b"\n")
    broken = json.loads(lines[1])
    del broken["outcome"]  # a finished trial whose record lost its outcome
    ghost = json.loads(lines[2])
    ghost["trajectory"]["scenario_id"] = "ghost-999"
    jfile.write_bytes(b"\n".join([lines[0], json.dumps(broken).encode(), *lines[2:-1], json.dumps(ghost).encode(),
                                  b""]))

    again = run_suite(suite, "reference:v1", config)
    assert again.meta["resumed_trials"] == 3 and len(again.table) == 4
    pd.testing.assert_frame_equal(again.table.drop(columns="latency_s"), first.table.drop(columns="latency_s"))
    journal_warnings = [w for w in again.warnings if w.startswith("journal ")]
    assert len(journal_warnings) == 2
    assert "line 2" in journal_warnings[0] and "no outcome" in journal_warnings[0]
    assert "unknown scenario id 'ghost-999'" in journal_warnings[1]
    assert again.meta["warnings"][:2] == journal_warnings


def test_records_read_back_hold_no_trajectory_and_each_is_read_from_its_line_after_a_quarantine(tmp_path):
    """Resuming holds the rows of a long run, not its trajectories: each is parsed again from the journal when
    asked for, also once a quarantine has rewritten the file (the lines after a damaged one move up)."""
    b1 = record("b", 1)
    b1["trajectory"] = {**b1["trajectory"], "stderr": "the second trial of b"}
    path = journal_with(tmp_path, DAMAGE["truncated line"][0], after=line(b1))
    with Journal(path, HEADER, scenario_ids=SCENARIOS) as j:
        assert j.warnings and all("trajectory" not in r for r in j.records.values())
        assert j.trajectory(record("a", 0)["key"]) == record("a", 0)["trajectory"]
        assert j.trajectory(b1["key"]) == b1["trajectory"]
        assert j.records[b1["key"]]["row"] == b1["row"]


def test_the_lines_a_journal_writes_and_reads_back_spool_as_they_are_and_read_back_as_their_trajectories(tmp_path):
    """A run keeps each trajectory in its spool as the journal line that holds it (written, or read back on
    resume): the trajectory is encoded once, and reads back equal."""
    a0, b1 = record("a", 0), record("b", 1)
    spool = TrajectorySpool()
    with Journal(tmp_path / "j.jsonl", HEADER, fresh=True, scenario_ids=SCENARIOS) as j:
        for rec, written in zip([a0], j.append([a0])):
            spool.put_record(rec["key"], written)
        j.append([b1])
    with Journal(tmp_path / "j.jsonl", HEADER, scenario_ids=SCENARIOS) as j:
        spool.put_record(b1["key"], j.line(b1["key"]))
    assert list(spool.view([a0["key"], b1["key"]])) == [a0["trajectory"], b1["trajectory"]]
