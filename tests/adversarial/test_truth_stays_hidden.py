"""Hostile agents, one attack each, against the sandbox: none finds the truth, the run's results or evalkit's
secrets, and each scores as a normal answer. Every attack is first shown to work without the sandbox
(``--sandbox none``), so a test that passes proves the sandbox stopped it rather than the attack being blind."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from evalkit.agents.sandbox import bwrap_path
from evalkit.run.outputs import read_outputs
from evalkit.vocab import SandboxMode, Status

REPO = Path(__file__).resolve().parents[2]
HOSTILE = Path(__file__).resolve().parent / "hostile_agent.py"
SCENARIO = "database-slow-query-001"
SECRET = "adversarial-secret-value"
ALERTING = "metering"  # the alerting component of SCENARIO; the truth is profiles-db

ATTACKS = ["proc_parent", "proc_all", "dotdot", "absolute", "find_root", "journal", "baseline", "dot_evalkit",
           "reports", "environment", "fds", "whitelist_escape", "symlink_escape", "tmp_and_home", "proc_root_escape"]
#: attacks that need what only an unsandboxed agent has (the parent's /proc, its descriptors, a proc mount):
#: unsandboxed they find something on a typical run, but not on every machine, so the control is skipped.
CONTROL_MAY_MISS = {"fds", "proc_root_escape"}

pytestmark = pytest.mark.skipif(bwrap_path() is None, reason="bubblewrap (bwrap) is not installed")


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> dict[str, Path]:
    """A user's checkout: the smoke suite, a committed baseline file, a journal, an earlier gate's reports, and a
    whitelisted tools folder that holds a symlink to the truth (a user's mistake the sandbox must survive)."""
    root = tmp_path_factory.mktemp("checkout")
    shutil.copytree(REPO / "suites" / "smoke", root / "suites" / "smoke")
    (root / "baselines" / "smoke").mkdir(parents=True)
    truth = root / "suites" / "smoke" / "truth" / f"{SCENARIO}.json"
    (root / "baselines" / "smoke" / "main.results.parquet").write_bytes(b"PAR1 expected_component PAR1")
    # an earlier gate's reports in the folder the gate writes by default
    (root / "evalkit-reports").mkdir()
    (root / "evalkit-reports" / "comparison.json").write_text('{"flips": [{"expected_component": "profiles-db"}]}')
    tools = tmp_path_factory.mktemp("agent-tools")
    (tools / "link").symlink_to(truth.parent)
    # an earlier run's journal under .evalkit/, as a checkout that has run a gate holds
    from evalkit.run import run_suite
    from evalkit.run.config import JournalConfig, RunConfig

    run_suite(root / "suites" / "smoke", "reference:v1",
              RunConfig(trials=1, journal=JournalConfig(dir=root / ".evalkit" / "journal")), scenario_ids=[SCENARIO])
    return {"root": root, "truth": truth, "tools": tools,
            "baseline": root / "baselines" / "smoke" / "main.results.parquet"}


def _attack_all(project: dict[str, Path], mode: SandboxMode, workdir: Path) -> tuple[dict[str, list[str]], dict]:
    """Run ``evalkit run`` as a user would, with a secret in its environment, on one scenario, with a hostile
    agent that tries every attack in turn: (leaks by attack, the scored row)."""
    journal = project["root"] / ".evalkit" / "journal"
    argv = [sys.executable, str(HOSTILE), "all", "--project", str(project["root"]), "--truth", str(project["truth"]),
            "--journal", str(journal), "--baseline", str(project["baseline"]), "--extra", str(project["tools"])]
    out = workdir / f"run-{mode.value}"
    cmd = [sys.executable, "-m", "evalkit", "run", "--suite", "suites/smoke", "--agent", "cmd:" + shlex.join(argv),
           "--scenario", SCENARIO, "--trials", "1", "--executor", "threads", "--timeout", "600", "--no-log",
           "--quiet", "--fresh", "--sandbox", mode.value, "--agent-path", str(project["tools"]),
           "--output-dir", str(out)]
    proc = subprocess.run(cmd, cwd=project["root"], capture_output=True, text=True, timeout=900,
                          env={**os.environ, "EVALKIT_ADVERSARIAL_SECRET": SECRET})
    assert proc.returncode == 0, proc.stderr
    result = read_outputs(out)
    row = result.table.iloc[0].to_dict()
    assert row["status"] == Status.OK, row["error_message"]
    return json.loads(result.trajectories[0]["finding"]["summary"])["leaks"], row


@pytest.fixture(scope="module")
def sandboxed(project, tmp_path_factory):
    return _attack_all(project, SandboxMode.ON, tmp_path_factory.mktemp("sandboxed"))


@pytest.fixture(scope="module")
def unsandboxed(project, tmp_path_factory):
    return _attack_all(project, SandboxMode.NONE, tmp_path_factory.mktemp("unsandboxed"))


@pytest.mark.slow
@pytest.mark.parametrize("attack", ATTACKS)
def test_the_attack_finds_nothing_in_the_sandbox_and_scores_as_a_normal_answer(sandboxed, attack):
    leaks, row = sandboxed
    assert leaks[attack] == []
    assert json.loads(row["predicted"]) == [ALERTING]  # its normal answer, scored as such
    assert row["rca_top1"] == 0.0 and row["error_class"] == ""


@pytest.mark.slow
@pytest.mark.parametrize("attack", [a for a in ATTACKS if a not in CONTROL_MAY_MISS])
def test_without_the_sandbox_the_same_attack_finds_the_truth(unsandboxed, attack):
    leaks, _ = unsandboxed
    assert leaks[attack], f"{attack} found nothing even unsandboxed: the attack itself is blind"


@pytest.mark.slow
@pytest.mark.parametrize("isolate", [False, True], ids=["in-process", "isolated"])
def test_an_isolated_python_agent_cannot_read_what_an_in_process_one_can(project, isolate, monkeypatch):
    from evalkit.run import run_suite
    from evalkit.run.config import NO_JOURNAL, RunConfig, SandboxConfig

    monkeypatch.chdir(project["root"])
    monkeypatch.setenv("EVALKIT_ADVERSARIAL_SECRET", SECRET)
    config = RunConfig(trials=1, executor="threads", journal=NO_JOURNAL, sandbox=SandboxConfig(isolate=isolate))
    result = run_suite(project["root"] / "suites" / "smoke", "adversarial.hostile_python:investigate", config,
                       scenario_ids=[SCENARIO])
    assert result.table["status"].iloc[0] == Status.OK, result.table["error_message"].iloc[0]
    leaks = json.loads(result.trajectories[0]["finding"]["summary"])["leaks"]
    assert bool(leaks) is not isolate  # trusted in-process code sees everything; isolated, nothing
    assert result.meta["sandbox"] == ("on" if isolate else "in-process")
