"""Committed baselines: export a promoted run to ``baselines/<suite>/``, import it into an empty store, and
resolve the baseline a gate compares against (the store first, else the committed export).

Files per ``suite@alias``: ``<alias>.results.parquet`` (the logged results table, byte for byte) and
``<alias>.manifest.json`` (build id, suite hash, MLflow run id, trials, seed, evalkit version, sha256 of the
Parquet, ...). Both are written atomically; the sha256 is checked on every read, and so is the table itself
(readable Parquet, every schema column of the right kind, some rows): a baseline is checked in full before
a candidate is run against it.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING

import pandas as pd

from evalkit import __version__
from evalkit.atomic import atomic_write
from evalkit.errors import Problem, UserError
from evalkit.provenance import sha256_file
from evalkit.score.table_check import check_results
from evalkit.store import artifacts, names
from evalkit.store.tracking import TrackingUnreachable
from evalkit.vocab import Role, Source
from evalkit.workspace import BASELINES

if TYPE_CHECKING:  # pragma: no cover
    from evalkit.store.baselines import Promotion
    from evalkit.store.store import Store

MANIFEST_FORMAT = "evalkit-baseline/1"


def baseline_paths(baselines_dir: Path | str, suite: str, alias: str) -> tuple[Path, Path]:
    """``(manifest, parquet)`` paths of the committed export of ``suite@alias``."""
    folder = Path(baselines_dir) / suite
    return folder / f"{alias}.manifest.json", folder / f"{alias}.results.parquet"


def export_baseline(store: "Store", suite: str, alias: str = names.DEFAULT_ALIAS,
                    baselines_dir: Path | str = BASELINES, run_id: str | None = None) -> Path:
    """Write the current baseline of ``suite@alias`` (or ``run_id``) to ``baselines_dir/<suite>/``; returns
    the manifest path."""
    names.check_name(suite, "export", "--suite")
    names.check_name(alias, "export", "--alias")
    promotion = None
    if run_id is None:
        promotion = store.current_baseline(suite, alias)
        if promotion is None:
            raise UserError.at(f"baseline {suite}@{alias}", "store", store.tracking_uri,
                               "has no promotion; promote a run first (evalkit baseline promote RUN --suite "
                               f"{suite} --alias {alias}) or pass --run")
        run_id = promotion.run_id
    info = store.run_info(run_id)
    if info.suite != suite:
        raise UserError.at(f"run {run_id}", "suite", info.suite, f"is not a run of suite '{suite}'")
    meta = store.load_meta(run_id)
    manifest_path, parquet_path = baseline_paths(baselines_dir, suite, alias)
    with tempfile.TemporaryDirectory(prefix="evalkit-export-") as tmp:
        src = store.download_table(run_id, Path(tmp))
        atomic_write(parquet_path, src.read_bytes())
    table = artifacts.read_table(parquet_path)
    # the run's settings: from its meta, else from its params (the manifest's keys are written sorted)
    settings = {"agent_spec": "", "suite_version": "", "trials": None, "seed": None, "evalkit_version": __version__}
    doc = {
        **{key: meta.get(key, info.params.get(key, default)) for key, default in settings.items()},
        "format": MANIFEST_FORMAT,
        "suite": suite,
        "alias": alias,
        "build_id": info.build_id,
        "suite_hash": info.suite_hash,
        "mlflow_run_id": run_id,
        "git_sha": info.tags.get(names.TAG_GIT_SHA, ""),
        "branch": info.tags.get(names.TAG_BRANCH, ""),
        "rows": int(len(table)),
        "scenarios": int(table["scenario_id"].nunique()) if "scenario_id" in table.columns else 0,
        "results_file": parquet_path.name,
        "sha256": sha256_file(parquet_path),
        "exported_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "exported_by_evalkit": __version__,
    }
    if promotion is not None:
        doc.update(promoted_at=promotion.promoted_at, promoted_by=promotion.who, reason=promotion.reason)
    artifacts.write_json(doc, manifest_path)
    return manifest_path


def read_export(baselines_dir: Path | str, suite: str, alias: str) -> tuple[dict, pd.DataFrame, Path]:
    """Manifest, results table and manifest path of a committed export, after checking format and sha256."""
    manifest_path, _ = baseline_paths(baselines_dir, suite, alias)
    where = str(manifest_path)
    if not manifest_path.is_file():
        raise UserError.at(where, "file", "missing",
                           f"export one with `evalkit baseline export --suite {suite} --alias {alias}`")
    try:
        doc = artifacts.read_json(manifest_path)
    except (ValueError, RecursionError) as err:  # also invalid UTF-8 and nesting deeper than the stack
        raise UserError.at(where, "json", f"{type(err).__name__}: {str(err)[:120]}",
                           "restore the file from git (it is not valid JSON)") from None
    if not isinstance(doc, dict):
        raise UserError.at(where, "json", type(doc).__name__, "a manifest is one JSON object; restore the file from "
                           "git or re-export the baseline")
    problems = []
    if doc.get("format") != MANIFEST_FORMAT:
        problems.append(Problem(where, "format", doc.get("format"), f"expected '{MANIFEST_FORMAT}'"))
    if doc.get("suite") != suite:
        problems.append(Problem(where, "suite", doc.get("suite"), f"expected '{suite}'; re-export"))
    problems += [Problem(where, key, doc.get(key), "missing; re-export the baseline")
                 for key in ("sha256", "results_file", "build_id", "suite_hash") if not doc.get(key)]
    if problems:
        raise UserError(*problems)
    parquet = manifest_path.parent / Path(str(doc["results_file"])).name
    if not parquet.is_file():
        raise UserError.at(str(parquet), "file", "missing", "restore it from git or re-export the baseline")
    digest = sha256_file(parquet)
    if digest != doc["sha256"]:
        raise UserError.at(str(parquet), "sha256", digest,
                           f"does not match the manifest ({doc['sha256']}); the file changed since export — "
                           "restore it from git or re-export")
    fix = f"restore it from git or re-export it (evalkit baseline export --suite {suite} --alias {alias})"
    table = artifacts.read_table(parquet, str(parquet), fix)
    check_results(table, str(parquet), fix)
    return doc, table, manifest_path


def import_baseline(store: "Store", suite: str, alias: str = names.DEFAULT_ALIAS,
                    baselines_dir: Path | str = BASELINES, suite_hash: str | None = None,
                    who: str | None = None) -> "Promotion":
    """Create a run from the committed export of ``suite@alias`` and promote it. Idempotent: importing the
    same export again reuses the run and adds no promotion while it is still current."""
    names.check_name(suite, "import", "--suite")
    names.check_name(alias, "import", "--alias")
    doc, table, manifest_path = read_export(baselines_dir, suite, alias)
    if suite_hash and doc["suite_hash"] != suite_hash:
        raise UserError.at(str(manifest_path), "suite_hash", doc["suite_hash"],
                           f"was exported for another version of suite '{suite}' (current {suite_hash}); "
                           "regenerate the baseline on the current suite")
    meta = {k: doc.get(k) for k in ("suite", "suite_hash", "suite_version", "build_id", "agent_spec", "trials",
                                    "seed", "evalkit_version")}
    meta["imported_from"] = {"manifest": str(manifest_path), "mlflow_run_id": doc.get("mlflow_run_id", ""),
                             "sha256": doc["sha256"], "exported_at": doc.get("exported_at", "")}
    result = SimpleNamespace(table=table, trajectories=[], meta=meta)
    logged = store.log_run(result, role=Role.BASELINE, outbox=False, idempotency_key=f"import-{doc['sha256'][:48]}",
                           tags={names.TAG_IMPORTED_FROM: str(doc.get("mlflow_run_id", "")),
                                 names.TAG_SOURCE: Source.IMPORT},
                           git_sha=doc.get("git_sha") or "unknown", branch=doc.get("branch") or "unknown")
    assert logged.run_id is not None  # outbox=False: an unreachable store raised instead of queueing
    current = store.current_baseline(suite, alias)
    if current is not None and current.run_id == logged.run_id:
        return current
    return store.promote(logged.run_id, suite, alias, who=who, suite_hash=doc["suite_hash"],
                         reason=f"imported from {manifest_path} (exported run {doc.get('mlflow_run_id', '?')})")


class BaselineSource(str):
    """Where a resolved baseline came from: the line users read (it *is* that ``str``), plus either the MLflow
    ``run_id`` the store promoted or the manifest path of the committed ``export`` it was read from."""

    run_id: str
    export: str

    def __new__(cls, text: str, *, run_id: str = "", export: str = "") -> "BaselineSource":
        obj = super().__new__(cls, text)
        obj.run_id, obj.export = run_id, export
        return obj

    @property
    def ref(self) -> str:
        """The baseline as one searchable value: its MLflow run id, else ``export:<manifest path>``."""
        return self.run_id or (f"export:{self.export}" if self.export else "")


class BaselineNotFound(UserError):
    """No baseline of the suite could be read; ``nothing_stored``: every place tried simply had none (no
    store answered with another version, none was unreachable), as for a misspelled suite name."""

    def __init__(self, problem: Problem, *, nothing_stored: bool):
        super().__init__(problem)
        self.nothing_stored = nothing_stored


def resolve_baseline(store: "Store | None", suite: str, alias: str = names.DEFAULT_ALIAS,
                     baselines_dir: Path | str = BASELINES,
                     suite_hash: str | None = None) -> tuple[pd.DataFrame, BaselineSource]:
    """The baseline results table of ``suite@alias`` and where it came from (a :class:`BaselineSource`): the
    store's current promotion, else the committed export in ``baselines_dir``. With ``suite_hash``, a baseline
    of another suite version is skipped. UserError naming what was tried when neither gives one."""
    tried: list[str] = []
    if store is not None:
        try:
            promotion = store.current_baseline(suite, alias)
        except TrackingUnreachable as err:
            promotion = None
            tried.append(f"store {err.target.display} unreachable")
        else:
            if promotion is None:
                tried.append(f"no promotion in {store.tracking_uri}")
        if promotion is not None:
            if suite_hash and promotion.suite_hash != suite_hash:
                tried.append(f"store baseline run {promotion.run_id} is for suite hash {promotion.suite_hash[:12]}")
            else:
                table = store.load_table(promotion.run_id)
                check_results(table, f"baseline {suite}@{alias} (MLflow run {promotion.run_id})",
                              f"promote a complete run of suite {suite} (evalkit baseline promote RUN --suite "
                              f"{suite} --alias {alias})")
                return table, BaselineSource(
                    f"MLflow run {promotion.run_id} (build {promotion.build_id}), promoted to {suite}@{alias} "
                    f"at {promotion.promoted_at} by {promotion.who} [{store.tracking_uri}]", run_id=promotion.run_id)
    manifest_path, _ = baseline_paths(baselines_dir, suite, alias)
    if manifest_path.is_file():
        doc, table, _ = read_export(baselines_dir, suite, alias)
        if suite_hash and doc["suite_hash"] != suite_hash:
            tried.append(f"committed export {manifest_path} is for suite hash {str(doc['suite_hash'])[:12]}")
        else:
            return table, BaselineSource(
                f"committed export {manifest_path} (build {doc['build_id']}, MLflow run "
                f"{doc.get('mlflow_run_id', '?')}, exported {doc.get('exported_at', '?')})", export=str(manifest_path))
    else:
        tried.append(f"no committed export {manifest_path}")
    # (a committed export of this suite version would have been used above: importing it is never the fix)
    fix = (f"record a baseline run of the current suite and promote it (evalkit run --suite {suite} --agent BUILD "
           f"--role baseline, then evalkit baseline promote RUN_ID --suite {suite} --alias {alias})")
    problem = Problem(f"baseline {suite}@{alias}", "source", "not found", f"{'; '.join(tried)}. Fix: {fix}")
    raise BaselineNotFound(problem, nothing_stored=all(t.startswith("no ") for t in tried))  # not: unreachable...
