"""Suite loading, name resolution, ground-truth access and the content hash."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from suite_helpers import CORE, SMOKE, copy_suite


def test_core_suite_is_a_pool_of_4800_scenarios_in_12_categories_of_400():
    from evalkit.suite import load_suite

    s = load_suite(CORE)
    assert s.name == "core" and len(s.scenarios) == 4800 and s.pool
    counts: dict[str, int] = {}
    for sc in s.scenarios:
        counts[sc.category] = counts.get(sc.category, 0) + 1
    assert len(counts) == 12 and set(counts.values()) == {400}
    assert set(counts) == set(s.categories)


def test_smoke_suite_has_2_scenarios_per_category():
    from evalkit.suite import load_suite

    s = load_suite(SMOKE)
    assert len(s.scenarios) == 24 and len({sc.category for sc in s.scenarios}) == 12


def test_shipped_suites_are_small_specs_without_telemetry():
    files = [f for f in CORE.rglob("*") if f.is_file() and ".evalkit" not in f.relative_to(CORE).parts]
    size = sum(f.stat().st_size for f in files)
    assert size / 4800 < 1_500, size  # a scenario spec plus its truth file, no telemetry
    assert not (CORE / "worlds").exists() and not (SMOKE / "worlds").exists()


def test_bare_name_resolves_to_repo_suites_from_any_cwd(tmp_path, monkeypatch):
    from evalkit.suite import load_suite

    monkeypatch.chdir(tmp_path)
    assert load_suite("smoke").path.resolve() == SMOKE.resolve()


def test_cwd_suites_folder_wins_over_repo_suites(tmp_path, monkeypatch):
    from evalkit.suite import load_suite

    copy_suite(SMOKE, tmp_path / "suites" / "smoke", keep=2)
    monkeypatch.chdir(tmp_path)
    assert len(load_suite("smoke").scenarios) == 2


def test_unknown_suite_name_is_a_user_error_listing_known_suites():
    from evalkit.errors import UserError
    from evalkit.suite import load_suite

    with pytest.raises(UserError) as exc:
        load_suite("no-such-suite")
    assert "core" in str(exc.value) and "smoke" in str(exc.value)


def test_load_truth_returns_the_answer_only_through_the_suite():
    from evalkit.suite import load_suite, load_truth

    s = load_suite(SMOKE)
    sc = next(x for x in s.scenarios if x.category == "database/slow-query")
    truth = load_truth(s, sc.id)
    assert truth.scenario_id == sc.id and truth.fault_type == "slow_query"
    assert truth.accepts(truth.component) and not truth.accepts("nobody")
    assert truth.evidence and all(":" in e for e in truth.evidence)


def test_load_truth_rejects_ids_that_could_escape_the_truth_folder():
    from evalkit.errors import UserError
    from evalkit.suite import load_suite, load_truth

    s = load_suite(SMOKE)
    with pytest.raises(UserError):
        load_truth(s, "../suite")


def test_scenario_spec_does_not_give_the_answer_away():
    """Generated scenarios hold only generator + seed: no fault type anywhere, and for downstream
    categories the faulty component is named nowhere in the visible file."""
    from evalkit.suite import load_suite, load_truth

    s = load_suite(CORE)
    for sc in s.scenarios:
        truth = load_truth(s, sc.id)
        doc = json.loads(sc.path.read_text())
        assert set(doc["world"]) == {"generator", "seed", "digest"}
        text = sc.path.read_text()
        assert truth.fault_type not in text
        if "downstream" in sc.tags:
            strings = _strings(doc)
            assert truth.component not in strings and not set(truth.aliases) & strings, sc.id


def _strings(doc) -> set[str]:
    if isinstance(doc, dict):
        return set().union(*(_strings(v) for v in doc.values())) if doc else set()
    if isinstance(doc, list):
        return set().union(*(_strings(v) for v in doc)) if doc else set()
    return {doc} if isinstance(doc, str) else set()


# --- content hash -------------------------------------------------------------------------------
def test_hash_ignores_line_endings_and_hidden_files(tmp_path):
    from evalkit.suite import suite_hash

    a = copy_suite(SMOKE, tmp_path / "a", keep=3)
    b = copy_suite(SMOKE, tmp_path / "b", keep=3)
    for f in b.rglob("*.json"):
        f.write_bytes(f.read_bytes().replace(b"\n", b"\r\n"))
    (b / ".DS_Store").write_bytes(b"junk")
    assert suite_hash(a) == suite_hash(b)


def test_hash_changes_when_any_file_changes(tmp_path):
    from evalkit.suite import suite_hash

    a = copy_suite(SMOKE, tmp_path / "a", keep=3)
    before = suite_hash(a)
    truth = sorted((a / "truth").glob("*.json"))[0]
    truth.write_text(truth.read_text().replace('"aliases"', '"aliases" '))
    assert suite_hash(a) != before


def test_hash_does_not_depend_on_folder_location_or_creation_order(tmp_path):
    from evalkit.suite import suite_hash

    a = copy_suite(SMOKE, tmp_path / "x" / "a", keep=3)
    b = tmp_path / "elsewhere" / "b"
    b.mkdir(parents=True)
    for f in sorted(a.rglob("*"), reverse=True):  # create files in reverse order
        if f.is_file():
            dst = b / f.relative_to(a)
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(f, dst)
    assert suite_hash(a) == suite_hash(b)


def test_suite_object_carries_hash_and_metadata():
    from evalkit.suite import load_suite, suite_hash

    s = load_suite(SMOKE)
    assert s.hash == suite_hash(SMOKE) and len(s.hash) == 64
    assert s.default_trials >= 1 and s.version and s.description
    assert all(sc.suite == "smoke" and sc.root == s.path for sc in s.scenarios)


def test_loading_core_checks_every_file_without_generator_work(monkeypatch):
    """load_suite checks every file but does not replay telemetry: the whole core suite loads with no generator
    work at all (no plan, no world), parsed from its files even when an index exists."""
    from evalkit.suite import generator, index, load_suite
    from evalkit.suite.generator import build, plan

    def generator_work(*args, **kwargs):
        raise AssertionError("loading a suite ran the generator")

    for module, name in ((plan, "make_plan"), (generator, "make_plan"), (generator, "replay"),
                         (build, "build_world")):
        monkeypatch.setattr(module, name, generator_work)
    monkeypatch.setattr(index, "read_index", lambda root, signature: None)
    suite = load_suite(CORE)
    assert len(suite.scenarios) == len(list((CORE / "scenarios").glob("*.json"))) == 4800


def test_world_loads_with_the_truth_files_absent_and_never_opens_them(tmp_path, monkeypatch):
    import builtins

    from evalkit.suite import load_suite, load_world

    root = copy_suite(SMOKE, tmp_path / "s", keep=4)
    scenarios = load_suite(root).scenarios
    shutil.rmtree(root / "truth")
    opened: list[str] = []
    real_open = builtins.open

    def spy(file, *a, **k):
        opened.append(str(file))
        return real_open(file, *a, **k)

    monkeypatch.setattr(builtins, "open", spy)
    monkeypatch.setattr(Path, "read_text", lambda self, *a, **k: opened.append(str(self)) or "")
    for sc in scenarios:
        w = load_world(sc)
        assert w.alert == sc.alert
    assert not [p for p in opened if "truth" in p]
    assert not os.path.exists(root / "truth")


def test_a_stale_generated_scenario_is_a_user_error_not_a_silent_change(tmp_path):
    from evalkit.errors import UserError
    from evalkit.suite import load_suite, load_world

    sc = load_suite(SMOKE).scenarios[0]
    sc.alert = dict(sc.alert, threshold=sc.alert["threshold"] + 1)
    with pytest.raises(UserError, match="stale suite"):
        load_world(sc)


def test_the_suite_hash_pins_the_telemetry_through_the_world_digest(tmp_path):
    """Generated scenarios carry a fingerprint of their replayed telemetry, so the suite hash changes when
    the generator's output changes, and a replay that no longer matches is refused."""
    from evalkit.errors import UserError
    from evalkit.suite import load_suite, load_world
    from evalkit.suite.generator import world_digest

    sc = load_suite(SMOKE).scenarios[1]
    assert sc.world["digest"] == world_digest(load_world(sc))
    sc.world = dict(sc.world, digest="0" * 16)
    with pytest.raises(UserError, match="world.digest"):
        load_world(sc)


