"""The ``Store`` facade: evalkit's one entry point to MLflow (runs, baselines, exports, the outbox).

``Store()`` uses ``EVALKIT_TRACKING_URI``, ``MLFLOW_TRACKING_URI`` or the project's embedded SQLite store in
``.evalkit/mlflow/`` (:mod:`evalkit.workspace`);
``Store("http://host:5000")`` a tracking server. mlflow is imported on first use, not at construction.
"""

from __future__ import annotations

import datetime as dt
import shutil
import time
from functools import partial
from pathlib import Path
from typing import Any, Callable, Iterable

import pandas as pd

from evalkit.errors import UserError
from evalkit.store import baselines, exchange, names, recovery, runs
from evalkit.store.baselines import MAX_INFRA_ERROR_RATE, Promotion
from evalkit.store.outbox import Outbox, OutboxEntry, SyncResult, default_outbox_dir, sync_outbox
from evalkit.store.payload import prepare_run
from evalkit.store.runs import RunInfo
from evalkit.store.tracking import (TrackingTarget, TrackingUnreachable, sqlite_path, is_unreachable_error,
                                    make_client, probe, resolve_tracking, retry_locked)
from evalkit.vocab import Role, Source
from evalkit.workspace import BASELINES


class LoggedRun(str):
    """What :meth:`Store.log_run` returns: a ``str`` equal to the MLflow run id, or ``""`` when the server
    was unreachable and the run was queued in the outbox (``queued`` is then True). ``message`` says which,
    in one line for the user; ``settled`` (a line, or empty) names runs an interrupted upload had left
    RUNNING that this log closed."""

    run_id: str | None
    queued: bool
    key: str
    outbox_path: Path | None
    tracking_uri: str
    experiment: str
    settled: str
    _reason: str  # why the run was queued (message)

    def __new__(cls, run_id: str | None, *, queued: bool, key: str, outbox_path: Path | None,
                tracking_uri: str, experiment: str, reason: str = "", settled: str = "") -> "LoggedRun":
        obj = super().__new__(cls, run_id or "")
        obj.run_id, obj.queued, obj.key, obj.outbox_path = run_id, queued, key, outbox_path
        obj.tracking_uri, obj.experiment, obj._reason, obj.settled = tracking_uri, experiment, reason, settled
        return obj

    def __reduce__(self):  # picklable across processes (the keyword-only constructor needs this)
        return partial(LoggedRun, self.run_id, queued=self.queued, key=self.key, outbox_path=self.outbox_path,
                       tracking_uri=self.tracking_uri, experiment=self.experiment, reason=self._reason,
                       settled=self.settled), ()

    @property
    def message(self) -> str:
        if self.queued:
            return (f"tracking server {self.tracking_uri} unreachable ({self._reason}): run queued in outbox "
                    f"{self.outbox_path}; upload it later with `evalkit sync`")
        return f"logged run {self.run_id} in experiment {self.experiment} at {self.tracking_uri}"


