"""Shared set-up of the gate, CLI and report tests (issue 7).

The smoke baseline (``reference:v1`` on ``suites/smoke``, k=2, seed 0) is built once per test session:
logged into an embedded MLflow store, promoted to ``smoke@main`` and exported like a committed baseline.
Helpers run the real ``evalkit`` console script in a subprocess and check the one-line error contract.
"""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TESTS = REPO / "tests"
SMOKE = REPO / "suites" / "smoke"
SMOKE_CATEGORIES = 12
#: the console script installed next to this interpreter (the package is installed editable).
EVALKIT = Path(sys.executable).with_name("evalkit")


@dataclass(frozen=True)
class SmokeBaseline:
    """The session's smoke baseline, in every form a gate can find it."""

    root: Path
    store_db: Path  # embedded store where the run is logged and promoted to smoke@main
    run_id: str
    baselines_dir: Path  # committed-export folder: <dir>/smoke/main.manifest.json + main.results.parquet
    results: Path  # the same results table as a plain .parquet (for `evalkit compare`)
    build_id: str
    suite_hash: str
    suite: Path  # the smoke snapshot it was run on: gate candidates on this path

    @property
    def store_uri(self) -> str:
        return f"sqlite:///{self.store_db}"


_CACHE: dict[str, object] = {}


def smoke_suite(tmp_path_factory) -> Path:
    """The session's snapshot of ``suites/smoke`` (same files, same hash), so that a suite being regenerated
    in the working tree while the tests run cannot change under a gate run."""
    if "suite" not in _CACHE:
        from evalkit.suite import suite_hash

        target = tmp_path_factory.mktemp("suites") / "smoke"
        for _attempt in range(20):
            before = suite_hash(SMOKE)
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(SMOKE, target)
            if suite_hash(target) == before == suite_hash(SMOKE):
                break
            time.sleep(0.5)
        else:  # pragma: no cover - only while someone rewrites suites/smoke continuously
            raise RuntimeError(f"{SMOKE} kept changing while it was copied")
        _CACHE["suite"] = target
    return _CACHE["suite"]  # type: ignore[return-value]


def smoke_baseline(tmp_path_factory, template_db: Path) -> SmokeBaseline:
    """Build (first call) or return the session's smoke baseline, a run of the session's smoke snapshot."""
    if "baseline" not in _CACHE:
        _CACHE["baseline"] = _build_smoke_baseline(tmp_path_factory.mktemp("smoke-baseline"), template_db,
                                                   smoke_suite(tmp_path_factory))
    return _CACHE["baseline"]  # type: ignore[return-value]


def _build_smoke_baseline(root: Path, template_db: Path, suite: Path) -> SmokeBaseline:
    from evalkit.run import JournalConfig, RunConfig, run_suite

    config = RunConfig(trials=2, seed=0, jobs=2, journal=JournalConfig(dir=root / "journal"))
    result = run_suite(suite, "reference:v1", config)
    db, run_id = promote_and_export(result, root, template_db)
    results = root / "baseline.results.parquet"
    result.table.to_parquet(results)
    return SmokeBaseline(root, db, run_id, root / "baselines", results, result.meta["build_id"],
                         result.meta["suite_hash"], suite)


def promote_and_export(result, root: Path, template_db: Path) -> tuple[Path, str]:
    """Log ``result`` as a baseline into a fresh embedded store under ``root/store``, promote it to
    ``<suite>@main`` and export it to ``root/baselines`` like a committed baseline: (store db, run id)."""
    from evalkit.store import Store, export_baseline

    suite = result.meta["suite"]
    db = copy_store_db(template_db, root / "store")
    store = Store(f"sqlite:///{db}", root=root)
    logged = store.log_run(result, role="baseline", outbox=False)
    store.promote(logged.run_id, suite, "main", suite_hash=result.meta["suite_hash"], reason="test baseline")
    export_baseline(store, suite, "main", root / "baselines")
    checkpoint(db)
    return db, logged.run_id


def checkpoint(db: Path) -> None:
    """Fold SQLite's write-ahead log into the database file, so a plain file copy holds every run."""
    with closing(sqlite3.connect(db)) as con:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def copy_store_db(source_db: Path, folder: Path) -> Path:
    """Copy an embedded MLflow database into ``folder`` (artifacts stay where the runs logged them)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "mlflow.db"
    shutil.copyfile(source_db, target)
    wal = source_db.with_name(source_db.name + "-wal")
    if wal.exists():
        shutil.copyfile(wal, target.with_name(target.name + "-wal"))
    return target


def store_with_baseline(baseline: SmokeBaseline, folder: Path) -> str:
    """A tracking URI of a private copy of the baseline store (smoke@main promoted), for one test."""
    return f"sqlite:///{copy_store_db(baseline.store_db, folder)}"


def empty_store(template_db: Path, folder: Path) -> str:
    """A tracking URI of an empty embedded store (schema created), for one test."""
    return f"sqlite:///{copy_store_db(template_db, folder)}"


def dead_port() -> int:
    """A local TCP port nothing listens on (bound, then released)."""
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli_env(**extra: str) -> dict[str, str]:
    """Environment of an ``evalkit`` subprocess: test fakes importable, no inherited tracking URI."""
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(TESTS), env.get("PYTHONPATH", "")) if p)
    env["EVALKIT_PROBE_TIMEOUT"] = "2"
    env.update(extra)
    return env


def run_evalkit(args: list[str], cwd: Path, env: dict[str, str] | None = None,
                timeout: float = 300) -> subprocess.CompletedProcess:
    """Run the real console script; stdout is a pipe (not a terminal), as in CI."""
    return subprocess.run([str(EVALKIT), *args], cwd=cwd, env=env or cli_env(), capture_output=True, text=True,
                          timeout=timeout)


def error_line(stderr: str, *needles: str) -> str:
    """Assert ``stderr`` is exactly one ``error:`` line, without traceback, containing every needle."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one error line, got {len(lines)}:\n{stderr}"
    line = lines[0]
    assert line.startswith("error: "), line
    assert "Traceback" not in stderr
    for needle in needles:
        assert needle in line, f"{needle!r} not in {line!r}"
    return line


