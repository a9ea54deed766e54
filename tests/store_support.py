"""Helpers for the store tests: synthetic run results, an MLflow server on PostgreSQL, a TCP forwarder.

Importable from test modules, conftest fixtures and the worker processes of the concurrency test (which
run with ``tests/`` on ``PYTHONPATH``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from evalkit.score.schema import conform

CATEGORIES = ("deploy/bad-release", "database/slow-query", "kubernetes/oom", "network/connectivity")
PG_HOST, PG_PORT = "127.0.0.1", 5432


@dataclass
class SyntheticRunResult:
    """Stands in for ``evalkit.run.RunResult`` (same three attributes)."""

    table: pd.DataFrame
    trajectories: list[dict]
    meta: dict
    warnings: list[str] = field(default_factory=list)


def synthetic_table(suite: str = "core", n_scenarios: int = 12, trials: int = 3, seed: int = 0,
                    build_id: str = "reference:v1+abc", suite_hash: str = "hash-1", infra_errors: int = 0,
                    custom: bool = True) -> pd.DataFrame:
    """A schema-conformant results table with every column type: strings (some empty), int64, float64 with
    NaN, and ``custom.*`` columns."""
    rng = np.random.default_rng(seed)
    rows = n_scenarios * trials
    scenario = np.repeat([f"{suite}-{i:05d}" for i in range(n_scenarios)], trials)
    category = np.asarray(CATEGORIES)[np.repeat(np.arange(n_scenarios) % len(CATEGORIES), trials)]
    data: dict[str, object] = {
        "suite": suite, "suite_hash": suite_hash, "build_id": build_id, "agent_spec": "reference:v1",
        "run_seed": seed, "scenario_id": scenario, "category": category,
        "trial": np.tile(np.arange(trials), n_scenarios), "seed": rng.integers(0, 2**62, rows),
        "status": "ok", "error_class": "", "error_message": "",
        "predicted": ['["svc-a", "svc-b"]'] * rows, "predicted_fault": rng.choice(["slow_query", ""], rows),
        "expected_component": "svc-a", "expected_fault": "slow_query",
    }
    for c in ("rca_top1", "rca_top3", "fault_type_correct"):
        data[c] = (rng.random(rows) < 0.6).astype("float64")
    for c in ("rca_score", "evidence_recall", "distractor_ratio", "latency_s", "tokens_in", "tokens_out",
              "cost_usd"):
        data[c] = rng.random(rows)
    data["tool_calls"] = rng.integers(1, 40, rows)
    table = pd.DataFrame(data)
    table.loc[1, "evidence_recall"] = np.nan
    table.loc[2, "error_message"] = "ünïcode ✓ 'quoted' \"double\"\nnewline"
    if infra_errors:
        idx = table.index[:infra_errors]
        table.loc[idx, "status"] = "infra_error"
        table.loc[idx, "error_class"] = "infra_unreachable"
        table.loc[idx, ["rca_top1", "rca_top3", "fault_type_correct", "rca_score"]] = np.nan
    if custom:
        table["custom.judge.helpfulness"] = rng.random(rows)
        table.loc[0, "custom.judge.helpfulness"] = np.nan
    return conform(table)


def synthetic_run_result(suite: str = "core", *, build_id: str = "reference:v1+abc", suite_hash: str = "hash-1",
                         n_scenarios: int = 12, trials: int = 3, seed: int = 0, infra_errors: int = 0,
                         **meta_extra: object) -> SyntheticRunResult:
    table = synthetic_table(suite, n_scenarios, trials, seed, build_id, suite_hash, infra_errors)
    trajectories = [
        {"scenario_id": s, "trial": int(t), "stderr": "",
         "calls": [{"tool": "query_metric", "args": {"component": "db", "metric": "latency_p99"},
                    "result_size": 120, "elapsed_s": 0.01, "refs": ["metric:db:latency_p99"]}],
         "finding": {"hypotheses": [{"component": "db", "fault_type": "slow_query", "confidence": 0.8}],
                     "summary": "slow query on db"}}
        for s, t in zip(table["scenario_id"], table["trial"])
    ]
    meta = {"suite": suite, "suite_version": "1.0", "suite_hash": suite_hash, "build_id": build_id,
            "agent_spec": "reference:v1", "trials": trials, "seed": seed, "evalkit_version": "0.1.0",
            "started_at": "2026-01-01T00:00:00+00:00", "duration_s": 12.5, "infra_errors": infra_errors,
            "executor": "local", "warnings": []}
    meta.update(meta_extra)
    return SyntheticRunResult(table, trajectories, meta)


def unique_suite(prefix: str = "t") -> str:
    """A suite name no other test uses (the PostgreSQL server is shared by the whole session)."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


