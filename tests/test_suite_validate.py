"""`evalkit suite validate` on malformed suites: every problem one line (file, field, value, fix), all of
them listed, exit code 2, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from suite_helpers import SMOKE, copy_suite, run_cli


@pytest.fixture(scope="module")
def materialized_base(tmp_path_factory) -> Path:
    """A tiny materialized suite (2 scenarios with telemetry files) to break in the path/telemetry cases."""
    from evalkit.suite import generate_suite

    out = tmp_path_factory.mktemp("mat") / "mat"
    generate_suite(out, "mat", 1, seed=3, categories=["database/slow-query", "kubernetes/oom"], materialize=True)
    return out


def _first(root: Path, sub: str = "scenarios") -> Path:
    return sorted((root / sub).glob("*.json"))[0]


def _edit_json(path: Path, fn) -> None:
    doc = json.loads(path.read_text())
    fn(doc)
    path.write_text(json.dumps(doc))


def _edit_scenario(fn):
    return lambda root: _edit_json(_first(root), fn)


def _edit_truth(fn):
    return lambda root: _edit_json(_first(root, "truth"), fn)


def _set(key, value):
    def f(doc):
        doc[key] = value
    return f


def _suite_toml(text_fn):
    def f(root):
        p = root / "suite.toml"
        p.write_text(text_fn(p.read_text()))
    return f


def _duplicate(root):
    src = _first(root)
    (root / "scenarios" / "zz-copy.json").write_text(src.read_text())


def _inverted(doc):
    w = doc["window"]
    w["start"], w["end"] = w["end"], w["start"]


def _alert_outside(doc):
    doc["alert"]["fired_at"] = doc["window"]["end"] + 3600


def _huge_number(root):
    path = sorted((root / "scenarios").glob("*.json"))[0]
    path.write_text(path.read_text().replace('"noise_level":', '"noise_level": 1' + "0" * 5000 + ', "x":', 1))


def _symlink_out(root):
    outside = root.parent / "outside-data"
    outside.mkdir(exist_ok=True)
    os.symlink(outside, root / "extra-data")


def _world_path(value):
    return _edit_scenario(lambda d: d.__setitem__("world", {"path": value}))


def _world_symlink(root):
    outside = root.parent / "outside-world"
    outside.mkdir(exist_ok=True)
    (root / "worlds" / "linked").symlink_to(outside)
    _edit_json(_first(root), lambda d: d.__setitem__("world", {"path": "worlds/linked"}))


def _world_hidden(linked: bool):
    """The first world's telemetry moved to a hidden folder, named by world.path or reached through a symlink."""
    def mutate(root):
        path = json.loads(_first(root).read_text())["world"]["path"]
        (root / ".data").mkdir()
        os.replace(root / path, root / ".data" / "w")
        if linked:
            (root / path).symlink_to(root / ".data" / "w", target_is_directory=True)
        else:
            _edit_json(_first(root), lambda d: d.__setitem__("world", {"path": ".data/w"}))
    return mutate


def _off_grid(root):
    f = sorted((root / "worlds").glob("*/metrics.csv"))[0]
    lines = f.read_text().splitlines()
    ts, rest = lines[1].split(",", 1)
    lines[1] = f"{int(ts) + 17},{rest}"
    f.write_text("\n".join(lines) + "\n")


def _topology_bad_json(root):
    sorted((root / "worlds").glob("*/topology.json"))[0].write_text("{\"components\": [")


def _log_unknown_component(root):
    f = sorted((root / "worlds").glob("*/logs.jsonl"))[0]
    f.write_text(f.read_text() + json.dumps({"ts": 1, "component": "ghost", "level": "INFO", "message": "x"}) + "\n")


def _edit_first_trace(edit):
    def mutate(root):
        f = sorted((root / "worlds").glob("*/traces.jsonl"))[0]
        lines = f.read_text().splitlines()
        trace = json.loads(lines[0])
        edit(trace["spans"])
        f.write_text("\n".join([json.dumps(trace)] + lines[1:]) + "\n")
    return mutate


