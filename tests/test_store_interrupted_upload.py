"""An MLflow run left RUNNING by an upload that was killed (SIGKILL while logging) is closed by the next run,
gate or sync: FINISHED if every artifact had been logged, FAILED otherwise, and that is said in one line.
Runs of uploads still in progress are left alone."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest

from evalkit.store import names
from evalkit.store.recovery import STALE_AFTER_S, uploader_gone
from gate_support import cli_env, copy_store_db, synthetic_table
from suite_helpers import SMOKE, copy_suite, run_cli

HOST = "ci-runner-7"
NOW = 1_700_000_000.0


# ---- who can still finish an upload (clock and process table injected) ----------------------------------
@pytest.mark.parametrize("tags, start_ms, alive, gone", [
    ({names.TAG_UPLOADER: f"{HOST}:4242:999"}, 0, False, True),  # this host, process gone
    ({names.TAG_UPLOADER: f"{HOST}:4242:999"}, 0, True, False),  # this host, still uploading
    ({names.TAG_UPLOADER: "other-host:4242:1", names.TAG_UPLOAD_STARTED: f"{NOW - 60:.0f}"}, 0, True, False),
    ({names.TAG_UPLOADER: "other-host:4242:1", names.TAG_UPLOAD_STARTED: f"{NOW - STALE_AFTER_S - 1:.0f}"}, 0,
     True, True),
    ({}, int((NOW - 2 * STALE_AFTER_S) * 1000), True, True),  # an older evalkit's run: by its start time
    ({}, int((NOW - 10) * 1000), True, False),
])
def test_an_upload_is_presumed_dead_only_when_it_cannot_still_be_running(tags, start_ms, alive, gone):
    assert uploader_gone(tags, start_ms, now=NOW, host=HOST, alive=lambda pid, start: alive) is gone


# ---- a real upload killed mid-way, in an embedded SQLite store ---------------------------------------------
KILLED_UPLOAD = textwrap.dedent("""
    import os, signal, sys
    from types import SimpleNamespace
    from mlflow.tracking.client import MlflowClient
    from evalkit.store import Store
    from gate_support import synthetic_table

    uri, at, suite = sys.argv[1:]
    setattr(MlflowClient, at, lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL))
    table = synthetic_table("build:killed", {"kubernetes/oom": [True] * 3}, suite=suite)
    Store(uri).log_run(SimpleNamespace(table=table, trajectories=[], meta={"suite": suite}), outbox=False)
""")


def killed_upload(uri: str, at: str, cwd: Path, suite: str = "killed") -> None:
    """Upload a run of ``suite`` into ``uri`` in a process that SIGKILLs itself when it calls
    MlflowClient.``at``."""
    proc = subprocess.run([sys.executable, "-c", KILLED_UPLOAD, uri, at, suite], cwd=cwd, env=cli_env(),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == -9, proc.stderr[-2000:]


def runs_of(uri: str, suite: str) -> list:
    from mlflow import MlflowClient

    client = MlflowClient(uri)
    exp = client.get_experiment_by_name(names.experiment_name(suite))
    return client.search_runs([exp.experiment_id]) if exp else []


@pytest.fixture
def store_uri(embedded_store_template, tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    return f"sqlite:///{copy_store_db(embedded_store_template, tmp_path / 'store')}"


def log_one(uri: str, suite: str = "killed"):
    from evalkit.store import Store

    table = synthetic_table("build:next", {"kubernetes/oom": [True] * 3}, suite=suite)
    return Store(uri).log_run(SimpleNamespace(table=table, trajectories=[], meta={"suite": suite}), outbox=False)


@pytest.mark.parametrize("killed_at, closed_as", [("log_artifacts", "FAILED"), ("set_terminated", "FINISHED")])
def test_the_next_log_closes_a_run_a_killed_upload_left_running(store_uri, tmp_path, killed_at, closed_as):
    killed_upload(store_uri, killed_at, tmp_path)
    [left] = runs_of(store_uri, "killed")
    assert left.info.status == "RUNNING"

    logged = log_one(store_uri)
    assert logged.settled.startswith("closed 1 MLflow run(s) at ")
    assert f"{left.info.run_id} (evalkit/killed) {closed_as}" in logged.settled and "\n" not in logged.settled
    status = {r.info.run_id: r.info.status for r in runs_of(store_uri, "killed")}
    assert status == {left.info.run_id: closed_as, logged.run_id: "FINISHED"}
    assert log_one(store_uri).settled == ""  # said once


def test_a_run_whose_upload_is_still_going_is_left_alone(store_uri):
    from mlflow import MlflowClient

    from evalkit.store.recovery import uploader_tags

    logged = log_one(store_uri)  # creates the experiment
    client = MlflowClient(store_uri)
    exp = client.get_experiment_by_name("evalkit/killed")
    busy = client.create_run(exp.experiment_id, tags={names.TAG_KEY: "in-progress", **uploader_tags()})
    assert log_one(store_uri).settled == ""
    assert client.get_run(busy.info.run_id).info.status == "RUNNING" and logged.run_id


def test_evalkit_run_says_in_one_line_that_it_closed_its_suite_s_run(store_uri, tmp_path):
    suite = copy_suite(SMOKE, tmp_path / "smoke", keep=2)
    killed_upload(store_uri, "log_artifacts", tmp_path, suite="smoke")  # an earlier run killed while logging
    [left] = runs_of(store_uri, "smoke")
    code, out, err = run_cli(["run", "--suite", str(suite), "--agent", "reference:v1", "--trials", "1",
                              "--tracking-uri", store_uri, "--journal-dir", str(tmp_path / "j"),
                              "--output-dir", str(tmp_path / "out"), "--quiet"])
    assert code == 0, err
    [line] = err.splitlines()
    assert line.startswith("note: closed 1 MLflow run(s)") and f"{left.info.run_id} (evalkit/smoke) FAILED" in line
    assert sorted(r.info.status for r in runs_of(store_uri, "smoke")) == ["FAILED", "FINISHED"]


def test_evalkit_sync_closes_runs_of_every_suite_and_says_so(store_uri, tmp_path):
    killed_upload(store_uri, "log_artifacts", tmp_path)
    code, out, err = run_cli(["sync", "--tracking-uri", store_uri])
    assert code == 0, err
    [line] = [x for x in out.splitlines() if x.startswith("closed ")]
    assert "(evalkit/killed) FAILED" in line
    assert [r.info.status for r in runs_of(store_uri, "killed")] == ["FAILED"]
