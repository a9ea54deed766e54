"""Where runs go: tracking-URI resolution (embedded SQLite default), fail-fast probing and MLflow clients.

The embedded default is ``sqlite:///<root>/.evalkit/mlflow/mlflow.db`` with artifacts in
``<root>/.evalkit/mlflow/artifacts`` (``root``: the project root, see :mod:`evalkit.workspace`);
``--tracking-uri``, ``EVALKIT_TRACKING_URI`` or ``MLFLOW_TRACKING_URI``, first set wins, point elsewhere (an
MLflow server ``http(s)://…`` at team scale). mlflow is imported only inside functions.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import re
import sqlite3
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar
from urllib.parse import unquote, urlparse

from evalkit.errors import Problem, UserError
from evalkit.workspace import EVALKIT_DIR, find_root

T = TypeVar("T")

EMBEDDED_DIR = "mlflow"
EMBEDDED_DB = "mlflow.db"
EMBEDDED_ARTIFACTS = "artifacts"
#: environment variables naming the tracking URI when no argument does, in precedence order.
TRACKING_URI_ENVS = ("EVALKIT_TRACKING_URI", "MLFLOW_TRACKING_URI")
#: overrides the artifact root for direct database URIs (postgresql://…, mysql://…) without a server.
ARTIFACT_ROOT_ENV = "EVALKIT_ARTIFACT_ROOT"
#: seconds the reachability probe of an http(s) tracking server may take.
PROBE_TIMEOUT_ENV = "EVALKIT_PROBE_TIMEOUT"
DEFAULT_PROBE_TIMEOUT_S = 3.0
#: a probe that timed out is retried once with this many times the timeout (a busy server is not a dead one).
PROBE_RETRY_FACTOR = 3.0
#: MLflow's HTTP client defaults (7 retries, backoff factor 2, 120 s timeout) make a dead server hang for
#: minutes; evalkit lowers them unless the user set them (their environment always wins).
HTTP_ENV_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "3",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "60",
}
#: busy timeout (seconds) SQLite waits for a competing writer before "database is locked".
SQLITE_BUSY_TIMEOUT_S = 30


@dataclass(frozen=True)
class TrackingTarget:
    """A resolved tracking location: the MLflow URI, its kind and (for local backends) the artifact root.

    ``source`` says where the URI came from: ``argument``, ``env`` (the variable is ``env_var``), ``config``
    (the project's evalkit.toml) or ``default``.
    """

    uri: str
    kind: str  # sqlite | http | file | database
    artifact_root: Path | None
    source: str
    env_var: str = "MLFLOW_TRACKING_URI"

    @property
    def origin(self) -> str:
        """Where the user set the URI, for messages: ``--tracking-uri``, the variable, or ``tracking URI``."""
        return {"argument": "--tracking-uri", "env": self.env_var,
                "config": "evalkit.toml tracking_uri"}.get(self.source, "tracking URI")

    @property
    def is_remote(self) -> bool:
        return self.kind == "http"

    @property
    def display(self) -> str:
        """The URI without credentials, for messages and records."""
        return redact(self.uri)


def redact(uri: str) -> str:
    """``uri`` with any ``user:password@`` part removed."""
    return re.sub(r"//[^/@]*@", "//", uri)


def evalkit_dir(root: Path | str | None = None) -> Path:
    """``<root>/.evalkit``, where the embedded store and the outbox live (root defaults to the project root)."""
    return Path(root if root is not None else find_root(Path.cwd())).resolve() / EVALKIT_DIR


def embedded_uri(root: Path | str | None = None) -> str:
    """The embedded SQLite URI under ``<root>/.evalkit/mlflow/`` (root defaults to the project root)."""
    return f"sqlite:///{evalkit_dir(root) / EMBEDDED_DIR / EMBEDDED_DB}"


def resolve_tracking(uri: str | None = None, root: Path | str | None = None,
                     configured: str | None = None) -> TrackingTarget:
    """Resolve the tracking URI: explicit argument, else the first of :data:`TRACKING_URI_ENVS` that is set,
    else ``configured`` (the project's evalkit.toml; a relative sqlite path there is relative to ``root``), else
    the embedded store under ``root`` (default: the project root).

    Raises UserError for schemes evalkit cannot use.
    """
    source, env_var = "argument", TRACKING_URI_ENVS[-1]
    if not uri:
        env_var = next((name for name in TRACKING_URI_ENVS if os.environ.get(name, "").strip()), env_var)
        uri, source = os.environ.get(env_var, ""), "env"
    if not uri and configured:
        uri, source = absolute_sqlite_uri(configured.strip(), root), "config"
    if not uri:
        uri, source = embedded_uri(root), "default"
    uri = uri.strip()
    where = TrackingTarget(uri, "", None, source, env_var).origin if source != "default" else "store"
    try:
        scheme = urlparse(uri).scheme.lower()
    except ValueError as err:  # e.g. an unclosed IPv6 bracket
        raise UserError.at(where, "uri", redact(uri), f"not a URI ({err}); use http(s)://host:port or "
                           "sqlite:////path/mlflow.db") from None
    if scheme in ("http", "https"):
        return TrackingTarget(uri.rstrip("/"), "http", None, source, env_var)
    if scheme == "sqlite":
        path = sqlite_path(uri)
        if path is None:
            raise UserError.at(where, "uri", uri, "use a file database: sqlite:////absolute/path/mlflow.db")
        return TrackingTarget(uri, "sqlite", path.parent / EMBEDDED_ARTIFACTS, source, env_var)
    if scheme == "file" or (scheme == "" and uri.startswith("/")):
        if os.environ.get("MLFLOW_ALLOW_FILE_STORE", "").strip().lower() not in ("1", "true"):  # as MLflow reads it
            raise UserError.at(where, "uri", redact(uri), "MLflow no longer accepts its file store (set "
                               "MLFLOW_ALLOW_FILE_STORE=true to use it anyway); use sqlite:////path/mlflow.db")
        return TrackingTarget(uri, "file", None, source, env_var)
    if scheme.split("+")[0] in ("postgresql", "postgres", "mysql", "mssql"):
        root_env = os.environ.get(ARTIFACT_ROOT_ENV, "")
        if not root_env:
            raise UserError.at(where, "uri", redact(uri),
                               f"a direct database URI needs an artifact root: set {ARTIFACT_ROOT_ENV}, "
                               "or point at an MLflow server (http://host:port) instead")
        return TrackingTarget(_with_psycopg2(uri), "database", Path(root_env), source, env_var)
    raise UserError.at(where, "uri", redact(uri),
                       "use http(s)://host:port (MLflow server), sqlite:////path/mlflow.db or leave unset for "
                       f"the embedded store in ./{EVALKIT_DIR}/{EMBEDDED_DIR}/")


def absolute_sqlite_uri(uri: str, base: Path | str | None) -> str:
    """``uri`` with a relative ``sqlite:///`` path made absolute under ``base`` (other URIs unchanged): the folder
    a relative store path means, which is not always the process's working directory."""
    if base is None or not uri.lower().startswith("sqlite:///") or uri.startswith("sqlite:////"):
        return uri
    return f"sqlite:///{Path(base).resolve() / uri[len('sqlite:///'):]}"


def sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite://`` tracking URI (None for an in-memory database)."""
    raw = unquote(uri[len("sqlite://"):].split("?", 1)[0])
    if raw in ("", "/", "/:memory:"):
        return None
    # sqlite:///relative.db -> "/relative.db" is relative; sqlite:////abs.db -> "//abs.db" is absolute
    path = raw[1:] if raw.startswith("/") else raw
    return Path(path).resolve()


def _with_psycopg2(uri: str) -> str:
    """SQLAlchemy 2.1 maps ``postgresql://`` to psycopg 3; evalkit ships psycopg2, so name the driver."""
    import importlib.util

    if uri.startswith(("postgresql://", "postgres://")) and importlib.util.find_spec("psycopg") is None:
        return "postgresql+psycopg2://" + uri.split("://", 1)[1]
    return uri


def probe(target: TrackingTarget, timeout_s: float | None = None) -> str | None:
    """Return None when ``target`` answers, else a short reason. ``GET /health``; local backends pass.

    A refused connection or an HTTP error is an answer at once (the server is down). A *timeout* is not: a
    shared server behind a burst of CI jobs can be slow to accept, so it gets one second chance with
    ``PROBE_RETRY_FACTOR`` times the timeout before the server is called unreachable.
    """
    if not target.is_remote:
        return None
    if timeout_s is None:
        try:
            timeout_s = float(os.environ.get(PROBE_TIMEOUT_ENV, DEFAULT_PROBE_TIMEOUT_S))
        except ValueError:
            timeout_s = DEFAULT_PROBE_TIMEOUT_S
    reason, timed_out = _probe_once(target, timeout_s)
    if timed_out:
        reason, _ = _probe_once(target, timeout_s * PROBE_RETRY_FACTOR)
    return reason


def _probe_once(target: TrackingTarget, timeout_s: float) -> tuple[str | None, bool]:
    """One ``GET /health``: (None when it answered, else a reason; whether it ran out of time)."""
    try:
        with urllib.request.urlopen(f"{target.uri}/health", timeout=timeout_s) as resp:  # noqa: S310
            resp.read(64)
        return None, False
    except urllib.error.HTTPError as err:
        # Something that speaks HTTP answered (auth proxies answer 401/403): the server is up.
        return (None if err.code < 500 else f"HTTP {err.code} from {target.display}/health"), False
    except (urllib.error.URLError, OSError, TimeoutError) as err:
        # A connect timeout arrives wrapped in URLError, a read timeout bare.
        reason = getattr(err, "reason", err)
        return f"{reason}", isinstance(reason, TimeoutError)


@contextlib.contextmanager
def mlflow_tracking(uri: str | None) -> Iterator[None]:
    """MLflow's fluent API pointed at ``uri`` for the block, then put back. ``mlflow.set_tracking_uri`` also sets
    MLFLOW_TRACKING_URI in ``os.environ``: left there, it would send every later evalkit call of the process (a
    notebook's) to that store."""
    if not uri:
        yield
        return
    import mlflow

    before = os.environ.get("MLFLOW_TRACKING_URI")
    mlflow.set_tracking_uri(uri)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(None)
        if before is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = before


def quiet_mlflow_logs() -> None:
    """MLflow/alembic log schema creation at INFO on every new store; keep evalkit's output clean."""
    for name in ("mlflow.store.db.utils", "alembic", "alembic.runtime.migration", "mlflow.tracking.fluent",
                 "mlflow.store.tracking.sqlalchemy_store"):
        logging.getLogger(name).setLevel(logging.WARNING)


@contextlib.contextmanager
def file_lock(path: Path, wait: bool = True) -> Iterator[bool]:
    """An exclusive advisory lock on ``path`` held for the block (True); with ``wait=False``, False at once
    instead of waiting when another process holds it."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def make_client(target: TrackingTarget) -> Any:
    """An ``MlflowClient`` for ``target``. For SQLite: creates the folder, runs MLflow's schema set-up under a
    file lock (two processes creating the same database race otherwise), switches to WAL journalling and
    sets a busy timeout so concurrent writers wait instead of failing."""
    quiet_mlflow_logs()
    # MLflow prints "View run ... at: URL" to stdout on every finished run; evalkit reports runs itself.
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
    if target.is_remote:  # a dead server fails fast, unless the user set MLflow's HTTP settings
        for key, value in HTTP_ENV_DEFAULTS.items():
            os.environ.setdefault(key, value)
    from mlflow import MlflowClient

    if target.kind != "sqlite":
        return MlflowClient(tracking_uri=target.uri)
    db = sqlite_path(target.uri)
    assert db is not None and target.artifact_root is not None
    target.artifact_root.mkdir(parents=True, exist_ok=True)
    uri = target.uri if "timeout=" in target.uri else (
        f"{target.uri}{'&' if '?' in target.uri else '?'}timeout={SQLITE_BUSY_TIMEOUT_S}")
    with file_lock(db.with_name(db.name + ".lock")):  # serialises first-use schema creation
        client = MlflowClient(tracking_uri=uri)
        client.search_experiments(max_results=1)  # forces schema creation/migration while we hold the lock
        with contextlib.closing(sqlite3.connect(db, timeout=SQLITE_BUSY_TIMEOUT_S)) as con:
            mode = con.execute("PRAGMA journal_mode").fetchone()[0]
            if str(mode).lower() != "wal":
                con.execute("PRAGMA journal_mode=WAL")
    return client


_LOCKED_MARKERS = ("database is locked", "database table is locked", "database schema is locked")
_UNREACHABLE_MARKERS = ("max retries exceeded", "connection refused", "failed to establish a new connection",
                        "connectionerror", "read timed out", "connection aborted", "remotedisconnected",
                        "name or service not known", "temporary failure in name resolution",
                        "connection reset")


def is_unreachable_error(exc: BaseException) -> bool:
    """True when ``exc`` means the tracking server could not be reached (not a refusal by the server)."""
    import requests  # ships with mlflow

    if isinstance(exc, (requests.exceptions.ConnectionError, requests.exceptions.Timeout, ConnectionError,
                        TimeoutError)):
        return True
    text = f"{type(exc).__name__} {exc}".lower()
    return any(m in text for m in _UNREACHABLE_MARKERS)


def retry_locked(fn: Callable[..., T], *args: Any, attempts: int = 8, **kwargs: Any) -> T:
    """Call ``fn``; on SQLite "database is locked" retry with jittered exponential backoff (~30 s total)."""
    delay = 0.05
    for attempt in range(attempts):
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - filtered below
            if attempt == attempts - 1 or not any(m in str(exc).lower() for m in _LOCKED_MARKERS):
                raise
            time.sleep(delay * (1 + random.random()))
            delay = min(delay * 2, 5.0)
    raise AssertionError("unreachable")  # pragma: no cover


class TrackingUnreachable(UserError):
    """The tracking server did not answer (connection refused, timeout, 5xx on /health)."""

    def __init__(self, target: TrackingTarget, reason: str):
        self.target = target
        self.reason = reason
        super().__init__(Problem(target.origin, "server", target.display,
                                 f"unreachable ({reason}); start the MLflow server or point --tracking-uri / "
                                 f"{target.env_var} at a reachable one"))