CASES = [
    # (id, base, mutate, expected text in the problem line)
    ("toml-malformed", "smoke", _suite_toml(lambda t: t + "\nname = \n"), "malformed TOML"),
    ("toml-missing-field", "smoke", _suite_toml(lambda t: t.replace("default_trials = 1\n", "")),
     "suite.toml: default_trials 'missing'"),
    ("toml-unknown-field", "smoke", _suite_toml(lambda t: 'colour = "red"\n' + t), "colour 'unknown field'"),
    ("toml-bad-trials", "smoke", _suite_toml(lambda t: t.replace("default_trials = 1", "default_trials = 0")),
     "default_trials 0: must be an integer from 1 to 100"),
    ("scenario-malformed-json", "smoke", lambda r: _first(r).write_text("{ \"id\": "), "malformed JSON"),
    ("scenario-missing-field", "smoke", _edit_scenario(lambda d: d.pop("alert")), "alert 'missing'"),
    ("scenario-unknown-field", "smoke", _edit_scenario(_set("answer", "orders-db")), "answer 'unknown field'"),
    ("unknown-category", "smoke", _edit_scenario(_set("category", "database/slowness")),
     "category 'database/slowness': unknown category"),
    ("duplicate-ids", "smoke", _duplicate, "duplicate id"),
    ("missing-truth", "smoke", lambda r: _first(r, "truth").unlink(), "'missing': add the ground truth"),
    ("truth-component-not-in-topology", "smoke", _edit_truth(_set("component", "ghost-service")),
     "component 'ghost-service': is not a component of the scenario's world topology"),
    ("truth-malformed-json", "smoke", lambda r: _first(r, "truth").write_text("[1, 2"), "malformed JSON"),
    ("truth-disagrees-with-generator", "smoke", _edit_truth(_set("fault_type", "disk_full")),
     "disagrees with what the generator derives"),
    ("truth-bad-evidence", "smoke", _edit_truth(_set("evidence", ["metrics-of-db"])), "evidence 'metrics-of-db'"),
    ("orphan-truth", "smoke", lambda r: (r / "truth" / "nobody.json").write_text("{}"), "orphan truth file"),
    ("window-inverted", "smoke", _edit_scenario(_inverted), "inverted"),
    ("window-bad-type", "smoke", _edit_scenario(lambda d: d["window"].__setitem__("start", "yesterday")),
     "window.start 'yesterday': must be integer epoch seconds"),
    ("alert-outside-window", "smoke", _edit_scenario(_alert_outside), "must lie inside the window"),
    ("unknown-generator", "smoke", _edit_scenario(lambda d: d["world"].__setitem__("generator", "other/9")),
     "world.generator 'other/9': unknown generator"),
    ("noise-out-of-range", "smoke", _edit_scenario(_set("noise_level", 3)), "noise_level 3: must be a number"),
    ("symlink-out-of-suite", "smoke", _symlink_out, "points outside the suite folder"),
    ("path-dotdot", "mat", _world_path("../outside"), "must stay inside the suite folder (no '..')"),
    ("path-absolute", "mat", _world_path("/etc"), "must be relative to the suite folder, not absolute"),
    ("path-symlink-out", "mat", _world_symlink, "resolves outside the suite folder"),
    ("path-missing", "mat", _world_path("worlds/nope"), "no such folder"),
    ("path-hidden", "mat", _world_hidden(False), "is in a hidden folder"),
    ("path-symlink-hidden", "mat", _world_hidden(True), "is in a hidden folder"),
    ("metrics-off-grid", "mat", _off_grid, "not epoch seconds on the 60 s grid"),
    ("topology-malformed", "mat", _topology_bad_json, "topology.json: 'malformed JSON"),
    ("logs-unknown-component", "mat", _log_unknown_component, "component 'ghost': name a component listed"),
    ("span-unknown-component", "mat", _edit_first_trace(lambda spans: spans[-1].__setitem__("component", "ghost")),
     "component 'ghost': name a component listed in topology.json"),
    ("span-parent-out-of-range", "mat", _edit_first_trace(lambda spans: spans[-1].__setitem__("parent", 99)),
     ".parent 99: give the index of another span in this list, or null for the root"),
    ("span-missing-key", "mat", _edit_first_trace(lambda spans: spans[0].pop("operation")),
     "spans[0] 'missing ['operation']': each span needs component, operation, parent, duration_ms, error"),
    ("alert-not-an-object", "mat", _edit_scenario(_set("alert", True)), "alert"),
    ("huge-integer", "smoke", _huge_number, "unreadable JSON (ValueError)"),
    ("symlink-loop", "smoke", lambda r: os.symlink("loop.json", r / "scenarios" / "loop.json"), "is a loop"),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_validate_reports_specific_problem_with_exit_2(case, tmp_path, materialized_base):
    name, base, mutate, expected = case
    root = copy_suite(SMOKE if base == "smoke" else materialized_base, tmp_path / "s", keep=3 if base == "smoke"
                      else None)
    mutate(root)
    code, out, err = run_cli(["suite", "validate", str(root)])
    assert code == 2, (out, err)
    assert expected in err, err
    assert "Traceback" not in err + out
    for line in err.strip().splitlines():  # every problem line names the file it is about
        assert line.startswith(str(root)) or line.startswith("error: "), line


def test_validate_lists_every_problem_not_just_the_first(tmp_path):
    root = copy_suite(SMOKE, tmp_path / "s", keep=4)
    files = sorted((root / "scenarios").glob("*.json"))
    _edit_json(files[0], _set("category", "nope/nope"))
    _edit_json(files[1], _inverted)
    (root / "truth" / files[2].name).unlink()
    _edit_json(files[3], _set("answer", 1))
    code, _, err = run_cli(["suite", "validate", str(root)])
    assert code == 2
    lines = err.strip().splitlines()
    assert any(files[0].name in ln and "unknown category" in ln for ln in lines)
    assert any(files[1].name in ln and "inverted" in ln for ln in lines)
    assert any(files[2].name in ln and "missing" in ln for ln in lines)
    assert any(files[3].name in ln and "unknown field" in ln for ln in lines)
    assert lines[-1].startswith("error: ") and "4 problems" in lines[-1]


def test_validate_rejects_a_path_that_is_not_a_suite_folder(tmp_path):
    code, _, err = run_cli(["suite", "validate", str(tmp_path / "nowhere")])
    assert code == 2 and "no such suite folder" in err and "Traceback" not in err


def test_validate_in_a_real_subprocess_exits_2_with_one_line_per_problem(tmp_path):
    root = copy_suite(SMOKE, tmp_path / "s", keep=2)
    _edit_json(_first(root), _inverted)
    (root / "truth" / "orphan.json").write_text("{}")
    proc = subprocess.run([sys.executable, "-m", "evalkit", "suite", "validate", str(root)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 3, lines  # two problems and the closing error line
    assert "inverted" in lines[0] or "inverted" in lines[1]
    assert any("orphan truth file" in ln for ln in lines)


def test_validate_ok_line_counts_scenarios_categories_and_hash():
    from evalkit.suite import suite_hash

    code, out, err = run_cli(["suite", "validate", str(SMOKE)])
    assert code == 0, err
    assert out.strip() == f"{SMOKE}: OK \u2014 24 scenarios in 12 categories (hash {suite_hash(SMOKE)[:12]})"


def test_load_suite_raises_user_error_with_all_problems(tmp_path):
    from evalkit.errors import UserError
    from evalkit.suite import load_suite

    root = copy_suite(SMOKE, tmp_path / "s", keep=3)
    files = sorted((root / "scenarios").glob("*.json"))
    _edit_json(files[0], _inverted)
    _edit_json(files[1], _set("noise_level", -1))
    with pytest.raises(UserError) as exc:
        load_suite(root)
    assert len(exc.value.problems) == 2


def test_validate_replay_catches_a_scenario_the_generator_no_longer_produces(tmp_path):
    root = copy_suite(SMOKE, tmp_path / "s", keep=2)
    _edit_json(_first(root), lambda d: d["world"].__setitem__("digest", "0123456789abcdef"))
    assert run_cli(["suite", "validate", str(root)])[0] == 0  # the files themselves are well-formed
    code, _, err = run_cli(["suite", "validate", "--replay", str(root)])
    assert code == 2 and "world.digest '0123456789abcdef'" in err and "stale suite" in err


@pytest.mark.parametrize("name", ["suite.toml", "topology.json"])
def test_an_unreadable_file_is_one_problem_line_not_a_traceback(name, tmp_path, monkeypatch, materialized_base):
    root = copy_suite(materialized_base, tmp_path / "s")
    real = Path.read_text

    def denied(self, *a, **k):
        if self.name == name:
            raise PermissionError(13, "Permission denied")
        return real(self, *a, **k)

    monkeypatch.setattr(Path, "read_text", denied)
    code, out, err = run_cli(["suite", "validate", str(root)])
    assert code == 2, (out, err)
    assert f"/{name}: 'unreadable (Permission denied)': make {name} readable by this user" in err, err
    assert "Traceback" not in err + out
