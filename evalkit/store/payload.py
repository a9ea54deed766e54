"""A run prepared for MLflow: params, tags, metrics and the artifact tree, computed once.

The same :class:`PreparedRun` is uploaded directly or parked in the outbox and uploaded later, so a synced
run is identical to one logged online. Its folder mirrors the MLflow artifact layout (``results/``,
``trajectories/``, ``meta/``, ``reports/``) plus ``request.json`` with everything else.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import tempfile
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from evalkit import __version__
from evalkit.atomic import atomic_write, new_dir_mode
from evalkit.errors import UserError
from evalkit.provenance import run_git
from evalkit.score.schema import RESULT_COLUMNS
from evalkit.store import artifacts, names
from evalkit.store.metrics import aggregate_metrics, run_metrics
from evalkit.vocab import Outcome, Role, Source

REQUEST_FILE = "request.json"
REQUEST_FORMAT = "evalkit-run-request/1"
MAX_PARAM_VALUE = 6000
MAX_TAG_VALUE = 8000
_KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,199}$")
_FAILED_STATES = {"failed", "aborted", "interrupted", "error", "crashed"}


@dataclass
class PreparedRun:
    """Everything one MLflow run consists of; ``directory`` holds the artifact tree."""

    key: str
    suite: str
    build_id: str
    suite_hash: str
    experiment: str
    run_name: str
    params: dict[str, str]
    tags: dict[str, str]
    metrics: dict[str, float]
    failed: bool
    created_at: str
    created_ms: int
    tracking_uri: str
    directory: Path
    extra: dict[str, Any] = field(default_factory=dict)

    def save_request(self) -> None:
        doc = {k: v for k, v in asdict(self).items() if k != "directory"}
        doc["format"] = REQUEST_FORMAT
        atomic_write(self.directory / REQUEST_FILE, json.dumps(doc, indent=1, sort_keys=True).encode("utf-8"))

    @classmethod
    def load(cls, directory: Path) -> "PreparedRun":
        doc = artifacts.read_json(directory / REQUEST_FILE)
        if doc.pop("format", None) != REQUEST_FORMAT:
            raise UserError.at(str(directory / REQUEST_FILE), "format", doc.get("format"),
                               f"not an evalkit outbox entry ({REQUEST_FORMAT}); move it out of the outbox")
        doc["directory"] = directory
        return cls(**doc)


def new_key(suite: str) -> str:
    """A unique, sortable idempotency key: ``<utc time>-<suite>-<random>``."""
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{names.sanitize_key(suite).replace('/', '_')[:40]}-{uuid.uuid4().hex[:12]}"


def prepare_run(run_result: Any, *, tracking_uri: str, aggregates: pd.DataFrame | None = None,
                role: str = Role.CANDIDATE, reports: Iterable[str | Path] = (), git_sha: str | None = None,
                branch: str | None = None, pr: str | int | None = None, tags: dict[str, str] | None = None,
                key: str | None = None) -> PreparedRun:
    """Validate ``run_result`` (``.table``, ``.trajectories``, ``.meta``) and write its artifact tree to a new
    temporary folder; the caller moves or deletes the folder."""
    table, trajectories, meta = _unpack(run_result)
    suite = names.check_name(str(meta.get("suite", "")), "run result", "meta.suite")
    if role not in names.ROLES:
        raise UserError.at("--role", "role", role, f"use one of {', '.join(names.ROLES)}")
    report_paths = [Path(r) for r in reports]
    seen: dict[str, Path] = {}
    for r in report_paths:
        if not r.is_file():
            raise UserError.at(str(r), "report", str(r), "pass existing report files (or none)")
        if r.name in seen and seen[r.name].resolve() != r.resolve():
            raise UserError.at(str(r), "report", r.name, f"has the same file name as {seen[r.name]}; rename one")
        seen[r.name] = r
    if aggregates is None and len(table):
        from evalkit.score.aggregate import aggregate

        aggregates = aggregate(table)
    build_id = str(meta.get("build_id") or (table["build_id"].iloc[0] if len(table) else ""))
    suite_hash = str(meta.get("suite_hash") or (table["suite_hash"].iloc[0] if len(table) else ""))
    failed = len(table) == 0 or bool(meta.get("failed")) or str(meta.get("status", "")).lower() in _FAILED_STATES
    key = key or str(meta.get("idempotency_key") or new_key(suite))
    if not _KEY_RE.match(key):
        raise UserError.at("run", "idempotency_key", key,
                           "use up to 200 letters, digits, '_', '.', ':' or '-', starting with a letter or digit")
    now = dt.datetime.now(dt.timezone.utc)
    git = detect_git(meta, git_sha=git_sha, branch=branch, pr=pr)
    metrics = {**run_metrics(table, meta), **aggregate_metrics(aggregates)}
    run_tags = {
        names.TAG_SUITE: suite, names.TAG_SUITE_HASH: suite_hash, names.TAG_BUILD: build_id,
        names.TAG_ROLE: role, names.TAG_KEY: key, names.TAG_SOURCE: Source.DIRECT,
        names.TAG_OUTCOME: Outcome.FAILED if failed else Outcome.COMPLETE,
        **{t: v for t, v in ((names.TAG_GIT_SHA, git["sha"]), (names.TAG_BRANCH, git["branch"]),
                             (names.TAG_PR, git["pr"]), ("mlflow.source.git.commit", git["sha"]),
                             ("mlflow.source.git.branch", git["branch"])) if v},
        "mlflow.user": current_user(),
        **{str(k): str(v) for k, v in (tags or {}).items()},
    }
    directory = Path(tempfile.mkdtemp(prefix="evalkit-run-"))
    directory.chmod(new_dir_mode())  # an outbox entry is readable like any folder the user makes
    try:
        artifacts.write_table(table, directory / names.ARTIFACT_TABLE)
        artifacts.write_trajectories(trajectories, directory / names.ARTIFACT_TRAJECTORIES)
        artifacts.write_json(meta, directory / names.ARTIFACT_META)
        if aggregates is not None and len(aggregates):
            artifacts.write_table(aggregates, directory / names.ARTIFACT_AGGREGATES)
        for r in report_paths:
            dest = directory / names.ARTIFACT_REPORTS / r.name
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(r, dest)
        prepared = PreparedRun(
            key=key, suite=suite, build_id=build_id, suite_hash=suite_hash,
            experiment=names.experiment_name(suite), run_name=build_id or suite,
            params=params_of(meta), tags={k: _cap(v, MAX_TAG_VALUE) for k, v in run_tags.items()},
            metrics=metrics, failed=failed, created_at=now.isoformat(timespec="seconds"),
            created_ms=int(now.timestamp() * 1000), tracking_uri=tracking_uri, directory=directory)
        prepared.save_request()
        return prepared
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise


def _unpack(run_result: Any) -> tuple[pd.DataFrame, Iterable[dict], dict]:
    try:
        table, trajectories, meta = run_result.table, run_result.trajectories, run_result.meta
    except AttributeError as err:
        raise TypeError(f"log_run needs a RunResult-like object (.table, .trajectories, .meta): {err}") from None
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"run_result.table must be a pandas DataFrame, not {type(table).__name__}")
    missing = [c for c in RESULT_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"results table lacks column(s) {missing} (see evalkit.score.schema)")
    # a run's trajectories stay a sequence read from disk: writing the artifact streams them
    return table, trajectories if trajectories is not None else [], dict(meta or {})


def params_of(meta: dict[str, Any]) -> dict[str, str]:
    """MLflow params from the run meta: each scalar key as is, dicts flattened one level (``agent.k``),
    lists as JSON; values capped at MLflow's 6000 characters (the full meta is the ``meta.json`` artifact)."""
    flat: dict[str, Any] = {}
    for k, v in meta.items():
        if isinstance(v, dict):
            flat.update({f"{k}.{k2}": v2 for k2, v2 in v.items()})
        else:
            flat[k] = v
    flat.setdefault("suite_version", "")
    flat.setdefault("evalkit_version", __version__)
    out: dict[str, str] = {}
    for k, v in flat.items():
        if v is None:
            text = ""
        elif isinstance(v, (str, int, float, bool)):
            text = str(v)
        else:
            text = artifacts.dumps(v)
        out[names.sanitize_key(k)] = _cap(text, MAX_PARAM_VALUE)
    return out


