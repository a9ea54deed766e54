"""The suite index: load_suite reuses it while no file changed, and never trusts it after a change."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from suite_helpers import SMOKE, copy_suite


def _age(root: Path, seconds: float = 60) -> None:
    """Backdate every file so the index is not racily fresh (tests write files moments before loading)."""
    for p in root.rglob("*"):
        st = p.stat()
        os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns - int(seconds * 1e9)))


def _fields(suite):
    return (suite.name, suite.version, suite.hash, suite.categories, suite.default_trials, suite.pool,
            [(s.id, s.category, s.alert, s.window, s.world, s.tags, s.noise_level, s.max_tool_calls, s.path,
              s.root, s.step) for s in suite.scenarios])


def test_second_load_comes_from_the_index_without_parsing(tmp_path, monkeypatch):
    from evalkit.suite import load_suite, validate

    root = copy_suite(SMOKE, tmp_path / "s")
    _age(root)
    first = load_suite(root)
    assert (root / ".evalkit" / "index.json").is_file()

    def boom(*a, **k):
        raise AssertionError("parsed again")

    monkeypatch.setattr(validate, "check_suite", boom)
    again = load_suite(root)
    assert _fields(again) == _fields(first)


def test_an_edited_scenario_is_parsed_again_and_problems_still_reported(tmp_path):
    from evalkit.errors import UserError
    from evalkit.suite import load_suite

    root = copy_suite(SMOKE, tmp_path / "s")
    _age(root)
    load_suite(root)
    f = sorted((root / "scenarios").glob("*.json"))[0]
    doc = json.loads(f.read_text())
    doc["noise_level"] = 3
    f.write_text(json.dumps(doc))
    with pytest.raises(UserError, match="noise_level"):
        load_suite(root)


@pytest.mark.parametrize("in_place", [False, True], ids=["replaced-new-inode", "rewritten-in-place"])
def test_an_edit_keeping_size_and_mtime_is_still_seen(tmp_path, in_place):
    """A new file renamed over the old one shows in the inode; a rewrite in place that puts the mtime back
    (``cp -p``, ``touch -r``, ``rsync --inplace -t``) keeps the inode too and shows in the ctime."""
    from evalkit.suite import load_suite

    root = copy_suite(SMOKE, tmp_path / "s")
    _age(root)
    first = load_suite(root)
    f = sorted((root / "scenarios").glob("*.json"))[0]
    st = f.stat()
    text = f.read_text().replace('"max_tool_calls": 60', '"max_tool_calls": 61')
    assert len(text) == st.st_size
    tmp = f if in_place else f.with_suffix(".new")
    tmp.write_text(text)
    os.utime(tmp, ns=(st.st_atime_ns, st.st_mtime_ns))
    if not in_place:
        os.replace(tmp, f)
    assert (f.stat().st_ino == st.st_ino) == in_place
    again = load_suite(root)
    assert again.hash != first.hash
    assert {s.max_tool_calls for s in again.scenarios if s.path == f} == {61}


def test_no_index_is_written_while_files_are_racily_fresh(tmp_path):
    from evalkit.suite import load_suite

    root = copy_suite(SMOKE, tmp_path / "s")
    shutil.rmtree(root / ".evalkit", ignore_errors=True)  # an index copied along with the suite
    (root / "suite.toml").touch()
    load_suite(root)
    assert not (root / ".evalkit" / "index.json").exists()


def test_a_read_only_suite_keeps_its_index_in_the_user_cache(tmp_path, monkeypatch):
    from evalkit.suite import index, load_suite

    root = copy_suite(SMOKE, tmp_path / "s")
    _age(root)
    monkeypatch.setenv("EVALKIT_CACHE_DIR", str(tmp_path / "cache"))
    import evalkit.atomic as atomic

    orig = atomic.atomic_write

    def refuse_suite(path, data):
        if Path(path).is_relative_to(root):
            raise PermissionError(path)
        return orig(path, data)

    monkeypatch.setattr(atomic, "atomic_write", refuse_suite)
    first = load_suite(root)
    assert list((tmp_path / "cache" / "suite-index").glob("*.json"))
    assert index.read_index(root, index.stat_signature(root)[0]) is not None
    assert load_suite(root).hash == first.hash


def test_ten_thousand_indexed_scenarios_load_from_one_json_without_reading_a_scenario(tmp_path, monkeypatch):
    """A synthetic 10,000-scenario index (no generator run): the warm load stats files and reads one JSON."""
    import builtins

    from evalkit.suite import index, load_suite, validate
    from evalkit.suite.model import Scenario, Suite

    root = copy_suite(SMOKE, tmp_path / "s")
    base = load_suite(root).scenarios[0]
    src = (root / "scenarios" / f"{base.id}.json").read_bytes()
    for i in range(10_000):
        (root / "scenarios" / f"x{i:05d}.json").write_bytes(src)
    _age(root)
    scen = [Scenario(id=f"x{i:05d}", suite=base.suite, category=base.category, alert=base.alert,
                     window=base.window, world=base.world, path=root / "scenarios" / f"x{i:05d}.json", root=root)
            for i in range(10_000)]
    suite = Suite("s", "1", "d", {base.category: "c"}, 1, root, "h" * 64, scen)
    sig, newest = index.stat_signature(root)
    assert index.write_index(root, sig, newest, suite) is not None
    read: list[str] = []
    real_open, real_read_bytes = builtins.open, Path.read_bytes

    def open_spy(file, *a, **k):
        read.append(str(file))
        return real_open(file, *a, **k)

    def read_bytes_spy(self):
        read.append(str(self))
        return real_read_bytes(self)

    def parse(*a, **k):
        raise AssertionError("the suite was parsed again")

    monkeypatch.setattr(builtins, "open", open_spy)
    monkeypatch.setattr(Path, "read_bytes", read_bytes_spy)
    monkeypatch.setattr(Path, "read_text", lambda self, *a, **k: read.append(str(self)) or "")
    monkeypatch.setattr(validate, "check_suite", parse)
    loaded = load_suite(root)
    assert len(loaded.scenarios) == 10_000
    assert read == [str(root / ".evalkit" / "index.json")]


def test_a_pool_suite_stays_a_pool_when_loaded_from_the_index(tmp_path, monkeypatch):
    from evalkit.suite import load_suite, validate

    root = copy_suite(SMOKE, tmp_path / "p")
    toml = root / "suite.toml"
    toml.write_text(toml.read_text().replace("default_trials = 1\n", "default_trials = 1\npool = true\n"))
    _age(root)
    assert load_suite(root).pool
    monkeypatch.setattr(validate, "check_suite", lambda *a, **k: (_ for _ in ()).throw(AssertionError("parsed")))
    assert load_suite(root).pool


def test_the_hash_and_the_index_signature_see_the_same_files(tmp_path):
    """Hidden files, __pycache__ and what a symlinked folder holds are part of neither; a symlinked file is."""
    from evalkit.suite.hashing import suite_files, suite_hash
    from evalkit.suite.index import stat_signature

    root = copy_suite(SMOKE, tmp_path / "s")
    (root / "notes").mkdir()
    (root / "notes" / "a.md").write_text("a\n")
    before_hash, before_sig = suite_hash(root), stat_signature(root)[0]
    (root / ".hidden").write_text("x")
    (root / "__pycache__").mkdir()
    (root / "__pycache__" / "c.pyc").write_bytes(b"x")
    (root / "linked-notes").symlink_to(root / "notes", target_is_directory=True)
    assert (suite_hash(root), stat_signature(root)[0]) == (before_hash, before_sig)

    (root / "linked-note.md").symlink_to(root / "notes" / "a.md")
    names = [p.relative_to(root).as_posix() for p in suite_files(root)]
    assert "linked-note.md" in names and not any(n.startswith(("linked-notes", ".", "__pycache__")) for n in names)
    assert names == sorted(names)
    assert suite_hash(root) != before_hash and stat_signature(root)[0] != before_sig


def test_a_parsed_suite_hashes_the_bytes_it_read_like_a_fresh_hash(tmp_path):
    from evalkit.suite import load_suite
    from evalkit.suite.hashing import suite_hash

    root = copy_suite(SMOKE, tmp_path / "s")
    f = sorted((root / "scenarios").glob("*.json"))[0]
    f.write_bytes(f.read_bytes().replace(b"\n", b"\r\n"))  # a Windows checkout hashes the same
    assert load_suite(root).hash == suite_hash(root) == suite_hash(SMOKE)


def test_hidden_files_under_scenarios_and_truth_are_no_part_of_the_suite(tmp_path):
    """What the hash and the index signature skip (hidden names, __pycache__) the parser skips too, so an edit
    there can never leave the index serving a suite that a fresh parse would not give."""
    from evalkit.suite import load_suite
    from evalkit.suite.hashing import suite_hash
    from evalkit.suite.validate import check_suite

    root = copy_suite(SMOKE, tmp_path / "s")
    f = sorted((root / "scenarios").glob("*.json"))[0]
    for hidden in (root / "scenarios" / ".drafts" / f.name, root / "scenarios" / "__pycache__" / f.name,
                   root / "scenarios" / f".{f.name}", root / "truth" / f".{f.name}"):
        hidden.parent.mkdir(exist_ok=True)
        hidden.write_text(f.read_text().replace('"max_tool_calls": 60', '"max_tool_calls": 7'))
    _age(root)
    first = load_suite(root)
    assert first.hash == suite_hash(SMOKE)
    assert len(first.scenarios) == len(load_suite(SMOKE).scenarios)
    assert {s.max_tool_calls for s in first.scenarios} == {60}
    fresh, problems = check_suite(root, deep=False)
    assert not problems and _fields(fresh) == _fields(first)
    (root / "scenarios" / ".drafts" / f.name).write_text("{ a draft being edited")
    assert _fields(load_suite(root)) == _fields(check_suite(root, deep=False)[0]) == _fields(first)


def test_a_symlink_out_of_the_suite_in_a_hidden_folder_is_no_problem(tmp_path):
    """A .venv in the suite folder links outside; like any hidden file it is no part of the suite, so the cold
    parse accepts it as the index (which does not see it) does."""
    from evalkit.suite import load_suite
    from evalkit.suite.validate import check_suite

    root = copy_suite(SMOKE, tmp_path / "s")
    (root / ".venv" / "bin").mkdir(parents=True)
    (root / ".venv" / "bin" / "python").symlink_to(tmp_path)
    (root / "__pycache__").symlink_to(tmp_path, target_is_directory=True)
    assert check_suite(root, deep=False)[1] == []
    assert load_suite(root).hash == load_suite(SMOKE).hash


def test_a_file_removed_while_the_suite_is_walked_is_left_out_not_a_traceback(tmp_path, monkeypatch):
    """An editor's temp file or a concurrent checkout may go between the listing and the stat or read."""
    from evalkit.suite import hashing, index

    root = copy_suite(SMOKE, tmp_path / "s")
    before = index.stat_signature(root)[0]
    (root / "notes.md~").write_text("x")
    listed = hashing.walk_suite(root)
    (root / "notes.md~").unlink()
    monkeypatch.setattr(hashing, "walk_suite", lambda r: listed)
    monkeypatch.setattr(index, "walk_suite", lambda r: listed)
    assert hashing.suite_hash(root) == hashing.suite_hash(SMOKE)
    assert index.stat_signature(root)[0] == before


def test_an_index_written_under_other_checking_rules_is_not_trusted(tmp_path, monkeypatch):
    """A checkout whose suite rules changed (same version number) parses the suite again."""
    from evalkit.suite import index, load_suite, validate

    root = copy_suite(SMOKE, tmp_path / "s")
    _age(root)
    load_suite(root)
    parsed = []
    real = validate.check_suite
    monkeypatch.setattr(validate, "check_suite", lambda *a, **k: parsed.append(1) or real(*a, **k))
    load_suite(root)
    assert parsed == []
    monkeypatch.setattr(index, "checker_fingerprint", lambda: "rules of another checkout")
    load_suite(root)
    assert parsed == [1]