def gate_args(suite: Path | str, agent: str, *, baselines_dir: Path, tracking_uri: str | None, out: Path,
              trials: int = 1, seed: int = 1, extra: tuple[str, ...] = ()) -> list[str]:
    """The argument list of one ``evalkit gate`` call (journal and reports under ``out``)."""
    args = ["gate", "--suite", str(suite), "--agent", agent, "--trials", str(trials), "--seed", str(seed),
            "--baselines-dir", str(baselines_dir), "--output-dir", str(out / "reports"),
            "--journal-dir", str(out / "journal"), "--jobs", "2"]
    if tracking_uri:
        args += ["--tracking-uri", tracking_uri]
    return args + list(extra)


# ---- synthetic, schema-valid results tables (for compare / report tests that need many scenarios) --------
SELF_CATEGORIES = ("deploy/bad-release", "config/feature-flag", "capacity/traffic-surge", "latency/timeout-chain")
DOWNSTREAM_CATEGORIES = ("kubernetes/oom", "kubernetes/cpu-throttling", "database/slow-query",
                         "database/connection-pool", "messaging/kafka-lag", "network/connectivity",
                         "storage/disk-full", "dependency/external")
OVERALL = "__overall_micro__"


def synthetic_table(build: str, passes: dict[str, list[bool]], *, trials: int = 2, seed: int = 0,
                    suite: str = "synthetic", suite_hash: str = "0" * 64):
    """A results table in the evalkit schema: ``passes[category][i]`` says whether the build names the right
    component in scenario ``i`` (every trial); the other scores follow from it with a little seeded noise."""
    import json

    import numpy as np
    import pandas as pd

    from evalkit.score.schema import conform

    rng = np.random.default_rng(seed)
    rows = []
    for category, outcomes in passes.items():
        slug = category.replace("/", "-")
        for i, ok in enumerate(outcomes):
            expected = f"{slug}-cause-{i}"
            for trial in range(trials):
                top = expected if ok else f"{slug}-alerting-{i}"
                rows.append({
                    "suite": suite, "suite_hash": suite_hash, "build_id": build, "agent_spec": build,
                    "run_seed": seed, "scenario_id": f"{slug}-{i:03d}", "category": category, "trial": trial,
                    "seed": 1000 * i + trial, "status": "ok", "error_class": "", "error_message": "",
                    "predicted": json.dumps([top, f"{slug}-other-{i}"]), "predicted_fault": "x",
                    "expected_component": expected, "expected_fault": "x",
                    "rca_top1": float(ok), "rca_top3": float(ok or rng.random() < 0.3),
                    "fault_type_correct": float(ok and rng.random() < 0.9),
                    "rca_score": float(np.clip((0.85 if ok else 0.1) + rng.normal(0, 0.05), 0, 1)),
                    "evidence_recall": float(np.clip((0.7 if ok else 0.2) + rng.normal(0, 0.1), 0, 1)),
                    "distractor_ratio": float(np.clip((0.2 if ok else 0.6) + rng.normal(0, 0.1), 0, 1)),
                    "tool_calls": 12, "latency_s": 0.5, "tokens_in": 0.0, "tokens_out": 0.0, "cost_usd": 0.0,
                })
    return conform(pd.DataFrame(rows))


def trade_off_tables(per_category: int = 12, trials: int = 2):
    """(candidate, baseline): the monitor-focus trade-off on 12 categories. The baseline solves every
    downstream scenario and 2 per self-alerting category; the candidate solves every self-alerting scenario
    and 1 per downstream category — a cross-category regression in every downstream category."""
    n = per_category
    base = {c: [i < 2 for i in range(n)] for c in SELF_CATEGORIES}
    base |= {c: [True] * n for c in DOWNSTREAM_CATEGORIES}
    cand = {c: [True] * n for c in SELF_CATEGORIES}
    cand |= {c: [i < 1 for i in range(n)] for c in DOWNSTREAM_CATEGORIES}
    return (synthetic_table("candidate:monitor-focus", cand, trials=trials, seed=1),
            synthetic_table("baseline:v1", base, trials=trials, seed=2))


CORE_POLICY = REPO / "baselines" / "core" / "policy.toml"