def test_a_scenario_file_lists_missing_then_unknown_then_bad_fields_window_before_alert(tmp_path):
    """Every problem of a scenario file at once, in a fixed order: the file's own missing and unknown fields
    first, then table by table (the window before the alert that must fire inside it) its missing fields,
    unknown keys and bad values."""
    from evalkit.suite import validate_suite

    root = copy_suite(SMOKE, tmp_path / "s", keep=1)
    path = sorted((root / "scenarios").glob("*.json"))[0]
    doc = json.loads(path.read_text())
    del doc["alert"]["metric"]
    doc["alert"].update(owner="sre", title="", fired_at=True)
    doc.update(colour="red", window={"start": "yesterday", "zone": "UTC"}, noise_level=3)
    path.write_text(json.dumps(doc))
    assert [str(p).removeprefix(f"{root}/scenarios/{path.name}: ") for p in validate_suite(root)] == [
        "colour 'unknown field': remove it; allowed fields are alert, category, description, id, max_tool_calls, "
        "noise_level, tags, window, world",
        "window.end 'missing': add the required field 'window.end'",
        "window.zone 'unknown field': remove it; allowed fields are end, start, step",
        "window.start 'yesterday': must be integer epoch seconds (UTC)",
        "alert.metric 'missing': add the required field 'alert.metric'",
        "alert.owner 'unknown field': remove it; allowed fields are component, fired_at, metric, monitor, severity, "
        "threshold, title, value",
        "alert.title '': must be a non-empty string",
        "alert.fired_at True: must be integer epoch seconds",
        "noise_level 3: must be a number from 0 to 1",
    ]
