"""Evaluation runs in MLflow: create/upload a prepared run, find it by idempotency key, load it back.

One MLflow run per (build, suite) evaluation, in the experiment ``evalkit/<suite>``. A run is complete once
its ``evalkit.uploaded`` tag is set (after params, metrics and artifacts); that tag is the commit point the
outbox's exactly-once sync relies on. evalkit never deletes or overwrites a run.
"""

from __future__ import annotations

import contextlib
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from evalkit.errors import UserError
from evalkit.store import artifacts, names
from evalkit.store.payload import PreparedRun
from evalkit.store.recovery import uploader_tags
from evalkit.store.tracking import TrackingTarget, is_unreachable_error, retry_locked

MAX_METRICS_PER_BATCH = 1000
MAX_PARAMS_PER_BATCH = 100


@dataclass(frozen=True)
class RunInfo:
    """What evalkit needs to know about a stored evaluation run."""

    run_id: str
    experiment: str
    suite: str
    build_id: str
    suite_hash: str
    status: str  # MLflow status: FINISHED | FAILED | RUNNING | KILLED | SCHEDULED
    outcome: str  # complete | failed (evalkit's verdict on the evaluation itself)
    uploaded: bool
    role: str
    start_time: int
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def infra_error_rate(self) -> float:
        return float(self.metrics.get("run.infra_error_rate", 0.0))

    @property
    def rows(self) -> int:
        return int(self.metrics.get("run.rows", 0))


def ensure_experiment(client: Any, target: TrackingTarget, name: str) -> str:
    """The id of experiment ``name``, creating it if needed (safe when several processes race to create)."""
    from mlflow.exceptions import MlflowException

    for _ in range(3):
        exp = retry_locked(client.get_experiment_by_name, name)
        if exp is not None:
            if exp.lifecycle_stage != "active":
                raise UserError.at(target.display, "experiment", name,
                                   "it was deleted in MLflow; restore it (mlflow experiments restore "
                                   f"--experiment-id {exp.experiment_id}) — evalkit never recreates history")
            return exp.experiment_id
        location = None
        if target.artifact_root is not None:
            location = (target.artifact_root / names.sanitize_key(name)).resolve().as_uri()
        try:
            return retry_locked(client.create_experiment, name, artifact_location=location)
        except MlflowException as exc:
            text = str(exc).lower()
            if "already exists" not in text and "unique" not in text and "duplicate" not in text:
                raise
            # another process created it between our lookup and create: look it up again
    raise UserError.at(target.display, "experiment", name, "could not be created or found; check the server")


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


def upload(client: Any, target: TrackingTarget, prepared: PreparedRun, experiment_id: str | None = None) -> str:
    """Create the MLflow run for ``prepared`` and log params, metrics (batched) and artifacts. Returns the
    run id. On a failure other than an unreachable server the half-made run is marked FAILED."""
    from mlflow.entities import Metric, Param, RunTag

    exp_id = experiment_id or ensure_experiment(client, target, prepared.experiment)
    run = retry_locked(client.create_run, exp_id, start_time=prepared.created_ms,
                       tags={**prepared.tags, **uploader_tags()}, run_name=prepared.run_name)
    run_id = run.info.run_id
    try:
        params = [Param(k, v) for k, v in prepared.params.items()]
        for i in range(0, len(params), MAX_PARAMS_PER_BATCH):
            retry_locked(client.log_batch, run_id, params=params[i:i + MAX_PARAMS_PER_BATCH])
        metrics = [Metric(k, v, prepared.created_ms, 0) for k, v in prepared.metrics.items()]
        for i in range(0, len(metrics), MAX_METRICS_PER_BATCH):
            retry_locked(client.log_batch, run_id, metrics=metrics[i:i + MAX_METRICS_PER_BATCH])
        for sub in sorted(p for p in prepared.directory.iterdir() if p.is_dir()):
            retry_locked(client.log_artifacts, run_id, str(sub), sub.name)
        retry_locked(client.log_batch, run_id, tags=[RunTag(names.TAG_UPLOADED, "true")])
        retry_locked(client.set_terminated, run_id, names.RUN_FAILED if prepared.failed else names.RUN_FINISHED)
    except Exception as exc:
        if not is_unreachable_error(exc):
            with contextlib.suppress(Exception):  # best effort; the original error matters
                client.set_terminated(run_id, names.RUN_FAILED)
        raise
    return run_id


def settle_key(client: Any, target: TrackingTarget, prepared: PreparedRun) -> tuple[str, bool]:
    """Upload ``prepared`` unless a complete run with its key exists: ``(run_id, uploaded_now)``.
    Incomplete leftovers of an interrupted earlier attempt are marked FAILED (never deleted)."""
    from mlflow.entities import ViewType

    exp_id = ensure_experiment(client, target, prepared.experiment)
    flt = f"tags.`{names.TAG_KEY}` = '{_quote(prepared.key)}'"  # runs of any status, deleted ones included
    existing = retry_locked(client.search_runs, [exp_id], filter_string=flt, run_view_type=ViewType.ALL,
                            max_results=100)
    done = [r for r in existing if r.data.tags.get(names.TAG_UPLOADED) == "true"]
    if done:
        done.sort(key=lambda r: (r.info.start_time or 0, r.info.run_id))
        return done[0].info.run_id, False
    for r in existing:
        if r.info.status in names.RUN_ACTIVE:
            with contextlib.suppress(Exception):  # cosmetic; the re-upload is what matters
                retry_locked(client.set_terminated, r.info.run_id, names.RUN_FAILED)
    return upload(client, target, prepared, exp_id), True


