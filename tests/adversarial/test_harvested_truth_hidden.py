"""A suite admitted from harvested labels keeps its truth (and the provenance beside it) from the agent like any
other suite: the hostile agent's "absolute" attack reads it without the sandbox and finds nothing inside it."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from evalkit.agents.sandbox import bwrap_path
from evalkit.labels.admit import admit
from evalkit.labels.decisions import Decision, DecisionLog
from evalkit.labels.policy import LabelPolicy
from evalkit.labels.records import CANDIDATES_DIR, write_candidate
from evalkit.labels.validation import validate_folder
from evalkit.run.outputs import read_outputs
from evalkit.vocab import ReviewAction, SandboxMode

from labels_support import candidate, correction

HOSTILE = Path(__file__).resolve().parent / "hostile_agent.py"

pytestmark = [pytest.mark.slow, pytest.mark.skipif(bwrap_path() is None, reason="bubblewrap (bwrap) is not installed")]


@pytest.fixture(scope="module")
def harvested(tmp_path_factory) -> tuple[Path, str]:
    """A checkout holding one admitted harvested label: (checkout root, label id)."""
    root = tmp_path_factory.mktemp("checkout")
    labels = root / "labels"
    (labels / CANDIDATES_DIR).mkdir(parents=True)
    cand = candidate([correction("profiles-db", text="it was the profiles db")])
    write_candidate(labels, cand)
    validate_folder(labels, LabelPolicy(solvability_build=None))
    log = DecisionLog(labels / "decisions.jsonl")
    log.append(Decision(cand.id, ReviewAction.APPROVE, "alice", "2026-01-01T00:00:00Z"))
    admit(labels, log, root / "suites" / "harvested")
    return root, cand.id


@pytest.mark.parametrize("mode,leaks", [(SandboxMode.NONE, True), (SandboxMode.ON, False)])
def test_the_truth_of_a_harvested_label_is_out_of_the_sandboxed_agents_reach(harvested, mode, leaks, tmp_path):
    root, label = harvested
    truth = root / "suites" / "harvested" / "truth" / f"{label}.json"
    argv = [sys.executable, str(HOSTILE), "absolute", "--project", str(root), "--truth", str(truth)]
    cmd = [sys.executable, "-m", "evalkit", "run", "--suite", "suites/harvested", "--agent", "cmd:" + shlex.join(argv),
           "--trials", "1", "--executor", "threads", "--no-log", "--quiet", "--fresh", "--sandbox", mode.value,
           "--output-dir", str(tmp_path / "out"), "--journal-dir", str(tmp_path / "journal")]
    proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    found = json.loads(read_outputs(tmp_path / "out").trajectories[0]["finding"]["summary"])["leaks"]["absolute"]
    assert bool(found) == leaks, found
