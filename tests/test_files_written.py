"""Files evalkit writes for others to read come out with the user's umask (0644 under 022, not mkstemp's 0600)
and durably: the file is fsynced before the rename and its folder after it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from evalkit.atomic import atomic_write, new_temp_file
from gate_support import trade_off_tables


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def modes(folder: Path) -> dict[str, int]:
    """Permission bits of every file under ``folder`` (by path relative to it)."""
    return {str(p.relative_to(folder)): stat.S_IMODE(p.stat().st_mode) for p in folder.rglob("*") if p.is_file()}


def test_reports_are_0644_under_umask_022(tmp_path, umask_022):
    from evalkit.compare import compare
    from evalkit.report import write_reports

    cand, base = trade_off_tables(per_category=6)
    write_reports(compare(cand, base), tmp_path / "reports")
    found = modes(tmp_path / "reports")
    assert len(found) >= 4 and set(found.values()) == {0o644}, found


def test_the_dashboard_is_0644_under_umask_022(tmp_path, umask_022):
    from evalkit.drift.dashboard import build_dashboard
    from evalkit.drift.detect import DriftParams, detect
    from test_drift_dashboard import synthetic

    build_dashboard(detect(synthetic(), DriftParams(ref_builds=5)), tmp_path / "dashboard")
    found = modes(tmp_path / "dashboard")
    assert {"index.html", "drift.csv"} <= set(found) and set(found.values()) == {0o644}, found


def test_a_run_folder_is_0644_files_in_a_0755_folder_under_umask_022(tmp_path, umask_022):
    from evalkit.run.outputs import write_outputs
    from evalkit.run.runner import RunResult

    cand, _ = trade_off_tables(per_category=2)
    write_outputs(RunResult(cand, [{"scenario_id": "x", "trial": 0}], {"suite": "synthetic"}), tmp_path / "run")
    found = modes(tmp_path / "run")
    assert set(found) == {"results.parquet", "trajectories.jsonl.gz", "meta.json"}
    assert set(found.values()) == {0o644}, found
    assert stat.S_IMODE((tmp_path / "run").stat().st_mode) == 0o755


def test_a_stricter_umask_is_honoured(tmp_path):
    old = os.umask(0o077)
    try:
        atomic_write(tmp_path / "private.md", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "private.md").stat().st_mode) == 0o600


def test_the_folder_is_fsynced_after_the_rename(tmp_path, monkeypatch):
    events: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append(("fsync", "dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file"))
        real_fsync(fd)

    def replace(src, dst) -> None:
        events.append(("rename", Path(dst).name))
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    atomic_write(tmp_path / "results.json", "{}")
    assert events == [("fsync", "file"), ("rename", "results.json"), ("fsync", "dir")]
    assert (tmp_path / "results.json").read_text() == "{}"


def test_an_outbox_entry_is_a_0755_folder_of_0644_files_under_umask_022(tmp_path, umask_022):
    """A run queued for upload is readable by the CI user who uploads it, like any folder the user makes."""
    import shutil

    from evalkit.run.runner import RunResult
    from evalkit.store.payload import prepare_run

    cand, _ = trade_off_tables(per_category=2)
    meta = {"suite": "synthetic", "build_id": str(cand["build_id"].iloc[0]), "suite_hash": "h"}
    prepared = prepare_run(RunResult(cand, [{"scenario_id": "x", "trial": 0}], meta), tracking_uri="sqlite:///x.db")
    try:
        assert stat.S_IMODE(prepared.directory.stat().st_mode) == 0o755
        assert set(modes(prepared.directory).values()) == {0o644}
    finally:
        shutil.rmtree(prepared.directory, ignore_errors=True)


# -- a set of files lands whole or not at all ---------------------------------------------------------------


def _disk_full_on(monkeypatch, module, name: str) -> None:
    """Make ``module.name`` fail as a full disk would, part-way through a set of writes."""
    import errno

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(module, name, full)


def _contents(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_a_disk_filling_up_during_a_run_folder_leaves_the_old_run_whole(tmp_path, monkeypatch):
    from evalkit.run.outputs import write_outputs
    from evalkit.run.runner import RunResult
    from evalkit.store import artifacts

    old, new = trade_off_tables(per_category=2)
    out = tmp_path / "run"
    write_outputs(RunResult(old, [{"scenario_id": "x", "trial": 0}], {"suite": "old"}), out)
    before = _contents(out)
    _disk_full_on(monkeypatch, artifacts, "write_json")  # results and trajectories are written by then
    with pytest.raises(OSError):
        write_outputs(RunResult(new, [{"scenario_id": "y", "trial": 0}], {"suite": "new"}), out)
    assert _contents(out) == before  # no new results beside old meta, and no temporary file left


def test_a_report_that_fails_part_way_leaves_the_old_reports_whole(tmp_path, monkeypatch):
    from evalkit.compare import compare
    from evalkit.report import files, write_reports

    cand, base = trade_off_tables(per_category=6)
    out = tmp_path / "reports"
    write_reports(compare(base, base), out)
    before = _contents(out)
    _disk_full_on(monkeypatch, files, "report_json")  # markdown, junit and text are written by then
    with pytest.raises(OSError):
        write_reports(compare(cand, base), out)
    assert _contents(out) == before


def test_files_written_together_land_together_once_all_are_written(tmp_path):
    from evalkit.atomic import atomic_write, write_together

    with write_together():
        atomic_write(tmp_path / "a.txt", "a")
        atomic_write(tmp_path / "b.txt", "b")
        assert not (tmp_path / "a.txt").exists()  # held back until the set is complete
    assert _contents(tmp_path) == {"a.txt": b"a", "b.txt": b"b"}


def test_a_set_inside_a_set_lands_with_the_outer_one_or_not_at_all(tmp_path):
    from evalkit.atomic import atomic_write, write_together

    with pytest.raises(RuntimeError), write_together():
        with write_together():
            atomic_write(tmp_path / "inner.txt", "i")
        atomic_write(tmp_path / "outer.txt", "o")
        raise RuntimeError("the outer set failed")
    assert list(tmp_path.iterdir()) == []


def test_relative_paths_written_together_land_where_they_were_named(tmp_path, monkeypatch):
    from evalkit.atomic import atomic_write, write_together

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    monkeypatch.chdir(tmp_path / "a")
    with write_together():
        atomic_write("report.md", "x")
        monkeypatch.chdir(tmp_path / "b")
    assert (tmp_path / "a" / "report.md").read_text() == "x" and list((tmp_path / "b").iterdir()) == []


def test_a_temporary_file_is_hidden_beside_its_target_with_the_umask_mode_in_a_folder_made_for_it(tmp_path, umask_022):
    target = tmp_path / "new" / "deeper" / "results.json"
    fd, tmp = new_temp_file(target)
    os.close(fd)
    assert tmp.parent == target.parent and tmp.name.startswith(".results.json.")
    assert stat.S_IMODE(tmp.stat().st_mode) == 0o644 and tmp.stat().st_size == 0


def test_a_temporary_name_already_taken_is_never_reused(tmp_path, monkeypatch):
    target = tmp_path / "cache.world"
    draws = iter([b"\x00" * 5, b"\x00" * 5, b"\x01" * 5])
    monkeypatch.setattr("evalkit.atomic.os.urandom", lambda n: next(draws))
    fd, first = new_temp_file(target)
    os.write(fd, b"the first writer's bytes")
    os.close(fd)
    fd, second = new_temp_file(target)  # the same first draw: a fresh name, the first file untouched
    os.close(fd)
    assert first != second and first.read_bytes() == b"the first writer's bytes"
