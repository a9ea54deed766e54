"""evalkit init: a new project in an existing git repository, read back through its evalkit.toml, that gates at
once; it never overwrites a file, and a bad evalkit.toml is one error line."""

from __future__ import annotations

import subprocess

import pytest
from suite_helpers import run_cli

from evalkit.scaffold import EXAMPLE_AGENT, WORKFLOW
from evalkit.workspace import Workspace

FAST = ["init", "--categories", "deploy/bad-release", "--per-category", "2", "--no-baseline"]


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """An empty git repository as the working directory, with no store set in the environment."""
    for name in ("EVALKIT_TRACKING_URI", "MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(name, raising=False)
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_init_writes_a_project_that_the_workspace_reads_back(repo):
    code, out, err = run_cli(FAST + ["--suite", "mine"])
    assert code == 0, err
    for rel in ("evalkit.toml", "suites/mine/suite.toml", "baselines/mine/policy.toml", EXAMPLE_AGENT, WORKFLOW):
        assert (repo / rel).is_file(), rel
        assert f"wrote {rel.split('/suite.toml')[0]}" in out
    assert ".evalkit/" in (repo / ".gitignore").read_text().splitlines()
    ws = Workspace.resolve()
    assert ws.root == repo.resolve()
    assert ws.suite_path("mine") == repo.resolve() / "suites" / "mine"
    assert ws.default("agent", None) == f"cmd:python3 {EXAMPLE_AGENT}"
    assert ws.default("suite", None) == "mine" and ws.default("suite", "core") == "core"
    assert ws.policy("mine").min_scenarios == 10
    assert len(list((repo / "suites" / "mine" / "scenarios").glob("*.json"))) == 2


def test_the_workflow_gates_pull_requests_and_publishes_markdown_and_junit(repo):
    yaml = pytest.importorskip("yaml")
    assert run_cli(FAST + ["--pip-spec", "evalkit @ git+https://example.invalid/evalkit"])[0] == 0
    flow = yaml.safe_load((repo / WORKFLOW).read_text())
    steps = flow["jobs"]["gate"]["steps"]
    scripts = "\n".join(str(step.get("run", "")) for step in steps)
    assert "evalkit gate --output-dir evalkit-reports" in scripts
    assert 'pip install "evalkit @ git+https://example.invalid/evalkit"' in scripts
    assert "report.md" in scripts and any("junit.xml" in str(step.get("with", {})) for step in steps)
    cached = [step for step in steps if str(step.get("uses", "")).startswith("actions/cache@")]
    assert cached and cached[0]["with"]["path"] == "~/.cache/evalkit"  # the replay cache outlives the runner
    # the project's agent is a cmd: agent, sandboxed by default: the runner needs bubblewrap, before the gate
    assert scripts.index("apt-get install -y -q bubblewrap") < scripts.index("evalkit gate")


def test_the_users_command_is_the_projects_agent(repo):
    assert run_cli(FAST + ["--agent-command", "node bot/evalkit.js"])[0] == 0
    assert Workspace.resolve().default("agent", None) == "cmd:node bot/evalkit.js"
    assert not (repo / EXAMPLE_AGENT).exists()


def test_init_refuses_to_overwrite_and_writes_nothing(repo):
    (repo / "evalkit.toml").write_text("# mine\n")
    code, out, err = run_cli(FAST)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "evalkit.toml" in err and "never overwrites" in err, err
    assert (repo / "evalkit.toml").read_text() == "# mine\n"
    assert not (repo / "suites").exists() and not (repo / WORKFLOW).exists()


@pytest.mark.parametrize("args, prepare, needle", [
    (["--suite", "../escape"], None, "--suite: '../escape': use letters"),
    (["--suite", "bad name"], None, "--suite: 'bad name'"),
    (["--tracking-uri", "bogus://x"], None, "--tracking-uri: uri 'bogus://x'"),
    (["--categories", ""], None, "--categories: '': name at least one category"),
    ([], lambda r: (r / ".github").write_text("a file"), ".github: file 'not a folder'"),
    ([], lambda r: (r / ".gitignore").mkdir(), ".gitignore: file 'not a file'"),
])
def test_init_refuses_what_would_leave_a_half_written_or_unusable_project(repo, args, prepare, needle):
    if prepare:
        prepare(repo)
    before = sorted(p.name for p in repo.iterdir())
    code, _, err = run_cli(FAST + args)
    assert code == 2 and err.count("\n") == 1 and needle in err, err
    assert sorted(p.name for p in repo.iterdir()) == before  # nothing written
    assert not (repo.parent / "escape").exists()


def test_init_outside_a_git_repository_says_so(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(FAST)
    assert code == 2 and "not a git repository" in err and "git init" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("toml, needle", [
    ('[evalkit]\nsuite_dir = "s"\n', "evalkit.suite_dir"),
    ("[evalkit]\nsuite = 3\n", "give a string"),
    ("[evalkit\n", "fix the TOML syntax"),
])
def test_a_bad_evalkit_toml_is_one_error_line(repo, toml, needle):
    (repo / "evalkit.toml").write_text(toml)
    code, _, err = run_cli(["gate", "--agent", "reference:v1"])
    assert code == 2 and err.count("\n") == 1 and "evalkit.toml" in err and needle in err, err


def test_gate_without_suite_or_agent_names_both_ways_to_give_one(repo):
    code, _, err = run_cli(["gate", "--suite", "smoke"])
    assert code == 2 and "--agent" in err and "evalkit.toml" in err, err


def test_the_projects_store_is_relative_to_its_root_and_the_environment_wins(repo, monkeypatch):
    (repo / "evalkit.toml").write_text('[evalkit]\ntracking_uri = "sqlite:///store/mlflow.db"\n')
    (repo / "sub").mkdir()
    monkeypatch.chdir(repo / "sub")
    target = Workspace.resolve().tracking
    assert (target.uri, target.origin) == (f"sqlite:///{repo.resolve()}/store/mlflow.db", "evalkit.toml tracking_uri")
    monkeypatch.setenv("EVALKIT_TRACKING_URI", "http://evalkit:5000")
    assert Workspace.resolve().tracking.uri == "http://evalkit:5000"


@pytest.mark.slow
def test_a_new_project_gates_its_example_agent_at_once(repo):
    """init records the example agent's baseline (store promotion + committed export); `evalkit gate` passes."""
    code, out, err = run_cli(["init", "--per-category", "4"])
    assert code == 0, err
    assert (repo / "baselines" / "starter" / "main.manifest.json").is_file()
    code, out, err = run_cli(["gate", "--quiet"])
    assert code == 0, err + out
    assert "no regression" in out or "not-worse" in out or "unchanged" in out


def test_a_broken_agent_leaves_the_files_and_says_how_to_record_the_baseline_later(repo):
    code, out, err = run_cli(["init", "--categories", "deploy/bad-release", "--per-category", "6",
                              "--agent-command", "false"])
    errors = [line for line in err.splitlines() if line.startswith("error:")]  # after the progress lines
    assert code == 2 and len(errors) == 1 and "Traceback" not in err, err
    assert "baseline 'not recorded'" in err and "evalkit baseline promote RUN_ID --suite starter" in err
    assert (repo / "evalkit.toml").is_file() and not (repo / "baselines" / "starter" / "main.manifest.json").exists()
