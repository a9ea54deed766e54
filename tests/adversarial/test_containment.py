"""No agent process outlives the run: after SIGINT, SIGTERM or SIGKILL of evalkit mid-run, and after a run
whose agent leaves a ``setsid`` grandchild behind, a scan of /proc finds no process of the run."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from process_scan import left_running, new_token, running_with

from evalkit.agents.sandbox import bwrap_path

REPO = Path(__file__).resolve().parents[2]
FAKE = REPO / "tests" / "fakes" / "subprocess_agents.py"

pytestmark = [pytest.mark.skipif(bwrap_path() is None, reason="bubblewrap (bwrap) is not installed"),
              pytest.mark.slow]


def _evalkit_run(mode: str, token: str, tmp_path: Path, *extra: str) -> subprocess.Popen:
    spec = "cmd:" + shlex.join([sys.executable, str(FAKE), mode, token])
    return subprocess.Popen(
        [sys.executable, "-m", "evalkit", "run", "--suite", "smoke", "--agent", spec, "--trials", "1", "--jobs", "2",
         "--no-log", "--quiet", "--journal-dir", str(tmp_path / "journal"), "--output-dir", str(tmp_path / "out"),
         *extra], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _sleepers(token: str) -> list[int]:
    """The agents' grandchildren (``time.sleep(300)`` with the token), started once an agent is running."""
    out = []
    for pid in running_with(token):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                if b"time.sleep(300)" in fh.read():
                    out.append(pid)
        except OSError:
            continue
    return out


def _kill_leftovers(token: str) -> None:
    for pid in running_with(token):
        os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=lambda s: s.name)
def test_a_signal_to_evalkit_mid_run_ends_every_agent_process(sig, tmp_path):
    token = new_token()
    proc = _evalkit_run("hang_with_setsid_child", token, tmp_path, "--timeout", "600")
    try:
        deadline = time.monotonic() + 60
        # both investigations started: each agent has left its setsid grandchild (evalkit's own command line and
        # bwrap's carry the token too, from the first moments of the run, so they are not counted)
        while len(_sleepers(token)) < 2 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert len(_sleepers(token)) == 2, proc.stderr.read().decode() if proc.poll() is not None else "slow start"
        proc.send_signal(sig)
        proc.wait(timeout=60)
        assert left_running(token) == []
    finally:
        proc.kill()
        _kill_leftovers(token)


def test_a_sigkill_while_sandboxes_are_starting_leaves_nothing_behind(tmp_path):
    """bwrap asks for its parent-death signal only once it runs, so killing evalkit as a sandbox starts used to
    leave that sandbox's agent running (about half of such kills); the watchdog on evalkit's lifeline ends it."""
    for attempt in range(4):
        token = new_token()
        proc = _evalkit_run("hang_with_setsid_child", token, tmp_path / str(attempt), "--timeout", "600")
        try:
            deadline = time.monotonic() + 60
            # evalkit's own command line carries the token; the next ones are its first sandboxes starting
            while len(running_with(token)) < 2 + attempt % 2 and time.monotonic() < deadline:
                pass
            proc.kill()
            proc.wait(timeout=60)
            assert left_running(token) == [], f"attempt {attempt}"
        finally:
            proc.kill()
            _kill_leftovers(token)


def test_a_finished_run_leaves_no_setsid_grandchild_behind(tmp_path):
    token = new_token()
    proc = _evalkit_run("setsid_child", token, tmp_path, "--limit", "4")
    try:
        assert proc.wait(timeout=120) == 0, proc.stderr.read().decode()
        assert left_running(token) == []
    finally:
        _kill_leftovers(token)
