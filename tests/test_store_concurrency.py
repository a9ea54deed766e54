"""Concurrent writers: pre-merge jobs logging runs and promoting baselines at the same moment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from store_support import unique_suite

from evalkit.store import Store

TESTS_DIR = Path(__file__).resolve().parent

# One pre-merge job (aggregates computed without scipy to keep 8 processes cheap): build its result, connect, report "ready", wait for "go" on stdin, then log its run and
# promote it (all jobs hit the store at once), and print what it did as JSON.
WORKER = r"""
import json, sys
from store_support import synthetic_run_result
from evalkit.store import Store
from evalkit.store.metrics import basic_aggregates

uri, root, suite, index = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
store = Store(uri or None, root=root)
result = synthetic_run_result(suite, build_id=f"build-{index}", seed=index)
store.client()
print("ready", flush=True)
sys.stdin.readline()
run_id = store.log_run(result, aggregates=basic_aggregates(result.table), pr=index)
promotion = store.promote(run_id, suite, "main", reason=f"job {index}", who=f"job-{index}")
print(json.dumps({"run_id": run_id, "queued": run_id.queued, "record": promotion.record_id,
                  "order": promotion.order}), flush=True)
"""


def _run_jobs(uri: str, root: Path, suite: str, n: int) -> list[dict]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS_DIR), os.environ.get("PYTHONPATH", "")])}
    env.pop("MLFLOW_TRACKING_URI", None)
    # Eight interpreters importing mlflow at once on a 2-core runner starve the server for seconds; this
    # test is about concurrent writes, so the connect-time probe gets a patient timeout.
    env["EVALKIT_PROBE_TIMEOUT"] = "10"
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, uri, str(root), suite, str(i)], env=env,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(n)]
    try:
        for p in procs:  # every job is connected and waiting
            line = p.stdout.readline()
            assert line.strip() == "ready", p.stderr.read()
        for p in procs:  # release them together
            p.stdin.write("go\n")
            p.stdin.flush()
        outputs = []
        for p in procs:
            out, err = p.communicate(timeout=240)
            assert p.returncode == 0, err[-3000:]
            outputs.append(json.loads(out.strip().splitlines()[-1]))
        return outputs
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()


def _check_consistent(store: Store, suite: str, jobs: list[dict]) -> None:
    run_ids = {j["run_id"] for j in jobs}
    assert not any(j["queued"] for j in jobs)
    assert len(run_ids) == len(jobs)
    stored = store.find_runs(suite)
    assert {r.run_id for r in stored} == run_ids
    assert all(r.status == "FINISHED" and r.uploaded for r in stored)
    history = store.history(suite, "main")
    assert len(history) == len(jobs)
    assert {p.run_id for p in history} == run_ids
    assert {p.record_id for p in history} == {j["record"] for j in jobs}
    keys = [(p.order, p.record_id) for p in history]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    assert store.current_baseline(suite, "main") == history[-1]


@pytest.mark.slow
@pytest.mark.postgres
def test_eight_jobs_log_and_promote_on_one_server_at_once(mlflow_pg_server, tmp_path):
    suite = unique_suite("conc")
    jobs = _run_jobs(mlflow_pg_server.uri, tmp_path, suite, 8)
    _check_consistent(Store(mlflow_pg_server.uri, root=tmp_path), suite, jobs)


@pytest.mark.slow
def test_three_processes_share_a_new_embedded_store(tmp_path, monkeypatch):
    """They race to create the SQLite schema and then to write; the file lock, WAL and the locked-database
    retry keep every run and promotion."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    suite = unique_suite("conc")
    jobs = _run_jobs("", tmp_path, suite, 3)
    _check_consistent(Store(None, root=tmp_path), suite, jobs)
