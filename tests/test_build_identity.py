"""Build identity of an agent in a git repository: HEAD when its files are committed; a dirty working tree or
untracked agent files are flagged (``-dirty``) and hashed, so each uncommitted edit is a build of its own."""

from __future__ import annotations

import subprocess

import pytest

from evalkit.agents import load_agent
from system_support import needs_bwrap

AGENT = "import sys\nprint(sys.stdin.readline())\n"


def git(repo, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path):
    git(tmp_path, "init", "-q")
    git(tmp_path, "config", "user.email", "dev@example.com")
    git(tmp_path, "config", "user.name", "dev")
    (tmp_path / "agent").mkdir()
    return tmp_path


def build_of(script) -> object:
    return load_agent(f"cmd:python3 {script}").build


def commit_all(repo) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "agent")
    return git(repo, "rev-parse", "HEAD")


@needs_bwrap
def test_a_committed_agent_is_its_head_commit(repo):
    script = repo / "agent" / "agent.py"
    script.write_text(AGENT)
    head = commit_all(repo)
    build = build_of(script)
    assert (build.git_sha, build.dirty) == (head, False)
    assert str(build).endswith(f"@{head[:12]}") and "uncommitted_sha256" not in build.config


@needs_bwrap
def test_an_edited_agent_is_flagged_and_each_edit_is_its_own_build(repo):
    script = repo / "agent" / "agent.py"
    script.write_text(AGENT)
    head = commit_all(repo)
    script.write_text(AGENT + "# tried a prompt\n")
    first = build_of(script)
    assert first.dirty and first.git_sha == head and str(first).endswith(f"@{head[:12]}-dirty")
    (repo / "agent" / "helper.py").write_text("X = 1\n")  # an untracked file beside it changes the build too
    second = build_of(script)
    assert second.dirty and str(second) != str(first)
    assert second.config["uncommitted_sha256"] != first.config["uncommitted_sha256"]


@needs_bwrap
def test_an_untracked_agent_is_not_passed_off_as_the_head_commit(repo):
    (repo / "README").write_text("x\n")
    head = commit_all(repo)
    script = repo / "agent" / "agent.py"
    script.write_text(AGENT)
    build = build_of(script)
    assert build.dirty and build.git_sha == head and str(build).endswith("-dirty")
    assert build_of(script).config == build.config  # the same uncommitted content: the same build


@needs_bwrap
def test_what_evalkit_writes_in_its_own_folders_does_not_make_a_new_build(repo, monkeypatch):
    monkeypatch.chdir(repo)  # the project root: its suites/, baselines/, .evalkit/ and reports are evalkit's
    script = repo / "agent.py"
    script.write_text(AGENT)
    head = commit_all(repo)
    before = build_of(script)
    for folder in ("baselines/starter", "suites/starter", ".evalkit/runs", "evalkit-reports"):
        (repo / folder).mkdir(parents=True)
        (repo / folder / "main.json").write_text("{}\n")  # e.g. the baseline export `evalkit init` writes
    after = build_of(script)
    assert (after.git_sha, after.dirty) == (head, False) and str(after) == str(before)
    (repo / "prompt.txt").write_text("new prompt\n")  # anything else beside the agent still counts
    assert build_of(script).dirty


@needs_bwrap
def test_agents_describe_shows_the_flag(repo):
    from suite_helpers import run_cli

    script = repo / "agent" / "agent.py"
    script.write_text(AGENT)
    code, out, _ = run_cli(["agents", "describe", f"cmd:python3 {script}", "--json"])
    assert code == 0 and '"dirty": true' in out
