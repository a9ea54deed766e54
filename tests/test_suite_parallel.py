"""`--jobs N` for suite generation and validation: same bytes, same problems, as one process."""

from __future__ import annotations

import json

from suite_helpers import SMOKE, copy_suite, run_cli


def _tree(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
            and not any(part.startswith(".") for part in p.relative_to(root).parts)}


def test_generate_with_jobs_is_byte_identical_to_one_job(tmp_path):
    args = ["--name", "par", "--per-category", "3", "--seed", "5"]
    code1, out1, err1 = run_cli(["suite", "generate", "--output-dir", str(tmp_path / "one"), *args])
    code2, out2, err2 = run_cli(["suite", "generate", "--output-dir", str(tmp_path / "two"), *args, "--jobs", "2"])
    assert code1 == 0 and code2 == 0, (err1, err2)
    one, two = _tree(tmp_path / "one"), _tree(tmp_path / "two")
    assert len(one) == 1 + 2 * 36
    assert one == two
    assert out1.split(" ", 1)[1] == out2.split(" ", 1)[1]   # same count and hash


def test_materialized_generation_with_jobs_is_byte_identical(tmp_path):
    from evalkit.suite import generate_suite

    cats = ["database/slow-query", "kubernetes/oom"]
    generate_suite(tmp_path / "one", "m", 2, seed=2, categories=cats, materialize=True)
    generate_suite(tmp_path / "two", "m", 2, seed=2, categories=cats, materialize=True, jobs=2)
    assert _tree(tmp_path / "one") == _tree(tmp_path / "two")


def test_validate_with_jobs_reports_the_same_problems_in_the_same_order(tmp_path):
    root = copy_suite(SMOKE, tmp_path / "s")
    files = sorted((root / "scenarios").glob("*.json"))
    for f, edit in zip(files, [lambda d: d.__setitem__("category", "nope/nope"),
                               lambda d: d["window"].__setitem__("end", 0),
                               lambda d: d.__setitem__("noise_level", 7)]):
        doc = json.loads(f.read_text())
        edit(doc)
        f.write_text(json.dumps(doc))
    (root / "truth" / files[4].name).unlink()
    (root / "scenarios" / "zz-copy.json").write_text(files[5].read_text())   # duplicate id
    results = [run_cli(["suite", "validate", str(root), "--jobs", str(j)]) for j in (1, 2)]
    assert results[0][0] == results[1][0] == 2
    assert results[0][2] == results[1][2]
    assert "duplicate id" in results[0][2] and "unknown category" in results[0][2]


def test_validate_replay_with_jobs_matches_one_job(tmp_path):
    root = copy_suite(SMOKE, tmp_path / "s")
    f = sorted((root / "scenarios").glob("*.json"))[2]
    doc = json.loads(f.read_text())
    doc["world"]["digest"] = "0" * 16
    f.write_text(json.dumps(doc))
    results = [run_cli(["suite", "validate", str(root), "--replay", "--jobs", str(j)]) for j in (1, 2)]
    assert results[0][0] == results[1][0] == 2
    assert results[0][2] == results[1][2] and "world.digest" in results[0][2]
    ok = [run_cli(["suite", "validate", str(SMOKE), "--jobs", str(j)]) for j in (1, 2)]
    assert ok[0] == ok[1] and ok[0][0] == 0


def test_parallel_workers_run_with_the_collector_tuned_for_allocation_heavy_work():
    import gc

    from evalkit.parallel import ordered_map

    probe = "__import__('gc').get_threshold()"
    assert set(ordered_map(eval, [probe] * 4, jobs=2)) == {(20_000, 20, 20)}
    assert gc.get_threshold() != (20_000, 20, 20)  # the calling process keeps its own settings