# -- network helpers -------------------------------------------------------------------------------------
def free_port() -> int:
    with contextlib.closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


class TcpForwarder:
    """Forwards 127.0.0.1:``port`` to ``upstream`` while started: a tracking server that is down (nothing
    listens) and later up again at the same URI."""

    def __init__(self, port: int, upstream: tuple[str, int]):
        self.port, self.upstream = port, upstream
        self._server: socket.socket | None = None
        self._stop = threading.Event()

    def start(self) -> "TcpForwarder":
        srv = socket.socket()
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(("127.0.0.1", self.port))
        srv.listen(64)
        srv.settimeout(0.2)
        self._server = srv
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()  # type: ignore[union-attr]
            except (socket.timeout, OSError):
                continue
            try:
                upstream = socket.create_connection(self.upstream, timeout=10)
            except OSError:
                client.close()
                continue
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while chunk := src.recv(65536):
                dst.sendall(chunk)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)


# -- PostgreSQL-backed MLflow server ----------------------------------------------------------------------
@dataclass
class MlflowServer:
    uri: str
    port: int
    database: str
    process: subprocess.Popen
    log_path: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=3)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def _pg_admin(sql: str) -> None:
    import psycopg2

    con = psycopg2.connect(host=PG_HOST, port=PG_PORT, user="postgres", dbname="postgres", connect_timeout=5)
    try:
        con.autocommit = True
        with con.cursor() as cur:
            cur.execute(sql)
    finally:
        con.close()


def start_pg_mlflow_server(workdir: Path, startup_timeout_s: float = 120.0) -> MlflowServer:
    """Create a fresh database, start ``mlflow server`` on it (artifacts proxied to ``workdir``) and wait
    until ``/health`` answers."""
    database = f"evalkit_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    _pg_admin(f'CREATE DATABASE "{database}"')
    port = free_port()
    log_path = workdir / "mlflow-server.log"
    # SQLAlchemy 2.1 maps plain postgresql:// to psycopg 3; the installed driver is psycopg2.
    backend = f"postgresql+psycopg2://postgres@{PG_HOST}:{PG_PORT}/{database}"
    cmd = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", backend,
           "--artifacts-destination", str(workdir / "artifacts"), "--host", "127.0.0.1", "--port", str(port),
           "--workers", "1"]  # one: a second worker doubles start-up (~7 s of CPU here) and no test needs it
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                cwd=workdir, env=env)
    server = MlflowServer(f"http://127.0.0.1:{port}", port, database, proc, log_path)
    deadline = time.monotonic() + startup_timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            drop_database(database)
            raise RuntimeError(f"mlflow server exited ({proc.returncode}):\n{log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{server.uri}/health", timeout=1) as resp:
                if resp.status == 200:
                    return server
        except OSError:
            pass
        time.sleep(0.25)
    server.stop()
    drop_database(database)
    raise RuntimeError(f"mlflow server did not answer /health in {startup_timeout_s}s:\n"
                       f"{log_path.read_text()[-3000:]}")


def drop_database(database: str) -> None:
    _pg_admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