def get_info(client: Any, target: TrackingTarget, run_id: str) -> RunInfo:
    """The stored run ``run_id``; UserError if there is none."""
    from mlflow.exceptions import MlflowException

    if not run_id or not str(run_id).strip():
        raise UserError.at(target.display, "run", "", "no run id (was the run queued in the outbox? run "
                           "`evalkit sync` first, then use the id it prints)")
    try:
        run = retry_locked(client.get_run, run_id)
    except MlflowException as exc:
        if "not found" in str(exc).lower() or "does not exist" in str(exc).lower() or \
                getattr(exc, "error_code", "") == "RESOURCE_DOES_NOT_EXIST":
            raise UserError.at(target.display, "run", run_id,
                               "no such run; copy the id from `evalkit baseline history` or the MLflow UI") from None
        raise
    return info_from(client, run)


def info_from(client: Any, run: Any) -> RunInfo:
    tags = dict(run.data.tags)
    exp_name = tags.get("mlflow.experimentName", "")
    if not exp_name:
        exp = retry_locked(client.get_experiment, run.info.experiment_id)
        exp_name = exp.name if exp else ""
    return RunInfo(
        run_id=run.info.run_id, experiment=exp_name, suite=tags.get(names.TAG_SUITE, ""),
        build_id=tags.get(names.TAG_BUILD, ""), suite_hash=tags.get(names.TAG_SUITE_HASH, ""),
        status=run.info.status, outcome=tags.get(names.TAG_OUTCOME, ""),
        uploaded=tags.get(names.TAG_UPLOADED) == "true", role=tags.get(names.TAG_ROLE, ""),
        start_time=int(run.info.start_time or 0), params=dict(run.data.params), tags=tags,
        metrics=dict(run.data.metrics))


def _download(client: Any, target: TrackingTarget, run_id: str, path: str, dst: Path) -> Path | None:
    """Download one artifact file; None if the run has no such artifact."""
    from mlflow.exceptions import MlflowException

    try:
        return Path(retry_locked(client.download_artifacts, run_id, path, str(dst)))
    except (MlflowException, OSError) as exc:
        text = str(exc).lower()
        if "no such file" in text or "not found" in text or "does not exist" in text or \
                isinstance(exc, FileNotFoundError):
            return None
        raise


def download_table(client: Any, target: TrackingTarget, run_id: str, dst: Path) -> Path:
    """Download the results Parquet of ``run_id`` into folder ``dst`` (bytes exactly as logged)."""
    get_info(client, target, run_id)  # a clear error for an unknown run id
    path = _download(client, target, run_id, names.ARTIFACT_TABLE, dst)
    if path is None:
        raise UserError.at(target.display, "run", run_id,
                           f"has no {names.ARTIFACT_TABLE} artifact: it was not logged by evalkit (or its "
                           "upload was interrupted); pick another run")
    return path


def load_table(client: Any, target: TrackingTarget, run_id: str) -> pd.DataFrame:
    """The results table logged with ``run_id``, exactly as logged (dtypes included)."""
    with tempfile.TemporaryDirectory(prefix="evalkit-load-") as tmp:
        return artifacts.read_table(download_table(client, target, run_id, Path(tmp)),
                                    f"run {run_id} artifact {names.ARTIFACT_TABLE}", "pick another run")


def load_trajectories(client: Any, target: TrackingTarget, run_id: str) -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="evalkit-load-") as tmp:
        path = _download(client, target, run_id, names.ARTIFACT_TRAJECTORIES, Path(tmp))
        return artifacts.read_trajectories(path) if path else []


def load_meta(client: Any, target: TrackingTarget, run_id: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="evalkit-load-") as tmp:
        path = _download(client, target, run_id, names.ARTIFACT_META, Path(tmp))
        return artifacts.read_json(path) if path else {}


def search_runs(client: Any, target: TrackingTarget, suite: str, *, build_id: str | None = None,
                role: str | None = None, max_results: int = 100) -> list[RunInfo]:
    """Evaluation runs of ``suite``, newest first, optionally filtered by build id and role."""
    exp = retry_locked(client.get_experiment_by_name, names.experiment_name(suite))
    if exp is None:
        return []
    clauses = []
    if build_id:
        clauses.append(f"tags.`{names.TAG_BUILD}` = '{_quote(build_id)}'")
    if role:
        clauses.append(f"tags.`{names.TAG_ROLE}` = '{_quote(role)}'")
    runs = retry_locked(client.search_runs, [exp.experiment_id], filter_string=" and ".join(clauses),
                        max_results=max_results, order_by=["attributes.start_time DESC"])
    return [info_from(client, r) for r in runs]