_TRUNCATED = "…[truncated; full value in meta.json]"


def _cap(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters with a visible marker (MLflow would reject or cut it silently)."""
    text = str(text)
    return text if len(text) <= limit else text[: limit - len(_TRUNCATED)] + _TRUNCATED


def current_user(who: str | None = None) -> str:
    """Who acts: explicit, else ``EVALKIT_USER``, CI actor variables, ``USER``, else the login name."""
    if who:
        return who
    for var in ("EVALKIT_USER", "GITHUB_ACTOR", "GITLAB_USER_LOGIN", "BUILD_REQUESTEDFOR", "USER"):
        if os.environ.get(var):
            return os.environ[var]
    try:
        import getpass

        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def detect_git(meta: dict[str, Any], *, git_sha: str | None = None, branch: str | None = None,
               pr: str | int | None = None) -> dict[str, str]:
    """Git sha / branch / pull request: explicit arguments, else the run meta, else CI variables
    (GitHub Actions, GitLab CI, generic), else ``git`` in the working directory."""
    env = os.environ
    sha = git_sha or meta.get("git_sha") or env.get("GITHUB_SHA") or env.get("CI_COMMIT_SHA") \
        or env.get("GIT_COMMIT") or _git("rev-parse", "HEAD")
    br = branch or meta.get("branch") or env.get("GITHUB_HEAD_REF") or env.get("CI_COMMIT_REF_NAME") \
        or env.get("GIT_BRANCH") or env.get("GITHUB_REF_NAME") or ""
    number = pr if pr is not None else meta.get("pr") or env.get("EVALKIT_PR") or env.get("CI_MERGE_REQUEST_IID")
    ref = env.get("GITHUB_REF", "")
    if not number and ref.startswith("refs/pull/"):
        number = ref.split("/")[2]
    if not br:
        br = _git("rev-parse", "--abbrev-ref", "HEAD")
        br = "" if br == "HEAD" else br
    return {"sha": str(sha), "branch": str(br), "pr": "" if number in (None, "") else str(number)}


def _git(*args: str) -> str:
    out = run_git(".", *args, timeout_s=2)
    return out.decode("utf-8", "replace").strip() if out else ""