class Store:
    """MLflow-backed system of record (see docs/storage.md)."""

    def __init__(self, tracking_uri: str | None = None, *, root: Path | str | None = None,
                 outbox_dir: Path | str | None = None, configured: str | None = None):
        self.target: TrackingTarget = resolve_tracking(tracking_uri, root, configured)
        self.outbox = Outbox(outbox_dir or default_outbox_dir(root))
        self._client: Any = None

    # -- plumbing -----------------------------------------------------------------------------------------
    @property
    def tracking_uri(self) -> str:
        """The tracking URI, credentials removed (for messages)."""
        return self.target.display

    def client(self, *, reprobe: bool = False) -> Any:
        """The MLflow client, created on first use after a fail-fast probe (TrackingUnreachable if down).

        ``reprobe`` probes again even when the client exists: before an upload that follows a long run.
        """
        if self._client is None or reprobe:
            reason = probe(self.target)
            if reason is not None:
                raise TrackingUnreachable(self.target, reason)
        if self._client is None:
            self._client = make_client(self.target)
        return self._client

    def require_reachable(self) -> None:
        """Fail now, in one line, if the tracking server does not answer; its client is kept for later.

        A local SQLite store is not created here (a store is created by what writes to it), only checked with
        :meth:`check_writable`.
        """
        self.require_loggable(outbox=False)

    def require_loggable(self, outbox: bool = True) -> None:
        """Fail now, in one line, if a run about to start could not be logged here: a local store whose folder
        cannot be written, or (without an ``outbox`` to queue the run in) a tracking server that does not answer."""
        self.check_writable()
        if not outbox and self.target.is_remote:
            self.client()

    def check_writable(self) -> None:
        """Fail now, in one line, if a local SQLite store's folder cannot be created or written (a path under a
        file, a read-only folder): found before a run, not after it."""
        from evalkit.atomic import writable_problem

        path = sqlite_path(self.target.uri) if self.target.kind == "sqlite" else None
        problem = writable_problem(path.parent) if path is not None else None
        if problem:
            raise UserError.at(self.target.origin, "uri", self.target.uri,
                               f"{problem}; choose a tracking URI in a folder evalkit can write")

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(self.client(), self.target, *args, **kwargs)
        except TrackingUnreachable:
            raise
        except Exception as exc:
            if self.target.is_remote and is_unreachable_error(exc):
                raise TrackingUnreachable(self.target, type(exc).__name__) from exc
            raise

    def missing_file(self) -> Path | None:
        """The database file of a local SQLite store that does not exist (yet); None for any other store.
        Readers answer "nothing stored" for it rather than create the store just to read it."""
        if self.target.kind != "sqlite":
            return None
        path = sqlite_path(self.target.uri)
        return path if path is not None and not path.exists() else None

    def require_existing(self) -> None:
        """For readers (notebooks, drift): UserError naming the file when a local store does not exist, instead of
        reporting an empty store ("no runs") for a mistyped or misplaced path."""
        path = self.missing_file()
        if path is not None:
            raise UserError.at(self.target.origin, "uri", self.tracking_uri,
                               f"no store at {path}; check the path (a relative sqlite:/// path is relative to "
                               "the working directory) or log a run there first (evalkit run / evalkit gate)")

    # -- runs -----------------------------------------------------------------------------------------------
    def log_run(self, run_result: Any, *, aggregates: pd.DataFrame | None = None, role: str = Role.CANDIDATE,
                reports: Iterable[str | Path] = (), git_sha: str | None = None, branch: str | None = None,
                pr: str | int | None = None, tags: dict[str, str] | None = None, outbox: bool = True,
                idempotency_key: str | None = None, start_time: dt.datetime | float | None = None) -> LoggedRun:
        """Log one evaluation as an MLflow run (params, tags, batched metrics, artifacts).

        If the tracking server is unreachable the run is queued in the outbox (``outbox=False``: raise
        TrackingUnreachable instead). With ``idempotency_key``, a complete run already carrying that key is
        returned instead of logging a second one. ``start_time`` (an aware datetime or epoch seconds) sets the
        run's start time and metric timestamps instead of now, e.g. to replay a build history.
        """
        prepared = prepare_run(run_result, tracking_uri=self.target.uri, aggregates=aggregates, role=role,
                               reports=reports, git_sha=git_sha, branch=branch, pr=pr, tags=tags,
                               key=idempotency_key)
        if start_time is not None:
            when = start_time if isinstance(start_time, dt.datetime) else \
                dt.datetime.fromtimestamp(float(start_time), dt.timezone.utc)
            prepared.created_ms = int(when.timestamp() * 1000)
            prepared.created_at = when.astimezone(dt.timezone.utc).isoformat(timespec="seconds")
        try:
            try:
                client = self.client(reprobe=True)
                settled = recovery.settle_interrupted(client, [prepared.experiment])
                if idempotency_key:
                    run_id, _ = runs.settle_key(client, self.target, prepared)
                else:
                    run_id = runs.upload(client, self.target, prepared)
                return LoggedRun(run_id, queued=False, key=prepared.key, outbox_path=None,
                                 tracking_uri=self.tracking_uri, experiment=prepared.experiment,
                                 settled=recovery.settled_message(settled, self.tracking_uri))
            except TrackingUnreachable as exc:
                reason = exc.reason
            except Exception as exc:
                if not (self.target.is_remote and is_unreachable_error(exc)):
                    raise
                reason = f"{type(exc).__name__} during upload"
            if not outbox:
                raise TrackingUnreachable(self.target, reason)
            prepared.tags[names.TAG_SOURCE] = Source.OUTBOX
            prepared.save_request()
            path = self.outbox.put(prepared)
            return LoggedRun(None, queued=True, key=prepared.key, outbox_path=path,
                             tracking_uri=self.tracking_uri, experiment=prepared.experiment, reason=reason)
        finally:
            if prepared.directory.parent != self.outbox.directory:
                shutil.rmtree(prepared.directory, ignore_errors=True)

    def settle_interrupted(self, suite: str | None = None, *, now: Callable[[], float] = time.time) -> str:
        """Close the runs of ``suite`` (or of every suite) that an interrupted upload left RUNNING (see
        :mod:`evalkit.store.recovery`); one line saying so, or "" when there were none."""
        if self.missing_file():
            return ""
        client = self.client()
        if suite is not None:
            experiments = [names.experiment_name(suite)]
        else:
            found = retry_locked(client.search_experiments, filter_string=f"name LIKE '{names.EXPERIMENT_PREFIX}%'")
            experiments = [e.name for e in found]
        return recovery.settled_message(recovery.settle_interrupted(client, experiments, now=now),
                                        self.tracking_uri)

    def run_info(self, run_id: str) -> RunInfo:
        return self._call(runs.get_info, run_id)

    def load_table(self, run_id: str) -> pd.DataFrame:
        """The results table of ``run_id``, equal (values and dtypes) to the one logged."""
        return self._call(runs.load_table, run_id)

    def download_table(self, run_id: str, dst: Path) -> Path:
        return self._call(runs.download_table, run_id, Path(dst))

    def load_trajectories(self, run_id: str) -> list[dict]:
        return self._call(runs.load_trajectories, run_id)

    def load_meta(self, run_id: str) -> dict:
        return self._call(runs.load_meta, run_id)

    def _read(self, fn: Any, nothing: Any, *args: Any, **kwargs: Any) -> Any:
        """``_call`` for a reader: ``nothing`` from a local store that does not exist (not created to read it)."""
        return nothing if self.missing_file() else self._call(fn, *args, **kwargs)

    def find_runs(self, suite: str, *, build_id: str | None = None, role: str | None = None,
                  max_results: int = 100) -> list[RunInfo]:
        """Evaluation runs of ``suite``, newest first."""
        return self._read(runs.search_runs, [], suite, build_id=build_id, role=role, max_results=max_results)

    # -- baselines ----------------------------------------------------------------------------------------
    def promote(self, run_id: str, suite: str, alias: str = names.DEFAULT_ALIAS, *, reason: str = "",
                who: str | None = None, suite_hash: str | None = None,
                max_infra_error_rate: float = MAX_INFRA_ERROR_RATE) -> Promotion:
        """Append a promotion of ``run_id`` as the baseline ``suite@alias`` (refuses runs of another suite
        version, failed runs and runs with too many infrastructure errors)."""
        if not 0 <= max_infra_error_rate <= 1:  # NaN too: it would switch the check off
            raise UserError.at("--max-infra-error-rate", "", max_infra_error_rate, "give a share from 0 to 1")
        return self._call(baselines.promote, run_id, suite, alias, reason=reason, who=who, suite_hash=suite_hash,
                          max_infra_error_rate=max_infra_error_rate)

    def history(self, suite: str, alias: str | None = None) -> list[Promotion]:
        """Promotions of ``suite`` (one alias or all), oldest first."""
        return self._read(baselines.history, [], suite, alias)

    def current_baseline(self, suite: str, alias: str = names.DEFAULT_ALIAS) -> Promotion | None:
        """The latest promotion of ``suite@alias``, or None."""
        return self._read(baselines.current, None, suite, alias)

    def export_baseline(self, suite: str, alias: str = names.DEFAULT_ALIAS,
                        baselines_dir: Path | str = BASELINES,
                        run_id: str | None = None) -> Path:
        return exchange.export_baseline(self, suite, alias, baselines_dir, run_id)

    def import_baseline(self, suite: str, alias: str = names.DEFAULT_ALIAS,
                        baselines_dir: Path | str = BASELINES,
                        suite_hash: str | None = None, who: str | None = None) -> Promotion:
        return exchange.import_baseline(self, suite, alias, baselines_dir, suite_hash, who)

    # -- outbox -------------------------------------------------------------------------------------------
    def pending(self) -> list[OutboxEntry]:
        """Runs waiting in the outbox."""
        return self.outbox.entries()

    def sync(self) -> list[SyncResult]:
        """Upload queued runs exactly once: to this store's URI when it was given explicitly (argument or
        MLFLOW_TRACKING_URI), else each to the server it was queued for."""
        override = self.target.uri if self.target.source != "default" else None
        return sync_outbox(self.outbox, override)
