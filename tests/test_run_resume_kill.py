"""Crash safety: `evalkit run` killed with SIGKILL mid-way and rerun gives the uninterrupted run's table."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]


def _cmd(suite: Path, journal: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "evalkit", "run", "--suite", str(suite),
            "--agent", "reference:v1", "--trials", "2", "--seed", "5", "--jobs", "2",
            "--journal-dir", str(journal), "--output-dir", str(out), "--quiet"]


def _records(journal: Path) -> int:
    files = list(journal.glob("*.jsonl"))
    return max(0, len(files[0].read_bytes().split(b"\n")) - 2) if files else 0


@pytest.mark.slow
def test_sigkill_mid_run_then_rerun_gives_the_uninterrupted_table(tmp_path):
    suite = tmp_path / "smoke"  # a private copy: all three runs see the same suite files
    shutil.copytree(REPO / "suites" / "smoke", suite)
    journal = tmp_path / "journal"
    proc = subprocess.Popen(_cmd(suite, journal, tmp_path / "killed"), cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while _records(journal) < 6 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert proc.poll() is None, f"run ended before it could be killed: {proc.communicate()[1][-2000:]!r}"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    done_at_kill = _records(journal)
    jfile = next(journal.glob("*.jsonl"))
    with open(jfile, "ab") as fh:  # and as if the kill had torn the last write
        fh.write(b'{"key":"torn-by-the-cra')

    resumed = subprocess.run(_cmd(suite, journal, tmp_path / "resumed") + ["--json"], cwd=tmp_path,
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    uninterrupted = subprocess.run(_cmd(suite, tmp_path / "journal2", tmp_path / "full"), cwd=tmp_path,
                                   capture_output=True, text=True, timeout=300)
    assert uninterrupted.returncode == 0, uninterrupted.stderr[-2000:]

    meta = json.loads(resumed.stdout)["meta"]
    assert meta["resumed_trials"] >= done_at_kill > 0
    a = pd.read_parquet(tmp_path / "resumed" / "results.parquet")
    b = pd.read_parquet(tmp_path / "full" / "results.parquet")
    assert len(a) == len(b) == 2 * meta["n_scenarios"]
    assert not a.duplicated(["scenario_id", "trial"]).any()
    pd.testing.assert_frame_equal(a.drop(columns="latency_s"), b.drop(columns="latency_s"))
    lines = jfile.read_bytes().split(b"\n")
    assert lines[-1] == b"" and len(lines) - 2 == len(a)  # torn tail gone, one record per trial
